//! The matching pipeline (`matching.md`): a pure function from source events, a
//! matching config and review constraints to explained pair decisions, clusters and
//! canonical events. No I/O happens here, so it can be tested, benchmarked and run
//! offline.

pub mod config;

pub use config::MatchingConfig;
