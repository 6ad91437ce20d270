//! `MatcherActor`: the single, serialized full re-matching run (storage-and-api.md §2,
//! ARCHITECTURE.md "one serialized matcher").
//!
//! Accepts:
//! * [`FilesIngested`] (fact, from the ingest) - only marks the matcher dirty; the
//!   debounce below turns a burst into one run.
//! * [`DrainMatcher`] (command, at shutdown) - finishes the run in progress, runs once
//!   more if files are still uncovered, then answers.
//!
//! Sends: [`PersistRun`] to the persist actor (awaited) and [`MatchRunFinished`] to the
//! stats actor after every run.
//!
//! A run: read the ingest generation it will cover, load the effective matching config
//! ([`matching::config::layered`]), all source events and the review constraints, score
//! the pairs in `spawn_blocking` (a panic there becomes a failed-run record, the
//! service keeps running), optionally ask the LLM tie-breaker about ambiguous pairs
//! (async, bounded by `ai.budget_seconds`, only when `ai.enabled` and a key exist),
//! cluster and synthesize in `spawn_blocking`, hand the result to the
//! [`PersistActor`] (one transaction, by diff) with the tie-breaker's usage summary.
//!
//! When to run is decided by [`RunSchedule`] (`schedule.rs`, a pure state machine);
//! this actor carries out its steps: wake-up timers, runs, drain replies.
//!
//! Invariants:
//! * at most one run at a time; notices arriving meanwhile only mark work pending;
//! * a run covers every file committed before it read the generation, so a notice
//!   whose generation is already covered is dropped, and nothing is ever lost;
//! * a run starts [`COALESCE_WINDOW`] after the last notice, but never later than
//!   [`MAX_COALESCE_WAIT`] after the first uncovered one (a steady trickle of files
//!   cannot starve matching, notify#146);
//! * the pure pipeline runs contained on every thread it uses
//!   ([`run_contained_parallel`]): a panic becomes a failed run, never an exit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use deadpool_postgres::Pool;
use tokio::sync::oneshot;
use tracing::Instrument;

use super::persist::{PersistActor, PersistRun};
use super::schedule::{RunPlan, RunSchedule, Step};
pub use super::schedule::{COALESCE_WINDOW, MAX_COALESCE_WAIT};
use super::stats::{MatchRunFinished, RunFigures, StatsActor};
use super::{retry_transient, IngestGeneration, Shutdown};
use crate::matching;
pub use crate::matching::config::ConfigSource;
use crate::matching::config::{layered, MatchingConfig};
use crate::model::RunError;
use crate::preprocess::WordLists;
use crate::store::{self, RunInfo, StoredConfig};
use crate::telemetry::run_contained_parallel;
use crate::tiebreak::{self, TiebreakSettings};

/// Notices are tiny and handled instantly; 64 covers the ingest plus control messages.
pub const MAILBOX_CAPACITY: usize = 64;

/// Files up to `generation` are committed.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct FilesIngested {
    pub generation: u64,
    /// The ingest knows of more files behind these (their notices follow): the
    /// schedule waits longer for them ([`super::schedule::QUIET_WINDOW`]).
    pub more_waiting: bool,
}

/// Finish the run in progress (and one more if files are uncovered), then answer.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct DrainMatcher;

/// A review decision or a config change was committed (fact, from the API): run again.
/// Coalesced like files, so a reviewer's quick clicks give one run.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct RematchRequested;

/// Run now if the database holds files that no completed run covered (start-up after
/// a crash or an outage).
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct CatchUp;

struct Shared {
    pool: Pool,
    lists: Arc<WordLists>,
    config: ConfigSource,
    persist: Addr<PersistActor>,
    stats: Addr<StatsActor>,
    shutdown: Shutdown,
    /// Where the LLM tie-breaker is and which keys the deployment provides.
    llm: TiebreakSettings,
}

pub struct MatcherActor {
    shared: Arc<Shared>,
    generation: IngestGeneration,
    /// When to run (replaces the former `running`/`dirty`/`forced`/… flags).
    schedule: RunSchedule,
    drain_waiters: Vec<oneshot::Sender<()>>,
}

