//! Training the learned match model (`event-dedup train`): labelled pairs from every
//! set's candidate pairs (plus reviewers' splits and merges), thresholds chosen for
//! precision first, and an honest estimate of quality by leaving one set out.
//!
//! Leave-one-set-out: for each set, a model is fitted on the other sets, its
//! thresholds are chosen on those same sets, and only then is it measured on the
//! held-out set. The shipped model is fitted on all sets; its expected quality is the
//! folds' figures, never its in-sample ones. The reliability table compares the
//! held-out pairs' predicted probabilities with how often they were true.

use rayon::prelude::*;
use serde::Serialize;

use super::metrics::evaluate;
use super::quality::{measure_one, summarize, QualityReport};
use super::sets::LabelledSet;
use crate::matching::learned::fit::{fit, FitError, LabelledPair};
use crate::matching::learned::{MatchModel, ModelThresholds, TrainingInfo};
use crate::matching::{
    self, candidate_features, features_of_pair, MatchingConfig, ReviewConstraints,
};
use crate::model::SourceEvent;
use crate::preprocess::WordLists;

/// How much a reviewer's decision counts against one generated label: a reviewer
/// looked at exactly this pair, and there are few such pairs.
pub const REVIEWER_WEIGHT: u32 = 20;
/// Probability at or below which a pair is `no_match` (above it and below `high`,
/// it is ambiguous and goes to the review queue).
pub const LOW_THRESHOLD: f64 = 0.2;
/// Candidate match thresholds tried on the training sets.
const HIGH_GRID: [f64; 14] = [
    0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95,
];

/// A pair a reviewer decided: merged (`same`) or split apart.
#[derive(Debug, Clone)]
pub struct ReviewerPair {
    pub a: SourceEvent,
    pub b: SourceEvent,
    pub same: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    /// L2 regularization of the fit.
    pub alpha: f64,
    /// Pairwise precision (on cluster membership) every training set must reach when
    /// the match threshold is chosen; the best worst-set F1 among those thresholds wins.
    pub target_precision: f64,
    /// Leave one set out (needs two sets or more).
    pub folds: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            alpha: 1.0,
            target_precision: 0.985,
            folds: true,
        }
    }
}

/// One held-out set's result.
#[derive(Debug, Clone, Serialize)]
pub struct Fold {
    pub held_out: String,
    pub thresholds: ModelThresholds,
    pub quality: super::quality::SetQuality,
}

/// Of held-out pairs predicted in `[lo, hi)`, how many were true.
#[derive(Debug, Clone, Serialize)]
pub struct ReliabilityBin {
    pub lo: f64,
    pub hi: f64,
    pub pairs: usize,
    pub mean_predicted: f64,
    pub observed: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrainingReport {
    pub model: MatchModel,
    pub folds: Vec<Fold>,
    /// The folds' held-out rows with mean and worst.
    pub held_out: Option<QualityReport>,
    pub reliability: Vec<ReliabilityBin>,
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("no labelled set and no reviewer decision to learn from")]
    NoData,
    #[error(transparent)]
    Fit(#[from] FitError),
}

/// A set's candidate pairs with labels (unlabelled events left out).
struct SetPairs {
    pairs: Vec<LabelledPair>,
}

fn labelled_pairs(set: &LabelledSet, config: &MatchingConfig, lists: &WordLists) -> SetPairs {
    let table = candidate_features(set.events.clone(), config, lists);
    let pairs = table
        .pairs
        .iter()
        .filter_map(|&(a, b, features)| {
            let same = set
                .truth
                .same(&table.events[a as usize].id, &table.events[b as usize].id)?;
            Some(LabelledPair {
                features,
                same,
                weight: 1,
            })
        })
        .collect();
    SetPairs { pairs }
}

/// Trains on every set (and reviewer pair), with leave-one-set-out figures.
pub fn train(
    sets: &[LabelledSet],
    reviewer: &[ReviewerPair],
    config: &MatchingConfig,
    lists: &WordLists,
    options: TrainOptions,
) -> Result<TrainingReport, TrainError> {
    if sets.is_empty() && reviewer.is_empty() {
        return Err(TrainError::NoData);
    }
    let per_set: Vec<SetPairs> = sets
        .par_iter()
        .map(|s| labelled_pairs(s, config, lists))
        .collect();
    let reviewer_pairs: Vec<LabelledPair> = reviewer
        .iter()
        .map(|r| LabelledPair {
            features: features_of_pair(&r.a, &r.b, config, lists),
            same: r.same,
            weight: REVIEWER_WEIGHT,
        })
        .collect();
    let names: Vec<String> = sets.iter().map(|s| s.name.clone()).collect();

    let fit_on = |held_out: Option<usize>| -> Result<MatchModel, TrainError> {
        let mut pairs: Vec<LabelledPair> = Vec::new();
        for (i, sp) in per_set.iter().enumerate() {
            if Some(i) != held_out {
                pairs.extend_from_slice(&sp.pairs);
            }
        }
        pairs.extend_from_slice(&reviewer_pairs);
        let info = TrainingInfo {
            sets: names
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != held_out)
                .map(|(_, n)| n.clone())
                .collect(),
            reviewer_pairs: reviewer_pairs.len(),
            ..TrainingInfo::default()
        };
        let mut model = fit(&pairs, options.alpha, info)?;
        let training_sets: Vec<&LabelledSet> = sets
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != held_out)
            .map(|(_, s)| s)
            .collect();
        model.thresholds = choose_thresholds(&model, &training_sets, config, lists, options);
        Ok(model)
    };

    let mut folds = Vec::new();
    let mut reliability_points: Vec<(f64, bool)> = Vec::new();
    if options.folds && sets.len() >= 2 {
        for (k, set) in sets.iter().enumerate() {
            let model = fit_on(Some(k))?;
            reliability_points.extend(
                per_set[k]
                    .pairs
                    .iter()
                    .map(|p| (model.probability(&p.features), p.same)),
            );
            let thresholds = model.thresholds;
            let with_model = lists.clone().with_model(Some(model));
            folds.push(Fold {
                held_out: set.name.clone(),
                thresholds,
                quality: measure_one(set, config, &with_model),
            });
        }
    }
    let model = fit_on(None)?;
    let held_out =
        (!folds.is_empty()).then(|| summarize(folds.iter().map(|f| f.quality.clone()).collect()));
    Ok(TrainingReport {
        model,
        folds,
        held_out,
        reliability: reliability(&reliability_points),
    })
}

