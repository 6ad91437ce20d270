//! `IngestActor`: takes ready files from the watched directory into the database, a
//! batch at a time (input-format.md §1, §4-§6).
//!
//! Accepts:
//! * [`IngestBatch`] (command, from the watcher, `send().await`) → one
//!   [`IngestOutcome`] per file, in order. The watcher sends every file that became
//!   ready while the previous batch was stored (up to its limits), so a quiet
//!   directory gives batches of one and a burst gives few large ones (group commit).
//! * [`IngestFile`] (command) → [`IngestOutcome`]: a batch of one.
//! * [`DrainIngest`] (command, at shutdown) → answered once the batch in progress is
//!   done; the actor then stops.
//!
//! Sends: [`FileProcessed`] to the stats actor for every file, and one
//! [`FilesIngested`] to the matcher after each commit; both with `send().await`.
//!
//! Per batch: read and hash every file ([`super::prepare`], in parallel off the
//! actor thread); one query finds the hashes already completed → skipped ("already
//! processed", naming the earlier file when the name differs); parse, validate and
//! derive the rest in parallel; a rejection on a file that changed since it was
//! found ready → "not ready" (the watcher retries), otherwise dead-letter it
//! ([`super::dead_letter`]: unique name, `.error.json` beside it, both durable before
//! the source goes; then the `failed` row; if that fails the file stays for the next
//! rescan); the valid files → one transaction ([`store::ingest_files`]); an event id
//! that already exists is an update, logged with both file names. One
//! `file_ingested` record per stored file, one `ingest_batch_committed` per commit.
//!
//! Invariants:
//! * one batch at a time (`AtomicResponse`), its files stored as if one by one in
//!   ready order: an id delivered twice ends in its last version; shutdown waits for
//!   exactly the batch in progress;
//! * a bad file never takes the good files of its batch with it: rejections are
//!   sorted out before the transaction, and when the database refuses the batch,
//!   each file is stored again in its own transaction, in order, and only the one
//!   the database refuses is dead-lettered;
//! * a database that is unreachable never dead-letters a file: transient errors are
//!   retried with backoff, and at shutdown the files stay in place for the next start;
//! * the ingest generation is bumped only after commit, once per stored file, in
//!   order; while a batch is being stored the generation says so
//!   ([`IngestGeneration::ingest_busy`]), and the matcher waits for its notice
//!   instead of starting a run that would compete with it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use actix::prelude::*;
use chrono::{SecondsFormat, Utc};
use deadpool_postgres::Pool;
use serde::Serialize;
use tracing::{Instrument, Span};

use super::dead_letter::{dead_letter_file, Disk, Rejected};
use super::matcher::{FilesIngested, MatcherActor};
use super::prepare::{parsed_rejection, prepare_all, read_all, ReadFile};
use super::stats::{FileProcessed, FileStatus, StatsActor};
use super::{retry_transient, IngestGeneration, Shutdown};
use crate::ingest::{FileRejection, Problem, RejectionReason};
use crate::preprocess::WordLists;
use crate::store::{self, FileOutcome, PreparedFile, StoreError};

/// The watcher keeps at most one batch in flight, so the mailbox only ever holds that
/// batch plus the drain request; 16 leaves room for tests that send directly.
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

/// Ingest these ready files, in this (ready) order; answers one outcome per file.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Vec<IngestOutcome>")]
pub struct IngestBatch {
    pub files: Vec<IngestFile>,
    /// The watcher knows of more files behind these (ready or settling); passed on to
    /// the matcher, whose schedule then waits for them.
    pub more_waiting: bool,
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

/// Finish the batch in progress, then stop.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct DrainIngest;

/// Everything a batch needs, shared by the handler futures.
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

impl Handler<IngestBatch> for IngestActor {
    type Result = AtomicResponse<Self, Vec<IngestOutcome>>;

    fn handle(&mut self, msg: IngestBatch, _: &mut Self::Context) -> Self::Result {
        let shared = Arc::clone(&self.shared);
        let busy = shared.generation.batch_started();
        let batch = async move {
            let outcomes = ingest_batch(shared, msg.files, msg.more_waiting).await;
            drop(busy);
            outcomes
        };
        AtomicResponse::new(Box::pin(batch.into_actor(self)))
    }
}

impl Handler<IngestFile> for IngestActor {
    type Result = AtomicResponse<Self, IngestOutcome>;

