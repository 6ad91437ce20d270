//! Incremental matching: a [`MatchState`] keeps what a run computed (prepared
//! listings, the blocking index, the pair decisions, the clustering and each group's
//! canonical hash) so that a change — new or updated listings, removed listings,
//! changed review constraints, tie-breaker answers — costs what it touches, not what
//! the catalogue holds.
//!
//! An apply: (1) prepares the changed listings and recomputes only the blocks they
//! were or are in, which moves pair support exactly ([`index`]); (2) scores the pairs
//! that are new or involve a changed listing; (3) re-decides pairs named by changed
//! verdicts ([`verdicts`]); (4) re-clusters the connected components (match edges and
//! must-links) that hold any touched listing — a component that holds none has the
//! same edges, scores, facts and constraints as before, so its clustering cannot
//! change ([`clustering`]); (5) re-synthesizes their groups; and returns the
//! [`Diff`]: groups created / updated / removed by member set and content hash,
//! decisions added / changed / removed.
//!
//! Invariant (the property test `incremental_equals_full` checks it): after any
//! sequence of applies, groups, canonical events and decisions equal those of
//! [`crate::matching::run`] over the same listings and constraints, with the same
//! tie-breaker answers applied to its ambiguous pairs.
//!
//! Memory (a state lives as long as the service): listings are kept encoded but for
//! their ids ([`listings`]), pairs as compact records reached through per-slot
//! adjacency lists ([`pairs`]), ids once ([`slots`]); `MatchState::memory` reports
//! the estimate per structure. A build ([`build`]) takes its input a chunk at a time
//! and never holds it all decoded: the build's peak is the state plus its pair
//! vectors. Time: every stage of an apply is a sort or a parallel map over its work,
//! so a build (an apply of everything) costs about a full run.
//!
//! A state belongs to one matching config, word-list set and model: a change of any
//! of them changes every score, so the owner builds a new state ([`MatchState::build`],
//! a full re-match) and resumes incremental applies on it.

mod build;
mod change;
mod clustering;
mod index;
mod listings;
mod memory;
mod pairs;
mod slots;
mod verdicts;

use std::collections::HashMap;
use std::time::Instant;

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

pub use build::StateBuilder;
pub use change::{ApplyStats, Change, Diff, Figures, GroupOut, TieAnswer, Verdict};
use clustering::{cluster_component, synthesize_group, Group, View};
use index::{BlockIndex, Keys, SlotPair, TouchedBlocks};
use listings::{Listings, Loaded};
pub use memory::StateMemory;
use pairs::{Outcome, PairRec, Pairs};
use slots::SlotIndex;
use verdicts::{id_pair, Touched, Verdicts};

use super::candidates::{block_key_hashes, title_day_key_hashes};
use super::conflicts::{EventFacts, FactsBuilder};
use super::pipeline::{
    active_model, explain_scored, finish, score_prepared, weight_sets, ScoredPair,
};
use super::prepared::PreparedEvent;
use super::synthesis::synthesize;
use super::{MatchingConfig, ReviewConstraints};
use crate::model::{AiNote, CanonicalEvent, Decision, PairDecision, SourceEvent, Weights};
use crate::preprocess::WordLists;

/// A connected component and its groups.
#[derive(Debug, Clone)]
struct Component {
    groups: Vec<Group>,
}

const NO_COMPONENT: u32 = u32::MAX;

/// The matcher's state between runs (see the module documentation).
pub struct MatchState {
    config: MatchingConfig,
    lists: WordLists,
    weight_sets: Vec<(Option<String>, Weights)>,
    /// Slot of every id ever seen (a removed listing keeps its slot, not alive).
    slot_of: SlotIndex,
    /// Per slot. A removed listing keeps only its id.
    listings: Listings,
    prepared: Vec<PreparedEvent>,
    facts: Vec<EventFacts>,
    keys: Vec<Keys>,
    alive: Vec<bool>,
    /// Candidate pairs, reachable from each slot.
    pairs: Pairs,
    blocks: BlockIndex,
    facts_builder: FactsBuilder,
    component_of: Vec<u32>,
    components: FxHashMap<u32, Component>,
    next_component: u32,
    verdicts: Verdicts,
    /// Prepared form of a removed listing (never in a block, never read).
    vacant: PreparedEvent,
}

