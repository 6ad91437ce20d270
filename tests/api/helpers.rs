//! `spawn_app()`: each test gets its own migrated database (filled from fixture files
//! and one persisted pipeline run), its own HTTP server on `127.0.0.1:0`, and a
//! counter of `rematch()` calls.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use deadpool_postgres::Pool;
use event_dedup::api::ApiState;
use event_dedup::ingest::parse_event_file;
use event_dedup::matching::{run, MatchingConfig};
use event_dedup::metrics::Metrics;
use event_dedup::model::Trigger;
use event_dedup::preprocess::{derive, WordLists};
use event_dedup::store::{self, test_support::fresh_database, RunInfo};
use event_dedup::tiebreak::EncryptionKey;
use serde_json::{json, Value};

pub const TOKEN: &str = "test-token-alice";
pub const OPERATOR: &str = "alice";

pub fn lists() -> &'static WordLists {
    static LISTS: OnceLock<WordLists> = OnceLock::new();
    LISTS.get_or_init(WordLists::bundled)
}

pub fn fixture_dir(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

pub struct TestApp {
    pub address: String,
    /// The test database, for commands run as a separate process.
    pub database_url: String,
    pub pool: Pool,
    pub client: reqwest::Client,
    pub rematches: Arc<AtomicUsize>,
    /// Keeps the (absent) config file's directory alive.
    pub _config_dir: tempfile::TempDir,
    /// The matching config of [`TestApp::rerun`].
    pub config: MatchingConfig,
    /// This server's own metrics registry (not the process's), so a test can assert
    /// exact values.
    pub metrics: Arc<Metrics>,
}

/// The worked example (two files, nine events), matched and persisted.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&fixture_dir("worked_example")).await
}

/// Every JSON file of `dir`, ingested, matched and persisted.
pub async fn spawn_app_with(dir: &Path) -> TestApp {
    spawn_app_configured(dir, vec![(OPERATOR.to_string(), TOKEN.to_string())]).await
}

/// As [`spawn_app_with`], with the given API tokens (empty = loopback-only writes).
pub async fn spawn_app_configured(dir: &Path, tokens: Vec<(String, String)>) -> TestApp {
    spawn_app_full(dir, tokens, None, MatchingConfig::default()).await
}

/// The worked example matched with another config (e.g. the spec's weighted sum).
pub async fn spawn_app_matching(config: MatchingConfig) -> TestApp {
    spawn_app_full(
        &fixture_dir("worked_example"),
        vec![(OPERATOR.to_string(), TOKEN.to_string())],
        None,
        config,
    )
    .await
}

/// The worked example, with an `EVENT_DEDUP_ENCRYPTION_KEY` for stored API keys.
pub async fn spawn_app_encrypted(key: EncryptionKey) -> TestApp {
    spawn_app_full(
        &fixture_dir("worked_example"),
        vec![(OPERATOR.to_string(), TOKEN.to_string())],
        Some(key),
        MatchingConfig::default(),
    )
    .await
}

async fn spawn_app_full(
    dir: &Path,
    tokens: Vec<(String, String)>,
    encryption_key: Option<EncryptionKey>,
    config: MatchingConfig,
) -> TestApp {
    let (pool, database_url) = fresh_database().await.expect("test database");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixture dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("file name");
        let bytes = std::fs::read(path).expect("fixture readable");
        let parsed = parse_event_file(name, &bytes).expect("fixture parses");
        let derived: Vec<_> = parsed.events.iter().map(|e| derive(e, lists())).collect();
        store::ingest_file(&pool, &parsed, &derived)
            .await
            .expect("fixture stored");
    }
    let config_dir = tempfile::tempdir().expect("temp dir");
    let rematches = Arc::new(AtomicUsize::new(0));
    let counter = rematches.clone();
    let rematch = Arc::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let metrics = Arc::new(Metrics::new());
    let state = ApiState {
        tokens,
        encryption_key,
        metrics: metrics.clone(),
        ..ApiState::new(
            pool.clone(),
            rematch,
            config_dir.path().join("matching.toml"),
            Arc::new(lists().clone()),
        )
    };
    let app = TestApp {
        address: String::new(),
        database_url,
        pool,
        client: reqwest::Client::new(),
        rematches,
        _config_dir: config_dir,
        config,
        metrics,
    };
    app.rerun().await;

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    // The production server (body deadline, timeouts), one worker per test.
    let server = event_dedup::api::server::run_with_workers(listener, state, 1).expect("listen");
    tokio::spawn(server);
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        ..app
    }
}

