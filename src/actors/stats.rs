//! `StatsActor`: the per-file and per-run summary records (storage-and-api.md §3).
//!
//! Accepts:
//! * [`FileProcessed`] (fact, from the ingest) - a skipped or failed file is logged at
//!   once; a completed file is held until the run covering its generation finished,
//!   so its one record carries that run's figures (or the run's error).
//! * [`MatchRunFinished`] (fact, from the matcher) - logs one `run_completed` /
//!   `run_failed` record and releases every held file the run covers.
//! * [`GetStats`] (request) - counters for tests and the future dashboard.
//! * [`FlushStats`] (command, at shutdown) - logs the files still held, without run
//!   figures, so no file goes unreported.
//!
//! Invariant: exactly one `file_processed` record per processed file, with the stable
//! field names `file`, `file_hash`, `status`, `events_ingested`, plus the run figures.

use std::collections::VecDeque;

use actix::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use crate::model::{RunError, Trigger};

/// Files waiting for their run are few (a burst), and the two senders await their
/// sends: 256 absorbs a burst without making the ingest wait on logging.
pub const MAILBOX_CAPACITY: usize = 256;

/// Outcome of one file, as logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Stored; matching follows.
    Completed,
    /// Already processed (same bytes).
    Skipped,
    /// Rejected and dead-lettered.
    Failed,
    /// Stored, but the matching run covering it failed.
    Error,
}

impl FileStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Completed => "completed",
            FileStatus::Skipped => "skipped",
            FileStatus::Failed => "failed",
            FileStatus::Error => "error",
        }
    }
}

/// One file went through the ingest.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct FileProcessed {
    pub file: String,
    pub file_hash: String,
    pub status: FileStatus,
    pub events_ingested: usize,
    /// Why it was skipped or failed (`None` for a completed file).
    pub reason: Option<String>,
    /// The ingest generation of a completed file (the run covering it releases it).
    pub generation: Option<u64>,
}

/// Figures of a successful run, for the run record and the files it covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunFigures {
    pub total_events: usize,
    pub candidate_pairs: usize,
    pub matches_found: usize,
    pub ambiguous: usize,
    pub canonicals_created: usize,
    pub canonicals_updated: usize,
    pub canonicals_unchanged: usize,
    pub canonicals_removed: usize,
    pub flagged_for_review: usize,
}

/// A matching run ended (successfully or not).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct MatchRunFinished {
    pub run_id: Uuid,
    pub trigger: Trigger,
    /// Every file with a generation up to this one was included.
    pub covers_generation: u64,
    pub duration_ms: u64,
    pub outcome: Result<RunFigures, RunError>,
}

/// Counters since start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    pub files_completed: usize,
    pub files_skipped: usize,
    pub files_failed: usize,
    pub files_error: usize,
    pub runs_completed: usize,
    pub runs_failed: usize,
    /// Completed files whose run has not finished yet.
    pub files_awaiting_run: usize,
}

#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "StatsSnapshot")]
pub struct GetStats;

#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct FlushStats;

#[derive(Debug, Default)]
pub struct StatsActor {
    /// Completed files in generation order, waiting for their run.
    held: VecDeque<FileProcessed>,
    snapshot: StatsSnapshot,
}

impl StatsActor {
    pub fn new() -> Self {
        Self::default()
    }

