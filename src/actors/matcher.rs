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
//! (file ← stored overrides), all source events and the review constraints, score
//! the pairs in `spawn_blocking` (a panic there becomes a failed-run record, the
//! service keeps running), optionally ask the LLM tie-breaker about ambiguous pairs
//! (async, bounded by `ai.budget_seconds`, only when `ai.enabled` and a key exist),
//! cluster and synthesize in `spawn_blocking`, hand the result to the
//! [`PersistActor`] (one transaction, by diff) with the tie-breaker's usage summary.
//!
//! Invariants:
//! * at most one run at a time (`running`); notices arriving meanwhile only mark dirty;
//! * a run covers every file committed before it read the generation, so a notice
//!   whose generation is already covered is dropped, and nothing is ever lost;
//! * a run starts [`COALESCE_WINDOW`] after the last notice, but never later than
//!   [`MAX_COALESCE_WAIT`] after the first uncovered one (a steady trickle of files
//!   cannot starve matching, notify#146).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use deadpool_postgres::Pool;
use tokio::sync::oneshot;
use tracing::Instrument;

use super::persist::{PersistActor, PersistRun};
use super::stats::{MatchRunFinished, RunFigures, StatsActor};
use super::{retry_transient, IngestGeneration, Shutdown};
use crate::matching::{self, MatchingConfig};
use crate::preprocess::WordLists;
use crate::store::{self, RunInfo, StoreError};
use crate::telemetry::run_contained;
use crate::tiebreak::{self, TiebreakSettings};

/// Quiet period after the last ingested file before a run starts: files of one drop
/// (a copy of a directory) arrive within this of each other.
pub const COALESCE_WINDOW: Duration = Duration::from_millis(1000);
/// Upper bound on how long uncovered files wait for a run while files keep arriving.
pub const MAX_COALESCE_WAIT: Duration = Duration::from_secs(10);
/// Notices are tiny and handled instantly; 64 covers the ingest plus control messages.
pub const MAILBOX_CAPACITY: usize = 64;

/// Files up to `generation` are committed.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct FilesIngested {
    pub generation: u64,
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

/// Where the matching config comes from.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    pub path: PathBuf,
    /// A missing file is an error only when the path was configured explicitly.
    pub required: bool,
}

