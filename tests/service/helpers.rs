//! `spawn_app()` for the service tests (zero-to-production's `tests/api/helpers.rs`):
//! each test gets its own migrated database, watched directory and dead-letter
//! directory, and the whole service started in-process with `App::build`.
//!
//! No fixed sleeps: [`wait_until`] polls a condition until a timeout.

#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use deadpool_postgres::Pool;
use event_dedup::actors::stats::StatsSnapshot;
use event_dedup::actors::Shutdown;
use event_dedup::settings::Settings;
use event_dedup::startup::App;
use event_dedup::store::test_support::fresh_database;
use tempfile::TempDir;

/// Settle time used by the tests: short, so files are picked up quickly.
pub const TEST_SETTLE_MS: u64 = 100;
/// Generous upper bound for anything asynchronous in these tests (a loaded 2-core CI).
pub const TIMEOUT: Duration = Duration::from_secs(90);

/// Logs to stdout when `TEST_LOG` is set (z2p), else nowhere.
fn init_logging() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let subscriber =
                event_dedup::telemetry::get_subscriber("test", "info", std::io::stdout);
            event_dedup::telemetry::init_subscriber(subscriber);
        }
    });
}

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// The directories and database a test app runs on; kept across restarts.
pub struct TestEnv {
    pub pool: Pool,
    pub database_url: String,
    pub data_dir: TempDir,
    pub dead_dir: TempDir,
}

impl TestEnv {
    pub async fn new() -> TestEnv {
        init_logging();
        let (pool, database_url) = fresh_database().await.expect("test database");
        TestEnv {
            pool,
            database_url,
            data_dir: tempfile::tempdir().expect("temp dir"),
            dead_dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn settings(&self, extra: &[(&str, &str)]) -> Settings {
        let mut vars: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), self.database_url.clone()),
            (
                "EVENT_DATA_DIR".into(),
                self.data_dir.path().display().to_string(),
            ),
            (
                "DEAD_LETTER_DIR".into(),
                self.dead_dir.path().display().to_string(),
            ),
            ("FILE_SETTLE_MS".into(), TEST_SETTLE_MS.to_string()),
            ("DB_POOL_SIZE".into(), "4".into()),
            ("HTTP_ADDR".into(), "127.0.0.1:0".into()),
            (
                "MATCHING_CONFIG_PATH".into(),
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("config/matching.toml")
                    .display()
                    .to_string(),
            ),
        ];
        for (k, v) in extra {
            vars.retain(|(name, _)| name != k);
            vars.push((k.to_string(), v.to_string()));
        }
        Settings::from_vars(
            vars.into_iter()
                .map(|(k, v)| (format!("EVENT_DEDUP_{k}"), v)),
        )
        .expect("test settings")
    }

    pub fn dir(&self) -> &Path {
        self.data_dir.path()
    }

    pub fn dead(&self) -> &Path {
        self.dead_dir.path()
    }

    /// Starts the service on this environment.
    pub async fn spawn(&self) -> TestApp {
        self.spawn_with(&[]).await
    }

    pub async fn spawn_with(&self, extra: &[(&str, &str)]) -> TestApp {
        let app = App::build(self.settings(extra)).await.expect("app builds");
        let shutdown = app.shutdown_handle();
        let stats = app.stats();
        let port = app.port();
        let handle = actix_rt::spawn(app.run_until_stopped());
        TestApp {
            port,
            shutdown,
            stats,
            handle: Some(handle),
        }
    }

    /// Copies a file into the watched directory under `name`.
    pub fn drop_copy(&self, src: &Path, name: &str) {
        std::fs::copy(src, self.dir().join(name)).expect("copy into the watched dir");
    }

    pub fn drop_bytes(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.dir().join(name), bytes).expect("write into the watched dir");
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let client = self.pool.get().await.expect("connection");
        client
            .query_one(sql, &[])
            .await
            .expect("count query")
            .get(0)
    }

    /// `files` files are completed, and a completed run started after each of them.
    pub async fn all_matched(&self, files: usize) -> bool {
        self.count("SELECT count(*) FROM file_ingestions WHERE status = 'completed'")
            .await
            == files as i64
            && self
                .count(
                    "SELECT count(*) FROM file_ingestions f
                     WHERE f.status = 'completed'
                       AND f.ingested_at > COALESCE(
                           (SELECT max(started_at) FROM processing_runs
                            WHERE status = 'completed'),
                           '-infinity'::timestamptz)",
                )
                .await
                == 0
    }

    /// Completed processing runs.
    pub async fn runs(&self) -> i64 {
        self.count("SELECT count(*) FROM processing_runs WHERE status = 'completed'")
            .await
    }
}

