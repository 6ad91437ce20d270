//! Quality on several labelled sets at once: one row per set, the mean and the
//! **worst** set (the figure that counts), pairwise on cluster membership and B-cubed,
//! plus every set's error classes.

use std::collections::BTreeMap;
use std::fmt::Write;

use rayon::prelude::*;
use serde::Serialize;

use super::errors::{classify, ErrorClasses};
use super::metrics::evaluate;
use super::sets::LabelledSet;
use crate::matching::{self, MatchingConfig, ReviewConstraints};
use crate::preprocess::WordLists;

/// One set's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetQuality {
    pub name: String,
    pub events: usize,
    pub true_pairs: usize,
    /// True pairs that share a blocking key (the recall ceiling).
    pub true_pairs_blocked: usize,
    pub candidate_pairs: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub bcubed_precision: f64,
    pub bcubed_recall: f64,
    pub bcubed_f1: f64,
    pub errors: ErrorClasses,
}

/// Mean or worst over sets, column by column.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub bcubed_f1: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualityReport {
    pub sets: Vec<SetQuality>,
    pub mean: Summary,
    /// The smallest value of each column over the sets.
    pub worst: Summary,
}

/// Runs the pipeline on every set and measures it.
pub fn measure(sets: &[LabelledSet], config: &MatchingConfig, lists: &WordLists) -> QualityReport {
    let rows: Vec<SetQuality> = sets
        .par_iter()
        .map(|set| measure_one(set, config, lists))
        .collect();
    summarize(rows)
}

/// One set's figures (the pipeline run included).
pub fn measure_one(set: &LabelledSet, config: &MatchingConfig, lists: &WordLists) -> SetQuality {
    let result = matching::run(
        set.events.clone(),
        config,
        lists,
        &ReviewConstraints::default(),
    );
    let e = evaluate(&result, &set.truth, 0);
    SetQuality {
        name: set.name.clone(),
        events: result.events.len(),
        true_pairs: e.true_pairs,
        true_pairs_blocked: e.true_pairs_blocked,
        candidate_pairs: result.pairs.len(),
        precision: e.clusters.precision,
        recall: e.clusters.recall,
        f1: e.clusters.f1,
        bcubed_precision: e.bcubed_precision,
        bcubed_recall: e.bcubed_recall,
        bcubed_f1: e.bcubed_f1,
        errors: classify(&result, &set.truth, config, lists),
    }
}

/// Adds the mean and worst rows.
pub fn summarize(sets: Vec<SetQuality>) -> QualityReport {
    let n = sets.len().max(1) as f64;
    let col = |f: fn(&SetQuality) -> f64| sets.iter().map(f);
    let mean = Summary {
        precision: col(|s| s.precision).sum::<f64>() / n,
        recall: col(|s| s.recall).sum::<f64>() / n,
        f1: col(|s| s.f1).sum::<f64>() / n,
        bcubed_f1: col(|s| s.bcubed_f1).sum::<f64>() / n,
    };
    let min = |f: fn(&SetQuality) -> f64| col(f).fold(f64::INFINITY, f64::min);
    let worst = if sets.is_empty() {
        Summary {
            precision: 0.0,
            recall: 0.0,
            f1: 0.0,
            bcubed_f1: 0.0,
        }
    } else {
        Summary {
            precision: min(|s| s.precision),
            recall: min(|s| s.recall),
            f1: min(|s| s.f1),
            bcubed_f1: min(|s| s.bcubed_f1),
        }
    };
    QualityReport { sets, mean, worst }
}

/// The table as text: one row per set, mean and worst, then the error classes.
pub fn render(r: &QualityReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<12} {:>6} {:>6} {:>7} {:>7} {:>6} {:>6} {:>6}   {:>6} {:>6} {:>6}",
        "set", "events", "true", "blocked", "pairs/e", "P", "R", "F1", "B3 P", "B3 R", "B3 F1"
    );
    for s in &r.sets {
        let _ = writeln!(
            out,
            "{:<12} {:>6} {:>6} {:>7} {:>7.2} {:>6.3} {:>6.3} {:>6.3}   {:>6.3} {:>6.3} {:>6.3}",
            s.name,
            s.events,
            s.true_pairs,
            s.true_pairs_blocked,
            s.candidate_pairs as f64 / s.events.max(1) as f64,
            s.precision,
            s.recall,
            s.f1,
            s.bcubed_precision,
            s.bcubed_recall,
            s.bcubed_f1
        );
    }
    for (label, m) in [("mean", r.mean), ("worst", r.worst)] {
        let _ = writeln!(
            out,
            "{:<12} {:>6} {:>6} {:>7} {:>7} {:>6.3} {:>6.3} {:>6.3}   {:>6} {:>6} {:>6.3}",
            label, "", "", "", "", m.precision, m.recall, m.f1, "", "", m.bcubed_f1
        );
    }
    let _ = writeln!(out, "\nerror classes (pairs)");
    let _ = writeln!(
        out,
        "{:<12} {:>6} {:>6} {:>6} {:>6} | {:>6} {:>8} {:>8} {:>6} {:>6} {:>6} {:>6}",
        "set",
        "merges",
        "direct",
        "chain",
        "in 5+",
        "splits",
        "nc:day",
        "nc:place",
        "below",
        "veto",
        "review",
        "cut"
    );
    let mut carried: BTreeMap<String, usize> = BTreeMap::new();
    let mut held: BTreeMap<String, usize> = BTreeMap::new();
    for s in &r.sets {
        let e = &s.errors;
        let _ = writeln!(
            out,
            "{:<12} {:>6} {:>6} {:>6} {:>6} | {:>6} {:>8} {:>8} {:>6} {:>6} {:>6} {:>6}",
            s.name,
            e.false_merges,
            e.merges_direct,
            e.merges_transitive,
            e.merges_by_cluster_size.get("5+").copied().unwrap_or(0),
            e.false_splits,
            e.splits_never_compared_other_day,
            e.splits_never_compared_same_day,
            e.splits_below_threshold,
            e.splits_title_veto,
            e.splits_review_constraint,
            e.splits_cut_by_clustering
        );
        for (k, v) in &e.merges_carried_by {
            *carried.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &e.splits_held_down_by {
            *held.entry(k.clone()).or_default() += v;
        }
    }
    let ranked = |m: BTreeMap<String, usize>| {
        let mut v: Vec<(String, usize)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(out, "direct false merges carried by: {}", ranked(carried));
    let _ = writeln!(
        out,
        "below-threshold false splits held down by: {}",
        ranked(held)
    );
    let _ = writeln!(
        out,
        "(nc:day = never compared, no shared day; nc:place = never compared, same day but no shared town or grid cell; cut = decided match but separated by the clustering)"
    );
    out
}
