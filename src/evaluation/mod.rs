//! Evaluation against labelled data (`matching.md` §9): pairwise precision, recall and
//! F1 on match decisions and on cluster co-membership, B-cubed precision/recall, per
//! category, the worst false merges and false splits with their explanations, error
//! classes, the several-sets quality table, and training the learned model with
//! leave-one-set-out figures.

pub mod errors;
pub mod metrics;
pub mod quality;
pub mod report;
pub mod sets;
pub mod training;
pub mod truth;

pub use metrics::{evaluate, Evaluation, Metrics};
pub use sets::{LabelledSet, SetError};
pub use truth::{GroundTruth, TruthError};