/// The match threshold with the best worst-set F1 among those where every training
/// set reaches the target precision (else the one with the best worst precision).
fn choose_thresholds(
    model: &MatchModel,
    sets: &[&LabelledSet],
    config: &MatchingConfig,
    lists: &WordLists,
    options: TrainOptions,
) -> ModelThresholds {
    if sets.is_empty() {
        return ModelThresholds {
            high: 0.5,
            low: LOW_THRESHOLD,
        };
    }
    let scored: Vec<(f64, f64, f64)> = HIGH_GRID
        .par_iter()
        .map(|&high| {
            let mut m = model.clone();
            m.thresholds = ModelThresholds {
                high,
                low: LOW_THRESHOLD.min(high / 2.0),
            };
            let with_model = lists.clone().with_model(Some(m));
            let (mut worst_p, mut worst_f1) = (f64::INFINITY, f64::INFINITY);
            for set in sets {
                let result = matching::run(
                    set.events.clone(),
                    config,
                    &with_model,
                    &ReviewConstraints::default(),
                );
                let e = evaluate(&result, &set.truth, 0);
                worst_p = worst_p.min(e.clusters.precision);
                worst_f1 = worst_f1.min(e.clusters.f1);
            }
            (high, worst_p, worst_f1)
        })
        .collect();
    let qualifying = scored
        .iter()
        .filter(|(_, p, _)| *p >= options.target_precision)
        .max_by(|x, y| x.2.total_cmp(&y.2).then(y.0.total_cmp(&x.0)));
    let high = match qualifying {
        Some(&(h, _, _)) => h,
        None => scored
            .iter()
            .max_by(|x, y| x.1.total_cmp(&y.1))
            .map_or(0.5, |s| s.0),
    };
    ModelThresholds {
        high,
        low: LOW_THRESHOLD.min(high / 2.0),
    }
}

/// Ten equal-width probability bins.
fn reliability(points: &[(f64, bool)]) -> Vec<ReliabilityBin> {
    (0..10)
        .map(|i| {
            let (lo, hi) = (f64::from(i) / 10.0, f64::from(i + 1) / 10.0);
            let inside: Vec<&(f64, bool)> = points
                .iter()
                .filter(|(p, _)| *p >= lo && (*p < hi || (i == 9 && *p <= 1.0)))
                .collect();
            let n = inside.len();
            let mean = |f: &dyn Fn(&(f64, bool)) -> f64| {
                if n == 0 {
                    0.0
                } else {
                    inside.iter().map(|x| f(x)).sum::<f64>() / n as f64
                }
            };
            ReliabilityBin {
                lo,
                hi,
                pairs: n,
                mean_predicted: mean(&|x| x.0),
                observed: mean(&|x| if x.1 { 1.0 } else { 0.0 }),
            }
        })
        .collect()
}