impl MatcherActor {
    pub fn new(
        pool: Pool,
        lists: Arc<WordLists>,
        config: ConfigSource,
        generation: IngestGeneration,
        persist: Addr<PersistActor>,
        stats: Addr<StatsActor>,
        shutdown: Shutdown,
    ) -> Self {
        MatcherActor {
            shared: Arc::new(Shared {
                pool,
                lists,
                config,
                persist,
                stats,
                shutdown,
                llm: TiebreakSettings::default(),
            }),
            schedule: RunSchedule::new(generation.current()),
            generation,
            drain_waiters: Vec::new(),
        }
    }

    /// Sets the LLM tie-breaker's deployment settings (default: provider URL, no
    /// environment key, no encryption key).
    pub fn with_tiebreak(mut self, llm: TiebreakSettings) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.llm = llm;
        }
        self
    }

    /// Schedules a check after `after` (the schedule asked for it).
    fn wake_after(&mut self, ctx: &mut Context<Self>, after: Option<Duration>) {
        if let Some(after) = after {
            ctx.run_later(after, |act, ctx| {
                act.schedule.timer_fired();
                act.check(ctx);
            });
        }
    }

    /// Asks the schedule what to do now and does it.
    fn check(&mut self, ctx: &mut Context<Self>) {
        let draining = !self.drain_waiters.is_empty();
        match self.schedule.check(self.generation.current(), draining) {
            Step::WakeAfter(after) => self.wake_after(ctx, Some(after)),
            Step::Start(plan) => self.start_run(ctx, plan),
            Step::Drained => {
                for w in self.drain_waiters.drain(..) {
                    let _ = w.send(());
                }
            }
            Step::Nothing => {}
        }
    }

    fn start_run(&mut self, ctx: &mut Context<Self>, plan: RunPlan) {
        let trigger = plan.trigger;
        let run = RunInfo::new(trigger, i32::try_from(plan.files).unwrap_or(i32::MAX));
        let target = plan.covers_generation;
        let span = tracing::info_span!("Matching run", run_id = %run.run_id, trigger = trigger.as_str(), covers_generation = target);
        let shared = Arc::clone(&self.shared);
        let fut = perform_run(shared, run, target).instrument(span);
        ctx.spawn(fut.into_actor(self).map(move |covered, act, ctx| {
            act.schedule.run_finished(covered, act.generation.current());
            act.check(ctx);
        }));
    }
}

impl Actor for MatcherActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
    }
}

impl Handler<FilesIngested> for MatcherActor {
    type Result = ();

    fn handle(&mut self, msg: FilesIngested, ctx: &mut Self::Context) {
        let wake = self
            .schedule
            .files_ingested(msg.generation, msg.more_waiting);
        self.wake_after(ctx, wake);
    }
}

impl Handler<RematchRequested> for MatcherActor {
    type Result = ();

    fn handle(&mut self, _: RematchRequested, ctx: &mut Self::Context) {
        let wake = self.schedule.rematch_requested();
        self.wake_after(ctx, wake);
    }
}

impl Handler<CatchUp> for MatcherActor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: CatchUp, _: &mut Self::Context) -> Self::Result {
        let shared = Arc::clone(&self.shared);
        Box::pin(
            async move {
                retry_transient("check for unmatched files", &shared.shutdown, || async {
                    let client = shared.pool.get().await?;
                    store::needs_catch_up(&**client).await
                })
                .await
            }
            .into_actor(self)
            .map(|needed, act, ctx| match needed {
                Ok(true) => {
                    tracing::info!("files without a covering run found, matching at start-up");
                    act.schedule.catch_up();
                    act.check(ctx);
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(error = %format!("{e:?}").trim_end(), "start-up catch-up check failed")
                }
            }),
        )
    }
}

impl Handler<DrainMatcher> for MatcherActor {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: DrainMatcher, ctx: &mut Self::Context) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.drain_waiters.push(tx);
        self.check(ctx);
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

