//! The real binary: `event-dedup run` killed with SIGKILL in the middle of a burst,
//! restarted, and stopped with SIGTERM; its stdout must be bunyan JSON only.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{events_in, files_in, wait_until, TestEnv, TIMEOUT};

fn start_service(env: &TestEnv, stdout: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_event-dedup"))
        .arg("run")
        .env("EVENT_DEDUP_DATABASE_URL", &env.database_url)
        .env("EVENT_DEDUP_EVENT_DATA_DIR", env.dir())
        .env("EVENT_DEDUP_DEAD_LETTER_DIR", env.dead())
        .env("EVENT_DEDUP_FILE_SETTLE_MS", "100")
        .env("EVENT_DEDUP_HTTP_ADDR", "127.0.0.1:0")
        .env("EVENT_DEDUP_LOG_LEVEL", "INFO")
        .env("EVENT_DEDUP_LOG_JSON", "true")
        .env(
            "EVENT_DEDUP_MATCHING_CONFIG_PATH",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("config/matching.toml"),
        )
        .stdin(Stdio::null())
        .stdout(File::create(stdout).unwrap())
        .stderr(File::create(stdout.with_extension("stderr")).unwrap())
        .spawn()
        .expect("service binary starts")
}

/// Waits for the child to exit (polling, bounded).
async fn wait_exit(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            start.elapsed() < timeout,
            "service did not exit in {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn generated_files(n: usize, events: usize, dir: &Path) -> Vec<PathBuf> {
    event_dedup::generate::generate(
        &event_dedup::generate::GenerateOptions {
            events,
            seed: 11,
            density: 1.0,
            hard: false,
            start: chrono::NaiveDate::from_ymd_opt(2026, 1, 19).unwrap(),
            pretty: false,
        },
        dir,
    )
    .unwrap();
    let mut files = files_in(&dir.join("events"));
    assert!(files.len() >= n, "generator wrote {} files", files.len());
    files.truncate(n);
    files
}

/// Every line is a bunyan record: JSON with the core fields.
fn assert_bunyan_lines(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let mut n = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
        for key in ["v", "level", "name", "hostname", "pid", "time", "msg"] {
            assert!(v.get(key).is_some(), "missing {key} in {line}");
        }
        assert!(v["level"].is_number());
        if v["msg"] == "file_processed" {
            for key in ["file", "file_hash", "status", "events_ingested"] {
                assert!(v.get(key).is_some(), "missing {key} in {line}");
            }
            assert!(v["file"].as_str().unwrap().ends_with(".json"));
        }
        n += 1;
    }
    n
}

/// A run is reported when it commits: the `run_completed` record of every run that
/// built the state for the next one comes before that build's `match_state_built`
/// (same `run_id`), not after it. Returns how many such runs the log holds.
fn assert_runs_reported_before_their_state_build(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let is = |r: &serde_json::Value, msg: &str| r["msg"].as_str().is_some_and(|m| m.ends_with(msg));
    let mut builds = 0;
    for (at, built) in records.iter().enumerate() {
        let Some(run_id) = built["run_id"]
            .as_str()
            .filter(|_| is(built, "match_state_built"))
        else {
            continue;
        };
        let reported = records
            .iter()
            .position(|r| is(r, "run_completed") && r["run_id"] == run_id)
            .unwrap_or_else(|| panic!("run {run_id} built a state but was not reported"));
        assert!(reported < at, "run {run_id} reported after its state build");
        builds += 1;
    }
    builds
}

/// Longest wait for `npm install bunyan`.
const NPM_TIMEOUT: Duration = Duration::from_secs(120);

