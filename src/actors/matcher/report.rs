//! What a run reports: [`RunReport`] sends [`MatchRunFinished`] to the stats actor
//! (its `run_completed` or `run_failed` record) and [`log_complete`] writes the run's
//! one `matching_complete` record, with the per-stage times of [`StageMs`].
//!
//! Invariants:
//! * a run is reported exactly once: a run that committed at its commit, before the
//!   state for the next run is built; the rest when they end;
//! * the records' field names are stable (bunyan JSON, indexed by the log aggregator).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::Shared;
use crate::actors::stats::{MatchRunFinished, RunFigures};
use crate::model::RunError;
use crate::store::RunInfo;

/// Reports a run to the stats actor ([`MatchRunFinished`], its `run_completed` or
/// `run_failed` record) exactly once: a run that committed is reported at its commit,
/// before the state for the next run is built; the rest when they end.
pub(super) struct RunReport {
    pub(super) run: RunInfo,
    started: Instant,
    pub(super) covers_generation: u64,
    sent: AtomicBool,
}

impl RunReport {
    /// A run starting now, not reported yet.
    pub(super) fn new(run: RunInfo, covers_generation: u64) -> Self {
        RunReport {
            run,
            started: Instant::now(),
            covers_generation,
            sent: AtomicBool::new(false),
        }
    }

    pub(super) async fn send(&self, shared: &Shared, outcome: Result<RunFigures, RunError>) {
        if self.sent.swap(true, Ordering::SeqCst) {
            return;
        }
        let finished = MatchRunFinished {
            run_id: self.run.run_id,
            trigger: self.run.trigger,
            covers_generation: self.covers_generation,
            duration_ms: self.started.elapsed().as_millis() as u64,
            outcome,
        };
        if let Err(e) = shared.stats.send(finished).await {
            tracing::error!(error = %e, "stats unavailable");
        }
    }
}

/// Per-stage milliseconds of a run, for its `matching_complete` record.
#[derive(Debug, Default)]
pub(super) struct StageMs {
    pub(super) load: f64,
    pub(super) tiebreak: f64,
    pub(super) persist: f64,
}

pub(super) fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// The run's one `matching_complete` record. `pipeline_ms` is preprocessing with
/// blocking, scoring, clustering and synthesis (for an incremental run: its apply's).
pub(super) fn log_complete(
    mode: &'static str,
    f: &RunFigures,
    canonical_count: usize,
    run: &RunInfo,
    ms: &StageMs,
    pipeline_ms: [f64; 4],
) {
    let reduction_pct = if f.total_events == 0 {
        0.0
    } else {
        100.0 * (1.0 - canonical_count as f64 / f.total_events as f64)
    };
    let [prepare_ms, score_ms, cluster_ms, synthesis_ms] = pipeline_ms;
    let ai = run.ai_usage.as_ref();
    tracing::info!(
        mode,
        matches = f.matches_found,
        ambiguous = f.ambiguous,
        canonical_count,
        flagged_count = f.flagged_for_review,
        canonicals_created = f.canonicals_created,
        canonicals_updated = f.canonicals_updated,
        canonicals_removed = f.canonicals_removed,
        reduction_pct,
        load_ms = ms.load,
        prepare_ms,
        score_ms,
        cluster_ms,
        synthesis_ms,
        tiebreak_ms = ms.tiebreak,
        persist_ms = ms.persist,
        ai_batch_id = ai.map(|a| a.batch_id.as_str()),
        ai_requests = ai.map(|a| a.total_requests),
        ai_cached_requests = ai.map(|a| a.cached_requests),
        ai_api_requests = ai.map(|a| a.api_requests),
        ai_total_tokens = ai.map(|a| a.total_tokens),
        ai_estimated_cost_usd = ai.map(|a| a.estimated_cost_usd),
        ai_resolved = ai.map(|a| a.resolved),
        ai_remaining = ai.map(|a| a.remaining),
        ai_budget_exhausted = ai.map(|a| a.budget_exhausted),
        "matching_complete"
    );
}