    fn handle(&mut self, msg: IngestFile, _: &mut Self::Context) -> Self::Result {
        let shared = Arc::clone(&self.shared);
        let busy = shared.generation.batch_started();
        let one = async move {
            let outcomes = ingest_batch(shared, vec![msg], false).await;
            drop(busy);
            outcomes
                .into_iter()
                .next()
                .unwrap_or(IngestOutcome::RetryLater)
        };
        AtomicResponse::new(Box::pin(one.into_actor(self)))
    }
}

impl Handler<DrainIngest> for IngestActor {
    type Result = ();

    fn handle(&mut self, _: DrainIngest, ctx: &mut Self::Context) {
        // Atomic handlers run to completion before the next message, so reaching this
        // point means the batch in progress is done.
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

/// One file of a batch on its way through the stages.
struct Item {
    msg: IngestFile,
    name: String,
    /// Every record about this file is logged in it (`file`, `file_hash`).
    span: Span,
    outcome: Option<IngestOutcome>,
    /// The signature before reading, the bytes and their hash.
    read: Option<(FileSignature, Vec<u8>, String)>,
}

/// A file that passed validation, waiting for the store.
struct Valid {
    item: usize,
    prepared: PreparedFile,
    bytes: Vec<u8>,
}

async fn ingest_batch(
    shared: Arc<Shared>,
    files: Vec<IngestFile>,
    more_waiting: bool,
) -> Vec<IngestOutcome> {
    let started = Instant::now();
    let mut items: Vec<Item> = files
        .into_iter()
        .map(|msg| {
            let name = file_name_of(&msg.path);
            let span = tracing::info_span!(
                "Ingesting event file",
                file = %name,
                file_hash = tracing::field::Empty
            );
            Item {
                msg,
                name,
                span,
                outcome: None,
                read: None,
            }
        })
        .collect();
    let batch_span = tracing::info_span!("Ingesting files", files = items.len());

    let paths = items.iter().map(|i| i.msg.path.clone()).collect();
    let Some(read) = read_all(paths).await else {
        return retry_all(items, "the file reader stopped");
    };
    for (item, read) in items.iter_mut().zip(read) {
        match read {
            ReadFile::Vanished => {
                item.span
                    .in_scope(|| tracing::info!("file vanished before it was read"));
                item.outcome = Some(IngestOutcome::Vanished);
            }
            ReadFile::Unreadable(e) => {
                item.span.in_scope(|| {
                    tracing::error!(error = %e, "cannot read file; it is retried when it changes")
                });
                item.outcome = Some(IngestOutcome::Unreadable);
            }
            ReadFile::Read {
                before,
                bytes,
                hash,
            } => {
                item.span.record("file_hash", hash.as_str());
                item.read = Some((before, bytes, hash));
            }
        }
    }

    // Bytes stored before: skipped without parsing.
    let hashes: Vec<&str> = items
        .iter()
        .filter_map(|i| i.read.as_ref().map(|r| r.2.as_str()))
        .collect();
    let done = retry_transient("check file hashes", &shared.shutdown, || async {
        if hashes.is_empty() {
            return Ok(Default::default());
        }
        let client = shared.pool.get().await?;
        store::completed_files(&**client, &hashes).await
    })
    .instrument(batch_span.clone())
    .await;
    let done = match done {
        Ok(done) => done,
        Err(e) => return database_unavailable(items, e),
    };
    for item in items.iter_mut() {
        let Some((_, _, hash)) = &item.read else {
            continue;
        };
        if let Some(previous) = done.get(hash) {
            let reason = if *previous == item.name {
                "already processed".to_string()
            } else {
                format!("already processed (same content as {previous})")
            };
            let hash = hash.clone();
            item.read = None;
            item.outcome = Some(skipped(&shared, item, hash, reason).await);
        }
    }

    let parse_started = Instant::now();
    let (indices, unparsed): (Vec<usize>, Vec<(String, Vec<u8>)>) = items
        .iter_mut()
        .enumerate()
        .filter_map(|(i, item)| {
            let (_, bytes, _) = item.read.as_mut()?;
            Some((i, (item.name.clone(), std::mem::take(bytes))))
        })
        .unzip();
    let Some(prepared) = prepare_all(Arc::clone(&shared.lists), unparsed).await else {
        return retry_all(items, "the parser stopped");
    };
    let parse_ms = parse_started.elapsed().as_millis() as u64;
    let mut valid = Vec::new();
    let mut rejected = Vec::new();
    for (i, (bytes, result)) in indices.into_iter().zip(prepared) {
        match result {
            Ok(prepared) => {
                let item = &items[i];
                item.span.in_scope(|| {
                    for w in &prepared.file.warnings {
                        tracing::warn!(field = %w.field, event_index = w.event_index, event_id = w.event_id.as_deref(), problem = %w.problem, "file warning");
                    }
                });
                valid.push(Valid {
                    item: i,
                    prepared,
                    bytes,
                });
            }
            Err(rejection) => rejected.push((i, bytes, *rejection)),
        }
    }

    let store_started = Instant::now();
    let stored = store_valid(&shared, &mut items, valid, &batch_span, started).await;
    let store_ms = store_started.elapsed().as_millis() as u64;
    for (i, bytes, rejection) in stored.rejected.into_iter().chain(rejected) {
        let item = &mut items[i];
        let outcome = reject(&shared, item, &bytes, rejection).await;
        item.outcome = Some(outcome);
    }
    if stored.files > 0 {
        batch_span.in_scope(|| {
            tracing::info!(
                files_stored = stored.files,
                events_ingested = stored.events,
                commits = stored.commits,
                parse_ms,
                store_ms,
                duration_ms = started.elapsed().as_millis() as u64,
                "ingest_batch_committed"
            )
        });
    }
    if let Some(generation) = stored.last_generation {
        let notice = FilesIngested {
            generation,
            more_waiting,
        };
        if let Err(e) = shared.matcher.send(notice).await {
            tracing::error!(error = %e, "matcher unavailable");
        }
    }
    items
        .into_iter()
        .map(|i| i.outcome.unwrap_or(IngestOutcome::RetryLater))
        .collect()
}

/// What storing the valid files of a batch did.
#[derive(Default)]
struct Stored {
    files: usize,
    events: usize,
    commits: usize,
    last_generation: Option<u64>,
    /// Files the database refused (item, bytes, why), to dead-letter.
    rejected: Vec<(usize, Vec<u8>, FileRejection)>,
}

/// Stores the valid files in one transaction; when the database refuses the batch,
/// stores them one by one (in order) so only the refused file is rejected. `started`:
/// when the batch arrived (each file's `duration_ms` counts from it).
async fn store_valid(
    shared: &Shared,
    items: &mut [Item],
    valid: Vec<Valid>,
    batch_span: &Span,
    started: Instant,
) -> Stored {
    let mut stored = Stored::default();
    if valid.is_empty() {
        return stored;
    }
    let all: Vec<&PreparedFile> = valid.iter().map(|v| &v.prepared).collect();
    let result = retry_transient("store files", &shared.shutdown, || {
        store::ingest_files(&shared.pool, &all)
    })
    .instrument(batch_span.clone())
    .await;
    match result {
        Ok(outcomes) => {
            stored.commits += 1;
            for (v, outcome) in valid.iter().zip(outcomes) {
                committed(shared, &mut items[v.item], v, outcome, started, &mut stored).await;
            }
            return stored;
        }
        Err(e) if e.is_transient() => {
            for v in &valid {
                items[v.item].outcome = Some(unavailable(&items[v.item].span, &e));
            }
            return stored;
        }
        Err(e) if valid.len() == 1 => {
            for v in valid {
                let rejection = parsed_rejection(&v.prepared.file, &e);
                stored.rejected.push((v.item, v.bytes, rejection));
            }
            return stored;
        }
        Err(e) => batch_span.in_scope(|| {
            tracing::warn!(error = %format!("{e:?}").trim_end(), files = valid.len(), "database refused the batch; storing its files one by one")
        }),
    }
    for v in valid {
        let one = [&v.prepared];
        let result = retry_transient("store file", &shared.shutdown, || {
            store::ingest_files(&shared.pool, &one)
        })
        .instrument(items[v.item].span.clone())
        .await;
        match result {
            Ok(outcomes) => {
                stored.commits += 1;
                for outcome in outcomes {
                    committed(
                        shared,
                        &mut items[v.item],
                        &v,
                        outcome,
                        started,
                        &mut stored,
                    )
                    .await;
                }
            }
            Err(e) if e.is_transient() => {
                items[v.item].outcome = Some(unavailable(&items[v.item].span, &e));
            }
            Err(e) => {
                let rejection = parsed_rejection(&v.prepared.file, &e);
                stored.rejected.push((v.item, v.bytes, rejection));
            }
        }
    }
    stored
}

/// One file of a committed transaction: bump the generation, log, tell the stats.
async fn committed(
    shared: &Shared,
    item: &mut Item,
    v: &Valid,
    outcome: Result<FileOutcome, StoreError>,
    started: Instant,
    stored: &mut Stored,
) {
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(StoreError::AlreadyIngested { file_name, .. }) => {
            let reason = format!("already processed (same content as {file_name})");
            let hash = v.prepared.file.file_hash.clone();
            item.outcome = Some(skipped(shared, item, hash, reason).await);
            return;
        }
        Err(e) => {
            // Not produced for a single file; treated like a refusal of the whole file.
            let rejection = parsed_rejection(&v.prepared.file, &e);
            stored.rejected.push((v.item, v.bytes.clone(), rejection));
            return;
        }
    };
    let generation = shared.generation.bump();
    let events = v.prepared.file.events.len();
    item.span.in_scope(|| {
        log_updates(&item.name, &outcome.updated);
        tracing::info!(
            events_ingested = events,
            events_new = outcome.inserted,
            events_updated = outcome.updated.len(),
            generation,
            duration_ms = started.elapsed().as_millis() as u64,
            "file_ingested"
        );
    });
    notify_stats(
        shared,
        FileProcessed {
            file: item.name.clone(),
            file_hash: v.prepared.file.file_hash.clone(),
            status: FileStatus::Completed,
            events_ingested: events,
            reason: None,
            generation: Some(generation),
        },
    )
    .await;
    stored.files += 1;
    stored.events += events;
    stored.last_generation = Some(generation);
    item.outcome = Some(IngestOutcome::Completed { events, generation });
}

/// A rejected file: "not ready" when it changed since it was found ready (the
/// rejection may be a half-written file), otherwise dead-lettered.
async fn reject(
    shared: &Shared,
    item: &Item,
    bytes: &[u8],
    rejection: FileRejection,
) -> IngestOutcome {
    let before = item.read.as_ref().map(|r| r.0);
    let after = signature_now(&item.msg.path).await;
    if after != before || before != Some(item.msg.ready) {
        item.span.in_scope(
            || tracing::info!(reason = %rejection.message, "file still changing, not ready"),
        );
        return IngestOutcome::NotReady;
    }
    dead_letter(shared, &item.msg.path, bytes, rejection)
        .instrument(item.span.clone())
        .await
}

/// Every file not yet decided stays for a later attempt.
fn retry_all(items: Vec<Item>, why: &str) -> Vec<IngestOutcome> {
    tracing::error!(reason = why, "batch not ingested; its files stay in place");
    items
        .into_iter()
        .map(|i| i.outcome.unwrap_or(IngestOutcome::RetryLater))
        .collect()
}

fn database_unavailable(items: Vec<Item>, e: StoreError) -> Vec<IngestOutcome> {
    items
        .into_iter()
        .map(|i| match i.outcome {
            Some(o) => o,
            None => unavailable(&i.span, &e),
        })
        .collect()
}

fn unavailable(span: &Span, e: &StoreError) -> IngestOutcome {
    span.in_scope(|| {
        tracing::warn!(error = %format!("{e:?}").trim_end(), "database unavailable at shutdown, file stays for the next start")
    });
    IngestOutcome::RetryLater
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

async fn skipped(shared: &Shared, item: &Item, hash: String, reason: String) -> IngestOutcome {
    item.span
        .in_scope(|| tracing::info!(reason = %reason, "file_skipped"));
    notify_stats(
        shared,
        FileProcessed {
            file: item.name.clone(),
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
