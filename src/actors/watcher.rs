//! `WatcherActor`: finds event files in the watched directory and hands each one to
//! the ingest once it is completely written (storage-and-api.md §2, input-format §1).
//!
//! Accepts:
//! * [`WatchEvent`] stream items from `notify` (created, modified, renamed paths);
//! * [`StopWatching`] (command, at shutdown) - stop discovering; the file in flight
//!   stays with the ingest, which finishes it.
//!
//! Sends: [`IngestBatch`] to the ingest, one batch at a time, with `send().await`:
//! while the ingest is busy, ready files queue here (bounded by the directory
//! listing), so a slow database slows discovery instead of filling a mailbox. The
//! next batch is every file that became ready meanwhile, in order, up to
//! [`MAX_BATCH_FILES`] and [`MAX_BATCH_BYTES`]: one file in a quiet directory goes
//! alone and at once, a burst goes in few large transactions (group commit).
//!
//! Discovery: a start-up scan, `notify` events (mode `notify`), and a full rescan every
//! `RESCAN_INTERVAL_SECS` (notify can drop events; in mode `poll` the rescan runs every
//! `POLL_INTERVAL_MS` and is the only source).
//!
//! Readiness: a file is ready when its size and mtime were unchanged across checks at
//! least `FILE_SETTLE_MS` apart, or right away when it arrived by a rename (producers
//! should write `name.json.tmp` and rename it). Ready files go out sorted by name.
//!
//! Which files: regular files directly in the directory whose name ends in `.json`
//! (lower case), except hidden (`.x`) and editor/temp names (`~x`, `#x`, `x~`).
//!
//! Invariant: a file is offered again only when its signature changed after it was
//! handled, when the ingest said "not ready" / "retry later" (soon), or when it could
//! not be dead-lettered (at the next rescan).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use actix::prelude::*;
use notify::{EventKind, RecursiveMode, Watcher};

use super::ingest::{
    FileSignature, IngestActor, IngestBatch, IngestFile, IngestOutcome, NOT_READY_RETRY,
};
use crate::settings::WatchMode;

/// Control messages only (file events arrive as a stream): 16 is plenty.
pub const MAILBOX_CAPACITY: usize = 16;
/// Buffer between notify's thread and the actor. When full, notify's thread blocks
/// briefly; events are hints anyway (the rescan is the safety net).
pub const NOTIFY_CHANNEL_CAPACITY: usize = 1024;
/// Lower bound of the readiness check period, so a tiny settle time cannot spin.
pub const MIN_CHECK_INTERVAL: Duration = Duration::from_millis(10);
/// Most files in one batch (one transaction). A burst of small files is bound by
/// round trips and commits below this size; above it a batch only holds more memory
/// and makes a refused batch (stored again file by file) costlier.
pub const MAX_BATCH_FILES: usize = 256;
/// Most bytes in one batch (its files are held in memory while stored); a single
/// larger file still goes, alone.
pub const MAX_BATCH_BYTES: u64 = 64 * 1024 * 1024;

/// A path `notify` reported.
#[derive(Debug, Clone)]
pub struct WatchEvent {
    pub path: PathBuf,
    /// It arrived by a rename, so it is complete.
    pub renamed: bool,
}

/// Stop discovering files; answered when stopped.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct StopWatching;

/// Watcher configuration.
#[derive(Debug, Clone)]
pub struct WatcherSettings {
    pub dir: PathBuf,
    pub mode: WatchMode,
    pub settle: Duration,
    pub rescan_interval: Duration,
    pub poll_interval: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    signature: FileSignature,
    /// When the current signature was first seen.
    stable_since: Instant,
    renamed: bool,
    /// Do not look again before this (after "not ready").
    not_before: Option<Instant>,
}

pub struct WatcherActor {
    settings: WatcherSettings,
    ingest: Addr<IngestActor>,
    /// Seen, not yet ready.
    pending: HashMap<PathBuf, Pending>,
    /// Ready, waiting for the ingest (in name order within each batch).
    ready: VecDeque<(PathBuf, FileSignature)>,
    queued: HashSet<PathBuf>,
    /// The batch the ingest is working on.
    in_flight: HashSet<PathBuf>,
    /// Files handled at this signature (ingested, skipped, dead-lettered in place).
    handled: HashMap<PathBuf, FileSignature>,
    /// Files of the start-up scan not yet handled (for `startup_scan_complete`).
    startup_left: BTreeSet<PathBuf>,
    startup_found: usize,
    stopped: bool,
    /// Kept alive for as long as events should arrive.
    notify: Option<notify::RecommendedWatcher>,
}

impl WatcherActor {
    pub fn new(settings: WatcherSettings, ingest: Addr<IngestActor>) -> Self {
        WatcherActor {
            settings,
            ingest,
            pending: HashMap::new(),
            ready: VecDeque::new(),
            queued: HashSet::new(),
            in_flight: HashSet::new(),
            handled: HashMap::new(),
            startup_left: BTreeSet::new(),
            startup_found: 0,
            stopped: false,
            notify: None,
        }
    }

