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
//!   time into a [`StateBuilder`] so they are never all decoded at once.
//! * [`DrainMatcher`] (command, at shutdown) - finishes the run in progress, runs once
//!   more if files are still uncovered, then answers.
//!
//! Sends: [`PersistRun`] (full run) or [`PersistDiff`] (incremental run) to the
//! persist actor (awaited) and [`MatchRunFinished`] to the stats actor once per run:
//! when it committed (before the state for the next run is built, so the
//! `run_completed` record's time and `duration_ms` are the commit's, like the run
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
//!   ([`run_contained_parallel`]): a panic becomes a failed run, never an exit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use deadpool_postgres::Pool;
use tokio::sync::oneshot;
use tracing::Instrument;

use super::persist::{PersistActor, PersistDiff, PersistRun};
use super::schedule::{RunPlan, RunSchedule, Step};
pub use super::schedule::{COALESCE_WINDOW, MAX_COALESCE_WAIT, QUIET_WINDOW};
use super::stats::{MatchRunFinished, RunFigures, StatsActor};
use super::{retry_transient, IngestGeneration, Shutdown};
use crate::matching;
use crate::matching::config::AiConfig;
pub use crate::matching::config::ConfigSource;
use crate::matching::config::{layered, MatchingConfig};
use crate::matching::incremental::{Change, Diff, MatchState, StateBuilder};
use crate::matching::ReviewConstraints;
use crate::model::{RunError, SourceEvent};
use crate::preprocess::WordLists;
use crate::store::{self, IngestMark, RunInfo, StoredConfig, StoredFingerprint};
use crate::telemetry::run_contained_parallel;
use crate::tiebreak::{self, TiebreakSettings, UsageSummary};

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

