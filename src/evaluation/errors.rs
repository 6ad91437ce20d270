//! Error classes: why each false merge and false split happened, counted.
//!
//! A false merge (two different events in one canonical event) is *direct* when the
//! pair itself was decided `match`, else *transitive* (a chain through other members);
//! it is counted by the size of the cluster it sits in and, when direct, by what
//! carried the decision. A false split (one event in two canonical events) was never
//! compared (no shared blocking key: its dates differ, or same date but different
//! town and grid cell), held below the threshold (by which feature or signal), vetoed
//! by the title rule, cut by a review constraint, or cut by the clustering although
//! decided `match` (a conflict inside the would-be group).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::truth::GroundTruth;
use crate::matching::{explain_pair, MatchingConfig, PipelineResult};
use crate::model::{Decision, DecisionRule, PairDecision, SourceEvent};
use crate::preprocess::WordLists;

/// Counts of every error class of one run against its truth.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ErrorClasses {
    pub false_merges: usize,
    pub merges_direct: usize,
    pub merges_transitive: usize,
    /// By the size of the predicted cluster holding the pair: `2`, `3-4`, `5+`.
    pub merges_by_cluster_size: BTreeMap<String, usize>,
    /// Direct merges by the feature (learned model) or signal (weighted sum) that
    /// added most to the decision.
    pub merges_carried_by: BTreeMap<String, usize>,
    pub false_splits: usize,
    pub splits_never_compared_other_day: usize,
    pub splits_never_compared_same_day: usize,
    pub splits_below_threshold: usize,
    /// Below-threshold splits by the feature or signal that took most from the score.
    pub splits_held_down_by: BTreeMap<String, usize>,
    pub splits_title_veto: usize,
    pub splits_review_constraint: usize,
    pub splits_cut_by_clustering: usize,
}

/// Classifies every false merge and false split of `result`.
pub fn classify(
    result: &PipelineResult,
    truth: &GroundTruth,
    config: &MatchingConfig,
    lists: &WordLists,
) -> ErrorClasses {
    let events = &result.events;
    let mut cluster_of = vec![usize::MAX; events.len()];
    for (ci, members) in result.clusters.iter().enumerate() {
        for &m in members {
            cluster_of[m as usize] = ci;
        }
    }
    let mut out = ErrorClasses::default();
    let explain =
        |a: u32, b: u32| explain_pair(&events[a as usize], &events[b as usize], config, lists);

    for members in &result.clusters {
        for (i, &a) in members.iter().enumerate() {
            for &b in &members[i + 1..] {
                if truth.same(&events[a as usize].id, &events[b as usize].id) != Some(false) {
                    continue;
                }
                out.false_merges += 1;
                *out.merges_by_cluster_size
                    .entry(size_bucket(members.len()))
                    .or_default() += 1;
                match result.pair(a, b) {
                    Some(p) if p.decision == Decision::Match => {
                        out.merges_direct += 1;
                        *out.merges_carried_by
                            .entry(strongest(&explain(a, b), true))
                            .or_default() += 1;
                    }
                    _ => out.merges_transitive += 1,
                }
            }
        }
    }

    let index = |id: &str| result.index_of(id);
    let true_pairs: BTreeSet<(u32, u32)> = truth
        .same_pairs
        .iter()
        .filter_map(|(x, y)| Some((index(x)?, index(y)?)))
        .collect();
    for &(a, b) in &true_pairs {
        if cluster_of[a as usize] == cluster_of[b as usize] {
            continue;
        }
        out.false_splits += 1;
        let Some(p) = result.pair(a, b) else {
            if share_a_day(&events[a as usize], &events[b as usize]) {
                out.splits_never_compared_same_day += 1;
            } else {
                out.splits_never_compared_other_day += 1;
            }
            continue;
        };
        match (p.decision, p.rule) {
            (_, DecisionRule::TitleVeto) => out.splits_title_veto += 1,
            (_, DecisionRule::CannotLink | DecisionRule::CannotLinkSeparation) => {
                out.splits_review_constraint += 1
            }
            (Decision::Match, _) | (_, DecisionRule::ClusterConflict) => {
                out.splits_cut_by_clustering += 1
            }
            _ => {
                out.splits_below_threshold += 1;
                *out.splits_held_down_by
                    .entry(strongest(&explain(a, b), false))
                    .or_default() += 1;
            }
        }
    }
    out
}

fn size_bucket(n: usize) -> String {
    match n {
        0..=2 => "2".into(),
        3..=4 => "3-4".into(),
        _ => "5+".into(),
    }
}

fn share_a_day(a: &SourceEvent, b: &SourceEvent) -> bool {
    a.dates
        .iter()
        .any(|x| b.dates.iter().any(|y| x.date == y.date))
}

/// The feature with the largest contribution in the asked direction (learned model),
/// or the signal with the largest weighted score (`for_match`) or weighted shortfall.
fn strongest(d: &PairDecision, for_match: bool) -> String {
    if let Some(contributions) = &d.contributions {
        let sign = if for_match { 1.0 } else { -1.0 };
        return contributions
            .iter()
            .max_by(|x, y| (sign * x.contribution).total_cmp(&(sign * y.contribution)))
            .map_or_else(|| "none".into(), |c| c.feature.clone());
    }
    let s = &d.scores;
    let w = &d.weights;
    let terms = [
        ("date", w.date, s.date),
        ("geo", w.geo, s.geo),
        ("title", w.title, s.title),
        ("description", w.description, s.description),
    ];
    let value = |(_, w, s): &(&str, f64, f64)| if for_match { w * s } else { w * (1.0 - s) };
    terms
        .iter()
        .max_by(|x, y| value(x).total_cmp(&value(y)))
        .map_or_else(|| "none".into(), |t| t.0.to_string())
}