/// The key of the pair of two slots.
fn slot_pair(a: u32, b: u32) -> SlotPair {
    if a < b {
        (a, b)
    } else {
        (b, a)
    }
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

impl MatchState {
    /// An empty catalogue for this config and these word lists.
    pub fn new(config: &MatchingConfig, lists: &WordLists) -> Self {
        MatchState {
            config: config.clone(),
            lists: lists.clone(),
            weight_sets: weight_sets(config),
            slot_of: SlotIndex::default(),
            listings: Listings::default(),
            prepared: Vec::new(),
            facts: Vec::new(),
            keys: Vec::new(),
            alive: Vec::new(),
            pairs: Pairs::default(),
            blocks: BlockIndex::default(),
            facts_builder: FactsBuilder::default(),
            component_of: Vec::new(),
            components: FxHashMap::default(),
            next_component: 0,
            verdicts: Verdicts::default(),
            vacant: PreparedEvent::new(&SourceEvent::default(), lists, config),
        }
    }

    /// Listings in the catalogue.
    pub fn listing_count(&self) -> usize {
        self.alive.iter().filter(|&&a| a).count()
    }

    /// Canonical groups.
    pub fn group_count(&self) -> usize {
        self.components.values().map(|c| c.groups.len()).sum()
    }

    /// The review constraints in force.
    pub fn constraints(&self) -> &ReviewConstraints {
        &self.verdicts.constraints
    }

    /// The matching config the state was built for (another config needs a new state).
    pub fn config(&self) -> &MatchingConfig {
        &self.config
    }

    /// The catalogue's figures as a full run's stats count them (a run row records
    /// them). One pass over pairs and groups: no allocation, no synthesis.
    pub fn figures(&self) -> Figures {
        let mut f = Figures {
            listings: self.listing_count(),
            candidate_pairs: self.pairs.len(),
            ..Figures::default()
        };
        for r in self.pairs.values() {
            match r.fin().decision {
                Decision::Match => f.matches += 1,
                Decision::Ambiguous => f.ambiguous += 1,
                Decision::NoMatch => {}
            }
        }
        for g in self.components.values().flat_map(|c| &c.groups) {
            f.groups += 1;
            f.flagged += usize::from(g.meta.is_flagged());
        }
        f
    }

    /// Ids of every candidate pair the clustering sees as ambiguous (what a full
    /// run would ask the tie-breaker about), sorted.
    pub fn ambiguous_pairs(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .pairs
            .values()
            .map(PairRec::eff)
            .filter(|p| p.decision == Decision::Ambiguous)
            .map(|p| {
                (
                    self.listings.id(p.a).to_string(),
                    self.listings.id(p.b).to_string(),
                )
            })
            .collect();
        out.sort();
        out
    }

    /// The listings and effective scored form of candidate pairs named by ids (as
    /// [`Diff::questions`] names them), for the tie-breaker's prompt; pairs that are
    /// no longer candidates are left out. Listings are decoded (the state keeps
    /// them encoded).
    pub fn question_pairs(
        &self,
        pairs: &[(String, String)],
    ) -> Vec<(SourceEvent, SourceEvent, ScoredPair)> {
        pairs
            .iter()
            .filter_map(|(a, b)| {
                let key = slot_pair(self.alive_slot(a)?, self.alive_slot(b)?);
                let p = self.pairs.get(key)?.eff();
                Some((self.listings.decode(p.a), self.listings.decode(p.b), p))
            })
            .collect()
    }

    /// Every group with its canonical event, sorted by member ids (synthesized on
    /// demand, as [`crate::matching::PipelineResult::canonical`] does).
    pub fn groups(&self) -> Vec<GroupOut> {
        let mut out: Vec<GroupOut> = self
            .components
            .values()
            .flat_map(|c| &c.groups)
            .map(|g| GroupOut {
                members: self.ids(&g.members),
                canonical: self.canonical(g),
                content_hash: hex::encode(g.hash),
            })
            .collect();
        out.sort_by(|x, y| x.members.cmp(&y.members));
        out
    }

    /// Every candidate pair's stored decision, sorted by ids.
    pub fn decisions(&self) -> Vec<PairDecision> {
        let mut out: Vec<PairDecision> = self.pairs.values().map(|r| self.explain(r)).collect();
        out.sort_by(|x, y| (&x.id_a, &x.id_b).cmp(&(&y.id_a, &y.id_b)));
        out
    }

    fn ids(&self, slots: &[u32]) -> Vec<String> {
        slots
            .iter()
            .map(|&s| self.listings.id(s).to_string())
            .collect()
    }

    fn canonical(&self, g: &Group) -> CanonicalEvent {
        let decoded: Vec<SourceEvent> =
            g.members.iter().map(|&s| self.listings.decode(s)).collect();
        let members: Vec<&SourceEvent> = decoded.iter().collect();
        finish(
            synthesize(&members, &self.config.canonical.field_strategies),
            &g.meta,
        )
    }

    fn explain(&self, r: &PairRec) -> PairDecision {
        let p = r.fin();
        let ids = (self.listings.id(p.a), self.listings.id(p.b));
        explain_scored(&p, ids, &self.weight_sets, r.ai.as_deref().cloned())
    }

    fn alive_slot(&self, id: &str) -> Option<u32> {
        self.slot_of
            .get(id, self.listings.ids())
            .filter(|&s| self.alive[s as usize])
    }

    /// Applies one change and returns what it changed (see the module documentation).
    pub fn apply(&mut self, change: Change) -> Diff {
        self.apply_with(change, true)
    }

    /// [`MatchState::apply`]; without `want_diff` only the stats are returned and no
    /// canonical event is kept past its hash (a build synthesizes every group).
    ///
    /// Every stage is a sort or a parallel map over the change's work, never a map
    /// insert per pair, so a change of a million listings (a build) costs about what a
    /// full run costs.
    fn apply_with(&mut self, change: Change, want_diff: bool) -> Diff {
        let started = Instant::now();
        let mut stats = ApplyStats::default();
        let Change {
            upserts,
            removals,
            constraints,
            answers,
        } = change;

        // (1) Listings and blocks.
        let t = Instant::now();
        let upserts = last_version_per_id(upserts);
        let (config, lists) = (&self.config, &self.lists);
        let prepared: Vec<(PreparedEvent, Keys)> = upserts
            .par_iter()
            .map(|e| prepare(e, lists, config))
            .collect();
        let removed: Vec<u32> = if removals.is_empty() {
            Vec::new()
        } else {
            let upserted: FxHashSet<&str> = upserts.iter().map(|e| e.id.as_str()).collect();
            removals
                .iter()
                .filter(|id| !upserted.contains(id.as_str()))
                .filter_map(|id| self.alive_slot(id))
                .collect()
        };
        let mut touched = TouchedBlocks::default();
        let mut upsert_slots = Vec::with_capacity(upserts.len());
        let mut replaced: Vec<u32> = Vec::new();
        self.reserve_slots(upserts.len());
        for (e, (_, keys)) in upserts.iter().zip(&prepared) {
            let slot = self.slot_for(&e.id);
            if self.alive[slot as usize] {
                replaced.push(slot);
            }
            upsert_slots.push(slot);
            touched.add(keys);
        }
        for &s in replaced.iter().chain(&removed) {
            touched.add(&self.keys[s as usize]);
        }
        touched.seal();
        // An answer was about a listing's old content: a full run looks the new
        // content up in the cache (keyed by content), so the pair is asked again.
        let replaced_ids: std::collections::HashSet<&str> =
            replaced.iter().map(|&s| self.listings.id(s)).collect();
        self.verdicts.forget_answers_of(&replaced_ids);
        stats.listings_changed = upsert_slots.len() + removed.len();
        stats.blocks_touched = touched.len();
        let support_before = self
            .blocks
            .count_pairs(&touched, &self.prepared, &self.config);
        for &s in replaced.iter().chain(&removed) {
            self.blocks.remove(s, &self.keys[s as usize]);
        }
        for &s in &removed {
            self.listings.clear(s);
            self.prepared[s as usize] = self.vacant.clone();
            self.keys[s as usize] = Keys::default();
            self.facts[s as usize] = EventFacts::default();
            self.alive[s as usize] = false;
        }
        for ((e, (p, keys)), &s) in upserts.iter().zip(prepared).zip(&upsert_slots) {
            self.facts[s as usize] = self.facts_builder.facts(e, &p, &self.config);
            self.prepared[s as usize] = p;
            self.keys[s as usize] = keys;
            self.alive[s as usize] = true;
        }
        let inserted: Vec<(u32, &Keys)> = upsert_slots
            .iter()
            .map(|&s| (s, &self.keys[s as usize]))
            .collect();
        self.blocks.insert_many(&inserted);
        let support_after = self
            .blocks
            .count_pairs(&touched, &self.prepared, &self.config);
        let support = support_delta(support_before, support_after);
        let loaded = Loaded::new(&upsert_slots, upserts);
        stats.index_ms = ms_since(t);
        let indexed = Indexed {
            upsert_slots,
            replaced,
            removed,
            support,
            loaded,
        };
        self.apply_indexed(indexed, constraints, answers, want_diff, stats, started)
    }

    /// Steps (2) to (5) of an apply, once the changed listings are in their slots and
    /// blocks: scoring, verdicts, re-clustering, synthesis and the diff.
    fn apply_indexed(
        &mut self,
        indexed: Indexed,
        constraints: Option<ReviewConstraints>,
        answers: Vec<TieAnswer>,
        want_diff: bool,
        mut stats: ApplyStats,
        started: Instant,
    ) -> Diff {
        let Indexed {
            upsert_slots,
            replaced,
            removed,
            support,
            mut loaded,
        } = indexed;

        // (2) Pair support and scoring.
        let t = Instant::now();
        let mut before = Before {
            on: want_diff,
            pairs: FxHashMap::default(),
        };
        let mut touched_slots: Vec<u32> = upsert_slots.clone();
        touched_slots.extend(removed.iter().copied());
        // Sorted by pair, as `support` is.
        let mut added: Vec<(SlotPair, u32)> = Vec::new();
        for (key, d) in support {
            match self.pairs.get_mut(key) {
                Some(rec) => {
                    let s = i64::from(rec.support) + d;
                    if s > 0 {
                        rec.support = s as u32;
                        continue;
                    }
                    before.keep(key, Some(&*rec));
                    self.pairs.remove(key);
                    touched_slots.extend([key.0, key.1]);
                }
                None if d > 0 => added.push((key, d as u32)),
                None => {}
            }
        }
        let is_added = |key: &SlotPair| added.binary_search_by_key(key, |&(k, _)| k).ok();
        let mut to_score: Vec<SlotPair> = added.iter().map(|&(k, _)| k).collect();
        for &s in &replaced {
            to_score.extend(self.pairs.partners(s).map(|t| slot_pair(s, t)));
        }
        to_score.par_sort_unstable();
        to_score.dedup();
        let model = active_model(&self.config, &self.lists);
        loaded.load(to_score.iter().flat_map(|&(x, y)| [x, y]), &self.listings);
        let scored: Vec<(SlotPair, ScoredPair)> = to_score
            .par_iter()
            .map(|&(x, y)| {
                let (lo, hi) = if self.listings.id(x) < self.listings.id(y) {
                    (x, y)
                } else {
                    (y, x)
                };
                let (ea, fields_a) = loaded.scoring_event(lo, &self.listings);
                let (eb, fields_b) = loaded.scoring_event(hi, &self.listings);
                let a = (ea.as_ref(), &self.prepared[lo as usize]);
                let b = (eb.as_ref(), &self.prepared[hi as usize]);
                let raw = score_prepared((lo, hi), a, b, &self.config, model);
                if cfg!(debug_assertions) && (fields_a || fields_b) {
                    let (ea, eb) = (self.listings.decode(lo), self.listings.decode(hi));
                    let a = (&ea, &self.prepared[lo as usize]);
                    let b = (&eb, &self.prepared[hi as usize]);
                    let full = score_prepared((lo, hi), a, b, &self.config, model);
                    debug_assert_eq!(raw, full, "scoring reads a field ScoringFields lacks");
                }
                ((x, y), raw)
            })
            .collect();
        loaded.scored();
        stats.pairs_scored = scored.len();
        let scored_count = scored.len();
        let mut new_recs = Vec::with_capacity(added.len());
        for (key, raw) in scored {
            match self.pairs.get_mut(key) {
                Some(rec) => {
                    before.keep(key, Some(&*rec));
                    // New scores can move the clustering of both ends' components.
                    if rec.raw != raw {
                        touched_slots.extend([key.0, key.1]);
                    }
                    rec.raw = raw;
                }
                None => {
                    before.keep(key, None);
                    let support = is_added(&key).map_or(0, |i| added[i].1);
                    new_recs.push((key, PairRec::new(raw, support)));
                }
            }
        }
        self.pairs.extend(new_recs);
        stats.score_ms = ms_since(t);

        // (3) Verdicts: the effective decision of every pair they or the scores moved.
        let t = Instant::now();
        let mut verdict_touch = Touched::default();
        if let Some(c) = constraints {
            verdict_touch = self.verdicts.set_constraints(c);
        }
        let answer_touch = self.verdicts.add_answers(answers);
        verdict_touch.ids.extend(answer_touch.ids);
        verdict_touch.pairs.extend(answer_touch.pairs);
        touched_slots.extend(
            verdict_touch
                .ids
                .iter()
                .filter_map(|id| self.alive_slot(id)),
        );
        // A listing that (re)appears may complete a reviewer's link named before.
        for &s in &upsert_slots {
            let id = self.listings.id(s);
            let named = self.verdicts.must_partners(id).iter();
            let named = named.chain(self.verdicts.cannot_partners(id));
            touched_slots.extend(named.filter_map(|id| self.alive_slot(id)));
        }
        let mut redecide: Vec<SlotPair> = to_score;
        for (a, b) in &verdict_touch.pairs {
            if let (Some(x), Some(y)) = (self.alive_slot(a), self.alive_slot(b)) {
                redecide.push(slot_pair(x, y));
            }
        }
        let decided: Vec<(SlotPair, Outcome, Option<Box<AiNote>>, bool)> = redecide
            .par_iter()
            .enumerate()
            .filter_map(|(i, &key)| {
                let rec = self.pairs.get(key)?;
                let (a, b) = (self.listings.id(rec.raw.a), self.listings.id(rec.raw.b));
                let (eff, ai) = self.verdicts.effective(&rec.raw, a, b);
                // Only pairs scored now are asked about (`redecide` starts with them).
                let question = eff.decision == Decision::Ambiguous
                    && i < scored_count
                    && !self.verdicts.answered(a, b);
                Some((key, Outcome::of(&eff), ai.map(Box::new), question))
            })
            .collect();
        let mut questions = Vec::new();
        let mut seen_pairs: FxHashSet<SlotPair> = FxHashSet::default();
        for (key, eff, ai, question) in decided {
            if redecide.len() > scored_count && !seen_pairs.insert(key) {
                continue;
            }
            let Some(rec) = self.pairs.get_mut(key) else {
                continue;
            };
            if question {
                questions.push((
                    self.listings.id(rec.raw.a).to_string(),
                    self.listings.id(rec.raw.b).to_string(),
                ));
            }
            before.keep(key, Some(&*rec));
            // A pair the clustering sees as before changes no component (the changed
            // listing's own component is touched anyway).
            if is_added(&key).is_some() || rec.eff != eff {
                touched_slots.extend([key.0, key.1]);
            }
            rec.eff = eff;
            rec.fin = eff;
            rec.ai = ai;
        }
        drop(seen_pairs);
        questions.sort();

        // (4) The components holding a touched listing, re-clustered.
        touched_slots.par_sort_unstable();
        touched_slots.dedup();
        let mut region: Vec<u32> = Vec::new();
        let mut old_groups: HashMap<Vec<String>, [u8; 32]> = HashMap::new();
        for &s in &touched_slots {
            let c = self.component_of[s as usize];
            if c == NO_COMPONENT {
                region.push(s);
                continue;
            }
            if let Some(component) = self.components.remove(&c) {
                for g in component.groups {
                    region.extend(g.members.iter().copied());
                    old_groups.insert(self.ids(&g.members), g.hash);
                }
            }
        }
        drop(touched_slots);
        region.par_sort_unstable();
        region.dedup();
        region.retain(|&s| self.alive[s as usize]);
        for &s in &region {
            self.component_of[s as usize] = NO_COMPONENT;
            if before.on {
                for (t, rec) in self.pairs.of(s) {
                    before.keep(slot_pair(s, t), Some(rec));
                }
            }
        }
        for &s in &removed {
            self.component_of[s as usize] = NO_COMPONENT;
        }
        for &s in &region {
            self.pairs.reset_fin(s);
        }
        let components = self.components_of(&region);
        stats.components_reclustered = components.len();
        stats.listings_reclustered = region.len();
        drop(region);
        let clustered: Vec<_> = {
            let view = self.view(&loaded);
            components
                .into_par_iter()
                .map(|members| cluster_component(&view, members))
                .collect()
        };
        for c in &clustered {
            for &(key, rule) in &c.dropped {
                if let Some(rec) = self.pairs.get_mut(key) {
                    rec.fin.decision = Decision::Ambiguous;
                    rec.fin.rule = rule;
                }
            }
        }
        stats.cluster_ms = ms_since(t);

        // (5) Synthesis of the re-clustered groups, and the difference.
        let t = Instant::now();
        loaded.load(
            clustered.iter().flat_map(|c| c.members.iter().copied()),
            &self.listings,
        );
        let synthesized: Vec<Vec<(Group, Option<Box<CanonicalEvent>>)>> = {
            let view = self.view(&loaded);
            clustered
                .par_iter()
                .map(|c| {
                    c.groups
                        .iter()
                        .map(|g| {
                            let (g, canonical) = synthesize_group(&view, g.clone(), &c.cut);
                            // Boxed: a build keeps a million `None`s here.
                            (g, want_diff.then(|| Box::new(canonical)))
                        })
                        .collect()
                })
                .collect()
        };
        let mut diff = Diff::default();
        self.components.reserve(clustered.len());
        for (c, groups) in clustered.into_iter().zip(synthesized) {
            let id = self.next_component;
            self.next_component += 1;
            for &s in &c.members {
                self.component_of[s as usize] = id;
            }
            let mut kept = Vec::with_capacity(groups.len());
            for (g, canonical) in groups {
                stats.groups_synthesized += 1;
                let Some(canonical) = canonical.map(|c| *c) else {
                    kept.push(g);
                    continue;
                };
                let members = self.ids(&g.members);
                let out = |members| GroupOut {
                    members,
                    canonical,
                    content_hash: hex::encode(g.hash),
                };
                match old_groups.remove(&members) {
                    Some(h) if h == g.hash => {}
                    Some(_) => diff.groups_updated.push(out(members)),
                    None => diff.groups_created.push(out(members)),
                }
                kept.push(g);
            }
            self.components.insert(id, Component { groups: kept });
        }
        diff.groups_removed = old_groups.into_keys().collect();
        diff.groups_removed.sort();
        diff.groups_created
            .sort_by(|x, y| x.members.cmp(&y.members));
        diff.groups_updated
            .sort_by(|x, y| x.members.cmp(&y.members));
        for (key, old) in before.pairs {
            let now = self.pairs.get(key);
            match (old, now) {
                (None, Some(r)) => diff.decisions_added.push(self.explain(r)),
                (Some((fin, ai)), Some(r)) if fin != r.fin() || ai != r.ai => {
                    diff.decisions_changed.push(self.explain(r));
                }
                (Some((fin, _)), None) => diff.decisions_removed.push((
                    self.listings.id(fin.a).to_string(),
                    self.listings.id(fin.b).to_string(),
                )),
                _ => {}
            }
        }
        let by_ids =
            |x: &PairDecision, y: &PairDecision| (&x.id_a, &x.id_b).cmp(&(&y.id_a, &y.id_b));
        diff.decisions_added.sort_by(by_ids);
        diff.decisions_changed.sort_by(by_ids);
        diff.decisions_removed.sort();
        diff.questions = questions;
        self.listings
            .store(&upsert_slots, loaded.into_new(upsert_slots.len()));
        stats.synthesis_ms = ms_since(t);
        stats.total_ms = ms_since(started);
        diff.stats = stats;
        diff
    }

    /// Room for `n` more slots in every per-slot vector (a build adds a million).
    fn reserve_slots(&mut self, n: usize) {
        self.slot_of.reserve(n, self.listings.ids());
        self.listings.reserve(n);
        self.prepared.reserve(n);
        self.facts.reserve(n);
        self.keys.reserve(n);
        self.alive.reserve(n);
        self.component_of.reserve(n);
    }

    /// The slot of an id, allocating one for a new id.
    fn slot_for(&mut self, id: &str) -> u32 {
        if let Some(s) = self.slot_of.get(id, self.listings.ids()) {
            return s;
        }
        let s = self.listings.len() as u32;
        self.listings.push(id.to_string());
        self.slot_of.insert(s, self.listings.ids());
        self.prepared.push(self.vacant.clone());
        self.facts.push(EventFacts::default());
        self.keys.push(Keys::default());
        self.alive.push(false);
        self.component_of.push(NO_COMPONENT);
        s
    }

    fn view<'a>(&'a self, loaded: &'a Loaded) -> View<'a> {
        View {
            listings: &self.listings,
            loaded,
            facts: &self.facts,
            pairs: &self.pairs,
            slot_of: &self.slot_of,
            verdicts: &self.verdicts,
            config: &self.config,
        }
    }

    /// Connected components (match edges and must-links) of the listings in
    /// `region` (sorted), each sorted by id. `region` is a union of old components
    /// plus new listings, and every changed edge has both ends in it, so no edge
    /// leaves it.
    fn components_of(&self, region: &[u32]) -> Vec<Vec<u32>> {
        let mut seen: FxHashSet<u32> = FxHashSet::default();
        seen.reserve(region.len());
        let mut out = Vec::new();
        for &s in region {
            if !seen.insert(s) {
                continue;
            }
            let mut members = vec![s];
            let mut stack = vec![s];
            while let Some(x) = stack.pop() {
                let matches = self
                    .pairs
                    .of(x)
                    .filter(|(_, r)| r.eff.decision == Decision::Match)
                    .map(|(y, _)| y);
                let must = self
                    .verdicts
                    .must_partners(self.listings.id(x))
                    .iter()
                    .filter_map(|id| self.alive_slot(id));
                let next: Vec<u32> = matches.chain(must).collect();
                for y in next {
                    debug_assert!(
                        region.binary_search(&y).is_ok(),
                        "an edge leaves the region"
                    );
                    if seen.insert(y) {
                        members.push(y);
                        stack.push(y);
                    }
                }
            }
            members.sort_by(|&x, &y| self.listings.id(x).cmp(self.listings.id(y)));
            out.push(members);
        }
        out
    }
}

/// The stored form of every pair an apply may change, taken before its first change
/// (`None`: the pair is new), for the decision diff.
struct Before {
    on: bool,
    pairs: FxHashMap<SlotPair, Option<Stored>>,
}

/// A pair's stored decision and tie-breaker note.
type Stored = (ScoredPair, Option<Box<AiNote>>);

impl Before {
    fn keep(&mut self, key: SlotPair, rec: Option<&PairRec>) {
        if self.on {
            self.pairs
                .entry(key)
                .or_insert_with(|| rec.map(|r| (r.fin(), r.ai.clone())));
        }
    }
}

/// What step (1) of an apply leaves for the rest: the changed slots, the support
/// deltas of their pairs and the listings read whole.
struct Indexed {
    upsert_slots: Vec<u32>,
    /// Slots that held a listing before this change.
    replaced: Vec<u32>,
    removed: Vec<u32>,
    /// Sorted by pair.
    support: Vec<(SlotPair, i64)>,
    loaded: Loaded,
}

/// A listing's prepared form and block keys (sorted, distinct, as the full run groups
/// them).
fn prepare(e: &SourceEvent, lists: &WordLists, config: &MatchingConfig) -> (PreparedEvent, Keys) {
    let p = PreparedEvent::new(e, lists, config);
    let mut keys = Keys {
        regular: block_key_hashes(e, lists, config),
        title_day: if config.blocking.title_day_keys {
            title_day_key_hashes(&p)
        } else {
            Vec::new()
        },
    };
    for k in [&mut keys.regular, &mut keys.title_day] {
        k.sort_unstable();
        k.dedup();
        k.shrink_to_fit();
    }
    (p, keys)
}

/// One version per id: the last one given (ingest order).
fn last_version_per_id(events: Vec<SourceEvent>) -> Vec<SourceEvent> {
    let keep: Vec<bool> = {
        let mut last: FxHashMap<&str, usize> = FxHashMap::default();
        last.reserve(events.len());
        for (i, e) in events.iter().enumerate() {
            last.insert(e.id.as_str(), i);
        }
        if last.len() == events.len() {
            return events;
        }
        let mut keep = vec![false; events.len()];
        for i in last.into_values() {
            keep[i] = true;
        }
        keep
    };
    events
        .into_iter()
        .zip(keep)
        .filter_map(|(e, k)| k.then_some(e))
        .collect()
}

/// The change in support of every pair whose support changed, from the touched
/// blocks' pairs before and after (both sorted), sorted by pair.
fn support_delta(
    before: Vec<(SlotPair, u32)>,
    after: Vec<(SlotPair, u32)>,
) -> Vec<(SlotPair, i64)> {
    let mut out = Vec::with_capacity(after.len());
    let (mut x, mut y) = (before.into_iter().peekable(), after.into_iter().peekable());
    loop {
        let next = match (x.peek(), y.peek()) {
            (Some(&(k, n)), Some(&(l, m))) if k == l => {
                x.next();
                y.next();
                (k, i64::from(m) - i64::from(n))
            }
            (Some(&(k, n)), Some(&(l, _))) if k < l => {
                x.next();
                (k, -i64::from(n))
            }
            (Some(&(k, n)), None) => {
                x.next();
                (k, -i64::from(n))
            }
            (_, Some(&(l, m))) => {
                y.next();
                (l, i64::from(m))
            }
            (None, None) => break,
        };
        if next.1 != 0 {
            out.push(next);
        }
    }
    out
}

/// The pair key of two ids, as constraints and answers name pairs.
pub fn pair_key(a: &str, b: &str) -> (String, String) {
    id_pair(a, b)
}

#[cfg(test)]
mod tests {
    use super::support_delta;

    #[test]
    fn support_delta_keeps_only_pairs_whose_support_moved() {
        let before = vec![((0, 1), 2), ((0, 2), 1), ((1, 2), 1)];
        let after = vec![((0, 1), 1), ((1, 2), 1), ((1, 3), 2)];
        assert_eq!(
            support_delta(before, after),
            vec![((0, 1), -1), ((0, 2), -1), ((1, 3), 2)]
        );
        assert_eq!(
            support_delta(Vec::new(), vec![((4, 5), 1)]),
            vec![((4, 5), 1)]
        );
        assert_eq!(
            support_delta(vec![((4, 5), 3)], Vec::new()),
            vec![((4, 5), -3)]
        );
    }
}
