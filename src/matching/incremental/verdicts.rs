//! What reviewers and the tie-breaker say about pairs, kept by id so it outlives the
//! listings' slots, and how it turns a scored pair into its effective decision (the
//! decision the clustering sees), exactly as a full run does: a must-link, then a
//! cannot-link (which wins), then a tie-breaker answer on a pair still ambiguous.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::change::TieAnswer;
use crate::matching::ReviewConstraints;
use crate::matching::ScoredPair;
use crate::model::{AiNote, Decision, DecisionRule};

/// An unordered pair of ids, smaller first.
pub(super) type IdPair = (String, String);

pub(super) fn id_pair(a: &str, b: &str) -> IdPair {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

#[derive(Debug, Default)]
pub(super) struct Verdicts {
    pub constraints: ReviewConstraints,
    must: HashSet<IdPair>,
    cannot: HashSet<IdPair>,
    /// Must-link partners of each id, for the components.
    must_partners: HashMap<String, Vec<String>>,
    /// Cannot-link partners of each id, for the clustering.
    cannot_partners: HashMap<String, Vec<String>>,
    pub reviewed: BTreeSet<Vec<String>>,
    answers: HashMap<IdPair, TieAnswer>,
}

/// Pairs and ids a change of verdicts touches.
#[derive(Debug, Default)]
pub(super) struct Touched {
    /// Pairs whose effective decision may have changed.
    pub pairs: Vec<IdPair>,
    /// Ids whose groups must be re-clustered and re-synthesized.
    pub ids: Vec<String>,
}

fn pair_set(list: &[(String, String)]) -> HashSet<IdPair> {
    list.iter()
        .filter(|(a, b)| a != b)
        .map(|(a, b)| id_pair(a, b))
        .collect()
}

fn partners(set: &HashSet<IdPair>) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (a, b) in set {
        out.entry(a.clone()).or_default().push(b.clone());
        out.entry(b.clone()).or_default().push(a.clone());
    }
    out
}

impl Verdicts {
    /// Replaces the review constraints; returns what the difference touches.
    pub fn set_constraints(&mut self, new: ReviewConstraints) -> Touched {
        let (must, cannot) = (pair_set(&new.must_link), pair_set(&new.cannot_link));
        let reviewed: BTreeSet<Vec<String>> = new.reviewed.iter().cloned().collect();
        let mut touched = Touched::default();
        for (old, new) in [(&self.must, &must), (&self.cannot, &cannot)] {
            for p in old.symmetric_difference(new) {
                touched.ids.extend([p.0.clone(), p.1.clone()]);
                touched.pairs.push(p.clone());
            }
        }
        for set in self.reviewed.symmetric_difference(&reviewed) {
            touched.ids.extend(set.iter().cloned());
        }
        self.must_partners = partners(&must);
        self.cannot_partners = partners(&cannot);
        self.must = must;
        self.cannot = cannot;
        self.reviewed = reviewed;
        self.constraints = new;
        touched
    }

    /// Records tie-breaker answers; returns the pairs they touch.
    pub fn add_answers(&mut self, answers: Vec<TieAnswer>) -> Touched {
        let mut touched = Touched::default();
        for a in answers {
            let key = id_pair(&a.id_a, &a.id_b);
            touched.ids.extend([key.0.clone(), key.1.clone()]);
            touched.pairs.push(key.clone());
            self.answers.insert(key, a);
        }
        touched
    }

    /// Drops every answer on a pair with one of `ids` (their content changed). The
    /// caller re-scores those pairs, which re-decides them.
    pub fn forget_answers_of(&mut self, ids: &HashSet<&str>) {
        if !ids.is_empty() && !self.answers.is_empty() {
            self.answers
                .retain(|(a, b), _| !ids.contains(a.as_str()) && !ids.contains(b.as_str()));
        }
    }

    pub fn must_partners(&self, id: &str) -> &[String] {
        self.must_partners.get(id).map_or(&[], Vec::as_slice)
    }

    pub fn cannot_partners(&self, id: &str) -> &[String] {
        self.cannot_partners.get(id).map_or(&[], Vec::as_slice)
    }

    /// The effective decision of a scored pair of ids `a < b`, and the tie-breaker's
    /// note when an answer applied.
    pub fn effective(&self, raw: &ScoredPair, a: &str, b: &str) -> (ScoredPair, Option<AiNote>) {
        let mut p = *raw;
        let no_verdicts = self.must.is_empty() && self.cannot.is_empty() && self.answers.is_empty();
        if no_verdicts {
            return (p, None);
        }
        let key = (a.to_string(), b.to_string());
        if self.must.contains(&key) {
            p.decision = Decision::Match;
            p.rule = DecisionRule::MustLink;
        }
        if self.cannot.contains(&key) {
            p.decision = Decision::NoMatch;
            p.rule = DecisionRule::CannotLink;
        }
        if p.decision != Decision::Ambiguous {
            return (p, None);
        }
        let Some(answer) = self.answers.get(&key) else {
            return (p, None);
        };
        answer.verdict.apply_to(&mut p);
        (p, Some(answer.note.clone()))
    }

    /// Whether a pair already has a tie-breaker answer.
    pub fn answered(&self, a: &str, b: &str) -> bool {
        self.answers.contains_key(&(a.to_string(), b.to_string()))
    }
}
