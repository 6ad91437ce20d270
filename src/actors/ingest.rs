//! `IngestActor`: takes one ready file from the watched directory into the database
//! (input-format.md §1, §4-§6).
//!
//! Accepts:
//! * [`IngestFile`] (command, from the watcher, `send().await`) → [`IngestOutcome`].
//! * [`DrainIngest`] (command, at shutdown) → answered once the file in progress is
//!   done; the actor then stops.
//!
//! Sends: [`FilesIngested`] to the matcher after each committed file, and
//! [`FileProcessed`] to the stats actor for every file; both with `send().await`.
//!
//! Per file: read the bytes, SHA-256 them; a completed row with that hash → skipped
//! ("already processed", naming the earlier file when the name differs); parse and
//! validate; a rejection on a file that changed since it was found ready → "not ready"
//! (the watcher retries), otherwise dead-letter it ([`super::dead_letter`]: unique
//! name, `.error.json` beside it, both durable before the source goes; then the
//! `failed` row; if that fails the file stays for the next rescan); a valid file → derived fields, one transaction; an event id that
//! already exists is an update, logged with both file names.
//!
//! Invariants:
//! * one file at a time (`AtomicResponse`): files are committed in the order they
//!   became ready, and shutdown waits for exactly one file;
//! * a database that is unreachable never dead-letters a file: transient errors are
//!   retried with backoff, and at shutdown the file stays in place for the next start;
//! * the ingest generation is bumped only after commit.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use actix::prelude::*;
use chrono::{SecondsFormat, Utc};
use deadpool_postgres::Pool;
use serde::Serialize;
use tracing::Instrument;

use super::dead_letter::{dead_letter_file, Disk, Rejected};
use super::matcher::{FilesIngested, MatcherActor};
use super::stats::{FileProcessed, FileStatus, StatsActor};
use super::{retry_transient, IngestGeneration, Shutdown};
use crate::ingest::{file_hash, parse_event_file, FileRejection, Problem};
use crate::ingest::{ParsedFile, RejectionReason};
use crate::preprocess::{derive, Derived, WordLists};
use crate::store::{self, StoreError};

/// The watcher keeps at most one file in flight, so the mailbox only ever holds that
/// file plus the drain request; 16 leaves room for tests that send directly.
pub const MAILBOX_CAPACITY: usize = 16;
pub use super::dead_letter::DEAD_LETTER_HASH_PREFIX;

/// Size and modification time of a file: equal signatures across two checks mean
/// nobody is writing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSignature {
    pub len: u64,
    pub modified: Option<SystemTime>,
}

impl FileSignature {
    pub fn of(meta: &std::fs::Metadata) -> Self {
        FileSignature {
            len: meta.len(),
            modified: meta.modified().ok(),
        }
    }
}

/// Ingest this ready file.
#[derive(Debug, Clone, Message)]
#[rtype(result = "IngestOutcome")]
pub struct IngestFile {
    pub path: PathBuf,
    /// The signature at which the watcher found the file ready.
    pub ready: FileSignature,
}

/// What happened to one file; tells the watcher whether to try it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    Completed {
        events: usize,
        generation: u64,
    },
    /// Same bytes already completed.
    Skipped,
    /// Rejected: moved to the dead-letter directory.
    DeadLettered,
    /// Rejected, but it could not be dead-lettered (full volume, missing directory):
    /// nothing was left in the dead-letter directory and the file stays in place for
    /// the next rescan.
    DeadLetterFailed,
    /// Still being written: try again once it settles.
    NotReady,
    /// The database stayed unreachable until shutdown: the file stays for next time.
    RetryLater,
    /// The file disappeared before it could be read.
    Vanished,
    /// The bytes could not be read (permissions, I/O): without a hash nothing can be
    /// recorded or dead-lettered; offered again only when the file changes.
    Unreadable,
}

impl IngestOutcome {
    /// True when the watcher should look at the file again later.
    pub fn wants_retry(&self) -> bool {
        matches!(self, IngestOutcome::NotReady | IngestOutcome::RetryLater)
    }
}

/// Finish the file in progress, then stop.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct DrainIngest;

/// Everything one file needs, shared by the handler futures.
struct Shared {
    pool: Pool,
    lists: Arc<WordLists>,
    dead_letter_dir: PathBuf,
    generation: IngestGeneration,
    matcher: Addr<MatcherActor>,
    stats: Addr<StatsActor>,
    shutdown: Shutdown,
}

pub struct IngestActor {
    shared: Arc<Shared>,
}

impl IngestActor {
    pub fn new(
        pool: Pool,
        lists: Arc<WordLists>,
        dead_letter_dir: PathBuf,
        generation: IngestGeneration,
        matcher: Addr<MatcherActor>,
        stats: Addr<StatsActor>,
        shutdown: Shutdown,
    ) -> Self {
        IngestActor {
            shared: Arc::new(Shared {
                pool,
                lists,
                dead_letter_dir,
                generation,
                matcher,
                stats,
                shutdown,
            }),
        }
    }
}

