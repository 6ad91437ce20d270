//! The matching pipeline as one pure function:
//! `events + config + word lists + review constraints → PipelineResult`.
//!
//! Stages: preprocess → candidate pairs → scores and decisions → constraints
//! ([`score`], giving a [`ScoredRun`]) → clusters → coherence → synthesis
//! ([`ScoredRun::finish`]). The split lets the service ask the optional LLM
//! tie-breaker about ambiguous pairs in between, outside the CPU-bound halves. CPU-heavy stages run on rayon's pool; results
//! are collected in index order, so the output is identical whatever the thread count
//! or the order in which events were loaded (events are sorted by id first).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;

use super::candidates::{candidate_pairs, BlockingStats};
use super::cluster::{agglomerate, coherence_flag, CoherenceInput, ConflictContext, Edge, Refusal};
use super::config::ScoringMethod;
use super::config::{ClusterMethod, FieldStrategies, MatchingConfig};
use super::conflicts::{event_facts, EventFacts};
use super::constraints::ReviewConstraints;
use super::decide::{combine, decide, decide_probability, select_weights};
use super::learned::{pair_features, Features, MatchModel};
use super::pair_lookup::PairLookup;
use super::prepared::PreparedEvent;
use super::signals::geo::PairGeo;
use super::signals::{pair_signals, PairSignals};
use super::synthesis::synthesize;
use crate::model::{
    AiNote, CanonicalEvent, Decision, DecisionRule, PairDecision, SignalScores, SourceEvent, Tier,
    Weights,
};
use crate::preprocess::WordLists;

/// Confidence given to a reviewed (dismissed) cluster whose score was low, so it leaves
/// the low-confidence part of the review queue (storage spec §6.3).
pub const REVIEWED_CONFIDENCE: f64 = 1.0;
/// Review-queue cut-off for "low confidence" (storage spec §6.4).
pub const LOW_CONFIDENCE: f64 = 0.8;

/// A scored candidate pair in compact form (a run can hold millions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredPair {
    /// Indices into [`PipelineResult::events`], `a < b` (so `id_a < id_b`).
    pub a: u32,
    pub b: u32,
    pub scores: SignalScores,
    pub combined: f64,
    pub decision: Decision,
    pub tier: Tier,
    pub rule: DecisionRule,
    /// 0 = default weights, `i + 1` = `category_weights.priority[i]`.
    pub weight_set: u16,
    /// Geo was left out of the combined score (`geo.untrusted_as_missing`).
    pub geo_ignored: bool,
}

/// Wall-clock time per stage, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StageTimings {
    pub preprocess_ms: f64,
    pub blocking_ms: f64,
    pub scoring_ms: f64,
    pub clustering_ms: f64,
    pub synthesis_ms: f64,
    pub total_ms: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PipelineStats {
    pub events: usize,
    pub total_possible_pairs: u64,
    pub candidate_pairs: usize,
    pub comparisons_avoided_pct: f64,
    pub matches: usize,
    pub ambiguous: usize,
    pub no_matches: usize,
    pub canonical_events: usize,
    pub multi_source_canonicals: usize,
    pub flagged: usize,
    pub blocking: BlockingStats,
    pub constraint_overrides: usize,
    pub edges_dropped_by_cannot_link: usize,
    /// Match edges the conflict-aware clustering refused (their groups are flagged).
    pub edges_cut_by_conflict: usize,
    pub timings: StageTimings,
}

/// Everything a run produces.
#[derive(Debug, Clone)]
pub struct PipelineResult {
    /// Input events sorted by id (duplicates removed, first kept).
    pub events: Vec<SourceEvent>,
    /// Every candidate pair with its decision, sorted by `(a, b)`.
    pub pairs: Vec<ScoredPair>,
    /// The LLM tie-breaker's answer per pair index (into `pairs`), when it answered.
    pub ai_notes: BTreeMap<usize, AiNote>,
    /// Member indices of each canonical event, in output order: valid clusters first,
    /// then flagged ones; each group by smallest member id.
    pub clusters: Vec<Vec<u32>>,
    /// Per cluster: the quality fields synthesis cannot derive from members alone.
    meta: Vec<ClusterMeta>,
    /// Per cluster: SHA-256 of the canonical event's JSON, for change detection.
    content_hashes: Vec<[u8; 32]>,
    pub stats: PipelineStats,
    weight_sets: Vec<(Option<String>, Weights)>,
    strategies: FieldStrategies,
}