/// A running service.
pub struct TestApp {
    /// The HTTP port (bound to 127.0.0.1:0).
    pub port: u16,
    shutdown: Shutdown,
    pub stats: actix::Addr<event_dedup::actors::stats::StatsActor>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn stats(&self) -> StatsSnapshot {
        self.stats
            .send(event_dedup::actors::stats::GetStats)
            .await
            .expect("stats actor")
    }

    /// Graceful stop, as on SIGTERM; returns once drained.
    pub async fn stop(mut self) {
        self.shutdown.trigger();
        if let Some(h) = self.handle.take() {
            h.await.expect("app task").expect("clean shutdown");
        }
    }
}

/// Polls `condition` every 50 ms until it holds; panics after `timeout` with `what`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if condition().await {
            return;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Number of events in an event file (parsed the way the service does).
pub fn events_in(path: &Path) -> usize {
    let bytes = std::fs::read(path).expect("fixture");
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    event_dedup::ingest::parse_event_file(&name, &bytes)
        .expect("valid fixture")
        .events
        .len()
}

/// The finished dead letters in `dir`: hidden names are dead letters still being
/// written (temporary names, renamed once durable).
pub fn dead_letters_in(dir: &Path) -> Vec<PathBuf> {
    let mut v = files_in(dir);
    v.retain(|p| {
        !p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
    });
    v
}

pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// A TCP proxy in front of the test database that can cut every connection and
/// refuse new ones, to simulate a database outage without stopping the shared cluster.
pub struct DbProxy {
    pub url: String,
    enabled: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Bumped on disable: open tunnels watch it and close.
    epoch: tokio::sync::watch::Sender<u64>,
    /// Connections refused while disabled.
    pub refused: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl DbProxy {
    pub async fn start(database_url: &str) -> DbProxy {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::Arc;
        let config: tokio_postgres::Config = database_url.parse().expect("database url");
        let upstream_port = config.get_ports()[0];
        let upstream = format!("127.0.0.1:{upstream_port}");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = database_url.replacen(
            &format!("127.0.0.1:{upstream_port}"),
            &format!("127.0.0.1:{port}"),
            1,
        );
        assert_ne!(url, database_url, "test database URL is on 127.0.0.1");
        let enabled = Arc::new(AtomicBool::new(true));
        let refused = Arc::new(AtomicUsize::new(0));
        let (epoch, _) = tokio::sync::watch::channel(0u64);
        let (en, rf, ep) = (enabled.clone(), refused.clone(), epoch.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !en.load(Ordering::SeqCst) {
                    rf.fetch_add(1, Ordering::SeqCst);
                    drop(inbound);
                    continue;
                }
                let upstream = upstream.clone();
                let mut cut = ep.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        DbProxy {
            url,
            enabled,
            epoch,
            refused,
        }
    }

    /// Cuts open connections and refuses new ones.
    pub fn disable(&self) {
        self.enabled
            .store(false, std::sync::atomic::Ordering::SeqCst);
        self.epoch.send_modify(|e| *e += 1);
    }

    pub fn enable(&self) {
        self.enabled
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn refused(&self) -> usize {
        self.refused.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A minimal HTTP/1.1 GET (no client crate needed for one route): status and body.
pub async fn http_get(port: u16, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to the service");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
