//! Incremental matching equals a full re-match: random sequences of drops, re-drops
//! with updated listings, removals, splits, merges, dismissals and tie-breaker answers
//! are applied to a `MatchState`, and after every step its groups, canonical events
//! and decisions are compared with a full `score` → answers → `finish` run over the
//! same listings, constraints and answers. The diffs an apply returns are replayed
//! into a catalogue that must equal the state too (so persisting diffs is enough).

mod common;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use chrono::Duration;
use event_dedup::matching::incremental::{Change, Diff, GroupOut, MatchState, TieAnswer, Verdict};
use event_dedup::matching::{self, MatchingConfig, ReviewConstraints};
use event_dedup::model::{AiNote, Decision, DecisionRule, PairDecision, SourceEvent, Tier};
use event_dedup::preprocess::WordLists;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRng, TestRunner};

use common::{dev_set, load_events};

/// Dev-set listings of its three busiest towns: dense blocks, real duplicates,
/// ambiguous pairs and conflicts.
fn pool() -> Vec<SourceEvent> {
    let events = load_events(&dev_set().join("events"));
    let mut count: HashMap<String, usize> = HashMap::new();
    for e in &events {
        *count
            .entry(e.location_city.clone().unwrap_or_default())
            .or_default() += 1;
    }
    let mut towns: Vec<(usize, String)> = count.into_iter().map(|(c, n)| (n, c)).collect();
    towns.sort_by(|x, y| y.cmp(x));
    let busiest: Vec<String> = towns.into_iter().take(3).map(|(_, c)| c).collect();
    let mut pool: Vec<SourceEvent> = events
        .into_iter()
        .filter(|e| busiest.contains(&e.location_city.clone().unwrap_or_default()))
        .collect();
    pool.sort_by(|x, y| x.id.cmp(&y.id));
    pool.dedup_by(|x, y| x.id == y.id);
    pool.truncate(110);
    pool
}

#[derive(Debug, Clone)]
enum Op {
    /// Pool listings dropped as they are.
    Drop(Vec<usize>),
    /// Stored listings (chosen by index) dropped again in another version.
    Redrop(Vec<(usize, u8, usize)>),
    Remove(Vec<usize>),
    /// Split a multi-member group (chosen by index) at a member index.
    Split(usize, usize),
    /// Merge two groups (chosen by index).
    Merge(usize, usize),
    /// A must-link between a stored listing and a pool listing that may not be
    /// stored yet (reviewers' links can name listings a later drop brings).
    LinkAhead(usize, usize),
    /// Dismiss a flagged group (chosen by index).
    Dismiss(usize),
    /// Answer an unanswered ambiguous pair (chosen by index) with a verdict kind.
    Answer(usize, u8),
    /// The service restarts: a new state built by a full run, answers re-applied.
    Restart,
}

fn op(pool: usize) -> impl Strategy<Value = Op> {
    let idx = 0..pool;
    prop_oneof![
        3 => prop::collection::vec(idx.clone(), 1..12).prop_map(Op::Drop),
        3 => prop::collection::vec((0..1000usize, 0..5u8, idx), 1..6).prop_map(Op::Redrop),
        1 => prop::collection::vec(0..1000usize, 1..4).prop_map(Op::Remove),
        2 => (0..1000usize, 0..1000usize).prop_map(|(g, m)| Op::Split(g, m)),
        2 => (0..1000usize, 0..1000usize).prop_map(|(a, b)| Op::Merge(a, b)),
        2 => (0..1000usize).prop_map(Op::Dismiss),
        2 => (0..1000usize, 0..4u8).prop_map(|(p, v)| Op::Answer(p, v)),
        1 => Just(Op::Restart),
        2 => (0..1000usize, 0..pool).prop_map(|(s, p)| Op::LinkAhead(s, p)),
    ]
}

/// A first drop of about half the pool, then a random sequence.
fn scenario(pool: usize) -> impl Strategy<Value = (Vec<usize>, Vec<Op>)> {
    (
        prop::collection::vec(0..pool, pool / 3..pool / 2),
        prop::collection::vec(op(pool), 1..7),
    )
}

/// Another version of a listing: the kinds of edits a re-printed listing has.
fn updated(e: &SourceEvent, kind: u8, other: &SourceEvent) -> SourceEvent {
    let mut e = e.clone();
    match kind {
        0 => e.title = other.title.clone(),
        1 => {
            for d in &mut e.dates {
                d.date += Duration::days(1);
            }
        }
        2 => {
            for d in &mut e.dates {
                d.start_time = match d.start_time {
                    Some(_) => None,
                    None => chrono::NaiveTime::from_hms_opt(20, 0, 0),
                };
            }
        }
        3 => e.location_city = other.location_city.clone(),
        _ => {
            e.title = format!("{} (verlegt)", e.title);
            e.description = Some(format!("{} Neu.", e.description.unwrap_or_default()));
        }
    }
    e
}

