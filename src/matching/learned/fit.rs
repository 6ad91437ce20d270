//! Fitting a [`MatchModel`] to labelled pairs with `linfa-logistic` (L2-regularized
//! logistic regression, L-BFGS).
//!
//! Features are standardized first (mean 0, standard deviation 1 on the training
//! pairs): the solver converges reliably, the L2 penalty treats every feature alike,
//! and coefficients become comparable. A pair's weight repeats its row, which is how a
//! reviewer's decision counts more than one generated label.

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};

use super::features::{Features, FEATURE_NAMES, N_FEATURES};
use super::model::{MatchModel, ModelThresholds, TrainingInfo, MODEL_FORMAT};

/// One training example.
#[derive(Debug, Clone, Copy)]
pub struct LabelledPair {
    pub features: Features,
    pub same: bool,
    /// How many times the pair counts (≥ 1).
    pub weight: u32,
}

/// Why a model could not be fitted.
#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error("no labelled pairs to learn from")]
    NoPairs,
    #[error("the labelled pairs are all {0}: a model needs both same and different pairs")]
    OneClass(&'static str),
    #[error("the solver failed: {0}")]
    Solver(String),
}

/// Solver iterations; the standardized problem converges in far fewer.
const MAX_ITERATIONS: u64 = 400;

/// Fits a logistic regression; thresholds are placeholders the caller chooses later.
pub fn fit(pairs: &[LabelledPair], alpha: f64, info: TrainingInfo) -> Result<MatchModel, FitError> {
    let rows: usize = pairs.iter().map(|p| p.weight.max(1) as usize).sum();
    if rows == 0 {
        return Err(FitError::NoPairs);
    }
    let positives = pairs.iter().filter(|p| p.same).count();
    if positives == 0 {
        return Err(FitError::OneClass("different"));
    }
    if positives == pairs.len() {
        return Err(FitError::OneClass("the same event"));
    }
    let (center, scale) = standardization(pairs, rows);
    let mut x = Array2::<f64>::zeros((rows, N_FEATURES));
    let mut y = Array1::<bool>::from_elem(rows, false);
    let mut r = 0;
    for p in pairs {
        for _ in 0..p.weight.max(1) {
            for i in 0..N_FEATURES {
                x[[r, i]] = (p.features.values[i] - center[i]) / scale[i];
            }
            y[r] = p.same;
            r += 1;
        }
    }
    let dataset = Dataset::new(x, y);
    let fitted = LogisticRegression::default()
        .alpha(alpha)
        .max_iterations(MAX_ITERATIONS)
        .fit(&dataset)
        .map_err(|e| FitError::Solver(e.to_string()))?;
    // linfa's probability is that of its `pos` class, which depends on the order the
    // labels were first seen in; flip the sign so the model gives P(same).
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    let coefficients: Vec<f64> = fitted.params().iter().map(|c| sign * c).collect();
    Ok(MatchModel {
        format: MODEL_FORMAT.to_string(),
        features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
        center,
        scale,
        coefficients,
        intercept: sign * fitted.intercept(),
        thresholds: ModelThresholds {
            high: 0.5,
            low: 0.1,
        },
        training: TrainingInfo {
            pairs: pairs.len(),
            positives,
            alpha,
            ..info
        },
    })
}

/// Weighted mean and standard deviation per feature (1 for a constant feature).
fn standardization(pairs: &[LabelledPair], rows: usize) -> (Vec<f64>, Vec<f64>) {
    let n = rows as f64;
    let mut mean = vec![0.0; N_FEATURES];
    for p in pairs {
        for (i, m) in mean.iter_mut().enumerate() {
            *m += p.features.values[i] * f64::from(p.weight.max(1)) / n;
        }
    }
    let mut var = vec![0.0; N_FEATURES];
    for p in pairs {
        for (i, v) in var.iter_mut().enumerate() {
            let d = p.features.values[i] - mean[i];
            *v += d * d * f64::from(p.weight.max(1)) / n;
        }
    }
    let scale = var
        .into_iter()
        .map(|v| if v > 1e-12 { v.sqrt() } else { 1.0 })
        .collect();
    (mean, scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(title: f64, date: f64, same: bool) -> LabelledPair {
        let mut values = [0.0; N_FEATURES];
        values[0] = date;
        values[2] = title;
        LabelledPair {
            features: Features { values },
            same,
            weight: 1,
        }
    }

    #[test]
    fn learns_the_direction_of_evidence() {
        let mut pairs = Vec::new();
        for i in 0..200 {
            let t = f64::from(i) / 200.0;
            pairs.push(pair(t, 1.0, t > 0.6));
            pairs.push(pair(t, 0.0, false));
        }
        let m = fit(&pairs, 0.1, TrainingInfo::default()).unwrap();
        let p = |title: f64, date: f64| m.probability(&pair(title, date, false).features);
        assert!(p(0.9, 1.0) > 0.9, "{}", p(0.9, 1.0));
        assert!(p(0.3, 1.0) < 0.1);
        assert!(p(0.9, 0.0) < p(0.9, 1.0));
        assert_eq!(m.training.pairs, 400);
        assert_eq!(m.training.positives, 79);
    }

    #[test]
    fn weights_move_the_fit_and_bad_input_is_refused() {
        let base: Vec<LabelledPair> = (0..100)
            .map(|i| pair(f64::from(i) / 100.0, 1.0, i >= 50))
            .collect();
        let probe = pair(0.45, 1.0, false).features;
        let plain = fit(&base, 0.1, TrainingInfo::default()).unwrap();
        let mut weighted = base.clone();
        weighted.push(LabelledPair {
            weight: 50,
            ..pair(0.45, 1.0, false)
        });
        let fitted = fit(&weighted, 0.1, TrainingInfo::default()).unwrap();
        assert!(fitted.probability(&probe) < plain.probability(&probe));

        assert!(matches!(
            fit(&[], 0.1, TrainingInfo::default()),
            Err(FitError::NoPairs)
        ));
        let one_class: Vec<LabelledPair> = base
            .iter()
            .map(|p| LabelledPair { same: true, ..*p })
            .collect();
        assert!(matches!(
            fit(&one_class, 0.1, TrainingInfo::default()),
            Err(FitError::OneClass(_))
        ));
    }
}
