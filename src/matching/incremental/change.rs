//! What an incremental apply takes in ([`Change`]) and gives back ([`Diff`]): the
//! shape a persistence layer needs to write only the difference.
//!
//! Invariant: applying a change and then persisting its diff leaves a catalogue equal
//! to a full re-match of the same listings, constraints and tie-breaker answers.

use serde::{Deserialize, Serialize};

use crate::matching::{ReviewConstraints, ScoredPair};
use crate::model::{
    AiNote, CanonicalEvent, Decision, DecisionRule, PairDecision, SourceEvent, Tier,
};

/// One step of the catalogue's life.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// New listings and new versions of stored ones (an id's new version replaces
    /// the old: its old keys and pairs go). Within one change the last version of an
    /// id wins, as in ingest order.
    pub upserts: Vec<SourceEvent>,
    /// Ids of listings that leave the catalogue (unknown ids are ignored).
    pub removals: Vec<String>,
    /// The complete new review constraints, when reviewers changed them (split,
    /// merge, dismiss); `None` keeps the current ones.
    pub constraints: Option<ReviewConstraints>,
    /// New tie-breaker answers (they replace earlier answers on the same pair).
    pub answers: Vec<TieAnswer>,
}

/// The tie-breaker's answer on one pair, already mapped to its effect
/// (`matching.md` §5.4): it applies while the pair's scores leave it ambiguous.
#[derive(Debug, Clone, PartialEq)]
pub struct TieAnswer {
    pub id_a: String,
    pub id_b: String,
    pub verdict: Verdict,
    pub note: AiNote,
}

/// What an answer does to an ambiguous pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A confident `same` / `different`: the pair takes this decision.
    Resolved(Decision),
    /// The answer was below the confidence threshold: decision kept, tier noted.
    LowConfidence,
    /// The answer was neither `same` nor `different`.
    Unexpected,
}

impl Verdict {
    /// The answer's effect on an ambiguous pair (`matching.md` §5.4), the one rule
    /// full runs and the incremental state share: scores and `combined` stay.
    pub fn apply_to(self, p: &mut ScoredPair) {
        match self {
            Verdict::Unexpected => p.tier = Tier::AiUnexpected,
            Verdict::LowConfidence => p.tier = Tier::AiLowConfidence,
            Verdict::Resolved(decision) => {
                p.decision = decision;
                p.tier = Tier::Ai;
                p.rule = DecisionRule::Llm;
            }
        }
    }
}

/// One canonical group as persistence needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupOut {
    /// Member ids, sorted.
    pub members: Vec<String>,
    pub canonical: CanonicalEvent,
    /// Lower-case hex SHA-256 of the canonical event's JSON, as in a full run.
    pub content_hash: String,
}

/// The difference one apply made.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    /// Groups whose member set did not exist before.
    pub groups_created: Vec<GroupOut>,
    /// Groups with the same member set and new content.
    pub groups_updated: Vec<GroupOut>,
    /// Member sets (sorted ids) that are no longer a group.
    pub groups_removed: Vec<Vec<String>>,
    pub decisions_added: Vec<PairDecision>,
    pub decisions_changed: Vec<PairDecision>,
    /// `(id_a, id_b)` of pairs that are no longer candidates.
    pub decisions_removed: Vec<(String, String)>,
    /// Newly scored pairs left ambiguous with no tie-breaker answer yet: the only
    /// pairs worth asking about.
    pub questions: Vec<(String, String)>,
    pub stats: ApplyStats,
}

/// The catalogue's figures after an apply, counted as a full run counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub listings: usize,
    pub candidate_pairs: usize,
    /// Stored decisions that are matches (after the clustering).
    pub matches: usize,
    pub ambiguous: usize,
    pub groups: usize,
    /// Groups waiting for a reviewer.
    pub flagged: usize,
}

