//! Shared helpers for integration tests: fixture paths, loading event directories and
//! configs the way the CLI does.

#![allow(dead_code)]

pub mod catalogue;
pub mod store_fixture;

use std::path::{Path, PathBuf};

use event_dedup::cli::input;
use event_dedup::matching::{self, MatchingConfig, PipelineResult, ReviewConstraints};
use event_dedup::model::SourceEvent;
use event_dedup::preprocess::WordLists;

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// The labelled dev set (a copy of `shared/data/dev`).
pub fn dev_set() -> PathBuf {
    fixture("dev")
}

pub fn load_events(dir: &Path) -> Vec<SourceEvent> {
    let loaded = input::load(&[dir.to_path_buf()]).expect("fixture directory loads");
    assert!(
        loaded.rejected.is_empty(),
        "fixtures must be valid: {:?}",
        loaded.rejected
    );
    loaded.events
}

/// The spec's original pipeline: every improvement option off.
pub fn spec_config() -> MatchingConfig {
    MatchingConfig::load(&fixture("config/spec.toml")).expect("spec config is valid")
}

/// The word lists as the specification ships them (its 19 district aliases).
pub fn spec_lists() -> WordLists {
    WordLists::load(None, None, Some(&fixture("config/spec_city_aliases.toml")))
        .expect("spec alias table loads")
}

/// A run with the specification's word lists (faithfulness tests).
pub fn run_spec(events: Vec<SourceEvent>, config: &MatchingConfig) -> PipelineResult {
    matching::run(events, config, &spec_lists(), &ReviewConstraints::default())
}

pub fn run(events: Vec<SourceEvent>, config: &MatchingConfig) -> PipelineResult {
    matching::run(
        events,
        config,
        &WordLists::bundled(),
        &ReviewConstraints::default(),
    )
}