/// Quality fields of one cluster, decided by the run.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ClusterMeta {
    match_confidence: Option<f64>,
    ai_assisted: bool,
    /// Why the cluster is flagged for review (`None` = valid or dismissed by a reviewer).
    flag: Option<String>,
}

impl ClusterMeta {
    /// Whether the cluster waits for a reviewer.
    pub(crate) fn is_flagged(&self) -> bool {
        self.flag.is_some()
    }
}

impl PipelineResult {
    /// Number of canonical events (= clusters).
    pub fn canonical_count(&self) -> usize {
        self.clusters.len()
    }

    /// The canonical event of cluster `i`, synthesized on demand. Canonical events are
    /// not kept for the whole run: at a million events they would double its memory,
    /// and consumers need them one at a time (the store only for changed clusters).
    pub fn canonical(&self, i: usize) -> CanonicalEvent {
        let members: Vec<&SourceEvent> = self.clusters[i]
            .iter()
            .map(|&m| &self.events[m as usize])
            .collect();
        finish(synthesize(&members, &self.strategies), &self.meta[i])
    }

    /// All canonical events in output order (convenient for tests and small runs).
    pub fn canonical_events(&self) -> Vec<CanonicalEvent> {
        (0..self.canonical_count())
            .map(|i| self.canonical(i))
            .collect()
    }

    /// Lower-case hex SHA-256 of the canonical event's JSON (`serde_json::to_vec`).
    pub fn content_hash(&self, i: usize) -> String {
        hex::encode(self.content_hashes[i])
    }

    /// Ids of the members of cluster `i`, sorted.
    pub fn member_ids(&self, i: usize) -> impl Iterator<Item = &str> + '_ {
        self.clusters[i]
            .iter()
            .map(|&m| self.events[m as usize].id.as_str())
    }

    /// The full, explained form of a scored pair.
    pub fn explain(&self, p: &ScoredPair) -> PairDecision {
        explain_scored(
            p,
            (&self.events[p.a as usize].id, &self.events[p.b as usize].id),
            &self.weight_sets,
            self.pair_index(p)
                .and_then(|i| self.ai_notes.get(&i))
                .cloned(),
        )
    }

    /// Position of a pair in [`PipelineResult::pairs`].
    fn pair_index(&self, p: &ScoredPair) -> Option<usize> {
        if self.ai_notes.is_empty() {
            return None;
        }
        self.pairs
            .binary_search_by(|q| (q.a, q.b).cmp(&(p.a, p.b)))
            .ok()
    }

    /// Index of an event by id.
    pub fn index_of(&self, id: &str) -> Option<u32> {
        self.events
            .binary_search_by(|e| e.id.as_str().cmp(id))
            .ok()
            .map(|i| i as u32)
    }

    /// The decision of a pair of indices, if it was a candidate.
    pub fn pair(&self, a: u32, b: u32) -> Option<&ScoredPair> {
        let key = if a < b { (a, b) } else { (b, a) };
        self.pairs
            .binary_search_by(|p| (p.a, p.b).cmp(&key))
            .ok()
            .map(|i| &self.pairs[i])
    }
}

/// The explained form of a scored pair of the events with ids `(id_a, id_b)`.
pub(crate) fn explain_scored(
    p: &ScoredPair,
    (id_a, id_b): (&str, &str),
    weight_sets: &[(Option<String>, Weights)],
    ai: Option<AiNote>,
) -> PairDecision {
    let (source, weights) = &weight_sets[p.weight_set as usize];
    let weights = if p.geo_ignored {
        Weights {
            geo: 0.0,
            ..*weights
        }
    } else {
        *weights
    };
    PairDecision {
        id_a: id_a.to_string(),
        id_b: id_b.to_string(),
        scores: p.scores,
        combined: p.combined,
        decision: p.decision,
        tier: p.tier,
        weights,
        weight_source: source.clone(),
        rule: p.rule,
        ai,
        contributions: None,
    }
}