impl Diff {
    /// The difference of applying `self` and then `next` (two applies, one persist):
    /// each group and decision ends in its last form, and what the first created and
    /// the second removed never reaches the store.
    pub fn then(self, next: Diff) -> Diff {
        use std::collections::BTreeMap;
        #[derive(Clone, Copy, PartialEq)]
        enum Was {
            Created,
            Updated,
            Removed,
        }
        let mut groups: BTreeMap<Vec<String>, (Was, Option<GroupOut>)> = BTreeMap::new();
        for (was, list) in [
            (Was::Created, self.groups_created),
            (Was::Updated, self.groups_updated),
        ] {
            for g in list {
                groups.insert(g.members.clone(), (was, Some(g)));
            }
        }
        for m in self.groups_removed {
            groups.insert(m, (Was::Removed, None));
        }
        for (now, list) in [
            (Was::Created, next.groups_created),
            (Was::Updated, next.groups_updated),
        ] {
            for g in list {
                let was = groups.get(&g.members).map(|(w, _)| *w);
                let merged = match (was, now) {
                    // New in the first step: still new, with its last content.
                    (Some(Was::Created), _) => Was::Created,
                    // Gone and back: the stored group gets the new content.
                    (Some(Was::Removed), _) | (Some(Was::Updated), _) => Was::Updated,
                    (None, now) => now,
                };
                groups.insert(g.members.clone(), (merged, Some(g)));
            }
        }
        for m in next.groups_removed {
            match groups.get(&m).map(|(w, _)| *w) {
                Some(Was::Created) => {
                    groups.remove(&m);
                }
                _ => {
                    groups.insert(m, (Was::Removed, None));
                }
            }
        }
        let mut out = Diff::default();
        for (members, (was, g)) in groups {
            match (was, g) {
                (Was::Created, Some(g)) => out.groups_created.push(g),
                (Was::Updated, Some(g)) => out.groups_updated.push(g),
                _ => out.groups_removed.push(members),
            }
        }

        let mut decisions: BTreeMap<(String, String), (Was, Option<PairDecision>)> =
            BTreeMap::new();
        let key = |d: &PairDecision| (d.id_a.clone(), d.id_b.clone());
        for (was, list) in [
            (Was::Created, self.decisions_added),
            (Was::Updated, self.decisions_changed),
        ] {
            for d in list {
                decisions.insert(key(&d), (was, Some(d)));
            }
        }
        for k in self.decisions_removed {
            decisions.insert(k, (Was::Removed, None));
        }
        for (now, list) in [
            (Was::Created, next.decisions_added),
            (Was::Updated, next.decisions_changed),
        ] {
            for d in list {
                let merged = match decisions.get(&key(&d)).map(|(w, _)| *w) {
                    Some(Was::Created) => Was::Created,
                    Some(_) => Was::Updated,
                    None => now,
                };
                decisions.insert(key(&d), (merged, Some(d)));
            }
        }
        for k in next.decisions_removed {
            match decisions.get(&k).map(|(w, _)| *w) {
                Some(Was::Created) => {
                    decisions.remove(&k);
                }
                _ => {
                    decisions.insert(k, (Was::Removed, None));
                }
            }
        }
        for (k, (was, d)) in decisions {
            match (was, d) {
                (Was::Created, Some(d)) => out.decisions_added.push(d),
                (Was::Updated, Some(d)) => out.decisions_changed.push(d),
                _ => out.decisions_removed.push(k),
            }
        }
        out.questions = self.questions;
        out.questions.extend(next.questions);
        out.questions.sort();
        out.questions.dedup();
        out.stats = self.stats.plus(&next.stats);
        out
    }
}

/// How much work an apply did, and where its time went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApplyStats {
    pub listings_changed: usize,
    pub blocks_touched: usize,
    pub pairs_scored: usize,
    pub components_reclustered: usize,
    pub listings_reclustered: usize,
    pub groups_synthesized: usize,
    /// Preprocessing and the blocking index.
    pub index_ms: f64,
    pub score_ms: f64,
    pub cluster_ms: f64,
    pub synthesis_ms: f64,
    pub total_ms: f64,
}

impl ApplyStats {
    /// The work of two applies together.
    pub fn plus(&self, o: &ApplyStats) -> ApplyStats {
        ApplyStats {
            listings_changed: self.listings_changed + o.listings_changed,
            blocks_touched: self.blocks_touched + o.blocks_touched,
            pairs_scored: self.pairs_scored + o.pairs_scored,
            components_reclustered: self.components_reclustered + o.components_reclustered,
            listings_reclustered: self.listings_reclustered + o.listings_reclustered,
            groups_synthesized: self.groups_synthesized + o.groups_synthesized,
            index_ms: self.index_ms + o.index_ms,
            score_ms: self.score_ms + o.score_ms,
            cluster_ms: self.cluster_ms + o.cluster_ms,
            synthesis_ms: self.synthesis_ms + o.synthesis_ms,
            total_ms: self.total_ms + o.total_ms,
        }
    }
}
