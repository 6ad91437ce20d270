//! One matching run, from its start to its record: [`perform_run`] (spawned by the
//! actor when the schedule starts a run) carries out [`try_run`], records a failed run
//! and reports the outcome; [`try_run`] reads the input and chooses an incremental or
//! a full run. [`in_blocking`] is how every path runs the pure pipeline.
//!
//! Invariants:
//! * the state's lock is held for the whole run (the start-up build takes the same
//!   lock); the state is taken out of its slot and put back only when the run
//!   committed, so a failure leaves no state and the next run is a full re-match;
//! * incremental only with a state of the run's fingerprint and a change that is not a
//!   large share of the catalogue; during a burst of files ([`BURST_FILES`]) a full
//!   run builds no state;
//! * a run returns the generation it covered also after a failure, so a file that
//!   makes the pipeline fail does not cause a run loop;
//! * the pipeline runs contained: a panic on any of its threads becomes an error.

use std::sync::Arc;
use std::time::Instant;

use super::full_run::full_run;
use super::incremental_run::incremental_run;
use super::input::{load, run_config, run_fingerprint};
use super::report::{ms_since, RunReport};
use super::{Live, Shared};
use crate::actors::retry_transient;
use crate::actors::stats::RunFigures;
use crate::model::RunError;
use crate::store::{self, RunInfo};
use crate::telemetry::run_contained_parallel;

/// One run; returns the generation it covered (also after a failure, so a file that
/// makes the pipeline fail does not cause a run loop: the next file retries).
pub(super) async fn perform_run(shared: Arc<Shared>, run: RunInfo, target: u64) -> u64 {
    tracing::info!(files_covered = run.files_covered, "matching_started");
    let report = RunReport::new(run, target);
    let run = &report.run;
    let outcome = try_run(&shared, &report).await;
    if let Err(error) = &outcome {
        tracing::error!(error = %error, "pipeline_failed");
        let recorded = retry_transient("record failed run", &shared.shutdown, || async {
            let client = shared.pool.get().await?;
            store::record_failed_run(&**client, run, &error.to_string()).await
        })
        .await;
        if let Err(e) = recorded {
            tracing::error!(error = %format!("{e:?}").trim_end(), "could not record the failed run");
        }
    }
    report.send(&shared, outcome).await;
    target
}

/// Reads the run's input and carries out an incremental run or a full one; the
/// state is put back only when the run committed.
async fn try_run(shared: &Shared, report: &RunReport) -> Result<RunFigures, RunError> {
    let target = report.covers_generation;
    // Held for the whole run: the start-up warm-up builds under the same lock. A
    // failure anywhere leaves the slot empty, so the next run is a full one.
    let mut slot = shared.live.lock().await;
    let live = slot.take();
    let t = Instant::now();
    let since = live.as_ref().map(|l| (&l.mark, l.state.listing_count()));
    let (loaded, everything) = load(shared, since).await?;
    let config = run_config(shared, loaded.stored.as_ref())?;
    let fingerprint = run_fingerprint(shared, &config, loaded.stored.as_ref());
    let outcome = match live {
        Some(live) if live.fingerprint == fingerprint && !everything => {
            incremental_run(shared, report, live, loaded, config, ms_since(t)).await?
        }
        stale => {
            // The old state goes before the full run builds its own (at a million
            // listings both would not fit).
            let reason = match &stale {
                None => None,
                Some(live) if live.fingerprint != fingerprint => {
                    Some("matching config, word lists or model changed")
                }
                Some(_) => Some("a change of a large share of the catalogue"),
            };
            drop(stale);
            if let Some(reason) = reason {
                tracing::info!(reason, "full re-match");
            }
            let loaded = if everything {
                loaded
            } else {
                load(shared, None).await?.0
            };
            let build = || {
                let waiting = shared.generation.current().saturating_sub(target);
                waiting < BURST_FILES && !shared.shutdown.is_triggered()
            };
            full_run(
                shared,
                report,
                loaded,
                config,
                fingerprint,
                ms_since(t),
                build,
            )
            .await?
        }
    };
    *slot = outcome.live;
    Ok(outcome.figures)
}

/// Files committed during a full run that mean a burst is under way: the state is
/// then not built (the next run re-matches in full anyway). A trickle of a few
/// files still gets its state, so it is not stuck in full runs.
const BURST_FILES: u64 = 32;

/// What a finished run reports and the state it leaves for the next one.
pub(super) struct RunOutcome {
    pub(super) figures: RunFigures,
    pub(super) live: Option<Live>,
}

/// Runs a pure pipeline half on the blocking pool, its parallel stages on the
/// contained matching pool; a panic on any of these threads becomes an error.
pub(super) async fn in_blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, RunError> {
    tokio::task::spawn_blocking(move || run_contained_parallel(f))
        .await
        .map_err(|e| {
            RunError::Pipeline(if e.is_panic() {
                "matching pipeline panicked (see the panic record)".to_string()
            } else {
                format!("matching pipeline task failed: {e}")
            })
        })?
        .map_err(RunError::Pipeline)
}