/// Scores two arbitrary events on demand (e.g. `GET /api/explain`), with the same
/// rules as a run.
pub fn explain_pair(
    a: &SourceEvent,
    b: &SourceEvent,
    config: &MatchingConfig,
    lists: &WordLists,
) -> PairDecision {
    let (a, b) = if a.id <= b.id { (a, b) } else { (b, a) };
    let pa = PreparedEvent::new(a, lists, config);
    let pb = PreparedEvent::new(b, lists, config);
    let signals = pair_signals((a, &pa), (b, &pb), config);
    let scores = signals.scores;
    let (weights, source) = select_weights(&pa.categories, &pb.categories, config);
    let weights = &effective_weights(weights, signals.geo, config);
    let (combined, decision, rule, contributions) = match active_model(config, lists) {
        // The features once: for the probability and for its explanation.
        Some(m) => {
            let features = pair_features((a, &pa), (b, &pb), &signals, config);
            let p = m.probability(&features);
            let (decision, rule) = decide_probability(p, &m.thresholds);
            (p, decision, rule, Some(m.contributions(&features)))
        }
        None => {
            let (combined, decision, rule) =
                combined_and_decision((a, &pa), (b, &pb), &signals, weights, config, None);
            (combined, decision, rule, None)
        }
    };
    PairDecision {
        id_a: a.id.clone(),
        id_b: b.id.clone(),
        scores,
        combined,
        decision,
        tier: Tier::Deterministic,
        weights: *weights,
        weight_source: source.map(str::to_string),
        rule,
        ai: None,
        contributions,
    }
}

/// The first half of a run: events sorted, every candidate pair scored and decided,
/// review constraints applied to the pairs. Nothing is clustered yet, so an optional
/// second opinion (the LLM tie-breaker, `matching.md` §5.4) can still change
/// decisions of ambiguous pairs before [`ScoredRun::finish`] clusters and synthesizes.
#[derive(Debug, Clone)]
pub struct ScoredRun {
    /// Input events sorted by id (duplicates removed, first kept).
    pub events: Vec<SourceEvent>,
    /// Every candidate pair with its decision, sorted by `(a, b)`. Whoever edits a
    /// decision between the halves keeps the scores, `combined` and the order.
    pub pairs: Vec<ScoredPair>,
    /// The model's answer per pair index (into `pairs`), for pairs it answered.
    pub ai_notes: BTreeMap<usize, AiNote>,
    weight_sets: Vec<(Option<String>, Weights)>,
    /// Per event: what the clustering's conflict rules need.
    facts: Vec<EventFacts>,
    blocking: BlockingStats,
    constraint_overrides: usize,
    timings: StageTimings,
    /// Time spent in the pure stages so far (the tie-breaker's wait is not counted).
    elapsed_ms: f64,
}