/// Pipes the log through the real `bunyan` CLI in strict mode (rejects any non-JSON
/// line) when npm can install it; returns false when it could not be fetched.
fn check_with_bunyan_cli(logs: &[&Path]) -> bool {
    let prefix = tempfile::tempdir().unwrap();
    // Bounded: an offline machine must not stall the suite on npm's retries.
    let installed = Command::new("npm")
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--silent",
            "--fetch-retries=1",
            "--fetch-timeout=20000",
            "--prefix",
        ])
        .arg(prefix.path())
        .arg("bunyan@1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
        .and_then(|mut child| {
            let start = Instant::now();
            loop {
                match child.try_wait() {
                    Ok(Some(status)) => return Some(status.success()),
                    Ok(None) if start.elapsed() < NPM_TIMEOUT => {
                        std::thread::sleep(Duration::from_millis(100))
                    }
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        return None;
                    }
                }
            }
        })
        .unwrap_or(false);
    let cli = prefix.path().join("node_modules/.bin/bunyan");
    if !installed || !cli.exists() {
        eprintln!("bunyan CLI unavailable (npm install failed): JSON check only");
        return false;
    }
    for log in logs {
        let out = Command::new(&cli)
            .args(["--strict", "-o", "json-0"])
            .arg(log)
            .output()
            .expect("bunyan runs");
        assert!(out.status.success(), "bunyan rejected {}", log.display());
        let records = String::from_utf8_lossy(&out.stdout).lines().count();
        let lines = std::fs::read_to_string(log).unwrap().lines().count();
        assert_eq!(
            records,
            lines,
            "bunyan --strict kept every line of {}",
            log.display()
        );
    }
    true
}

#[actix_rt::test]
async fn the_binary_recovers_from_sigkill_mid_burst_and_logs_bunyan_json() {
    let env = TestEnv::new().await;
    let staging = tempfile::tempdir().unwrap();
    let files = generated_files(60, 1400, staging.path());
    let expected: i64 = files.iter().map(|f| events_in(f) as i64).sum();
    let logs = tempfile::tempdir().unwrap();
    let log1 = logs.path().join("first.log");
    let log2 = logs.path().join("second.log");

    let mut first = start_service(&env, &log1);
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        std::fs::copy(f, env.dir().join(name)).unwrap();
    }
    wait_until("some files ingested", TIMEOUT, || async {
        env.count("SELECT count(*) FROM file_ingestions").await >= 10
    })
    .await;
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let at_kill = env.count("SELECT count(*) FROM file_ingestions").await;

    let mut second = start_service(&env, &log2);
    wait_until(
        "every file ingested and matched after the restart",
        TIMEOUT * 2,
        || async {
            env.count("SELECT count(*) FROM file_ingestions WHERE status = 'completed'")
                .await
                == files.len() as i64
                && env
                    .count("SELECT count(*) FROM canonical_event_sources")
                    .await
                    == expected
        },
    )
    .await;
    // SIGTERM: graceful drain, exit code 0.
    // SAFETY: plain kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(second.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let status = wait_exit(&mut second, TIMEOUT).await;
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );

    println!(
        "sigkill: {} of {} files ingested at the kill, {expected} events",
        at_kill,
        files.len()
    );
    // Exactly once per file, and a consistent canonical state.
    assert_eq!(
        env.count("SELECT count(*) FROM file_ingestions").await,
        files.len() as i64
    );
    assert_eq!(
        env.count("SELECT count(DISTINCT filename) FROM file_ingestions")
            .await,
        files.len() as i64
    );
    assert_eq!(
        env.count("SELECT count(*) FROM source_events").await,
        expected
    );
    assert_eq!(
        env.count("SELECT count(DISTINCT source_event_id) FROM canonical_event_sources")
            .await,
        expected
    );
    assert_eq!(
        env.count(
            "SELECT count(*) FROM canonical_events c WHERE NOT EXISTS
             (SELECT 1 FROM canonical_event_sources s WHERE s.canonical_event_id = c.id)"
        )
        .await,
        0
    );
    assert!(files_in(env.dead()).is_empty());

    // stdout holds bunyan records and nothing else.
    assert!(assert_bunyan_lines(&log1) > 0);
    assert!(assert_bunyan_lines(&log2) > 0);
    assert!(assert_runs_reported_before_their_state_build(&log2) > 0);
    let stdout2 = std::fs::read_to_string(&log2).unwrap();
    assert!(stdout2.contains("\"msg\":\"worker_shutdown\""));
    check_with_bunyan_cli(&[&log1, &log2]);
}

