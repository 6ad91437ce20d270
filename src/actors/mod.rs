//! The running service: one actor per pipeline stage (ARCHITECTURE.md, data flow).
//!
//! ```text
//! WatcherActor ── IngestBatch ──▶ IngestActor ── FilesIngested{generation, more_waiting} ──▶ MatcherActor
//!   (ready files, one batch in flight) (one batch at a time,                          (one run at a time)
//!                                       one transaction)
//!                                          │ FileProcessed                               │ MatchRunFinished
//!                                          └──────────────▶ StatsActor ◀─────────────────┘
//! ```
//!
//! * [`watcher`] - discovery and readiness of files in the watched directory; hands
//!   the ingest every file that became ready meanwhile as one batch.
//! * [`ingest`] - hash, skip, parse, dead-letter or store a batch of files.
//! * [`prepare`] - the ingest's CPU work (read, hash, parse, derive), in parallel.
//! * [`dead_letter`] - a rejected file and its `.error.json`, durably or not at all.
//! * [`matcher`] - coalesced, serialized matching runs (incremental between full
//!   re-matches) and the state build at start-up; one file per concern below it.
//! * [`schedule`] - when the matcher runs: the coalescing state machine.
//! * [`persist`] - writes a finished run in one transaction.
//! * [`stats`] - one summary log record per file and per run.
//!
//! Shared here: [`Shutdown`] (the one controller every stage checks), the
//! [`IngestGeneration`] counter that lets the matcher coalesce, and
//! [`retry_transient`], the backoff loop used while the database is unreachable.
//!
//! Invariants:
//! * pipeline stages talk with `send().await` (never `do_send`), so a slow stage slows
//!   the one before it instead of growing a mailbox;
//! * the generation is bumped only after a file's transaction committed (once per file
//!   of a batch, in order), so a run that read generation `g` before loading events
//!   sees every file numbered `<= g`.

pub mod dead_letter;
pub mod ingest;
pub mod matcher;
pub mod persist;
pub mod prepare;
pub mod schedule;
pub mod stats;
pub mod watcher;

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::store::StoreError;

/// First wait after a transient database error.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(250);
/// Longest wait between two attempts: a restarted database is noticed within this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The shutdown controller: triggered once (signal or `App` handle), observed by every
/// stage. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    inner: Arc<ShutdownInner>,
}

#[derive(Debug, Default)]
struct ShutdownInner {
    triggered: AtomicBool,
    notify: Notify,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the graceful shutdown (idempotent).
    pub fn trigger(&self) {
        self.inner.triggered.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::SeqCst)
    }

    /// Resolves once [`trigger`](Self::trigger) was called.
    pub async fn wait(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_triggered() {
                return;
            }
            notified.await;
        }
    }
}

/// Monotonically increasing count of committed file ingestions in this process, and
/// whether the ingest is storing files right now (the matcher does not start a run
/// then: the files' notice is to come).
#[derive(Debug, Clone, Default)]
pub struct IngestGeneration {
    committed: Arc<AtomicU64>,
    /// Batches received by the ingest and not finished yet.
    in_progress: Arc<AtomicU64>,
}

impl IngestGeneration {
    /// Called after a file's transaction committed; returns the new generation.
    pub fn bump(&self) -> u64 {
        self.committed.fetch_add(1, Ordering::SeqCst) + 1
    }

    pub fn current(&self) -> u64 {
        self.committed.load(Ordering::SeqCst)
    }

    /// Marks a batch as being stored until the returned guard is dropped (also when
    /// the batch fails or its future is dropped).
    pub fn batch_started(&self) -> BatchInProgress {
        self.in_progress.fetch_add(1, Ordering::SeqCst);
        BatchInProgress(Arc::clone(&self.in_progress))
    }

    /// Whether the ingest is storing a batch.
    pub fn ingest_busy(&self) -> bool {
        self.in_progress.load(Ordering::SeqCst) > 0
    }
}

/// A batch the ingest is storing (see [`IngestGeneration::batch_started`]).
#[derive(Debug)]
pub struct BatchInProgress(Arc<AtomicU64>);

impl Drop for BatchInProgress {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs `op` until it succeeds, fails permanently, or shutdown begins while the
/// database is unreachable. Transient failures are logged and retried with
/// exponential backoff ([`INITIAL_BACKOFF`] doubling up to [`MAX_BACKOFF`]).
pub async fn retry_transient<T, F, Fut>(
    what: &str,
    shutdown: &Shutdown,
    mut op: F,
) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut backoff = INITIAL_BACKOFF;
    let mut attempt = 1u32;
    loop {
        match op().await {
            Ok(v) => {
                if attempt > 1 {
                    tracing::info!(operation = what, attempt, "database reachable again");
                }
                return Ok(v);
            }
            Err(e) if e.is_transient() && !shutdown.is_triggered() => {
                crate::metrics::metrics().db_errors.inc();
                tracing::warn!(
                    operation = what,
                    attempt,
                    retry_in_ms = backoff.as_millis() as u64,
                    error = %format!("{e:?}").trim_end(),
                    "database unavailable, retrying"
                );
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait() => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}