impl ScoredRun {
    /// Clusters the (possibly revised) decisions and synthesizes canonical events.
    pub fn finish(
        self,
        config: &MatchingConfig,
        constraints: &ReviewConstraints,
    ) -> PipelineResult {
        let started = Instant::now();
        let ScoredRun {
            events,
            mut pairs,
            ai_notes,
            weight_sets,
            facts,
            blocking,
            constraint_overrides,
            mut timings,
            elapsed_ms,
        } = self;

        let t = Instant::now();
        let (clusters, dropped) = cluster_pairs(&events, &pairs, &facts, config, constraints);
        drop(facts);
        let mut cut: FxHashMap<u32, String> = FxHashMap::default();
        let mut edges_cut_by_conflict = 0;
        for (e, refusal) in &dropped {
            let rule = match refusal {
                Refusal::CannotLink => DecisionRule::CannotLinkSeparation,
                _ => {
                    edges_cut_by_conflict += 1;
                    for x in [e.a, e.b] {
                        cut.entry(x).or_insert_with(|| refusal.describe());
                    }
                    DecisionRule::ClusterConflict
                }
            };
            if let Ok(i) = pairs.binary_search_by(|p| (p.a, p.b).cmp(&(e.a, e.b))) {
                pairs[i].decision = Decision::Ambiguous;
                pairs[i].rule = rule;
            }
        }
        let dropped_by_cannot_link = dropped.len() - edges_cut_by_conflict;
        timings.clustering_ms += ms_since(t);

        let t = Instant::now();
        let (clusters, meta, content_hashes) =
            synthesize_all(&events, &pairs, clusters, &cut, config, constraints);
        timings.synthesis_ms = ms_since(t);
        timings.total_ms = elapsed_ms + ms_since(started);

        let n = events.len() as u64;
        let total_possible_pairs = n * n.saturating_sub(1) / 2;
        let count = |d: Decision| pairs.iter().filter(|p| p.decision == d).count();
        let stats = PipelineStats {
            events: events.len(),
            total_possible_pairs,
            candidate_pairs: pairs.len(),
            comparisons_avoided_pct: if total_possible_pairs == 0 {
                0.0
            } else {
                (1.0 - pairs.len() as f64 / total_possible_pairs as f64) * 100.0
            },
            matches: count(Decision::Match),
            ambiguous: count(Decision::Ambiguous),
            no_matches: count(Decision::NoMatch),
            canonical_events: clusters.len(),
            multi_source_canonicals: clusters.iter().filter(|c| c.len() > 1).count(),
            flagged: meta.iter().filter(|m| m.flag.is_some()).count(),
            blocking,
            constraint_overrides,
            edges_dropped_by_cannot_link: dropped_by_cannot_link,
            edges_cut_by_conflict,
            timings,
        };
        PipelineResult {
            events,
            pairs,
            ai_notes,
            clusters,
            meta,
            content_hashes,
            stats,
            weight_sets,
            strategies: config.canonical.field_strategies.clone(),
        }
    }
}

/// Runs the whole pipeline ([`score`] then [`ScoredRun::finish`]).
pub fn run(
    events: Vec<SourceEvent>,
    config: &MatchingConfig,
    lists: &WordLists,
    constraints: &ReviewConstraints,
) -> PipelineResult {
    score(events, config, lists, constraints).finish(config, constraints)
}

/// The first half of a run: preprocess, candidate pairs, scores and decisions, review
/// constraints on the pairs.
pub fn score(
    mut events: Vec<SourceEvent>,
    config: &MatchingConfig,
    lists: &WordLists,
    constraints: &ReviewConstraints,
) -> ScoredRun {
    let started = Instant::now();
    let mut timings = StageTimings::default();

    events = sorted_unique_by_id(events);
    let prepared: Vec<PreparedEvent> = events
        .par_iter()
        .map(|e| PreparedEvent::new(e, lists, config))
        .collect();
    timings.preprocess_ms = ms_since(started);

    let t = Instant::now();
    let (candidates, blocking) = candidate_pairs(&events, &prepared, lists, config);
    timings.blocking_ms = ms_since(t);

    let t = Instant::now();
    let weight_sets = weight_sets(config);
    let model = active_model(config, lists);
    let mut pairs: Vec<ScoredPair> = candidates
        .par_iter()
        .map(|&(a, b)| score_candidate(a, b, &events, &prepared, config, model))
        .collect();
    timings.scoring_ms = ms_since(t);
    let facts = match config.cluster.method {
        ClusterMethod::ConflictAware => event_facts(&events, &prepared, config),
        ClusterMethod::ConnectedComponents => Vec::new(),
    };
    // Scoring is done: free the per-event text before synthesis allocates canonicals,
    // on all threads (several allocations per listing, a serial step otherwise).
    prepared.into_par_iter().for_each(drop);

    let t = Instant::now();
    let constraint_overrides = apply_pair_constraints(&mut pairs, &events, constraints);
    timings.clustering_ms = ms_since(t);
    ScoredRun {
        events,
        pairs,
        ai_notes: BTreeMap::new(),
        weight_sets,
        facts,
        blocking,
        constraint_overrides,
        timings,
        elapsed_ms: ms_since(started),
    }
}