fn note(kind: u8) -> AiNote {
    AiNote {
        answer: ["same", "different", "same", "maybe"][kind as usize % 4].to_string(),
        confidence: if kind == 2 { 0.3 } else { 0.9 },
        reasoning: format!("answer {kind}"),
        model: "test".into(),
    }
}

fn verdict(kind: u8) -> Verdict {
    match kind % 4 {
        0 => Verdict::Resolved(Decision::Match),
        1 => Verdict::Resolved(Decision::NoMatch),
        2 => Verdict::LowConfidence,
        _ => Verdict::Unexpected,
    }
}

/// The catalogue as a persistence layer would hold it after writing only diffs.
#[derive(Default)]
struct Persisted {
    groups: BTreeMap<Vec<String>, String>,
    decisions: BTreeMap<(String, String), PairDecision>,
}

impl Persisted {
    /// Replays a diff; `strict` also refuses updates that change nothing (one
    /// apply's diff never holds one; two applies' composed diff may: a group removed
    /// and re-created as it was).
    fn write(&mut self, diff: &Diff, strict: bool) -> Result<(), TestCaseError> {
        for members in &diff.groups_removed {
            prop_assert!(
                self.groups.remove(members).is_some(),
                "removed unknown group"
            );
        }
        for g in &diff.groups_created {
            let old = self
                .groups
                .insert(g.members.clone(), g.content_hash.clone());
            prop_assert!(old.is_none(), "created an existing group");
        }
        for g in &diff.groups_updated {
            let old = self
                .groups
                .insert(g.members.clone(), g.content_hash.clone());
            prop_assert!(
                old.is_some_and(|h| !strict || h != g.content_hash),
                "empty update"
            );
        }
        for (a, b) in &diff.decisions_removed {
            prop_assert!(self.decisions.remove(&(a.clone(), b.clone())).is_some());
        }
        for d in &diff.decisions_added {
            let old = self
                .decisions
                .insert((d.id_a.clone(), d.id_b.clone()), d.clone());
            prop_assert!(old.is_none(), "added an existing decision");
        }
        for d in &diff.decisions_changed {
            let old = self
                .decisions
                .insert((d.id_a.clone(), d.id_b.clone()), d.clone());
            prop_assert!(old.is_some_and(|o| !strict || &o != d), "empty change");
        }
        Ok(())
    }
}

/// What the generated cases exercised, summed over all cases.
#[derive(Debug, Default)]
struct Coverage {
    steps: usize,
    multi_member_groups: usize,
    flagged_groups: usize,
    ambiguous_pairs: usize,
    cut_by_conflict: usize,
    cannot_links: usize,
    merged: usize,
    ai_decided: usize,
    dismissed: usize,
    restarts: usize,
    updated_groups: usize,
    removed_groups: usize,
}

struct Case<'a> {
    pool: &'a [SourceEvent],
    config: &'a MatchingConfig,
    lists: &'a WordLists,
    state: MatchState,
    current: BTreeMap<String, SourceEvent>,
    constraints: ReviewConstraints,
    answers: HashMap<(String, String), TieAnswer>,
    persisted: Persisted,
    /// The same diffs replayed two at a time, composed with `Diff::then` (as a run
    /// that applies a change and then the tie-breaker's answers persists them).
    composed: Persisted,
    pending: Option<Diff>,
}