impl Actor for IngestActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
    }
}

impl Handler<IngestFile> for IngestActor {
    type Result = AtomicResponse<Self, IngestOutcome>;

    fn handle(&mut self, msg: IngestFile, _: &mut Self::Context) -> Self::Result {
        let shared = Arc::clone(&self.shared);
        let name = file_name_of(&msg.path);
        let span = tracing::info_span!(
            "Ingesting event file",
            file = %name,
            file_hash = tracing::field::Empty
        );
        AtomicResponse::new(Box::pin(
            ingest_one(shared, msg, name)
                .instrument(span)
                .into_actor(self),
        ))
    }
}

impl Handler<DrainIngest> for IngestActor {
    type Result = ();

    fn handle(&mut self, _: DrainIngest, ctx: &mut Self::Context) {
        // Atomic handlers run to completion before the next message, so reaching this
        // point means the file in progress is done.
        ctx.stop();
    }
}

fn file_name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

async fn signature_now(path: &Path) -> Option<FileSignature> {
    tokio::fs::metadata(path)
        .await
        .ok()
        .map(|m| FileSignature::of(&m))
}

async fn ingest_one(shared: Arc<Shared>, msg: IngestFile, name: String) -> IngestOutcome {
    let started = Instant::now();
    let Some(before) = signature_now(&msg.path).await else {
        tracing::info!("file vanished before it was read");
        return IngestOutcome::Vanished;
    };
    let bytes = match tokio::fs::read(&msg.path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return IngestOutcome::Vanished,
        Err(e) => {
            tracing::error!(error = %e, "cannot read file; it is retried when it changes");
            return IngestOutcome::Unreadable;
        }
    };
    let hash = file_hash(&bytes);
    tracing::Span::current().record("file_hash", hash.as_str());

    let done = retry_transient("check file hash", &shared.shutdown, || async {
        let client = shared.pool.get().await?;
        store::is_completed(&**client, &hash).await
    })
    .await;
    match done {
        Ok(Some(previous)) => {
            let reason = if previous == name {
                "already processed".to_string()
            } else {
                format!("already processed (same content as {previous})")
            };
            return skipped(&shared, name, hash, reason).await;
        }
        Ok(None) => {}
        Err(e) => return database_unavailable(e),
    }

    let parsed = match parse_event_file(&name, &bytes) {
        Ok(p) => p,
        Err(rejection) => {
            let after = signature_now(&msg.path).await;
            if after != Some(before) || before != msg.ready {
                tracing::info!(reason = %rejection.message, "file still changing, not ready");
                return IngestOutcome::NotReady;
            }
            return dead_letter(&shared, &msg.path, &bytes, rejection).await;
        }
    };
    for w in &parsed.warnings {
        tracing::warn!(field = %w.field, event_index = w.event_index, event_id = w.event_id.as_deref(), problem = %w.problem, "file warning");
    }
    let derived: Vec<Derived> = parsed
        .events
        .iter()
        .map(|e| derive(e, &shared.lists))
        .collect();

    let stored = retry_transient("store file", &shared.shutdown, || {
        store::ingest_file(&shared.pool, &parsed, &derived)
    })
    .await;
    match stored {
        Ok(outcome) => {
            log_updates(&name, &outcome.updated);
            let generation = shared.generation.bump();
            let events = parsed.events.len();
            tracing::info!(
                events_ingested = events,
                events_new = outcome.inserted,
                events_updated = outcome.updated.len(),
                generation,
                duration_ms = started.elapsed().as_millis() as u64,
                "file_ingested"
            );
            notify_stats(
                &shared,
                FileProcessed {
                    file: name,
                    file_hash: hash,
                    status: FileStatus::Completed,
                    events_ingested: events,
                    reason: None,
                    generation: Some(generation),
                },
            )
            .await;
            if let Err(e) = shared.matcher.send(FilesIngested { generation }).await {
                tracing::error!(error = %e, "matcher unavailable");
            }
            IngestOutcome::Completed { events, generation }
        }
        Err(StoreError::AlreadyIngested { file_name, .. }) => {
            let reason = format!("already processed (same content as {file_name})");
            skipped(&shared, name, hash, reason).await
        }
        Err(e) if e.is_transient() => database_unavailable(e),
        Err(e) => {
            // The database refused the data itself (constraint, value too large):
            // a property of the file, so it is dead-lettered.
            let rejection = database_rejection(&parsed, &e);
            dead_letter(&shared, &msg.path, &bytes, rejection).await
        }
    }
}

fn database_unavailable(e: StoreError) -> IngestOutcome {
    tracing::warn!(error = %format!("{e:?}").trim_end(), "database unavailable at shutdown, file stays for the next start");
    IngestOutcome::RetryLater
}