/// The features of two arbitrary events (e.g. a reviewer's decision used for training).
pub fn features_of_pair(
    a: &SourceEvent,
    b: &SourceEvent,
    config: &MatchingConfig,
    lists: &WordLists,
) -> Features {
    let (a, b) = if a.id <= b.id { (a, b) } else { (b, a) };
    let pa = PreparedEvent::new(a, lists, config);
    let pb = PreparedEvent::new(b, lists, config);
    let signals = pair_signals((a, &pa), (b, &pb), config);
    pair_features((a, &pa), (b, &pb), &signals, config)
}

/// Every candidate pair of a set of events with its features, for training a model.
#[derive(Debug, Clone)]
pub struct CandidateFeatures {
    /// Events sorted by id (duplicates removed), as in a run.
    pub events: Vec<SourceEvent>,
    /// `(a, b)` indices into `events`, `a < b`, with the pair's features.
    pub pairs: Vec<(u32, u32, Features)>,
}

/// The candidate pairs a run would score, with the features the learned model sees.
pub fn candidate_features(
    events: Vec<SourceEvent>,
    config: &MatchingConfig,
    lists: &WordLists,
) -> CandidateFeatures {
    let events = sorted_unique_by_id(events);
    let prepared: Vec<PreparedEvent> = events
        .par_iter()
        .map(|e| PreparedEvent::new(e, lists, config))
        .collect();
    let (candidates, _) = candidate_pairs(&events, &prepared, lists, config);
    let pairs = candidates
        .par_iter()
        .map(|&(a, b)| {
            let x = (&events[a as usize], &prepared[a as usize]);
            let y = (&events[b as usize], &prepared[b as usize]);
            let signals = pair_signals(x, y, config);
            (a, b, pair_features(x, y, &signals, config))
        })
        .collect();
    CandidateFeatures { events, pairs }
}

/// Sorts by id (first occurrence of an id wins). Sorts a compact key (the first 16
/// bytes of the id, big-endian, plus the index) so most comparisons never touch the
/// heap, then moves each event once: events are large structs, and both pointer
/// chasing and repeated moves dominate at a million events.
fn sorted_unique_by_id(mut events: Vec<SourceEvent>) -> Vec<SourceEvent> {
    let prefix = |id: &str| {
        let mut buf = [0u8; 16];
        let bytes = id.as_bytes();
        let n = bytes.len().min(16);
        buf[..n].copy_from_slice(&bytes[..n]);
        u128::from_be_bytes(buf)
    };
    let mut order: Vec<(u128, u32)> = events
        .par_iter()
        .enumerate()
        .map(|(i, e)| (prefix(&e.id), i as u32))
        .collect();
    order.par_sort_unstable_by(|x, y| {
        x.0.cmp(&y.0)
            .then_with(|| events[x.1 as usize].id.cmp(&events[y.1 as usize].id))
            .then(x.1.cmp(&y.1))
    });
    order.dedup_by(|later, first| events[later.1 as usize].id == events[first.1 as usize].id);
    order
        .into_iter()
        .map(|(_, i)| std::mem::take(&mut events[i as usize]))
        .collect()
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Index 0 = default weights, then one per priority category (override or default).
pub(crate) fn weight_sets(config: &MatchingConfig) -> Vec<(Option<String>, Weights)> {
    let mut sets = vec![(None, config.scoring)];
    for cat in &config.category_weights.priority {
        let w = config
            .category_weights
            .overrides
            .get(cat)
            .copied()
            .unwrap_or(config.scoring);
        sets.push((Some(cat.clone()), w));
    }
    sets
}

/// The learned model when the config asks for it and one is loaded; `None` means the
/// weighted sum decides.
pub fn active_model<'l>(config: &MatchingConfig, lists: &'l WordLists) -> Option<&'l MatchModel> {
    match config.model.method {
        ScoringMethod::Learned => lists.model.as_deref(),
        ScoringMethod::WeightedSum => None,
    }
}

