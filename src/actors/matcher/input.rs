//! What a run reads and what it is matched with: the run's config ([`run_config`], the
//! one layering rule), its fingerprint ([`run_fingerprint`]) and its input ([`load`]:
//! every listing, or those committed since the state's mark).
//!
//! Shared by every path: the start-up check and the state build at start-up use the
//! config and the fingerprint too.
//!
//! Invariants:
//! * a run's config, review constraints, listings and mark are read in one
//!   repeatable-read snapshot, so they agree;
//! * a change [`too_big_for_incremental`] is read as every listing at once (the run
//!   will be a full one);
//! * stored overrides that no longer validate are logged and set aside, never fatal.

use super::Shared;
use crate::actors::retry_transient;
use crate::matching;
use crate::matching::config::{layered, MatchingConfig};
use crate::matching::ReviewConstraints;
use crate::model::{RunError, SourceEvent};
use crate::store::{self, IngestMark, StoredConfig};

/// The run's config and the stored row it came from: the one layering rule
/// ([`layered`]); stored overrides that no longer validate are logged and set aside.
pub(super) fn run_config(
    shared: &Shared,
    stored: Option<&StoredConfig>,
) -> Result<MatchingConfig, RunError> {
    let file = shared
        .config
        .load_file()
        .map_err(|e| RunError::Input(e.to_string()))?;
    let overrides = stored.map(|s| &s.config_json);
    let layers = layered(file, overrides, shared.llm.env_key.is_some());
    if !layers.rejected_overrides.is_empty() {
        let problems: Vec<String> = layers
            .rejected_overrides
            .iter()
            .map(|p| format!("{}: {}", p.key, p.message))
            .collect();
        tracing::error!(error = %problems.join("; "), "stored matching configuration is invalid; using the file's");
    }
    Ok(layers.config)
}

/// The matching fingerprint of a run: config, word lists and model, and whether
/// the tie-breaker can answer (a key that appears makes every ambiguous pair worth
/// asking, as a full run does; the key itself is not hashed).
pub(super) fn run_fingerprint(
    shared: &Shared,
    config: &MatchingConfig,
    stored: Option<&StoredConfig>,
) -> String {
    let asks = config.ai.enabled && matches!(shared.llm.api_key(stored), Ok(Some(_)));
    let base = matching::fingerprint(config, &shared.lists);
    if asks {
        format!("{base}+tiebreaker")
    } else {
        base
    }
}

/// A run's input, read in one repeatable-read snapshot.
pub(super) struct Loaded {
    pub(super) stored: Option<StoredConfig>,
    pub(super) constraints: ReviewConstraints,
    /// Every listing (full run) or those committed since the state's mark.
    pub(super) events: Vec<SourceEvent>,
    /// The snapshot the input was read in.
    pub(super) mark: IngestMark,
}

/// Reads the stored config, the constraints and the listings — all of them, or only
/// those whose files committed since the mark of a state of `stored` listings — in
/// one snapshot. A change [`too_big_for_incremental`] is read as all listings at once
/// (it will be a full run: reading the change first and everything after read most
/// listings twice). The flag says whether every listing was read.
pub(super) async fn load(
    shared: &Shared,
    since: Option<(&IngestMark, usize)>,
) -> Result<(Loaded, bool), RunError> {
    retry_transient("load run input", &shared.shutdown, || async {
        let mut client = shared.pool.get().await?;
        let tx = store::begin_run_snapshot(&mut client).await?;
        let stored = store::load_stored_config(&*tx).await?;
        let constraints = store::load_constraints(&*tx).await?;
        let changed = match since {
            Some((mark, listings)) => {
                let (ids, covers) = store::changed_ids_since(&*tx, mark).await?;
                (!too_big_for_incremental(ids.len(), listings)).then_some((ids, covers))
            }
            None => None,
        };
        let everything = changed.is_none();
        let (events, mark) = match changed {
            Some((ids, covers)) => (store::load_events_by_ids(&*tx, &ids).await?, covers),
            None => {
                let mark = store::ingest_mark(&*tx).await?;
                (store::load_all_events(&*tx).await?, mark)
            }
        };
        tx.commit().await?;
        let loaded = Loaded {
            stored,
            constraints,
            events,
            mark,
        };
        Ok((loaded, everything))
    })
    .await
    .map_err(RunError::input)
}

/// A change larger than this share of the catalogue (and than
/// [`FULL_RUN_MIN_LISTINGS`]) is matched by a full run: applying it would touch most
/// of the state and cost about twice a full run (a burst into an empty service).
const FULL_RUN_SHARE: usize = 4;
const FULL_RUN_MIN_LISTINGS: usize = 1_000;

fn too_big_for_incremental(changed: usize, stored: usize) -> bool {
    changed > FULL_RUN_MIN_LISTINGS && changed * FULL_RUN_SHARE > stored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_large_change_relative_to_the_catalogue_is_a_full_run() {
        // Small changes are always incremental, whatever the catalogue.
        assert!(!too_big_for_incremental(50, 0));
        assert!(!too_big_for_incremental(FULL_RUN_MIN_LISTINGS, 10));
        // A burst into an empty or small catalogue is a full run.
        assert!(too_big_for_incremental(5_000, 0));
        assert!(too_big_for_incremental(5_000, 19_999));
        // The same burst onto a large catalogue is applied.
        assert!(!too_big_for_incremental(5_000, 20_000));
    }
}
