//! Pairwise and B-cubed metrics of a pipeline result against ground truth.
//!
//! Two pairwise views: `decisions` counts only direct `match` decisions (the spec's
//! §9.2 metric), `clusters` counts every pair inside one canonical event, which also
//! exposes false merges caused by transitive chaining. Unlabelled events are ignored.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::truth::{ordered, GroundTruth};
use crate::matching::PipelineResult;
use crate::model::{Decision, PairDecision};

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Metrics {
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Metrics {
    fn from_counts(tp: usize, fp: usize, fn_: usize) -> Self {
        let ratio = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, tp + fn_);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Metrics {
            tp,
            fp,
            fn_,
            precision,
            recall,
            f1,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CategoryMetrics {
    pub true_pairs: usize,
    pub decisions: Metrics,
    pub clusters: Metrics,
}

/// One misclassified pair with everything needed to understand it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairError {
    pub id_a: String,
    pub id_b: String,
    pub title_a: String,
    pub title_b: String,
    /// The pair's decision when it was a candidate.
    pub decision: Option<PairDecision>,
    pub same_cluster: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub labelled_events: usize,
    pub true_pairs: usize,
    /// True pairs that share at least one blocking key (the recall ceiling).
    pub true_pairs_blocked: usize,
    pub decisions: Metrics,
    pub clusters: Metrics,
    pub bcubed_precision: f64,
    pub bcubed_recall: f64,
    pub bcubed_f1: f64,
    pub per_category: BTreeMap<String, CategoryMetrics>,
    /// Predicted matches that are different events, most confident first.
    pub false_merges: Vec<PairError>,
    /// True pairs not matched, highest combined score first (non-candidates last).
    pub false_splits: Vec<PairError>,
}

/// Evaluates `result` against `truth`, listing up to `worst` errors of each kind.
pub fn evaluate(result: &PipelineResult, truth: &GroundTruth, worst: usize) -> Evaluation {
    let ids: Vec<&str> = result.events.iter().map(|e| e.id.as_str()).collect();
    let labelled = |i: u32| truth.event_to_true.contains_key(ids[i as usize]);
    let mut cluster_of = vec![usize::MAX; ids.len()];
    for (ci, members) in result.clusters.iter().enumerate() {
        for &m in members {
            cluster_of[m as usize] = ci;
        }
    }

    let predicted: BTreeSet<(u32, u32)> = result
        .pairs
        .iter()
        .filter(|p| p.decision == Decision::Match && labelled(p.a) && labelled(p.b))
        .map(|p| (p.a, p.b))
        .collect();
    let mut co_member: BTreeSet<(u32, u32)> = BTreeSet::new();
    for members in &result.clusters {
        let lab: Vec<u32> = members.iter().copied().filter(|&m| labelled(m)).collect();
        for (i, &a) in lab.iter().enumerate() {
            for &b in &lab[i + 1..] {
                co_member.insert((a, b));
            }
        }
    }
    let true_pairs: BTreeSet<(u32, u32)> = truth
        .same_pairs
        .iter()
        .filter_map(|(a, b)| Some((result.index_of(a)?, result.index_of(b)?)))
        .collect();
    let is_same = |&(a, b): &(u32, u32)| truth.same(ids[a as usize], ids[b as usize]) == Some(true);

    let pairwise = |pred: &BTreeSet<(u32, u32)>, filter: &dyn Fn(&(u32, u32)) -> bool| {
        let tp = pred.iter().filter(|p| filter(p) && is_same(p)).count();
        let fp = pred.iter().filter(|p| filter(p) && !is_same(p)).count();
        let fn_ = true_pairs
            .iter()
            .filter(|p| filter(p) && !pred.contains(p))
            .count();
        Metrics::from_counts(tp, fp, fn_)
    };
    let all = |_: &(u32, u32)| true;

    let mut categories: BTreeSet<&str> = BTreeSet::new();
    for e in &result.events {
        categories.extend(e.categories.iter().flatten().map(String::as_str));
    }
    let has = |i: u32, c: &str| {
        result.events[i as usize]
            .categories
            .iter()
            .flatten()
            .any(|x| x == c)
    };
    let per_category = categories
        .iter()
        .map(|&c| {
            let in_cat = |&(a, b): &(u32, u32)| has(a, c) || has(b, c);
            (
                c.to_string(),
                CategoryMetrics {
                    true_pairs: true_pairs.iter().filter(|p| in_cat(p)).count(),
                    decisions: pairwise(&predicted, &in_cat),
                    clusters: pairwise(&co_member, &in_cat),
                },
            )
        })
        .filter(|(_, m)| m.true_pairs > 0 || m.decisions.fp > 0)
        .collect();

    let (bp, br) = bcubed(&ids, &cluster_of, truth);
    let error = |a: u32, b: u32| PairError {
        id_a: ids[a as usize].to_string(),
        id_b: ids[b as usize].to_string(),
        title_a: result.events[a as usize].title.clone(),
        title_b: result.events[b as usize].title.clone(),
        decision: result.pair(a, b).map(|p| result.explain(p)),
        same_cluster: cluster_of[a as usize] == cluster_of[b as usize],
    };
    let score_of = |e: &PairError| e.decision.as_ref().map_or(-1.0, |d| d.combined);
    let mut false_merges: Vec<PairError> = predicted
        .iter()
        .filter(|p| !is_same(p))
        .map(|&(a, b)| error(a, b))
        .collect();
    false_merges.sort_by(|x, y| score_of(y).total_cmp(&score_of(x)));
    false_merges.truncate(worst);
    let mut false_splits: Vec<PairError> = true_pairs
        .iter()
        .filter(|p| !predicted.contains(p))
        .map(|&(a, b)| error(a, b))
        .collect();
    false_splits.sort_by(|x, y| score_of(y).total_cmp(&score_of(x)));
    false_splits.truncate(worst);

    Evaluation {
        labelled_events: ids
            .iter()
            .filter(|id| truth.event_to_true.contains_key(**id))
            .count(),
        true_pairs: true_pairs.len(),
        true_pairs_blocked: true_pairs
            .iter()
            .filter(|&&(a, b)| result.pair(a, b).is_some())
            .count(),
        decisions: pairwise(&predicted, &all),
        clusters: pairwise(&co_member, &all),
        bcubed_precision: bp,
        bcubed_recall: br,
        bcubed_f1: if bp + br == 0.0 {
            0.0
        } else {
            2.0 * bp * br / (bp + br)
        },
        per_category,
        false_merges,
        false_splits,
    }
}

/// Mean per-event B-cubed precision and recall over labelled events.
fn bcubed(ids: &[&str], cluster_of: &[usize], truth: &GroundTruth) -> (f64, f64) {
    let mut by_cluster: HashMap<usize, Vec<&str>> = HashMap::new();
    let mut by_truth: HashMap<&str, usize> = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        if let Some(t) = truth.event_to_true.get(*id) {
            by_cluster
                .entry(cluster_of[i])
                .or_default()
                .push(t.as_str());
            *by_truth.entry(t.as_str()).or_default() += 1;
        }
    }
    let (mut p_sum, mut r_sum, mut n) = (0.0, 0.0, 0usize);
    for members in by_cluster.values() {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for t in members {
            *counts.entry(t).or_default() += 1;
        }
        for t in members {
            let correct = counts[t] as f64;
            p_sum += correct / members.len() as f64;
            r_sum += correct / by_truth[t] as f64;
            n += 1;
        }
    }
    if n == 0 {
        return (0.0, 0.0);
    }
    (p_sum / n as f64, r_sum / n as f64)
}

/// Canonical-order id pair (used by callers building pair sets by id).
pub fn id_pair(a: &str, b: &str) -> (String, String) {
    ordered(a, b)
}