    fn emit(&mut self, f: &FileProcessed, status: FileStatus, run: Option<&MatchRunFinished>) {
        crate::metrics::metrics()
            .files
            .with_label_values(&[status.as_str()])
            .inc();
        if status == FileStatus::Completed {
            crate::metrics::metrics()
                .events_ingested
                .inc_by(f.events_ingested as u64);
        }
        match status {
            FileStatus::Completed => self.snapshot.files_completed += 1,
            FileStatus::Skipped => self.snapshot.files_skipped += 1,
            FileStatus::Failed => self.snapshot.files_failed += 1,
            FileStatus::Error => self.snapshot.files_error += 1,
        }
        let figures = run.and_then(|r| r.outcome.as_ref().ok());
        let error = run.and_then(|r| r.outcome.as_ref().err());
        tracing::info!(
            file = %f.file,
            file_hash = %f.file_hash,
            status = status.as_str(),
            events_ingested = f.events_ingested,
            reason = f.reason.as_deref().unwrap_or(""),
            run_id = %run.map(|r| r.run_id.to_string()).unwrap_or_default(),
            total_events = figures.map(|x| x.total_events),
            candidate_pairs = figures.map(|x| x.candidate_pairs),
            matches_found = figures.map(|x| x.matches_found),
            ambiguous = figures.map(|x| x.ambiguous),
            canonicals_created = figures.map(|x| x.canonicals_created),
            canonicals_updated = figures.map(|x| x.canonicals_updated),
            canonicals_unchanged = figures.map(|x| x.canonicals_unchanged),
            canonicals_removed = figures.map(|x| x.canonicals_removed),
            flagged_for_review = figures.map(|x| x.flagged_for_review),
            duration_ms = run.map(|r| r.duration_ms),
            error = %error.map(ToString::to_string).unwrap_or_default(),
            "file_processed"
        );
    }
}

impl Actor for StatsActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
    }
}

impl Handler<FileProcessed> for StatsActor {
    type Result = ();

    fn handle(&mut self, msg: FileProcessed, _: &mut Self::Context) {
        if msg.status == FileStatus::Completed && msg.generation.is_some() {
            self.held.push_back(msg);
            self.snapshot.files_awaiting_run = self.held.len();
        } else {
            self.emit(&msg, msg.status, None);
        }
    }
}

impl Handler<MatchRunFinished> for StatsActor {
    type Result = ();

    fn handle(&mut self, run: MatchRunFinished, _: &mut Self::Context) {
        let m = crate::metrics::metrics();
        m.runs
            .with_label_values(&[if run.outcome.is_ok() {
                "completed"
            } else {
                "failed"
            }])
            .inc();
        m.run_duration.observe(run.duration_ms as f64 / 1000.0);
        match &run.outcome {
            Ok(f) => {
                self.snapshot.runs_completed += 1;
                tracing::info!(
                    run_id = %run.run_id,
                    trigger = run.trigger.as_str(),
                    covers_generation = run.covers_generation,
                    duration_ms = run.duration_ms,
                    total_events = f.total_events,
                    candidate_pairs = f.candidate_pairs,
                    matches_found = f.matches_found,
                    ambiguous = f.ambiguous,
                    canonicals_created = f.canonicals_created,
                    canonicals_updated = f.canonicals_updated,
                    canonicals_unchanged = f.canonicals_unchanged,
                    canonicals_removed = f.canonicals_removed,
                    flagged_for_review = f.flagged_for_review,
                    "run_completed"
                );
            }
            Err(e) => {
                self.snapshot.runs_failed += 1;
                tracing::error!(
                    run_id = %run.run_id,
                    trigger = run.trigger.as_str(),
                    covers_generation = run.covers_generation,
                    duration_ms = run.duration_ms,
                    error = %e,
                    "run_failed"
                );
            }
        }
        let status = if run.outcome.is_ok() {
            FileStatus::Completed
        } else {
            FileStatus::Error
        };
        while self
            .held
            .front()
            .is_some_and(|f| f.generation.unwrap_or(0) <= run.covers_generation)
        {
            if let Some(f) = self.held.pop_front() {
                self.emit(&f, status, Some(&run));
            }
        }
        self.snapshot.files_awaiting_run = self.held.len();
    }
}

impl Handler<GetStats> for StatsActor {
    type Result = MessageResult<GetStats>;

    fn handle(&mut self, _: GetStats, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.snapshot.clone())
    }
}

impl Handler<FlushStats> for StatsActor {
    type Result = ();

    fn handle(&mut self, _: FlushStats, _: &mut Self::Context) {
        while let Some(f) = self.held.pop_front() {
            self.emit(&f, FileStatus::Completed, None);
        }
        self.snapshot.files_awaiting_run = 0;
    }
}