impl Case<'_> {
    fn nth_stored(&self, i: usize) -> Option<SourceEvent> {
        let n = self.current.len();
        (n > 0)
            .then(|| self.current.values().nth(i % n).cloned())
            .flatten()
    }

    /// Turns an operation into a change, also recording it for the full run.
    fn change(&mut self, op: &Op) -> Change {
        let mut change = Change::default();
        let groups = || self.state.groups();
        match op {
            Op::Drop(idx) => {
                change.upserts = idx.iter().map(|&i| self.pool[i].clone()).collect();
            }
            Op::Redrop(edits) => {
                for &(i, kind, other) in edits {
                    if let Some(e) = self.nth_stored(i) {
                        change.upserts.push(updated(&e, kind, &self.pool[other]));
                    }
                }
            }
            Op::Remove(idx) => {
                change.removals = idx
                    .iter()
                    .filter_map(|&i| self.nth_stored(i))
                    .map(|e| e.id)
                    .collect();
            }
            Op::Split(g, m) => {
                let multi: Vec<GroupOut> = groups()
                    .into_iter()
                    .filter(|g| g.members.len() > 1)
                    .collect();
                if let Some(group) = multi.get(g % multi.len().max(1)) {
                    let at = 1 + m % (group.members.len() - 1);
                    let (left, right) = group.members.split_at(at);
                    let mut c = self.constraints.clone();
                    for a in left {
                        for b in right {
                            c.cannot_link.push((a.clone(), b.clone()));
                        }
                    }
                    change.constraints = Some(c);
                }
            }
            Op::Merge(x, y) => {
                let all = groups();
                let (a, b) = (&all[x % all.len()], &all[y % all.len()]);
                if a.members != b.members {
                    let mut c = self.constraints.clone();
                    c.must_link
                        .push((a.members[0].clone(), b.members[0].clone()));
                    change.constraints = Some(c);
                }
            }
            Op::Dismiss(g) => {
                let flagged: Vec<GroupOut> = groups()
                    .into_iter()
                    .filter(|g| g.canonical.needs_review)
                    .collect();
                if let Some(group) = flagged.get(g % flagged.len().max(1)) {
                    let mut c = self.constraints.clone();
                    c.reviewed.push(group.members.clone());
                    change.constraints = Some(c);
                }
            }
            Op::Restart => {}
            Op::LinkAhead(i, p) => {
                if let Some(e) = self.nth_stored(*i) {
                    let mut c = self.constraints.clone();
                    c.must_link.push((e.id, self.pool[*p].id.clone()));
                    change.constraints = Some(c);
                }
            }
            Op::Answer(p, kind) => {
                let open: Vec<PairDecision> = self
                    .state
                    .decisions()
                    .into_iter()
                    .filter(|d| d.decision == Decision::Ambiguous && d.ai.is_none())
                    .collect();
                if let Some(d) = open.get(p % open.len().max(1)) {
                    change.answers.push(TieAnswer {
                        id_a: d.id_a.clone(),
                        id_b: d.id_b.clone(),
                        verdict: verdict(*kind),
                        note: note(*kind),
                    });
                }
            }
        }
        // An answer is about the content it was given: a listing's new version
        // drops the answers on its pairs (the service asks again; the cache answers
        // an unchanged pair).
        let replaced: std::collections::HashSet<&str> = change
            .upserts
            .iter()
            .map(|e| e.id.as_str())
            .filter(|id| self.current.contains_key(*id))
            .collect();
        self.answers
            .retain(|(a, b), _| !replaced.contains(a.as_str()) && !replaced.contains(b.as_str()));
        for e in &change.upserts {
            self.current.insert(e.id.clone(), e.clone());
        }
        for id in &change.removals {
            self.current.remove(id);
        }
        if let Some(c) = &change.constraints {
            self.constraints = c.clone();
        }
        for a in &change.answers {
            self.answers
                .insert((a.id_a.clone(), a.id_b.clone()), a.clone());
        }
        change
    }

    /// The full re-match of the same state, with the answers applied as the service
    /// applies them (to pairs left ambiguous).
    fn full_run(&self) -> (Vec<GroupOut>, Vec<PairDecision>) {
        let events: Vec<SourceEvent> = self.current.values().cloned().collect();
        let mut scored = matching::score(events, self.config, self.lists, &self.constraints);
        for i in 0..scored.pairs.len() {
            let p = scored.pairs[i];
            let ids = (
                scored.events[p.a as usize].id.clone(),
                scored.events[p.b as usize].id.clone(),
            );
            let Some(answer) = self
                .answers
                .get(&ids)
                .filter(|_| p.decision == Decision::Ambiguous)
            else {
                continue;
            };
            let pair = &mut scored.pairs[i];
            match answer.verdict {
                Verdict::Resolved(d) => {
                    pair.decision = d;
                    pair.tier = Tier::Ai;
                    pair.rule = DecisionRule::Llm;
                }
                Verdict::LowConfidence => pair.tier = Tier::AiLowConfidence,
                Verdict::Unexpected => pair.tier = Tier::AiUnexpected,
            }
            scored.ai_notes.insert(i, answer.note.clone());
        }
        let result = scored.finish(self.config, &self.constraints);
        let mut groups: Vec<GroupOut> = (0..result.canonical_count())
            .map(|i| GroupOut {
                members: result.member_ids(i).map(str::to_string).collect(),
                canonical: result.canonical(i),
                content_hash: result.content_hash(i),
            })
            .collect();
        groups.sort_by(|x, y| x.members.cmp(&y.members));
        let decisions = result.pairs.iter().map(|p| result.explain(p)).collect();
        (groups, decisions)
    }

    fn step(&mut self, op: &Op, coverage: &mut Coverage) -> Result<(), TestCaseError> {
        let change = self.change(op);
        let diff = if matches!(op, Op::Restart) {
            // A fresh instance over the same listings, constraints and answers must
            // compute the catalogue the diffs have built so far.
            let events = self.current.values().cloned().collect();
            let (state, _) = MatchState::build(events, self.config, self.lists, &self.constraints);
            self.state = state;
            self.state.apply(Change {
                answers: self.answers.values().cloned().collect(),
                ..Change::default()
            })
        } else {
            let diff = self.state.apply(change);
            self.persisted.write(&diff, true)?;
            match self.pending.take() {
                None => self.pending = Some(diff.clone()),
                Some(first) => {
                    self.composed.write(&first.then(diff.clone()), false)?;
                    prop_assert_eq!(&self.composed.groups, &self.persisted.groups);
                    prop_assert_eq!(&self.composed.decisions, &self.persisted.decisions);
                }
            }
            diff
        };
        let (groups, decisions) = self.full_run();
        let got = self.state.groups();
        prop_assert_eq!(got.len(), groups.len(), "group count after {:?}", op);
        for (g, e) in got.iter().zip(&groups) {
            prop_assert_eq!(g, e, "group after {:?}", op);
        }
        let got_decisions = self.state.decisions();
        prop_assert_eq!(
            got_decisions.len(),
            decisions.len(),
            "decision count after {:?}",
            op
        );
        for (g, e) in got_decisions.iter().zip(&decisions) {
            prop_assert_eq!(g, e, "decision after {:?}", op);
        }
        let persisted_groups: BTreeMap<Vec<String>, String> = got
            .iter()
            .map(|g| (g.members.clone(), g.content_hash.clone()))
            .collect();
        prop_assert_eq!(
            &self.persisted.groups,
            &persisted_groups,
            "diffs miss a group change"
        );
        let persisted_decisions: Vec<&PairDecision> = self.persisted.decisions.values().collect();
        prop_assert_eq!(
            persisted_decisions,
            got_decisions.iter().collect::<Vec<_>>()
        );

        coverage.steps += 1;
        coverage.multi_member_groups += groups.iter().filter(|g| g.members.len() > 1).count();
        coverage.flagged_groups += groups.iter().filter(|g| g.canonical.needs_review).count();
        coverage.updated_groups += diff.groups_updated.len();
        coverage.removed_groups += diff.groups_removed.len();
        let rule = |r: DecisionRule| decisions.iter().filter(|d| d.rule == r).count();
        coverage.ambiguous_pairs += decisions
            .iter()
            .filter(|d| d.decision == Decision::Ambiguous)
            .count();
        coverage.cut_by_conflict += rule(DecisionRule::ClusterConflict);
        coverage.cannot_links +=
            rule(DecisionRule::CannotLink) + rule(DecisionRule::CannotLinkSeparation);
        // Merges whose two listings share a group now (a must-link is absolute).
        coverage.merged += self
            .constraints
            .must_link
            .iter()
            .filter(|(a, b)| {
                got.iter()
                    .any(|g| g.members.contains(a) && g.members.contains(b))
            })
            .count();
        coverage.ai_decided += rule(DecisionRule::Llm);
        coverage.dismissed += self.constraints.reviewed.len();
        coverage.restarts += usize::from(matches!(op, Op::Restart));
        Ok(())
    }
}

