//! `MatcherActor`: the single, serialized matching run (storage-and-api.md §2,
//! ARCHITECTURE.md "one serialized matcher"), incremental between full re-matches.
//!
//! Accepts:
//! * [`FilesIngested`] (fact, from the ingest) - only marks the matcher dirty; the
//!   debounce below turns a burst into one run.
//! * [`RematchRequested`] (fact, from the API: a review or a config change).
//! * [`CatchUp`] (command, at start-up) - a full run when files lack a covering run
//!   or the catalogue was matched with another fingerprint, else the state is built
//!   from the stored listings in the background (no run recorded), read a page at a
//!   time into a [`StateBuilder`](crate::matching::incremental::StateBuilder) so they
//!   are never all decoded at once.
//! * [`DrainMatcher`] (command, at shutdown) - finishes the run in progress, runs once
//!   more if files are still uncovered, then answers.
//!
//! Sends: [`PersistRun`](super::persist::PersistRun) (full run) or
//! [`PersistDiff`](super::persist::PersistDiff) (incremental run) to the persist actor
//! (awaited) and [`MatchRunFinished`](super::stats::MatchRunFinished) to the stats actor
//! once per run: when it committed (before the state for the next run is built, so
//! the `run_completed` record's time and `duration_ms` are the commit's, like the run
//! row's), or when it failed.
//!
//! The matcher keeps a [`MatchState`] between runs (prepared listings, pair decisions,
//! clustering), owned by this actor's runs and never shared. A run reads, in one
//! repeatable-read snapshot, the stored config, the review constraints and either
//! every listing or only those whose files committed since the state's
//! [`IngestMark`]:
//! * **incremental** (a state exists and the fingerprint of config, word lists and
//!   model is the state's): apply the changed listings and changed constraints, ask
//!   the LLM tie-breaker about the newly ambiguous pairs only (and those it left
//!   unanswered before, as a full run would), persist the difference
//!   (`store::persist_diff`); cost follows the change, not the catalogue;
//! * **full** (no state yet, the fingerprint changed, or the change is a large share
//!   of the catalogue, as a burst into an empty service is): score everything in
//!   `spawn_blocking`, optionally ask the tie-breaker (async, bounded by
//!   `ai.budget_seconds`), cluster and synthesize, persist by diff
//!   (`store::persist_run`), then build the state from the same input and answers
//!   (not while a burst of files is still being ingested: the next run is full too).
//!
//! When to run is decided by [`RunSchedule`] (`schedule.rs`, a pure state machine);
//! this actor carries out its steps: wake-up timers, runs, drain replies.
//!
//! One concern per file, readable one at a time:
//! * this file - the actor, its messages and handlers, the state between runs
//!   (`Shared`, `Live`) and the glue that starts a run when the schedule says so;
//! * `warm_up.rs` - the start-up check and the state build at start-up;
//! * `run.rs` - one run: incremental or full, a failure recorded, the blocking pool;
//! * `input.rs` - a run's config, fingerprint and input, read in one snapshot;
//! * `full_run.rs` - the full re-match, then the state built from it;
//! * `incremental_run.rs` - the incremental run and the tie-breaker's answers
//!   applied to a state;
//! * `report.rs` - the run's report to the stats actor and its `matching_complete`
//!   record.
//!
//! Invariants:
//! * at most one run at a time; notices arriving meanwhile only mark work pending;
//!   the state's lock serializes the start-up warm-up with runs;
//! * a run covers every file committed before it read the generation, so a notice
//!   whose generation is already covered is dropped, and nothing is ever lost;
//! * the state is taken out of its slot for a run and put back only when the run
//!   committed: a failure (input, panic, persistence) leaves no state, so the next
//!   run is a full re-match and the catalogue is never built on an unsaved state;
//! * a run starts [`QUIET_WINDOW`] after a notice with no more files behind it (a lone
//!   file), [`COALESCE_WINDOW`] after one with more waiting or a review, but never
//!   later than [`MAX_COALESCE_WAIT`] after the first uncovered one (a steady trickle
//!   of files cannot starve matching, notify#146);
//! * the pure pipeline runs contained on every thread it uses
//!   ([`run_contained_parallel`](crate::telemetry::run_contained_parallel)): a panic
//!   becomes a failed run, never an exit.

mod full_run;
mod incremental_run;
mod input;
mod report;
mod run;
mod warm_up;

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use deadpool_postgres::Pool;
use tokio::sync::oneshot;
use tracing::Instrument;

use super::persist::PersistActor;
use super::schedule::{RunPlan, RunSchedule, Step};
pub use super::schedule::{COALESCE_WINDOW, MAX_COALESCE_WAIT, QUIET_WINDOW};
use super::stats::StatsActor;
use super::{IngestGeneration, Shutdown};
pub use crate::matching::config::ConfigSource;
use crate::matching::incremental::MatchState;
use crate::preprocess::WordLists;
use crate::store::{IngestMark, RunInfo};
use crate::tiebreak::TiebreakSettings;
use run::perform_run;
use warm_up::{start_up_check, warm_up, StartUp};

/// Notices are tiny and handled instantly; 64 covers the ingest plus control messages.
pub const MAILBOX_CAPACITY: usize = 64;

/// Files up to `generation` are committed.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct FilesIngested {
    pub generation: u64,
    /// The ingest knows of more files behind these (their notices follow): the
    /// schedule waits longer for them ([`super::schedule::COALESCE_WINDOW`] instead of
    /// [`super::schedule::QUIET_WINDOW`]).
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

/// What the runs and the start-up state build need, shared by the actor with the
/// runs it spawns (every file of this module takes it).
struct Shared {
    pool: Pool,
    lists: Arc<WordLists>,
    config: ConfigSource,
    persist: Addr<PersistActor>,
    stats: Addr<StatsActor>,
    shutdown: Shutdown,
    /// Where the LLM tie-breaker is and which keys the deployment provides.
    llm: TiebreakSettings,
    /// The incremental state, owned by whichever run (or the start-up warm-up) holds
    /// the lock; `None` until built, and after any failure (the next run is full).
    live: tokio::sync::Mutex<Option<Live>>,
    /// Files committed so far: a full run builds no state while more files wait
    /// (the next run would replace it anyway).
    generation: IngestGeneration,
}

/// The matcher's state between runs and what it is up to date with.
struct Live {
    state: MatchState,
    /// The snapshot of the last input applied: the next run reads what committed
    /// after it.
    mark: IngestMark,
    /// What the state was matched with; another fingerprint means a full run.
    fingerprint: String,
    /// Pairs in the tie-breaker's band it did not answer (an outage, the budget). A
    /// full run would ask about them again, so the next incremental run does too.
    unanswered: Vec<(String, String)>,
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
                live: tokio::sync::Mutex::new(None),
                generation: generation.clone(),
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
        let (current, busy) = (self.generation.current(), self.generation.ingest_busy());
        match self.schedule.check(current, draining, busy) {
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
            async move { start_up_check(&shared).await }
                .into_actor(self)
                .map(|decided, act, ctx| match decided {
                    Ok(StartUp::FullRun(why)) => {
                        tracing::info!(reason = why, "matching at start-up");
                        act.schedule.catch_up();
                        act.check(ctx);
                    }
                    Ok(StartUp::WarmUp) => {
                        let shared = Arc::clone(&act.shared);
                        ctx.spawn(warm_up(shared).into_actor(act));
                    }
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