impl TestApp {
    /// One pipeline run over the stored events with the stored constraints and the
    /// default config, persisted like the service would.
    pub async fn rerun(&self) {
        let mut client = self.pool.get().await.expect("connection");
        let events = store::load_all_events(&**client).await.expect("events");
        let constraints = store::load_constraints(&**client)
            .await
            .expect("constraints");
        let result = run(events, &self.config, lists(), &constraints);
        store::persist_run(&mut client, &result, &RunInfo::new(Trigger::Batch, 2))
            .await
            .expect("run persisted");
    }

    /// A single `count(*)`-style query.
    pub async fn count(&self, sql: &str) -> i64 {
        let client = self.pool.get().await.expect("connection");
        client
            .query_one(sql, &[])
            .await
            .expect("count query")
            .get(0)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status().as_u16(), 200, "GET {path}");
        r.json().await.expect("JSON body")
    }

    /// POST with the valid bearer token.
    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// PATCH with the valid bearer token.
    pub async fn patch(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub fn rematch_count(&self) -> usize {
        self.rematches.load(Ordering::SeqCst)
    }

    /// Every canonical summary (one page of up to 10000).
    pub async fn canonicals(&self) -> Vec<Value> {
        let page = self.get_json("/api/canonical-events?size=10000").await;
        page["items"].as_array().expect("items").clone()
    }

    /// Sorted member ids of the canonical holding `source_id`.
    pub async fn members_with(&self, source_id: &str) -> Vec<String> {
        let client = self.pool.get().await.expect("connection");
        let rows = client
            .query(
                "SELECT m2.source_event_id FROM canonical_event_sources m1
                 JOIN canonical_event_sources m2 ON m2.canonical_event_id = m1.canonical_event_id
                 WHERE m1.source_event_id = $1 ORDER BY m2.source_event_id",
                &[&source_id],
            )
            .await
            .expect("query");
        rows.iter().map(|r| r.get(0)).collect()
    }

    pub async fn canonical_of(&self, source_id: &str) -> i32 {
        let client = self.pool.get().await.expect("connection");
        client
            .query_one(
                "SELECT canonical_event_id FROM canonical_event_sources WHERE source_event_id = $1",
                &[&source_id],
            )
            .await
            .expect("linked")
            .get(0)
    }
}

/// Asserts a JSON error body `{"detail": ...}` with the status.
pub async fn assert_error(r: reqwest::Response, status: u16) -> Value {
    assert_eq!(r.status().as_u16(), status);
    let body: Value = r.json().await.expect("JSON error body");
    assert!(body.get("detail").is_some(), "{body}");
    body
}

/// A canonical with at least two members and its member ids.
pub async fn multi_member(app: &TestApp) -> (i64, Vec<String>) {
    for c in app.canonicals().await {
        if c["source_count"].as_i64().unwrap_or(0) >= 2 {
            let id = c["id"].as_i64().expect("id");
            let detail = app.get_json(&format!("/api/canonical-events/{id}")).await;
            let members = detail["sources"]
                .as_array()
                .expect("sources")
                .iter()
                .map(|s| s["id"].as_str().expect("source id").to_string())
                .collect();
            return (id, members);
        }
    }
    panic!("the worked example has a multi-member canonical");
}

/// Two single-member canonicals from different, unrelated events.
pub async fn two_singles(app: &TestApp) -> (i64, i64, String, String) {
    let singles: Vec<i64> = app
        .canonicals()
        .await
        .into_iter()
        .filter(|c| c["source_count"] == json!(1))
        .map(|c| c["id"].as_i64().expect("id"))
        .collect();
    assert!(singles.len() >= 2);
    let member = |id: i64| async move {
        let d = app.get_json(&format!("/api/canonical-events/{id}")).await;
        d["sources"][0]["id"].as_str().expect("id").to_string()
    };
    let (a, b) = (singles[0], singles[1]);
    (a, b, member(a).await, member(b).await)
}
