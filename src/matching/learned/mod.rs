//! The learned match model: pair features, the model file, and fitting it to
//! labelled pairs (`event-dedup train`).

pub mod features;
pub mod fit;
pub mod model;

pub use features::{pair_features, Features, FEATURE_NAMES, N_FEATURES};
pub use model::{MatchModel, ModelError, ModelThresholds, TrainingInfo, MODEL_FORMAT};
