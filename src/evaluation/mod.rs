//! Evaluation against labelled data (`matching.md` §9): pairwise precision, recall and
//! F1 on match decisions and on cluster co-membership, B-cubed precision/recall, per
//! category, plus the worst false merges and false splits with their explanations.

pub mod metrics;
pub mod report;
pub mod truth;

pub use metrics::{evaluate, Evaluation, Metrics};
pub use truth::{GroundTruth, TruthError};
