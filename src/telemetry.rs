//! Logging setup.
//!
//! The service writes bunyan JSON records on stdout (one per line, stable field names,
//! span fields copied into every record by `JsonStorageLayer`) because a log aggregator
//! ingests them. Offline commands keep stdout for their output and log human-readable
//! lines to stderr instead.

use tracing::subscriber::set_global_default;
use tracing::Subscriber;
use tracing_bunyan_formatter::{BunyanFormattingLayer, JsonStorageLayer};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Registry};

/// A bunyan JSON subscriber writing to `sink` (z2p's `get_subscriber` shape).
pub fn get_subscriber<Sink>(
    name: &str,
    default_filter: &str,
    sink: Sink,
) -> impl Subscriber + Send + Sync
where
    Sink: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(default_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    Registry::default()
        .with(filter)
        .with(JsonStorageLayer)
        .with(BunyanFormattingLayer::new(name.to_string(), sink))
}

/// Installs `subscriber` as the global default; a second call is ignored (tests).
pub fn init_subscriber(subscriber: impl Subscriber + Send + Sync) {
    let _ = set_global_default(subscriber);
}

/// Human-readable logs on stderr for the offline commands.
pub fn init_cli_logging(level: &str) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

thread_local! {
    /// True while this thread runs code whose panics are caught and turned into an
    /// error record (the matching pipeline inside `spawn_blocking`).
    static PANIC_CONTAINED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Exit code after an uncontained panic (the container's restart policy takes over).
pub const PANIC_EXIT_CODE: i32 = 70;

/// Runs `f` with panics marked as contained: the panic hook installed by
/// [`install_panic_hook`] logs them but does not end the process, so the caller (a
/// `spawn_blocking` task) sees a `JoinError` and records a failed run.
pub fn run_contained<T>(f: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            let previous = self.0;
            PANIC_CONTAINED.with(|c| c.set(previous));
        }
    }
    let _reset = Reset(PANIC_CONTAINED.with(|c| c.replace(true)));
    f()
}

/// The rayon pool the service's matching pipeline runs on. Every worker counts as
/// contained (its start handler sets the flag for the thread's life), because the
/// flag is thread-local and scoring fans out over rayon's threads: a panic there
/// would otherwise end the process. Built once, on first use; `Err` when the
/// threads cannot be started.
fn contained_pool() -> Result<&'static rayon::ThreadPool, String> {
    static POOL: std::sync::OnceLock<Result<rayon::ThreadPool, String>> =
        std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("matching-{i}"))
            .start_handler(|_| PANIC_CONTAINED.with(|c| c.set(true)))
            .build()
            .map_err(|e| format!("cannot start the matching threads: {e}"))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Runs the pure pipeline `f` contained on every thread: on this one (see
/// [`run_contained`]) and on the workers of the matching pool, where its parallel
/// stages run. A panic anywhere is logged by the hook and unwinds back to the caller
/// (rayon re-raises a worker's panic in the thread that waits for it), so a
/// `spawn_blocking` caller sees a `JoinError` and records a failed run.
pub fn run_contained_parallel<T: Send>(f: impl FnOnce() -> T + Send) -> Result<T, String> {
    let pool = contained_pool()?;
    Ok(run_contained(|| pool.install(f)))
}

/// Title of an event that makes scoring panic, in builds with the `test-hooks`
/// feature only (the test suite's; never a release build), so a test can show that a
/// panic on a scoring thread becomes a failed run and the service keeps running.
#[cfg(feature = "test-hooks")]
pub const POISON_TITLE: &str = "event-dedup test hook: panic while scoring";

/// Called for every scored pair (`score_prepared`, full and incremental runs); does nothing unless the
/// `test-hooks` feature is on and one of the titles is [`POISON_TITLE`].
#[inline(always)]
pub fn scoring_test_hook(_title_a: &str, _title_b: &str) {
    #[cfg(feature = "test-hooks")]
    if _title_a == POISON_TITLE || _title_b == POISON_TITLE {
        panic!("test hook: scoring a poisoned event");
    }
}

/// Installs the service's panic hook: every panic is logged as one error record;
/// one outside [`run_contained`] then ends the process with [`PANIC_EXIT_CODE`].
///
/// Why: actix's `Supervisor` does not catch panics (actix/actix#158), so a panicking
/// actor would leave a half-dead system. Exiting lets the container restart, and the
/// content-hash check makes re-processing the files in flight idempotent.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_string());
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let contained = PANIC_CONTAINED.with(|c| c.get());
        tracing::error!(panic.payload = %payload, panic.location = %location, contained, "panic");
        if !contained {
            std::process::exit(PANIC_EXIT_CODE);
        }
    }));
}

