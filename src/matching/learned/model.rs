//! The learned match model: a logistic regression over [`super::features`], stored as
//! a JSON file (`config/model.json`, written by `event-dedup train`).
//!
//! Why logistic regression: its output is a probability that is calibrated by
//! construction on the data it was fitted to (it minimises log loss), and every
//! decision decomposes into one additive contribution per feature (log-odds), which
//! explain, the detail API and the review UI show. Features are standardized with the
//! training set's mean and spread, so a contribution reads "how much this fact moved
//! the pair away from an average candidate pair".
//!
//! Invariant: a loaded model has exactly the binary's features in the binary's order,
//! finite numbers, and thresholds `0 < low < high < 1`; anything else is a load error
//! that names the file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::features::{Features, FEATURE_NAMES, N_FEATURES};
pub use crate::model::FeatureContribution;

/// The file format tag, bumped when the meaning of a field changes.
pub const MODEL_FORMAT: &str = "event-dedup-model/1";

/// A fitted model with its decision thresholds and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchModel {
    pub format: String,
    /// Feature names in order; must equal the binary's [`FEATURE_NAMES`].
    pub features: Vec<String>,
    /// Per feature: the training mean (subtracted before scaling).
    pub center: Vec<f64>,
    /// Per feature: the training standard deviation (1 for constant features).
    pub scale: Vec<f64>,
    /// Per feature: the log-odds weight of one standard deviation.
    pub coefficients: Vec<f64>,
    pub intercept: f64,
    pub thresholds: ModelThresholds,
    pub training: TrainingInfo,
}

/// Probability cut-offs of the decision table (`p ≥ high` match, `p ≤ low` no match).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelThresholds {
    pub high: f64,
    pub low: f64,
}

/// What the model was fitted on, for the record (never used for scoring).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingInfo {
    pub sets: Vec<String>,
    pub pairs: usize,
    pub positives: usize,
    /// Pairs labelled by reviewers' splits and merges.
    pub reviewer_pairs: usize,
    /// L2 regularization strength used by the fit.
    pub alpha: f64,
}

/// Why a model file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read match model {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid match model {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

const BUNDLED_MODEL: &str = include_str!("../../../config/model.json");
const BUNDLED_NAME: &str = "config/model.json";

impl MatchModel {
    /// The shipped model (compiled in, covered by tests: a failure is a build defect).
    pub fn bundled() -> Self {
        match Self::parse(BUNDLED_MODEL, Path::new(BUNDLED_NAME)) {
            Ok(m) => m,
            Err(e) => unreachable!("bundled match model is invalid: {e}"),
        }
    }

    /// Loads and validates a model file.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates model JSON; `shown` names it in errors.
    pub fn parse(text: &str, shown: &Path) -> Result<Self, ModelError> {
        let invalid = |message: String| ModelError::Invalid {
            path: shown.to_path_buf(),
            message,
        };
        let model: MatchModel = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        model.validate().map_err(invalid)?;
        Ok(model)
    }

    fn validate(&self) -> Result<(), String> {
        if self.format != MODEL_FORMAT {
            return Err(format!(
                "format is {:?}, this binary reads {MODEL_FORMAT:?}",
                self.format
            ));
        }
        if self.features != FEATURE_NAMES {
            return Err(format!(
                "features {:?} differ from this binary's {:?}; retrain with `event-dedup train`",
                self.features, FEATURE_NAMES
            ));
        }
        for (name, v) in [
            ("center", &self.center),
            ("scale", &self.scale),
            ("coefficients", &self.coefficients),
        ] {
            if v.len() != N_FEATURES {
                return Err(format!(
                    "{name} has {} values, expected {N_FEATURES}",
                    v.len()
                ));
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(format!("{name} has a value that is not a finite number"));
            }
        }
        if self.scale.iter().any(|s| *s <= 0.0) {
            return Err("scale values must be greater than 0".into());
        }
        if !self.intercept.is_finite() {
            return Err("intercept is not a finite number".into());
        }
        let t = self.thresholds;
        if !(0.0 < t.low && t.low < t.high && t.high < 1.0) {
            return Err(format!(
                "thresholds must satisfy 0 < low < high < 1, got low {} high {}",
                t.low, t.high
            ));
        }
        Ok(())
    }

    /// Log-odds of each feature (standardized value × coefficient).
    fn terms(&self, f: &Features) -> impl Iterator<Item = f64> + '_ {
        let values = f.values;
        (0..N_FEATURES)
            .map(move |i| self.coefficients[i] * (values[i] - self.center[i]) / self.scale[i])
    }

    /// The calibrated probability that the pair is the same event.
    pub fn probability(&self, f: &Features) -> f64 {
        sigmoid(self.intercept + self.terms(f).sum::<f64>())
    }

    /// Every feature's contribution to the decision, largest effect first.
    pub fn contributions(&self, f: &Features) -> Vec<FeatureContribution> {
        let mut out: Vec<FeatureContribution> = self
            .terms(f)
            .enumerate()
            .map(|(i, contribution)| FeatureContribution {
                feature: FEATURE_NAMES[i].to_string(),
                value: f.values[i],
                contribution,
            })
            .collect();
        out.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
        out
    }
}

pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_model_loads_and_gives_probabilities() {
        let m = MatchModel::bundled();
        let f = Features {
            values: [0.5; N_FEATURES],
        };
        let p = m.probability(&f);
        assert!((0.0..=1.0).contains(&p));
        let sum: f64 = m.contributions(&f).iter().map(|c| c.contribution).sum();
        assert!((sigmoid(m.intercept + sum) - p).abs() < 1e-12);
    }

    #[test]
    fn bad_files_are_refused_with_the_file_and_the_problem() {
        let path = Path::new("x/model.json");
        let err = MatchModel::parse("{", path).unwrap_err().to_string();
        assert!(err.contains("x/model.json"), "{err}");
        let mut m = MatchModel::bundled();
        m.features.swap(0, 1);
        let err = MatchModel::parse(&serde_json::to_string(&m).unwrap(), path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("retrain"), "{err}");
        let mut m = MatchModel::bundled();
        m.thresholds.low = 0.9;
        m.thresholds.high = 0.8;
        let err = MatchModel::parse(&serde_json::to_string(&m).unwrap(), path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("thresholds"), "{err}");
        let mut m = MatchModel::bundled();
        m.coefficients.pop();
        let err = MatchModel::parse(&serde_json::to_string(&m).unwrap(), path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("coefficients"), "{err}");
        let err = MatchModel::load(Path::new("/nonexistent/model.json"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/model.json"), "{err}");
    }
}