/// Runs the property under one config and returns what it exercised.
fn check(config: &MatchingConfig, cases: u32) -> Coverage {
    let pool = pool();
    assert!(pool.len() >= 80, "the pool is too small: {}", pool.len());
    let lists = WordLists::bundled();
    let coverage = RefCell::new(Coverage::default());
    let settings = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    // A fixed seed: the coverage assertions below must not depend on luck.
    let rng = TestRng::deterministic_rng(settings.rng_algorithm);
    let mut runner = TestRunner::new_with_rng(settings, rng);
    runner
        .run(&scenario(pool.len()), |(first, ops)| {
            let mut case = Case {
                pool: &pool,
                config,
                lists: &lists,
                state: MatchState::new(config, &lists),
                current: BTreeMap::new(),
                constraints: ReviewConstraints::default(),
                answers: HashMap::new(),
                persisted: Persisted::default(),
                composed: Persisted::default(),
                pending: None,
            };
            let mut coverage = coverage.borrow_mut();
            case.step(&Op::Drop(first), &mut coverage)?;
            for op in &ops {
                case.step(op, &mut coverage)?;
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let c = coverage.into_inner();
    eprintln!("{c:?}");
    c
}

#[test]
fn incremental_equals_full() {
    let c = check(&MatchingConfig::default(), 120);
    // The cases must have exercised what makes incremental matching hard.
    assert!(c.multi_member_groups > 0, "{c:?}");
    assert!(c.flagged_groups > 0, "{c:?}");
    assert!(c.ambiguous_pairs > 0, "{c:?}");
    assert!(c.cut_by_conflict > 0, "{c:?}");
    assert!(c.cannot_links > 0, "{c:?}");
    assert!(c.merged > 0, "{c:?}");
    assert!(c.ai_decided > 0, "{c:?}");
    assert!(c.dismissed > 0, "{c:?}");
    assert!(c.restarts > 0, "{c:?}");
    assert!(c.updated_groups > 0, "{c:?}");
    assert!(c.removed_groups > 0, "{c:?}");
}

/// Tiny block limits: blocks split by tokens and title-day blocks dropped as they
/// fill, so a change moves pairs between listings it does not touch.
#[test]
fn incremental_equals_full_when_blocks_overflow() {
    let mut config = MatchingConfig::default();
    config.blocking.max_block_size = 5;
    config.blocking.max_title_block_size = 2;
    let c = check(&config, 80);
    assert!(c.multi_member_groups > 0, "{c:?}");
    assert!(c.removed_groups > 0, "{c:?}");
}

/// A re-drop of one listing scores only that listing's pairs and re-clusters only
/// its component, and the diff names exactly what changed.
#[test]
fn an_apply_touches_only_the_changed_listings_neighbourhood() {
    let pool = pool();
    let (config, lists) = (MatchingConfig::default(), WordLists::bundled());
    let (mut state, built) =
        MatchState::build(pool.clone(), &config, &lists, &ReviewConstraints::default());
    assert_eq!(built.groups_synthesized, state.group_count());
    assert_eq!(built.listings_changed, pool.len());
    let decisions = state.decisions();
    // The listing with the most candidate pairs.
    let mut degree: HashMap<&str, usize> = HashMap::new();
    for d in &decisions {
        *degree.entry(&d.id_a).or_default() += 1;
        *degree.entry(&d.id_b).or_default() += 1;
    }
    let (busiest, pairs) = degree
        .into_iter()
        .max_by_key(|&(id, n)| (n, std::cmp::Reverse(id)))
        .expect("pairs");
    let listing = pool.iter().find(|e| e.id == busiest).expect("in the pool");
    let mut again = listing.clone();
    again.description = Some("Ganz neu beschrieben.".into());
    let diff = state.apply(Change {
        upserts: vec![again],
        ..Change::default()
    });
    assert_eq!(diff.stats.listings_changed, 1);
    assert_eq!(diff.stats.pairs_scored, pairs);
    // Its component and those of its partners, not the pool.
    assert!(
        diff.stats.components_reclustered <= pairs + 1,
        "{:?}",
        diff.stats
    );
    assert!(
        diff.stats.listings_reclustered < pool.len() / 2,
        "{:?}",
        diff.stats
    );
    assert!(diff.groups_created.len() + diff.groups_updated.len() > 0);
    // The same version again changes nothing.
    let mut same = listing.clone();
    same.description = Some("Ganz neu beschrieben.".into());
    let diff = state.apply(Change {
        upserts: vec![same],
        ..Change::default()
    });
    assert!(
        diff.groups_created.is_empty()
            && diff.groups_updated.is_empty()
            && diff.groups_removed.is_empty()
    );
    assert!(
        diff.decisions_added.is_empty()
            && diff.decisions_changed.is_empty()
            && diff.decisions_removed.is_empty()
    );
}

/// The other scoring and clustering methods a config can choose.
#[test]
fn incremental_equals_full_with_weighted_sum_and_plain_components() {
    use event_dedup::matching::config::{ClusterMethod, ScoringMethod};
    let mut config = MatchingConfig::default();
    config.model.method = ScoringMethod::WeightedSum;
    config.cluster.method = ClusterMethod::ConnectedComponents;
    let c = check(&config, 40);
    assert!(c.multi_member_groups > 0, "{c:?}");
    assert!(c.ambiguous_pairs > 0, "{c:?}");
}