    /// Notes a path as a candidate (unless it is busy or already handled as is).
    fn observe(&mut self, path: PathBuf, renamed: bool) {
        if self.stopped || !is_candidate(&self.settings.dir, &path) {
            return;
        }
        if self.queued.contains(&path) || self.in_flight.contains(&path) {
            return;
        }
        let Ok(meta) = std::fs::metadata(&path) else {
            self.pending.remove(&path);
            return;
        };
        if !meta.is_file() {
            return;
        }
        let signature = FileSignature::of(&meta);
        if self.handled.get(&path) == Some(&signature) {
            return;
        }
        let now = Instant::now();
        let entry = self.pending.entry(path).or_insert(Pending {
            signature,
            stable_since: now,
            renamed,
            not_before: None,
        });
        if entry.signature != signature {
            entry.signature = signature;
            entry.stable_since = now;
        }
        entry.renamed |= renamed;
    }

    /// Lists the directory and observes every candidate; forgets vanished files.
    fn scan(&mut self) -> Vec<PathBuf> {
        let mut found = match std::fs::read_dir(&self.settings.dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| is_candidate(&self.settings.dir, p))
                .collect::<Vec<_>>(),
            Err(e) => {
                tracing::error!(dir = %self.settings.dir.display(), error = %e, "cannot list the watched directory");
                return Vec::new();
            }
        };
        found.sort();
        let present: HashSet<&PathBuf> = found.iter().collect();
        self.handled.retain(|p, _| present.contains(p));
        self.pending.retain(|p, _| present.contains(p));
        for p in &found {
            self.observe(p.clone(), false);
        }
        found
    }

    /// Moves settled files to the ready queue (sorted by name) and dispatches.
    fn check_ready(&mut self, ctx: &mut Context<Self>) {
        if self.stopped {
            return;
        }
        let now = Instant::now();
        let settle = self.settings.settle;
        let mut ready = Vec::new();
        let paths: Vec<PathBuf> = self.pending.keys().cloned().collect();
        for path in paths {
            let Some(p) = self.pending.get(&path).copied() else {
                continue;
            };
            if p.not_before.is_some_and(|t| now < t) {
                continue;
            }
            let Ok(meta) = std::fs::metadata(&path) else {
                self.pending.remove(&path);
                self.startup_left.remove(&path);
                continue;
            };
            let signature = FileSignature::of(&meta);
            if signature != p.signature {
                if let Some(e) = self.pending.get_mut(&path) {
                    e.signature = signature;
                    e.stable_since = now;
                    e.renamed = false;
                }
                continue;
            }
            if p.renamed || now.duration_since(p.stable_since) >= settle {
                ready.push((path, signature));
            }
        }
        ready.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, signature) in ready {
            self.pending.remove(&path);
            self.queued.insert(path.clone());
            self.ready.push_back((path, signature));
        }
        self.dispatch(ctx);
    }

    /// Sends the next batch of ready files when none is in flight.
    fn dispatch(&mut self, ctx: &mut Context<Self>) {
        // Files seen but not yet handed to the ingest (settling or ready).
        crate::metrics::metrics()
            .queue_depth
            .set((self.pending.len() + self.ready.len()) as i64);
        if self.stopped || !self.in_flight.is_empty() {
            return;
        }
        let batch = self.next_batch();
        if batch.is_empty() {
            return;
        }
        let files: Vec<(PathBuf, FileSignature)> =
            batch.iter().map(|f| (f.path.clone(), f.ready)).collect();
        let request = self.ingest.send(IngestBatch {
            files: batch,
            more_waiting: !self.ready.is_empty() || !self.pending.is_empty(),
        });
        ctx.spawn(request.into_actor(self).map(move |result, act, ctx| {
            act.in_flight.clear();
            match result {
                Ok(outcomes) => {
                    for ((path, signature), outcome) in files.into_iter().zip(outcomes) {
                        act.ingested(path, signature, outcome);
                    }
                }
                Err(e) => {
                    for (path, _) in &files {
                        tracing::error!(file = %path.display(), error = %e, "ingest unavailable");
                    }
                }
            }
            act.dispatch(ctx);
        }));
    }

    /// Takes the next batch off the ready queue, in order, within the batch limits.
    fn next_batch(&mut self) -> Vec<IngestFile> {
        let mut batch = Vec::new();
        let mut bytes = 0u64;
        while let Some((_, signature)) = self.ready.front() {
            let full = batch.len() >= MAX_BATCH_FILES
                || bytes.saturating_add(signature.len) > MAX_BATCH_BYTES;
            if full && !batch.is_empty() {
                break;
            }
            let Some((path, signature)) = self.ready.pop_front() else {
                break;
            };
            bytes = bytes.saturating_add(signature.len);
            self.queued.remove(&path);
            self.in_flight.insert(path.clone());
            batch.push(IngestFile {
                path,
                ready: signature,
            });
        }
        batch
    }

    /// Records what the ingest did with one file.
    fn ingested(&mut self, path: PathBuf, signature: FileSignature, outcome: IngestOutcome) {
        match outcome {
            outcome if outcome.wants_retry() => {
                self.pending.insert(
                    path,
                    Pending {
                        signature,
                        stable_since: Instant::now(),
                        renamed: false,
                        not_before: Some(Instant::now() + NOT_READY_RETRY),
                    },
                );
            }
            // Not marked handled: the next rescan offers it again (a full dead-letter
            // volume may have room by then; a vanished file may come back).
            IngestOutcome::Vanished | IngestOutcome::DeadLetterFailed => {
                self.finish_startup(&path);
            }
            _ => {
                self.handled.insert(path.clone(), signature);
                self.finish_startup(&path);
            }
        }
    }

    fn finish_startup(&mut self, path: &Path) {
        if self.startup_left.remove(path) && self.startup_left.is_empty() {
            tracing::info!(
                files_found = self.startup_found,
                files_processed = self.startup_found,
                "startup_scan_complete"
            );
        }
    }

    fn start_notify(&mut self, ctx: &mut Context<Self>) {
        let (tx, rx) = tokio::sync::mpsc::channel::<WatchEvent>(NOTIFY_CHANNEL_CAPACITY);
        let handler = move |res: notify::Result<notify::Event>| match res {
            Ok(event) => {
                let renamed = matches!(
                    event.kind,
                    EventKind::Modify(notify::event::ModifyKind::Name(_))
                );
                if matches!(event.kind, EventKind::Remove(_) | EventKind::Access(_)) {
                    return;
                }
                for path in event.paths {
                    // Fails only when the actor is gone (shutdown): nothing to do.
                    let _ = tx.blocking_send(WatchEvent { path, renamed });
                }
            }
            Err(e) => tracing::warn!(error = %e, "file watch error; the rescan covers it"),
        };
        match notify::recommended_watcher(handler) {
            Ok(mut w) => match w.watch(&self.settings.dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    self.notify = Some(w);
                    ctx.add_stream(futures_util::stream::unfold(rx, |mut rx| async move {
                        rx.recv().await.map(|e| (e, rx))
                    }));
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot watch the directory; relying on the rescan")
                }
            },
            Err(e) => tracing::error!(error = %e, "file events unavailable; relying on the rescan"),
        }
    }
}