/// Combined score and decision of a pair: the model's probability on its thresholds,
/// or the weighted sum on the config's thresholds and title veto.
fn combined_and_decision(
    a: (&SourceEvent, &PreparedEvent),
    b: (&SourceEvent, &PreparedEvent),
    signals: &PairSignals,
    weights: &Weights,
    config: &MatchingConfig,
    model: Option<&MatchModel>,
) -> (f64, Decision, DecisionRule) {
    let scores = &signals.scores;
    match model {
        Some(m) => {
            let p = m.probability(&pair_features(a, b, signals, config));
            let (decision, rule) = decide_probability(p, &m.thresholds);
            (p, decision, rule)
        }
        None => {
            let combined = combine(scores, weights);
            let (decision, rule) = decide(combined, scores.title, config);
            (combined, decision, rule)
        }
    }
}

fn score_candidate(
    a: u32,
    b: u32,
    events: &[SourceEvent],
    prepared: &[PreparedEvent],
    config: &MatchingConfig,
    model: Option<&MatchModel>,
) -> ScoredPair {
    let x = (&events[a as usize], &prepared[a as usize]);
    let y = (&events[b as usize], &prepared[b as usize]);
    score_prepared((a, b), x, y, config, model)
}

/// Scores and decides one candidate pair; `(a, b)` are the caller's indices of the two
/// events, `a`'s id sorting first.
pub(crate) fn score_prepared(
    (a, b): (u32, u32),
    (ea, pa): (&SourceEvent, &PreparedEvent),
    (eb, pb): (&SourceEvent, &PreparedEvent),
    config: &MatchingConfig,
    model: Option<&MatchModel>,
) -> ScoredPair {
    // Every scoring path (full run, incremental apply) passes here.
    crate::telemetry::scoring_test_hook(&ea.title, &eb.title);
    let signals = pair_signals((ea, pa), (eb, pb), config);
    let (weights, source) = select_weights(&pa.categories, &pb.categories, config);
    let effective = effective_weights(weights, signals.geo, config);
    let (combined, decision, rule) =
        combined_and_decision((ea, pa), (eb, pb), &signals, &effective, config, model);
    let weight_set = source
        .and_then(|s| config.category_weights.priority.iter().position(|c| c == s))
        .map_or(0, |i| i as u16 + 1);
    let geo_ignored = effective.geo != weights.geo;
    ScoredPair {
        a,
        b,
        scores: signals.scores,
        combined,
        decision,
        tier: Tier::Deterministic,
        rule,
        weight_set,
        geo_ignored,
    }
}

/// The weights actually applied: with `geo.untrusted_as_missing`, an uninformative
/// geo signal gets weight 0 and the others share its weight.
fn effective_weights(w: &Weights, geo: PairGeo, config: &MatchingConfig) -> Weights {
    if config.geo.untrusted_as_missing && geo.trusted_km.is_none() {
        Weights { geo: 0.0, ..*w }
    } else {
        *w
    }
}

