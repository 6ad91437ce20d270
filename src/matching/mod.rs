//! The matching pipeline (`matching.md`): a pure function from source events, a
//! matching config and review constraints to explained pair decisions, clusters and
//! canonical events. No I/O happens here, so it can be tested, benchmarked and run
//! offline.

pub mod config;
pub mod conflicts;

pub use config::MatchingConfig;
pub mod candidates;
pub mod cluster;
pub mod constraints;
pub mod decide;
pub mod fingerprint;
pub mod incremental;
pub mod learned;
pub mod pair_lookup;
pub mod pipeline;
pub mod prepared;
pub mod signals;
pub mod similarity;
pub mod synthesis;

pub use constraints::ReviewConstraints;
pub use fingerprint::fingerprint;
pub use pipeline::{
    candidate_features, explain_pair, features_of_pair, run, score, CandidateFeatures,
    PipelineResult, PipelineStats, ScoredPair, ScoredRun,
};