/// One run; returns the generation it covered (also after a failure, so a file that
/// makes the pipeline fail does not cause a run loop: the next file retries).
async fn perform_run(shared: Arc<Shared>, run: RunInfo, target: u64) -> u64 {
    let started = Instant::now();
    tracing::info!(files_covered = run.files_covered, "matching_started");
    let outcome = try_run(&shared, &run).await;
    let duration_ms = started.elapsed().as_millis() as u64;
    if let Err(error) = &outcome {
        tracing::error!(error = %error, "pipeline_failed");
        let recorded = retry_transient("record failed run", &shared.shutdown, || async {
            let client = shared.pool.get().await?;
            store::record_failed_run(&**client, &run, &error.to_string()).await
        })
        .await;
        if let Err(e) = recorded {
            tracing::error!(error = %format!("{e:?}").trim_end(), "could not record the failed run");
        }
    }
    let finished = MatchRunFinished {
        run_id: run.run_id,
        trigger: run.trigger,
        covers_generation: target,
        duration_ms,
        outcome,
    };
    if let Err(e) = shared.stats.send(finished).await {
        tracing::error!(error = %e, "stats unavailable");
    }
    target
}

/// The run's config and the stored row it came from: the one layering rule
/// ([`layered`]); stored overrides that no longer validate are logged and set aside.
fn run_config(shared: &Shared, stored: Option<&StoredConfig>) -> Result<MatchingConfig, RunError> {
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

async fn try_run(shared: &Shared, run: &RunInfo) -> Result<RunFigures, RunError> {
    let (events, constraints, stored) =
        retry_transient("load run input", &shared.shutdown, || async {
            let mut client = shared.pool.get().await?;
            let tx = store::begin_run_snapshot(&mut client).await?;
            let stored = store::load_stored_config(&*tx).await?;
            let events = store::load_all_events(&*tx).await?;
            let constraints = store::load_constraints(&*tx).await?;
            tx.commit().await?;
            Ok((events, constraints, stored))
        })
        .await
        .map_err(RunError::input)?;
    let config = run_config(shared, stored.as_ref())?;
    let tiebreaker = shared.llm.for_run(&config, stored.as_ref());
    let config = Arc::new(config);
    let constraints = Arc::new(constraints);

    let lists = Arc::clone(&shared.lists);
    let (c, k) = (Arc::clone(&config), Arc::clone(&constraints));
    let mut scored = in_blocking(move || matching::score(events, &c, &lists, &k)).await?;

    let ai_usage = match &tiebreaker {
        Some(t) => Some(tiebreak::resolve(&mut scored, &config.ai, t, &shared.pool).await),
        None => None,
    };

    let (c, k) = (Arc::clone(&config), Arc::clone(&constraints));
    let result = in_blocking(move || scored.finish(&c, &k)).await?;
    let mut run = run.clone();
    run.ai_usage = ai_usage;
    let run = &run;

    let result = Arc::new(result);
    let summary = shared
        .persist
        .send(PersistRun {
            result: Arc::clone(&result),
            run: run.clone(),
        })
        .await
        .map_err(|e| RunError::Persist(format!("persist actor unavailable: {e}")))??;

    let s = &result.stats;
    let figures = RunFigures {
        total_events: s.events,
        candidate_pairs: s.candidate_pairs,
        matches_found: s.matches,
        ambiguous: s.ambiguous,
        canonicals_created: summary.created,
        canonicals_updated: summary.updated,
        canonicals_unchanged: summary.unchanged,
        canonicals_removed: summary.removed,
        flagged_for_review: s.flagged,
    };
    let reduction_pct = if s.events == 0 {
        0.0
    } else {
        100.0 * (1.0 - s.canonical_events as f64 / s.events as f64)
    };
    let ai = run.ai_usage.as_ref();
    tracing::info!(
        matches = s.matches,
        ambiguous = s.ambiguous,
        canonical_count = s.canonical_events,
        flagged_count = s.flagged,
        reduction_pct,
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
    Ok(figures)
}

/// Runs a pure pipeline half on the blocking pool, its parallel stages on the
/// contained matching pool; a panic on any of these threads becomes an error.
async fn in_blocking<T: Send + 'static>(
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