/// Resolves constraint ids to index pairs `(a < b)`; unknown ids are ignored (the
/// event may not be loaded in an offline run).
fn constraint_pairs(events: &[SourceEvent], list: &[(String, String)]) -> Vec<(u32, u32)> {
    let index = |id: &str| {
        events
            .binary_search_by(|e| e.id.as_str().cmp(id))
            .ok()
            .map(|i| i as u32)
    };
    let mut out: Vec<(u32, u32)> = list
        .iter()
        .filter_map(|(x, y)| Some((index(x)?, index(y)?)))
        .filter(|(a, b)| a != b)
        .map(|(a, b)| if a < b { (a, b) } else { (b, a) })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Candidate pairs named by a constraint take the reviewer's verdict (scores kept).
fn apply_pair_constraints(
    pairs: &mut [ScoredPair],
    events: &[SourceEvent],
    constraints: &ReviewConstraints,
) -> usize {
    if constraints.is_empty() {
        return 0;
    }
    let mut overrides = 0;
    for (list, decision, rule) in [
        (
            &constraints.must_link,
            Decision::Match,
            DecisionRule::MustLink,
        ),
        (
            &constraints.cannot_link,
            Decision::NoMatch,
            DecisionRule::CannotLink,
        ),
    ] {
        for (a, b) in constraint_pairs(events, list) {
            if let Ok(i) = pairs.binary_search_by(|p| (p.a, p.b).cmp(&(a, b))) {
                pairs[i].decision = decision;
                pairs[i].rule = rule;
                overrides += 1;
            }
        }
    }
    overrides
}

fn cluster_pairs(
    events: &[SourceEvent],
    pairs: &[ScoredPair],
    facts: &[EventFacts],
    config: &MatchingConfig,
    constraints: &ReviewConstraints,
) -> (Vec<Vec<u32>>, Vec<(Edge, Refusal)>) {
    let mut edges: Vec<Edge> = pairs
        .iter()
        .filter(|p| p.decision == Decision::Match && p.rule != DecisionRule::MustLink)
        .map(|p| Edge {
            a: p.a,
            b: p.b,
            weight: p.combined,
        })
        .collect();
    edges.extend(
        constraint_pairs(events, &constraints.must_link)
            .into_iter()
            .map(|(a, b)| Edge {
                a,
                b,
                weight: f64::INFINITY,
            }),
    );
    let cannot = constraint_pairs(events, &constraints.cannot_link);
    let lookup = PairLookup::new(events.len(), pairs.iter().map(|p| p.a));
    let score = |a: u32, b: u32| {
        lookup
            .find(a, b, |i| pairs[i].b)
            .map(|i| link_score(&pairs[i]))
    };
    let context = ConflictContext {
        facts,
        score: &score,
        min_average_link: config.cluster.min_average_link,
    };
    let use_context =
        config.cluster.method == ClusterMethod::ConflictAware && facts.len() == events.len();
    let (clusters, dropped) = agglomerate(
        events.len(),
        &edges,
        &cannot,
        use_context.then_some(&context),
    );
    let dropped = dropped
        .into_iter()
        .filter(|(e, _)| e.weight.is_finite())
        .collect();
    (clusters, dropped)
}

/// What a compared pair counts in the clustering's average link.
pub(crate) fn link_score(p: &ScoredPair) -> f64 {
    match p.rule {
        // A reviewer's verdict counts as certainty in the average link, and so does
        // the tie-breaker's answer on a pair the scores left open.
        DecisionRule::MustLink => 1.0,
        DecisionRule::CannotLink => 0.0,
        _ if p.tier.is_ai() && p.decision == Decision::Match => 1.0,
        _ if p.tier.is_ai() && p.decision == Decision::NoMatch => 0.0,
        _ => p.combined,
    }
}

/// Per-cluster facts gathered in one pass over the pairs.
#[derive(Default)]
pub(crate) struct ClusterFacts {
    match_weights: Vec<f64>,
    no_match_inside: bool,
    ai_inside: bool,
}

impl ClusterFacts {
    /// Takes in one pair inside the cluster (pairs in `(a, b)` order: the mean's sum
    /// is order-sensitive in its last bits).
    pub(crate) fn add(&mut self, p: &ScoredPair) {
        match p.decision {
            Decision::Match => self.match_weights.push(p.combined),
            Decision::NoMatch => self.no_match_inside = true,
            Decision::Ambiguous => {}
        }
        self.ai_inside |= p.tier.is_ai();
    }
}

/// The quality fields of one cluster: its coherence flag (unless a reviewer dismissed
/// exactly this member set), the cut reason of its first cut member, its confidence.
pub(crate) fn cluster_meta(
    members: &[u32],
    dates: impl FnOnce() -> BTreeSet<chrono::NaiveDate>,
    f: &ClusterFacts,
    reviewed: bool,
    cut_reason: impl FnOnce() -> Option<String>,
    config: &MatchingConfig,
) -> ClusterMeta {
    let flag = if reviewed {
        None
    } else if members.len() < 2 {
        cut_reason()
    } else {
        coherence_flag(
            &CoherenceInput {
                members,
                match_weights: &f.match_weights,
                has_no_match_inside: f.no_match_inside,
                dates: dates(),
            },
            &config.cluster,
        )
        .or_else(cut_reason)
    };
    let mut match_confidence = (!f.match_weights.is_empty())
        .then(|| f.match_weights.iter().sum::<f64>() / f.match_weights.len() as f64);
    if members.len() > 1 && reviewed && match_confidence.is_some_and(|c| c < LOW_CONFIDENCE) {
        match_confidence = Some(REVIEWED_CONFIDENCE);
    }
    ClusterMeta {
        match_confidence,
        ai_assisted: f.ai_inside,
        flag,
    }
}

/// Applies the run's quality fields to a synthesized canonical event.
pub(crate) fn finish(mut canonical: CanonicalEvent, meta: &ClusterMeta) -> CanonicalEvent {
    canonical.match_confidence = meta.match_confidence;
    canonical.ai_assisted = meta.ai_assisted;
    canonical.needs_review = meta.flag.is_some();
    canonical.review_reason = meta.flag.clone();
    canonical
}

pub(crate) fn hash_canonical(c: &CanonicalEvent) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    // Serializing plain data into a hasher cannot fail.
    let _ = serde_json::to_writer(HashWriter(&mut hasher), c);
    hasher.finalize().into()
}