#[actix_rt::test]
async fn a_bad_setting_stops_start_up_naming_the_variable() {
    let out = Command::new(env!("CARGO_BIN_EXE_event-dedup"))
        .arg("run")
        .env("EVENT_DEDUP_DB_POOL_SIZE", "zero")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("EVENT_DEDUP_DB_POOL_SIZE"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing but log records on stdout");
}

#[actix_rt::test]
async fn migrate_applies_the_schema_to_an_empty_database_and_exits() {
    use event_dedup::store::test_support::{cluster_url, with_database};
    let admin = tokio::task::spawn_blocking(cluster_url)
        .await
        .unwrap()
        .expect("test cluster");
    let name = format!("migrate_{}", uuid::Uuid::new_v4().simple());
    let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .unwrap();
    let driver = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    drop(client);
    let _ = driver.await;
    let url = with_database(&admin, &name);

    let out = Command::new(env!("CARGO_BIN_EXE_event-dedup"))
        .arg("migrate")
        .env("EVENT_DEDUP_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pool = event_dedup::store::build_pool(&url, 1).unwrap();
    let client = pool.get().await.unwrap();
    let n: i64 = client
        .query_one("SELECT count(*) FROM processing_runs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}

/// An event file whose two listings make scoring panic (the `test-hooks` poison
/// title), on a rayon worker thread of the matching pool.
fn poisoned_file() -> Vec<u8> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/worked_example/wzo_14.02.2026_2026-02-14T07-12-05-331Z.json"),
    )
    .unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let events = doc["events"].as_array_mut().unwrap();
    events.truncate(1);
    let mut twin = events[0].clone();
    twin["id"] = "pdf-0badf00d-1-1".into();
    events[0]["id"] = "pdf-0badf00d-1-0".into();
    events.push(twin);
    for e in events.iter_mut() {
        e["title"] = event_dedup::telemetry::POISON_TITLE.into();
    }
    serde_json::to_vec(&doc).unwrap()
}

#[actix_rt::test]
async fn a_panic_while_scoring_is_a_failed_run_and_the_binary_keeps_running() {
    let env = TestEnv::new().await;
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("service.log");
    let mut service = start_service(&env, &log);
    let failed_runs = || async {
        env.count(
            "SELECT count(*) FROM processing_runs
             WHERE status = 'failed' AND error LIKE 'matching pipeline panicked%'",
        )
        .await
    };
    std::fs::write(
        env.dir()
            .join("tst_14.02.2026_2026-02-14T07-00-00-000Z.json"),
        poisoned_file(),
    )
    .unwrap();
    wait_until("the poisoned run recorded as failed", TIMEOUT, || async {
        failed_runs().await == 1
    })
    .await;
    assert!(
        service.try_wait().unwrap().is_none(),
        "the service survives the panic"
    );

    // It keeps working: the next file is ingested and matched (the poisoned listings
    // are still stored, so that run fails the same way, and is recorded too).
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/worked_example/bzk_15.02.2026_2026-02-15T06-40-11-002Z.json");
    std::fs::copy(&fixture, env.dir().join(fixture.file_name().unwrap())).unwrap();
    wait_until(
        "the next file ingested and its run recorded",
        TIMEOUT,
        || async {
            env.count("SELECT count(*) FROM file_ingestions WHERE status = 'completed'")
                .await
                == 2
                && failed_runs().await == 2
        },
    )
    .await;
    assert!(service.try_wait().unwrap().is_none());
    assert_eq!(
        env.count("SELECT count(*) FROM processing_runs WHERE status <> 'failed'")
            .await,
        0
    );

    // SAFETY: plain kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(service.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let status = wait_exit(&mut service, TIMEOUT).await;
    assert!(
        status.success(),
        "graceful exit after the panics: {status:?}"
    );
    let stdout = std::fs::read_to_string(&log).unwrap();
    let panics: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["msg"] == "panic")
        .collect();
    assert!(!panics.is_empty(), "the panic is logged");
    for p in &panics {
        assert_eq!(p["contained"], true, "{p}");
        assert_eq!(p["panic.payload"], "test hook: scoring a poisoned event");
    }
}
