//! Loading labelled sets for `evaluate` and `train`: a set is a directory with
//! `truth.json` and its event files in `events/` (the layout of `shared/data`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::input;
use crate::evaluation::{GroundTruth, LabelledSet};

/// Loads every set; the first unusable one stops with a message naming it.
pub fn load_sets(dirs: &[PathBuf]) -> anyhow::Result<Vec<LabelledSet>> {
    dirs.iter().map(|d| load_set(d)).collect()
}

fn load_set(dir: &Path) -> anyhow::Result<LabelledSet> {
    let truth_path = dir.join("truth.json");
    let events_dir = dir.join("events");
    if !truth_path.is_file() || !events_dir.is_dir() {
        bail!(
            "{} is not a labelled set: it needs truth.json and an events/ directory",
            dir.display()
        );
    }
    let truth = GroundTruth::load(&truth_path)?;
    let input = input::load(&[events_dir])
        .with_context(|| format!("cannot read the events of {}", dir.display()))?;
    if input.files_used == 0 {
        bail!("{}: no usable event file in events/", dir.display());
    }
    let name = dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(LabelledSet::new(name, input.events, truth)?)
}