/// Feeds serialized bytes straight into the hasher (no intermediate buffer).
struct HashWriter<'a>(&'a mut sha2::Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        sha2::Digest::update(self.0, buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Orders clusters (valid, then flagged), decides their quality fields and hashes
/// their canonical content. Returns ordered clusters, their meta and content hashes.
fn synthesize_all(
    events: &[SourceEvent],
    pairs: &[ScoredPair],
    clusters: Vec<Vec<u32>>,
    cut: &FxHashMap<u32, String>,
    config: &MatchingConfig,
    constraints: &ReviewConstraints,
) -> (Vec<Vec<u32>>, Vec<ClusterMeta>, Vec<[u8; 32]>) {
    let mut cluster_of = vec![0u32; events.len()];
    for (ci, members) in clusters.iter().enumerate() {
        for &m in members {
            cluster_of[m as usize] = ci as u32;
        }
    }
    let mut facts: FxHashMap<u32, ClusterFacts> = FxHashMap::default();
    for p in pairs {
        let ci = cluster_of[p.a as usize];
        if ci != cluster_of[p.b as usize] {
            continue;
        }
        facts.entry(ci).or_default().add(p);
    }
    let reviewed: BTreeSet<&[String]> = constraints.reviewed.iter().map(Vec::as_slice).collect();
    let empty = ClusterFacts::default();
    let facts_of = |ci: usize| facts.get(&(ci as u32)).unwrap_or(&empty);
    let is_reviewed = |members: &[u32]| {
        !reviewed.is_empty() && {
            let ids: Vec<String> = members
                .iter()
                .map(|&m| events[m as usize].id.clone())
                .collect();
            reviewed.contains(ids.as_slice())
        }
    };
    // Quality fields first (cheap), so canonical events can be built directly in
    // output order: valid clusters, then flagged ones, each in cluster order.
    let metas: Vec<ClusterMeta> = clusters
        .par_iter()
        .enumerate()
        .map(|(ci, members)| {
            let dates = || {
                members
                    .iter()
                    .flat_map(|&m| events[m as usize].dates.iter().map(|d| d.date))
                    .collect()
            };
            let cut_reason = || members.iter().find_map(|m| cut.get(m).cloned());
            cluster_meta(
                members,
                dates,
                facts_of(ci),
                is_reviewed(members),
                cut_reason,
                config,
            )
        })
        .collect();
    let mut order: Vec<usize> = (0..clusters.len()).collect();
    order.sort_by_key(|&ci| metas[ci].flag.is_some());
    let mut metas: Vec<Option<ClusterMeta>> = metas.into_iter().map(Some).collect();
    let meta: Vec<ClusterMeta> = order
        .iter()
        .map(|&ci| metas[ci].take().unwrap_or_default())
        .collect();
    // Synthesize every canonical event once, keeping only its content hash.
    let content_hashes: Vec<[u8; 32]> = order
        .par_iter()
        .zip(meta.par_iter())
        .map(|(&ci, m)| {
            let members: Vec<&SourceEvent> =
                clusters[ci].iter().map(|&x| &events[x as usize]).collect();
            let canonical = finish(synthesize(&members, &config.canonical.field_strategies), m);
            hash_canonical(&canonical)
        })
        .collect();
    let mut clusters = clusters;
    let ordered_clusters = order
        .iter()
        .map(|&ci| std::mem::take(&mut clusters[ci]))
        .collect();
    (ordered_clusters, meta, content_hashes)
}
