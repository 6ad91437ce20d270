//! The matching pipeline (`matching.md`): a pure function from source events, a
//! matching config and review constraints to explained pair decisions, clusters and
//! canonical events. No I/O happens here, so it can be tested, benchmarked and run
//! offline.

pub mod config;

pub use config::MatchingConfig;
pub mod candidates;
pub mod cluster;
pub mod constraints;
pub mod decide;
pub mod pipeline;
pub mod prepared;
pub mod signals;
pub mod similarity;
pub mod synthesis;

pub use constraints::ReviewConstraints;
pub use pipeline::{
    explain_pair, run, score, PipelineResult, PipelineStats, ScoredPair, ScoredRun,
};