impl ConfigSource {
    /// The file's config (or the built-in defaults when an optional file is absent).
    pub fn load_file(&self) -> Result<MatchingConfig, String> {
        if !self.required && !self.path.exists() {
            return Ok(MatchingConfig::default());
        }
        MatchingConfig::load(&self.path).map_err(|e| e.to_string())
    }
}

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
    /// Highest generation a finished run covered.
    covered: u64,
    /// A review or config change asked for a run that has not started yet.
    review_pending: bool,
    /// When the first uncovered notice arrived (`None` = clean).
    dirty_since: Option<Instant>,
    last_notice: Instant,
    running: bool,
    /// A debounce timer is pending.
    timer_armed: bool,
    /// Run once at the next check even without new files (start-up catch-up).
    forced: bool,
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
            covered: generation.current(),
            review_pending: false,
            generation,
            dirty_since: None,
            last_notice: Instant::now(),
            running: false,
            timer_armed: false,
            forced: false,
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

    fn arm(&mut self, ctx: &mut Context<Self>, after: Duration) {
        if self.timer_armed {
            return;
        }
        self.timer_armed = true;
        ctx.run_later(after, |act, ctx| {
            act.timer_armed = false;
            act.check(ctx);
        });
    }

    /// Starts a run when the debounce allows, else re-arms the timer.
    fn check(&mut self, ctx: &mut Context<Self>) {
        if self.running {
            return; // the run's completion calls check again
        }
        let draining = !self.drain_waiters.is_empty();
        let target = self.generation.current();
        if target <= self.covered && !self.forced && !self.review_pending {
            self.dirty_since = None;
            if draining {
                for w in self.drain_waiters.drain(..) {
                    let _ = w.send(());
                }
            }
            return;
        }
        let Some(since) = self.dirty_since.or(self.forced.then(Instant::now)) else {
            self.dirty_since = Some(Instant::now());
            self.arm(ctx, COALESCE_WINDOW);
            return;
        };
        let quiet = self.last_notice.elapsed();
        let waited = since.elapsed();
        if draining || self.forced || quiet >= COALESCE_WINDOW || waited >= MAX_COALESCE_WAIT {
            self.start_run(ctx, target);
        } else {
            let next = (COALESCE_WINDOW - quiet).min(MAX_COALESCE_WAIT - waited);
            self.arm(ctx, next);
        }
    }

    fn start_run(&mut self, ctx: &mut Context<Self>, target: u64) {
        let files = target.saturating_sub(self.covered);
        let trigger = match (self.forced, self.review_pending, files) {
            (true, _, 0) => "startup",
            (_, true, 0) => "review",
            (_, _, 1) => "file",
            _ => "batch",
        };
        self.forced = false;
        self.review_pending = false;
        self.running = true;
        self.dirty_since = None;
        let run = RunInfo::new(trigger, i32::try_from(files).unwrap_or(i32::MAX));
        let span = tracing::info_span!("Matching run", run_id = %run.run_id, trigger, covers_generation = target);
        let shared = Arc::clone(&self.shared);
        let fut = execute_run(shared, run, target).instrument(span);
        ctx.spawn(fut.into_actor(self).map(move |covered, act, ctx| {
            act.running = false;
            act.covered = act.covered.max(covered);
            if act.generation.current() > act.covered && act.dirty_since.is_none() {
                act.dirty_since = Some(Instant::now());
            }
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
        if msg.generation <= self.covered {
            return;
        }
        self.last_notice = Instant::now();
        if self.dirty_since.is_none() {
            self.dirty_since = Some(self.last_notice);
        }
        if !self.running {
            self.arm(ctx, COALESCE_WINDOW);
        }
    }
}

impl Handler<RematchRequested> for MatcherActor {
    type Result = ();

    fn handle(&mut self, _: RematchRequested, ctx: &mut Self::Context) {
        self.review_pending = true;
        self.last_notice = Instant::now();
        if self.dirty_since.is_none() {
            self.dirty_since = Some(self.last_notice);
        }
        if !self.running {
            self.arm(ctx, COALESCE_WINDOW);
        }
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
                    needs_catch_up(&**client).await
                })
                .await
            }
            .into_actor(self)
            .map(|needed, act, ctx| match needed {
                Ok(true) => {
                    tracing::info!("files without a covering run found, matching at start-up");
                    act.forced = true;
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

/// True when a completed file arrived after the start of the last completed run (or
/// events exist but no run ever completed).
pub async fn needs_catch_up(
    client: &impl tokio_postgres::GenericClient,
) -> Result<bool, StoreError> {
    let row = client
        .query_one(
            "SELECT EXISTS (
                 SELECT 1 FROM file_ingestions f
                 WHERE f.status = 'completed'
                   AND f.ingested_at > COALESCE(
                       (SELECT max(started_at) FROM processing_runs WHERE status = 'completed'),
                       '-infinity'::timestamptz))",
            &[],
        )
        .await?;
    row.try_get(0)
        .map_err(|e| StoreError::Decode(format!("catch-up check: {e}")))
}

/// One run; returns the generation it covered (also after a failure, so a file that
/// makes the pipeline fail does not cause a run loop: the next file retries).
async fn execute_run(shared: Arc<Shared>, run: RunInfo, target: u64) -> u64 {
    let started = Instant::now();
    tracing::info!(files_covered = run.files_covered, "matching_started");
    let outcome = try_run(&shared, &run).await;
    let duration_ms = started.elapsed().as_millis() as u64;
    let outcome = match outcome {
        Ok(figures) => Ok(figures),
        Err(message) => {
            tracing::error!(error = %message, "pipeline_failed");
            let recorded = retry_transient("record failed run", &shared.shutdown, || async {
                let client = shared.pool.get().await?;
                store::record_failed_run(&**client, &run, &message).await
            })
            .await;
            if let Err(e) = recorded {
                tracing::error!(error = %format!("{e:?}").trim_end(), "could not record the failed run");
            }
            Err(message)
        }
    };
    let finished = MatchRunFinished {
        run_id: run.run_id.to_string(),
        trigger: run.trigger.clone(),
        covers_generation: target,
        duration_ms,
        outcome,
    };
    if let Err(e) = shared.stats.send(finished).await {
        tracing::error!(error = %e, "stats unavailable");
    }
    target
}

async fn try_run(shared: &Shared, run: &RunInfo) -> Result<RunFigures, String> {
    let fmt = |e: StoreError| format!("{e:?}").trim_end().replace('\n', " ");
    let (config, events, constraints, stored) =
        retry_transient("load run input", &shared.shutdown, || async {
            let mut client = shared.pool.get().await?;
            let tx = store::begin_run_snapshot(&mut client).await?;
            let stored = store::load_stored_config(&*tx).await?;
            let events = store::load_all_events(&*tx).await?;
            let constraints = store::load_constraints(&*tx).await?;
            tx.commit().await?;
            Ok((stored, events, constraints))
        })
        .await
        .map_err(fmt)
        .and_then(|(stored, events, constraints)| {
            effective_config(&shared.config, stored.as_ref())
                .map(|c| (c, events, constraints, stored))
        })?;
    let mut config = config;
    shared.llm.adjust_config(&mut config, stored.as_ref());
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
        .map_err(|e| format!("persist actor unavailable: {e}"))??;

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

/// Runs a pure pipeline half on the blocking pool; a panic becomes an error.
async fn in_blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(move || run_contained(f))
        .await
        .map_err(|e| {
            if e.is_panic() {
                "matching pipeline panicked (see the panic record)".to_string()
            } else {
                format!("matching pipeline task failed: {e}")
            }
        })
}

/// The config of this run: the file (or defaults), then the stored overrides (storage
/// spec §4) merged key by key. A stored config that no longer validates is reported
/// and the file's config is used, so a bad override cannot stop matching.
pub fn effective_config(
    source: &ConfigSource,
    stored: Option<&store::StoredConfig>,
) -> Result<MatchingConfig, String> {
    let file = source.load_file()?;
    let Some(stored) = stored else {
        return Ok(file);
    };
    let merged = serde_json::to_value(&file).map(|mut base| {
        merge_json(&mut base, &stored.config_json);
        base
    });
    let parsed = merged
        .map_err(|e| e.to_string())
        .and_then(|v| serde_json::from_value::<MatchingConfig>(v).map_err(|e| e.to_string()))
        .and_then(|c| {
            c.validated("stored configuration")
                .map_err(|e| e.to_string())
        });
    match parsed {
        Ok(c) => Ok(c),
        Err(e) => {
            tracing::error!(error = %e, "stored matching configuration is invalid; using the file's");
            Ok(file)
        }
    }
}

/// Deep-merges `overlay` into `base` (objects key by key, everything else replaced).
fn merge_json(base: &mut serde_json::Value, overlay: &serde_json::Value) {
    match (base, overlay) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => merge_json(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_merge_key_by_key() {
        let mut base = serde_json::json!({"a": {"x": 1, "y": 2}, "b": 3});
        merge_json(&mut base, &serde_json::json!({"a": {"y": 5}}));
        assert_eq!(base, serde_json::json!({"a": {"x": 1, "y": 5}, "b": 3}));
    }

    #[test]
    fn stored_overrides_apply_and_bad_ones_fall_back() {
        let source = ConfigSource {
            path: PathBuf::from("/nonexistent/matching.toml"),
            required: false,
        };
        let stored = |json| store::StoredConfig {
            config_json: json,
            encrypted_api_key: None,
            updated_at: chrono::Utc::now(),
            updated_by: "api".into(),
        };
        let c = effective_config(
            &source,
            Some(&stored(serde_json::json!({"thresholds": {"high": 0.9}}))),
        )
        .unwrap();
        assert_eq!(c.thresholds.high, 0.9);
        let c = effective_config(
            &source,
            Some(&stored(serde_json::json!({"thresholds": {"low": 2.0}}))),
        )
        .unwrap();
        assert_eq!(c, MatchingConfig::default());
        let required = ConfigSource {
            required: true,
            ..source
        };
        assert!(effective_config(&required, None).is_err());
    }
}