/// What start-up needs: a full run, or only the state rebuilt from what is stored.
enum StartUp {
    /// The stored catalogue is not the matching of the stored listings (the reason).
    FullRun(&'static str),
    /// It is: build the state in memory, record no run.
    WarmUp,
}

/// Files without a covering run, or a catalogue matched with another fingerprint,
/// need a full run; otherwise the stored catalogue stands.
async fn start_up_check(shared: &Shared) -> Result<StartUp, store::StoreError> {
    let (needed, last, stored) =
        retry_transient("check for unmatched files", &shared.shutdown, || async {
            let client = shared.pool.get().await?;
            let needed = store::needs_catch_up(&**client).await?;
            let last = store::last_fingerprint(&**client).await?;
            let stored = store::load_stored_config(&**client).await?;
            Ok((needed, last, stored))
        })
        .await?;
    if needed {
        return Ok(StartUp::FullRun("files without a covering run"));
    }
    let StoredFingerprint::Last(last) = last else {
        return Ok(StartUp::WarmUp);
    };
    let current = run_config(shared, stored.as_ref())
        .map(|config| run_fingerprint(shared, &config, stored.as_ref()))
        .ok();
    if current.is_some() && last == current {
        Ok(StartUp::WarmUp)
    } else {
        Ok(StartUp::FullRun(
            "the catalogue was matched with another config, word lists, model or version",
        ))
    }
}

/// Builds the state from the stored listings (no run recorded), unless a run got
/// there first. Under the state's lock, so a run that starts meanwhile waits for it.
async fn warm_up(shared: Arc<Shared>) {
    let mut slot = shared.live.lock().await;
    if slot.is_some() {
        return;
    }
    let started = Instant::now();
    let built = async {
        let WarmInput {
            stored,
            constraints,
            mark,
            config,
            builder,
        } = load_into_builder(&shared).await?;
        let fingerprint = run_fingerprint(&shared, &config, stored.as_ref());
        let tiebreaker = shared.llm.for_run(&config, stored.as_ref());
        let ai = config.ai.clone();
        let mut state = in_blocking(move || builder.finish(&constraints).0).await?;
        // A full run asks about every ambiguous pair (the cache answers the known
        // ones): so does the state, to agree with the stored catalogue.
        let mut unanswered = Vec::new();
        if let Some(tiebreaker) = tiebreaker {
            let asked = state.ambiguous_pairs();
            let answered = apply_answers(shared.as_ref(), state, &asked, &ai, &tiebreaker).await?;
            state = answered.state;
            unanswered = answered.unanswered;
        }
        Ok::<_, RunError>(Live {
            state,
            mark,
            fingerprint,
            unanswered,
        })
    }
    .await;
    match built {
        Ok(live) => {
            tracing::info!(
                listings = live.state.listing_count(),
                groups = live.state.group_count(),
                state_build_ms = ms_since(started),
                "match_state_built"
            );
            *slot = Some(live);
        }
        Err(e) => {
            tracing::error!(error = %e, "match state not built at start-up; the first run is a full re-match")
        }
    }
}

/// Listings per page of the start-up state build (about 50 MiB decoded).
const WARM_UP_PAGE: usize = 1 << 15;

/// The start-up state build's input: what [`load`] reads, with the listings already
/// in a [`StateBuilder`].
struct WarmInput {
    stored: Option<StoredConfig>,
    constraints: ReviewConstraints,
    mark: IngestMark,
    config: MatchingConfig,
    builder: StateBuilder,
}

/// Reads the stored config, the constraints and every listing in one snapshot, the
/// listings a page at a time into a [`StateBuilder`] (the next page is read while
/// one is prepared): a million listings are never held decoded, nor as rows, at
/// once.
async fn load_into_builder(shared: &Shared) -> Result<WarmInput, RunError> {
    retry_transient("load state input", &shared.shutdown, || async {
        let mut client = shared.pool.get().await?;
        let tx = store::begin_run_snapshot(&mut client).await?;
        let stored = store::load_stored_config(&*tx).await?;
        let constraints = store::load_constraints(&*tx).await?;
        let mark = store::ingest_mark(&*tx).await?;
        let expected = store::count_events(&*tx).await?;
        let config = match run_config(shared, stored.as_ref()) {
            Ok(config) => config,
            Err(e) => return Ok(Err(e)),
        };
        let mut builder = MatchState::builder(&config, &shared.lists, expected);
        let mut page = store::load_events_page(&*tx, None, WARM_UP_PAGE).await?;
        while let Some(last) = page.last() {
            let after = last.id.clone();
            let push = in_blocking(move || {
                builder.push(page);
                builder
            });
            let next = store::load_events_page(&*tx, Some(&after), WARM_UP_PAGE);
            let (pushed, next) = tokio::join!(push, next);
            builder = match pushed {
                Ok(builder) => builder,
                Err(e) => return Ok(Err(e)),
            };
            page = next?;
        }
        tx.commit().await?;
        Ok(Ok(WarmInput {
            stored,
            constraints,
            mark,
            config,
            builder,
        }))
    })
    .await
    .map_err(RunError::input)?
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
    tracing::info!(files_covered = run.files_covered, "matching_started");
    let report = RunReport {
        run,
        started: Instant::now(),
        covers_generation: target,
        sent: AtomicBool::new(false),
    };
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

/// Reports a run to the stats actor ([`MatchRunFinished`], its `run_completed` or
/// `run_failed` record) exactly once: a run that committed is reported at its commit,
/// before the state for the next run is built; the rest when they end.
struct RunReport {
    run: RunInfo,
    started: Instant,
    covers_generation: u64,
    sent: AtomicBool,
}

impl RunReport {
    async fn send(&self, shared: &Shared, outcome: Result<RunFigures, RunError>) {
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

/// The matching fingerprint of a run: config, word lists and model, and whether
/// the tie-breaker can answer (a key that appears makes every ambiguous pair worth
/// asking, as a full run does; the key itself is not hashed).
fn run_fingerprint(
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
struct Loaded {
    stored: Option<StoredConfig>,
    constraints: ReviewConstraints,
    /// Every listing (full run) or those committed since the state's mark.
    events: Vec<SourceEvent>,
    /// The snapshot the input was read in.
    mark: IngestMark,
}

/// Reads the stored config, the constraints and the listings — all of them, or only
/// those whose files committed since the mark of a state of `stored` listings — in
/// one snapshot. A change [`too_big_for_incremental`] is read as all listings at once
/// (it will be a full run: reading the change first and everything after read most
/// listings twice). The flag says whether every listing was read.
async fn load(
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

/// What a finished run reports and the state it leaves for the next one.
struct RunOutcome {
    figures: RunFigures,
    live: Option<Live>,
}

/// Per-stage milliseconds of a run, for its `matching_complete` record.
#[derive(Debug, Default)]
struct StageMs {
    load: f64,
    tiebreak: f64,
    persist: f64,
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// A change larger than this share of the catalogue (and than
/// [`FULL_RUN_MIN_LISTINGS`]) is matched by a full run: applying it would touch most
/// of the state and cost about twice a full run (a burst into an empty service).
const FULL_RUN_SHARE: usize = 4;
const FULL_RUN_MIN_LISTINGS: usize = 1_000;

/// Files committed during a full run that mean a burst is under way: the state is
/// then not built (the next run re-matches in full anyway). A trickle of a few
/// files still gets its state, so it is not stuck in full runs.
const BURST_FILES: u64 = 32;

fn too_big_for_incremental(changed: usize, stored: usize) -> bool {
    changed > FULL_RUN_MIN_LISTINGS && changed * FULL_RUN_SHARE > stored
}

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

/// A full re-match of every listing (today's pipeline), persisted by diff; then the
/// incremental state is built from the same input and tie-breaker answers.
async fn full_run(
    shared: &Shared,
    report: &RunReport,
    loaded: Loaded,
    config: MatchingConfig,
    fingerprint: String,
    load_ms: f64,
    build_state: impl Fn() -> bool,
) -> Result<RunOutcome, RunError> {
    let run = &report.run;
    let mut ms = StageMs {
        load: load_ms,
        ..StageMs::default()
    };
    let Loaded {
        stored,
        constraints,
        events,
        mark,
    } = loaded;
    let tiebreaker = shared.llm.for_run(&config, stored.as_ref());
    let config = Arc::new(config);
    let constraints = Arc::new(constraints);

    let lists = Arc::clone(&shared.lists);
    let (c, k) = (Arc::clone(&config), Arc::clone(&constraints));
    let mut scored = in_blocking(move || matching::score(events, &c, &lists, &k)).await?;

    let t = Instant::now();
    let ai_usage = match &tiebreaker {
        Some(t) => Some(tiebreak::resolve(&mut scored, &config.ai, t, &shared.pool).await),
        None => None,
    };
    ms.tiebreak = ms_since(t);
    let answers = tiebreak::answers_of(&scored, &config.ai);
    let unanswered = if tiebreaker.is_some() {
        tiebreak::unanswered_of(&scored, &config.ai)
    } else {
        Vec::new()
    };

    let (c, k) = (Arc::clone(&config), Arc::clone(&constraints));
    let result = in_blocking(move || scored.finish(&c, &k)).await?;
    let mut run = run.clone();
    run.ai_usage = ai_usage;
    run.matching_fingerprint = Some(fingerprint.clone());

    let t = Instant::now();
    let result = Arc::new(result);
    let summary = shared
        .persist
        .send(PersistRun {
            result: Arc::clone(&result),
            run: run.clone(),
        })
        .await
        .map_err(|e| RunError::Persist(format!("persist actor unavailable: {e}")))??;
    ms.persist = ms_since(t);

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
    let t = &s.timings;
    log_complete(
        "full",
        &figures,
        s.canonical_events,
        &run,
        &ms,
        [
            t.preprocess_ms + t.blocking_ms,
            t.scoring_ms,
            t.clustering_ms,
            t.synthesis_ms,
        ],
    );
    report.send(shared, Ok(figures.clone())).await;

    // The state for the next runs, from the same listings, constraints and answers.
    // The run is committed: a failure here only costs the next run a full re-match.
    // During a burst the next run is a full one anyway: no state yet.
    if !build_state() {
        tracing::info!("match state deferred: a burst of files is being ingested");
        return Ok(RunOutcome {
            figures,
            live: None,
        });
    }
    let t = Instant::now();
    let events = match Arc::try_unwrap(result) {
        Ok(result) => result.events,
        Err(shared_result) => shared_result.events.clone(),
    };
    let (c, k, lists) = (
        Arc::clone(&config),
        Arc::clone(&constraints),
        Arc::clone(&shared.lists),
    );
    let built = in_blocking(move || {
        let (mut state, _) = MatchState::build(events, &c, &lists, &k);
        if !answers.is_empty() {
            state.apply(Change {
                answers,
                ..Change::default()
            });
        }
        state
    })
    .await;
    let live = match built {
        Ok(state) => {
            tracing::info!(
                listings = state.listing_count(),
                groups = state.group_count(),
                state_build_ms = ms_since(t),
                "match_state_built"
            );
            Some(Live {
                state,
                mark,
                fingerprint,
                unanswered,
            })
        }
        Err(e) => {
            tracing::error!(error = %e, "match state not built; the next run is a full re-match");
            None
        }
    };
    Ok(RunOutcome { figures, live })
}

/// An incremental run: apply the listings committed since the state's mark and the
/// changed review constraints, ask the tie-breaker about new ambiguous pairs (and
/// those it left unanswered before), persist the difference.
async fn incremental_run(
    shared: &Shared,
    report: &RunReport,
    live: Live,
    loaded: Loaded,
    config: MatchingConfig,
    load_ms: f64,
) -> Result<RunOutcome, RunError> {
    let run = &report.run;
    let mut ms = StageMs {
        load: load_ms,
        ..StageMs::default()
    };
    let Live {
        state,
        fingerprint,
        mut unanswered,
        ..
    } = live;
    let Loaded {
        stored,
        constraints,
        events,
        mark,
    } = loaded;
    let constraints = (constraints != *state.constraints()).then_some(constraints);
    let change = Change {
        upserts: events,
        constraints,
        ..Change::default()
    };
    let (mut state, mut diff) = in_blocking(move || {
        let mut state = state;
        let diff = state.apply(change);
        (state, diff)
    })
    .await?;

    let mut run = run.clone();
    run.matching_fingerprint = Some(fingerprint.clone());
    if let Some(tiebreaker) = shared.llm.for_run(&config, stored.as_ref()) {
        let t = Instant::now();
        // The new questions, and the old ones the tie-breaker left unanswered.
        let mut questions = diff.questions.clone();
        questions.append(&mut unanswered);
        questions.sort();
        questions.dedup();
        let answered = apply_answers(shared, state, &questions, &config.ai, &tiebreaker).await?;
        state = answered.state;
        unanswered = answered.unanswered;
        if let Some(answers) = answered.diff {
            diff = diff.then(answers);
        }
        run.ai_usage = Some(answered.usage);
        ms.tiebreak = ms_since(t);
    }

    let f = state.figures();
    let stats = serde_json::json!({ "mode": "incremental", "apply": &diff.stats });
    let t = Instant::now();
    let summary = shared
        .persist
        .send(PersistDiff {
            figures: store::RunFigures {
                events: f.listings,
                candidate_pairs: f.candidate_pairs,
                matches: f.matches,
                ambiguous: f.ambiguous,
                flagged: f.flagged,
                stats,
            },
            diff: Arc::new(diff.clone()),
            run: run.clone(),
        })
        .await
        .map_err(|e| RunError::Persist(format!("persist actor unavailable: {e}")))??;
    ms.persist = ms_since(t);

    let touched = summary.created + summary.updated;
    let figures = RunFigures {
        total_events: f.listings,
        candidate_pairs: f.candidate_pairs,
        matches_found: f.matches,
        ambiguous: f.ambiguous,
        canonicals_created: summary.created,
        canonicals_updated: summary.updated,
        canonicals_unchanged: f.groups.saturating_sub(touched),
        canonicals_removed: summary.removed,
        flagged_for_review: f.flagged,
    };
    let a = &diff.stats;
    log_complete(
        "incremental",
        &figures,
        f.groups,
        &run,
        &ms,
        [a.index_ms, a.score_ms, a.cluster_ms, a.synthesis_ms],
    );
    report.send(shared, Ok(figures.clone())).await;
    tracing::debug!(
        listings_changed = a.listings_changed,
        blocks_touched = a.blocks_touched,
        pairs_scored = a.pairs_scored,
        components_reclustered = a.components_reclustered,
        groups_synthesized = a.groups_synthesized,
        "incremental_apply"
    );
    Ok(RunOutcome {
        figures,
        live: Some(Live {
            state,
            mark,
            fingerprint,
            unanswered,
        }),
    })
}

/// What [`apply_answers`] leaves: the state, the answers' difference (none without
/// answers), the pairs that wanted an answer and got none, and the usage.
struct Answered {
    state: MatchState,
    diff: Option<Diff>,
    unanswered: Vec<(String, String)>,
    usage: UsageSummary,
}

/// Asks the tie-breaker about `pairs` (those in its band) and applies its answers.
async fn apply_answers(
    shared: &Shared,
    state: MatchState,
    pairs: &[(String, String)],
    ai: &AiConfig,
    tiebreaker: &tiebreak::Tiebreaker,
) -> Result<Answered, RunError> {
    let (answers, unanswered, usage) = {
        let asked = state.question_pairs(pairs);
        let questions: Vec<tiebreak::Question<'_>> = asked
            .iter()
            .map(|(a, b, pair)| tiebreak::Question { a, b, pair })
            .collect();
        let (answers, usage) =
            tiebreak::resolve_questions(&questions, ai, tiebreaker, &shared.pool).await;
        let unanswered = tiebreak::unanswered_questions(&questions, &answers, ai);
        (answers, unanswered, usage)
    };
    if answers.is_empty() {
        return Ok(Answered {
            state,
            diff: None,
            unanswered,
            usage,
        });
    }
    let (state, diff) = in_blocking(move || {
        let mut state = state;
        let diff = state.apply(Change {
            answers,
            ..Change::default()
        });
        (state, diff)
    })
    .await?;
    Ok(Answered {
        state,
        diff: Some(diff),
        unanswered,
        usage,
    })
}

/// The run's one `matching_complete` record. `pipeline_ms` is preprocessing with
/// blocking, scoring, clustering and synthesis (for an incremental run: its apply's).
fn log_complete(
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