fn database_rejection(parsed: &ParsedFile, e: &StoreError) -> FileRejection {
    let detail = format!("{e:?}").trim_end().replace('\n', " ");
    FileRejection {
        file: parsed.file_name.clone(),
        file_hash: parsed.file_hash.clone(),
        source_code: parsed.source_code.clone(),
        reason: RejectionReason::Database,
        message: format!("Database rejected {}: {detail}", parsed.file_name),
        details: vec![Problem::file_level("", detail)],
    }
}

fn log_updates(file: &str, updated: &[store::UpdatedEvent]) {
    let mut by_file: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for u in updated {
        let entry = by_file.entry(u.previous_file.as_str()).or_default();
        entry.0 += 1;
        if u.content_changed {
            entry.1 += 1;
        }
    }
    for (previous_file, (count, changed)) in by_file {
        tracing::info!(
            file,
            previous_file,
            events_updated = count,
            events_changed = changed,
            "events updated by a later file"
        );
    }
}

async fn skipped(shared: &Shared, file: String, hash: String, reason: String) -> IngestOutcome {
    tracing::info!(reason = %reason, "file_skipped");
    notify_stats(
        shared,
        FileProcessed {
            file,
            file_hash: hash,
            status: FileStatus::Skipped,
            events_ingested: 0,
            reason: Some(reason),
            generation: None,
        },
    )
    .await;
    IngestOutcome::Skipped
}

async fn notify_stats(shared: &Shared, fact: FileProcessed) {
    if let Err(e) = shared.stats.send(fact).await {
        tracing::error!(error = %e, "stats unavailable");
    }
}

/// The `.error.json` written beside a dead-lettered file (input-format §6).
#[derive(Debug, Serialize)]
struct ErrorContext<'a> {
    file: &'a str,
    file_hash: &'a str,
    source_code: &'a str,
    failed_at: String,
    reason: RejectionReason,
    message: &'a str,
    details: &'a [Problem],
}

/// Dead-letters the file with its `.error.json` ([`super::dead_letter`]), then
/// records the `failed` row. Each step that fails is logged; none panics. When the
/// files cannot be written nothing is recorded: the file stays in place and is
/// offered again by the next rescan.
async fn dead_letter(
    shared: &Shared,
    path: &Path,
    content: &[u8],
    rejection: FileRejection,
) -> IngestOutcome {
    tracing::warn!(reason = ?rejection.reason, message = %rejection.message, "file rejected");
    let context = ErrorContext {
        file: &rejection.file,
        file_hash: &rejection.file_hash,
        source_code: &rejection.source_code,
        failed_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        reason: rejection.reason,
        message: &rejection.message,
        details: &rejection.details,
    };
    let error_json = match serde_json::to_vec_pretty(&context) {
        Ok(bytes) => bytes,
        Err(e) => {
            crate::metrics::metrics().dead_letter_errors.inc();
            tracing::error!(error = %e, "could not serialize the error context; the file stays in place");
            return IngestOutcome::DeadLetterFailed;
        }
    };
    let (dir, source) = (shared.dead_letter_dir.clone(), path.to_path_buf());
    let (content, name, hash) = (
        content.to_vec(),
        rejection.file.clone(),
        rejection.file_hash.clone(),
    );
    let moved = tokio::task::spawn_blocking(move || {
        let file = Rejected {
            source: &source,
            content: &content,
            name: &name,
            hash: &hash,
            error_json: &error_json,
        };
        dead_letter_file(&Disk, &dir, file)
    })
    .await
    .map_err(std::io::Error::other)
    .and_then(|r| r);
    match moved {
        Ok(target) => tracing::info!(dead_letter = %target.display(), "file dead-lettered"),
        Err(e) => {
            crate::metrics::metrics().dead_letter_errors.inc();
            tracing::error!(error = %e, dead_letter_dir = %shared.dead_letter_dir.display(), "could not dead-letter the file; it stays in place and is retried at the next rescan");
            return IngestOutcome::DeadLetterFailed;
        }
    }
    if !rejection.file_hash.is_empty() {
        // Best effort: the file is already out of the way; a lost row only costs the
        // dashboard an entry (input-format §6: "only logged").
        let recorded = match shared.pool.get().await {
            Ok(client) => store::record_rejection(&**client, &rejection).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = recorded {
            tracing::error!(error = %format!("{e:?}").trim_end(), "could not record the failed file");
        }
    }
    notify_stats(
        shared,
        FileProcessed {
            file: rejection.file.clone(),
            file_hash: rejection.file_hash.clone(),
            status: FileStatus::Failed,
            events_ingested: 0,
            reason: Some(rejection.message.clone()),
            generation: None,
        },
    )
    .await;
    IngestOutcome::DeadLettered
}

/// How long the watcher waits before it looks again at a file that was not ready.
pub const NOT_READY_RETRY: Duration = Duration::from_millis(500);