impl Actor for WatcherActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
        if self.settings.mode == WatchMode::Notify {
            self.start_notify(ctx);
        }
        let found = self.scan();
        self.startup_found = found.len();
        self.startup_left = found.into_iter().collect();
        tracing::info!(
            dir = %self.settings.dir.display(),
            files_found = self.startup_found,
            mode = ?self.settings.mode,
            "startup_scan_started"
        );
        if self.startup_found == 0 {
            tracing::info!(
                files_found = 0,
                files_processed = 0,
                "startup_scan_complete"
            );
        }
        let rescan = match self.settings.mode {
            WatchMode::Notify => self.settings.rescan_interval,
            WatchMode::Poll => self.settings.poll_interval,
        };
        ctx.run_interval(rescan, |act, ctx| {
            act.scan();
            act.check_ready(ctx);
        });
        let check = (self.settings.settle / 2).max(MIN_CHECK_INTERVAL);
        ctx.run_interval(check, |act, ctx| act.check_ready(ctx));
    }
}

impl StreamHandler<WatchEvent> for WatcherActor {
    fn handle(&mut self, event: WatchEvent, ctx: &mut Self::Context) {
        self.observe(event.path, event.renamed);
        if event.renamed {
            self.check_ready(ctx);
        }
    }

    fn finished(&mut self, _: &mut Self::Context) {
        // The stream ends only when the notify watcher was dropped (shutdown); the
        // default would stop the actor.
    }
}

impl Handler<StopWatching> for WatcherActor {
    type Result = ();

    fn handle(&mut self, _: StopWatching, ctx: &mut Self::Context) {
        self.stopped = true;
        self.notify = None;
        self.pending.clear();
        self.ready.clear();
        self.queued.clear();
        tracing::info!("watcher stopped");
        ctx.stop();
    }
}

/// True for a name the watcher may ingest: directly in `dir`, ending in `.json`,
/// neither hidden nor an editor or temp name.
pub fn is_candidate(dir: &Path, path: &Path) -> bool {
    if path.parent() != Some(dir) {
        return false;
    }
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    name.ends_with(".json")
        && name.len() > ".json".len()
        && !name.starts_with('.')
        && !name.starts_with('~')
        && !name.starts_with('#')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_json_names_directly_in_the_dir() {
        let dir = Path::new("/data/in");
        let ok = |n: &str| is_candidate(dir, &dir.join(n));
        assert!(ok("wzo_14.02.2026_x.json"));
        assert!(ok("events.json"));
        assert!(!ok("x.json.tmp"));
        assert!(!ok("x.json.part"));
        assert!(!ok("x.json~"));
        assert!(!ok(".x.json"));
        assert!(!ok("~x.json"));
        assert!(!ok("#x.json#"));
        assert!(!ok("x.JSON"));
        assert!(!ok(".json"));
        assert!(!ok("notes.txt"));
        assert!(!is_candidate(dir, Path::new("/data/in/sub/x.json")));
    }
}