/// A `MakeWriter` for the bunyan layer that renames the source-location key `file`
/// (the Rust source file of the log call, e.g. `src/startup.rs`) to `src_file`.
///
/// Why: the service's records carry `file` = the event file's name (a stable field the
/// log aggregator indexes on, storage-and-api §3), and the bunyan layer would emit a
/// second, different `file` key in the same record. The layer always writes the
/// source location right after the core fields (`…,"target":…,"line":…,"file":…`), and
/// inside JSON strings quotes are escaped, so the first raw `,"file":` of a record is
/// always that key. Each record arrives in one `write` (the layer buffers it).
#[derive(Debug, Clone, Copy)]
pub struct RenameSourceFile<M>(pub M);

/// The writer handed out by [`RenameSourceFile`].
#[derive(Debug)]
pub struct RenameSourceFileWriter<W>(W);

const SOURCE_FILE_KEY: &[u8] = b",\"file\":";
const RENAMED_SOURCE_FILE_KEY: &[u8] = b",\"src_file\":";

impl<W: std::io::Write> std::io::Write for RenameSourceFileWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match buf
            .windows(SOURCE_FILE_KEY.len())
            .position(|w| w == SOURCE_FILE_KEY)
        {
            Some(at) => {
                let mut out = Vec::with_capacity(buf.len() + 4);
                out.extend_from_slice(&buf[..at]);
                out.extend_from_slice(RENAMED_SOURCE_FILE_KEY);
                out.extend_from_slice(&buf[at + SOURCE_FILE_KEY.len()..]);
                self.0.write_all(&out)?;
            }
            None => self.0.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RenameSourceFile<M> {
    type Writer = RenameSourceFileWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RenameSourceFileWriter(self.0.make_writer())
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        RenameSourceFileWriter(self.0.make_writer_for(meta))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn only_the_source_location_key_is_renamed() {
        let mut out = Vec::new();
        let record = br#"{"v":0,"msg":"x \",\"file\": y","target":"t","line":3,"file":"src/a.rs","file":"wzo.json"}"#;
        RenameSourceFileWriter(&mut out).write_all(record).unwrap();
        let text = String::from_utf8(out).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["src_file"], "src/a.rs");
        assert_eq!(v["file"], "wzo.json");
        assert_eq!(v["msg"], "x \",\"file\": y");
    }
}

#[cfg(test)]
mod panic_tests {
    use super::*;

    #[test]
    fn contained_sections_are_marked_and_reset_after_a_panic() {
        assert!(!PANIC_CONTAINED.with(|c| c.get()));
        let inside = run_contained(|| PANIC_CONTAINED.with(|c| c.get()));
        assert!(inside);
        let caught = std::panic::catch_unwind(|| run_contained(|| panic!("boom")));
        assert!(caught.is_err());
        assert!(
            !PANIC_CONTAINED.with(|c| c.get()),
            "flag reset while unwinding"
        );
    }

    #[test]
    fn a_panic_on_a_pool_worker_is_contained_and_reaches_the_caller() {
        use rayon::prelude::*;
        let contained: Vec<bool> = run_contained_parallel(|| {
            (0..64)
                .into_par_iter()
                .map(|_| PANIC_CONTAINED.with(|c| c.get()))
                .collect()
        })
        .unwrap();
        assert!(contained.iter().all(|&c| c), "every worker is contained");
        let caught = std::panic::catch_unwind(|| {
            run_contained_parallel(|| {
                (0..64).into_par_iter().for_each(|i| {
                    if i == 63 {
                        panic!("boom on a worker");
                    }
                })
            })
        });
        let payload = caught.expect_err("the panic reaches the caller");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom on a worker"));
        assert!(!PANIC_CONTAINED.with(|c| c.get()), "caller's flag reset");
    }
}
