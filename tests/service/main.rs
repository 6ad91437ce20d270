//! The running service, end to end: the whole `App` in-process on a real PostgreSQL
//! (one fresh database per test), a temp watched directory and a temp dead-letter
//! directory. Every wait polls a condition with a timeout (`wait_until`).

#[path = "../common/mod.rs"]
mod common;
mod hardening;
mod helpers;
mod incremental;
mod process;

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::time::{Duration, Instant};

use event_dedup::startup::App;
use helpers::{events_in, files_in, fixture, wait_until, TestEnv, TIMEOUT};

const WZO: &str = "worked_example/wzo_14.02.2026_2026-02-14T07-12-05-331Z.json";
const BZK: &str = "worked_example/bzk_15.02.2026_2026-02-15T06-40-11-002Z.json";

/// Both files of the worked example, under their own names.
fn drop_worked_example(env: &TestEnv) {
    env.drop_copy(
        &fixture(WZO),
        "wzo_14.02.2026_2026-02-14T07-12-05-331Z.json",
    );
    env.drop_copy(
        &fixture(BZK),
        "bzk_15.02.2026_2026-02-15T06-40-11-002Z.json",
    );
}

async fn canonical_members(env: &TestEnv) -> HashMap<i32, BTreeSet<String>> {
    let client = env.pool.get().await.unwrap();
    let rows = client
        .query(
            "SELECT canonical_event_id, source_event_id FROM canonical_event_sources",
            &[],
        )
        .await
        .unwrap();
    let mut out: HashMap<i32, BTreeSet<String>> = HashMap::new();
    for r in rows {
        out.entry(r.get(0)).or_default().insert(r.get(1));
    }
    out
}

#[actix_rt::test]
async fn a_dropped_file_becomes_source_and_canonical_events() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    let expected = (events_in(&fixture(WZO)) + events_in(&fixture(BZK))) as i64;
    drop_worked_example(&env);

    wait_until("source events stored and matched", TIMEOUT, || async {
        env.count("SELECT count(*) FROM source_events").await == expected
            && env
                .count("SELECT count(*) FROM canonical_event_sources")
                .await
                == expected
    })
    .await;
    assert!(env.count("SELECT count(*) FROM canonical_events").await > 0);
    assert!(
        env.count("SELECT count(*) FROM canonical_events").await < expected,
        "the worked example holds duplicates across the two sources"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM file_ingestions WHERE status = 'completed'")
            .await,
        2
    );
    // Files stay where they are.
    assert_eq!(files_in(env.dir()).len(), 2);
    // The files are counted in the metrics once their summary records are out
    // (counters are process-wide, so other tests may have added to them).
    wait_until("files counted in /metrics", TIMEOUT, || async {
        let (status, body) = helpers::http_get(app.port, "/metrics").await;
        status == 200
            && body
                .lines()
                .find_map(|l| {
                    l.strip_prefix("event_dedup_files_processed_total{status=\"completed\"} ")
                })
                .and_then(|v| v.trim().parse::<f64>().ok())
                .is_some_and(|n| n >= 2.0)
    })
    .await;
    app.stop().await;
}

#[actix_rt::test]
async fn health_reports_ok_with_the_database_up() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    let (status, body) = helpers::http_get(app.port, "/health").await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["database"], "up");
    assert_eq!(helpers::http_get(app.port, "/api/nope").await.0, 404);
    // Other paths are the review UI's client-side routes.
    let (status, page) = helpers::http_get(app.port, "/nope").await;
    assert_eq!(status, 200);
    assert!(page.contains("<title>"), "{page}");
    app.stop().await;
}

#[actix_rt::test]
async fn the_same_content_under_another_name_is_skipped() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    env.drop_copy(&fixture(WZO), "wzo_14.02.2026_a.json");
    wait_until("first copy ingested", TIMEOUT, || async {
        app.stats().await.files_completed + app.stats().await.files_awaiting_run == 1
    })
    .await;
    env.drop_copy(&fixture(WZO), "wzo_14.02.2026_b.json");
    wait_until("second copy skipped", TIMEOUT, || async {
        app.stats().await.files_skipped == 1
    })
    .await;
    assert_eq!(env.count("SELECT count(*) FROM file_ingestions").await, 1);
    assert!(
        files_in(env.dead()).is_empty(),
        "a skipped file is not dead-lettered"
    );
    app.stop().await;
}

#[actix_rt::test]
async fn a_bad_file_is_dead_lettered_with_its_reason() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    env.drop_bytes("abc_01.01.2026_x.json", b"{\"events\": [ {\"id\": ");
    env.drop_bytes(
        "abc_01.01.2026_y.json",
        br#"{"events": [{"id": 7, "title": null}]}"#,
    );
    wait_until("both files dead-lettered", TIMEOUT, || async {
        helpers::dead_letters_in(env.dead()).len() == 4
    })
    .await;
    let error: serde_json::Value = serde_json::from_slice(
        &std::fs::read(env.dead().join("abc_01.01.2026_x.json.error.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(error["reason"], "invalid_json");
    assert_eq!(error["file"], "abc_01.01.2026_x.json");
    assert_eq!(error["source_code"], "abc");
    assert_eq!(error["file_hash"].as_str().unwrap().len(), 64);
    assert!(error["message"]
        .as_str()
        .unwrap()
        .starts_with("Invalid JSON"));
    assert!(chrono::DateTime::parse_from_rfc3339(error["failed_at"].as_str().unwrap()).is_ok());
    let error: serde_json::Value = serde_json::from_slice(
        &std::fs::read(env.dead().join("abc_01.01.2026_y.json.error.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(error["reason"], "validation");
    assert!(!error["details"].as_array().unwrap().is_empty());
    assert!(files_in(env.dir()).is_empty(), "bad files are moved out");
    // The file is moved first and the failure row recorded after (best effort), so
    // the row can trail the move on a loaded machine.
    wait_until("both failures recorded", TIMEOUT, || async {
        env.count("SELECT count(*) FROM file_ingestions WHERE status = 'failed'")
            .await
            == 2
    })
    .await;

    // The same name fails again with other bytes: the earlier one is kept.
    env.drop_bytes("abc_01.01.2026_x.json", b"not json either");
    wait_until("second failure with the same name", TIMEOUT, || async {
        helpers::dead_letters_in(env.dead()).len() == 6
    })
    .await;
    let original = std::fs::read(env.dead().join("abc_01.01.2026_x.json")).unwrap();
    assert_eq!(original, b"{\"events\": [ {\"id\": ");
    app.stop().await;
}

#[actix_rt::test]
async fn a_file_written_slowly_is_not_dead_lettered() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    let bytes = std::fs::read(fixture(WZO)).unwrap();
    let path = env.dir().join("wzo_14.02.2026_slow.json");
    let mut file = std::fs::File::create(&path).unwrap();
    // A writer that stalls between pieces, each stall shorter than the settle time
    // (the scenario itself, not a wait for the system under test).
    for chunk in bytes.chunks(bytes.len() / 8 + 1) {
        file.write_all(chunk).unwrap();
        file.flush().unwrap();
        tokio::time::sleep(Duration::from_millis(helpers::TEST_SETTLE_MS / 3)).await;
    }
    drop(file);
    let expected = events_in(&fixture(WZO)) as i64;
    wait_until("the slow file ingested", TIMEOUT, || async {
        env.count("SELECT count(*) FROM source_events").await == expected
    })
    .await;
    assert!(files_in(env.dead()).is_empty());
    app.stop().await;
}

#[actix_rt::test]
async fn a_file_renamed_into_place_is_ingested_and_temp_names_are_ignored() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    env.drop_copy(&fixture(WZO), "wzo_14.02.2026_r.json.tmp");
    env.drop_bytes(".hidden.json", b"garbage");
    env.drop_bytes("notes.txt", b"garbage");
    std::fs::rename(
        env.dir().join("wzo_14.02.2026_r.json.tmp"),
        env.dir().join("wzo_14.02.2026_r.json"),
    )
    .unwrap();
    let expected = events_in(&fixture(WZO)) as i64;
    wait_until("the renamed file ingested", TIMEOUT, || async {
        env.count("SELECT count(*) FROM source_events").await == expected
    })
    .await;
    assert!(
        files_in(env.dead()).is_empty(),
        "ignored names are left alone"
    );
    assert_eq!(files_in(env.dir()).len(), 3);
    app.stop().await;
}

/// 100 files at once: all ingested, at most 3 matching runs.
#[actix_rt::test]
async fn a_burst_of_100_files_is_coalesced_into_few_runs() {
    let env = TestEnv::new().await;
    let staging = tempfile::tempdir().unwrap();
    event_dedup::generate::generate(
        &event_dedup::generate::GenerateOptions {
            events: 2000,
            seed: 7,
            density: 1.0,
            hard: false,
            start: chrono::NaiveDate::from_ymd_opt(2026, 1, 19).unwrap(),
            pretty: false,
        },
        staging.path(),
    )
    .unwrap();
    let mut files = files_in(&staging.path().join("events"));
    assert!(files.len() >= 100, "generator wrote {} files", files.len());
    files.truncate(100);
    let expected_events: usize = files.iter().map(|f| events_in(f)).sum();

    let app = env.spawn().await;
    let started = Instant::now();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        env.drop_copy(f, &name);
    }
    wait_until(
        "all 100 files ingested and matched",
        TIMEOUT * 2,
        || async {
            let s = app.stats().await;
            s.files_completed == 100
        },
    )
    .await;
    let elapsed = started.elapsed();
    let runs = env.runs().await;
    println!(
        "burst: 100 files, {expected_events} events, {runs} runs, {:.1} s from drop to last file matched",
        elapsed.as_secs_f64()
    );
    assert_eq!(
        env.count("SELECT count(*) FROM file_ingestions WHERE status = 'completed'")
            .await,
        100
    );
    assert_eq!(
        env.count("SELECT count(*) FROM source_events").await,
        expected_events as i64
    );
    assert!((1..=3).contains(&runs), "{runs} matching runs for a burst");
    assert_eq!(
        env.count("SELECT count(*) FROM canonical_event_sources")
            .await,
        expected_events as i64
    );
    app.stop().await;
}

#[actix_rt::test]
async fn a_restart_does_not_reingest_or_rematch() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    drop_worked_example(&env);
    wait_until("both files matched", TIMEOUT, || async {
        app.stats().await.files_completed == 2
    })
    .await;
    app.stop().await;
    let runs = env.runs().await;
    let files = env.count("SELECT count(*) FROM file_ingestions").await;
    let before = canonical_members(&env).await;

    let app = env.spawn().await;
    wait_until("the start-up scan skipped both files", TIMEOUT, || async {
        app.stats().await.files_skipped == 2
    })
    .await;
    app.stop().await;
    assert_eq!(
        env.count("SELECT count(*) FROM file_ingestions").await,
        files
    );
    assert_eq!(env.runs().await, runs, "no new run after a clean restart");
    assert_eq!(canonical_members(&env).await, before);
}

#[actix_rt::test]
async fn canonical_ids_stay_stable_when_a_group_grows() {
    let env = TestEnv::new().await;
    let app = env.spawn().await;
    env.drop_copy(
        &fixture(WZO),
        "wzo_14.02.2026_2026-02-14T07-12-05-331Z.json",
    );
    wait_until("first file matched", TIMEOUT, || async {
        app.stats().await.files_completed == 1
    })
    .await;
    let first = canonical_members(&env).await;
    env.drop_copy(
        &fixture(BZK),
        "bzk_15.02.2026_2026-02-15T06-40-11-002Z.json",
    );
    wait_until("second file matched", TIMEOUT, || async {
        app.stats().await.files_completed == 2
    })
    .await;
    let second = canonical_members(&env).await;
    let mut grown = 0;
    for (id, members) in &first {
        // Every earlier group still exists under its id, possibly with more members.
        let now = second
            .get(id)
            .unwrap_or_else(|| panic!("canonical {id} lost its id: {first:?} -> {second:?}"));
        assert!(now.is_superset(members));
        if now.len() > members.len() {
            grown += 1;
        }
    }
    assert!(
        grown > 0,
        "the second file adds a source to at least one group"
    );
    app.stop().await;
}

/// The database goes away: a new file waits in place (never dead-lettered) while the
/// ingest retries, and is ingested and matched once the database is back.
#[actix_rt::test]
async fn files_wait_for_the_database_during_an_outage() {
    let env = TestEnv::new().await;
    let proxy = helpers::DbProxy::start(&env.database_url).await;
    let app = env
        .spawn_with(&[("DATABASE_URL", proxy.url.as_str())])
        .await;
    env.drop_copy(
        &fixture(WZO),
        "wzo_14.02.2026_2026-02-14T07-12-05-331Z.json",
    );
    wait_until("first file matched", TIMEOUT, || async {
        app.stats().await.files_completed == 1
    })
    .await;

    proxy.disable();
    env.drop_copy(
        &fixture(BZK),
        "bzk_15.02.2026_2026-02-15T06-40-11-002Z.json",
    );
    wait_until("the ingest retried several times", TIMEOUT, || async {
        proxy.refused() >= 3
    })
    .await;
    assert!(
        files_in(env.dead()).is_empty(),
        "an outage never dead-letters"
    );
    assert_eq!(files_in(env.dir()).len(), 2, "the file waits in place");
    let (status, body) = helpers::http_get(app.port, "/health").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"database\":\"down\""), "{body}");

    proxy.enable();
    let expected = (events_in(&fixture(WZO)) + events_in(&fixture(BZK))) as i64;
    wait_until(
        "second file ingested and matched after the outage",
        TIMEOUT,
        || async { app.stats().await.files_completed == 2 },
    )
    .await;
    assert_eq!(
        env.count("SELECT count(*) FROM source_events").await,
        expected
    );
    assert_eq!(
        env.count("SELECT count(*) FROM canonical_event_sources")
            .await,
        expected
    );
    assert!(files_in(env.dead()).is_empty());
    app.stop().await;
}

#[actix_rt::test]
async fn poll_mode_finds_files_without_file_events() {
    let env = TestEnv::new().await;
    let app = env
        .spawn_with(&[("WATCH_MODE", "poll"), ("POLL_INTERVAL_MS", "100")])
        .await;
    env.drop_copy(
        &fixture(WZO),
        "wzo_14.02.2026_2026-02-14T07-12-05-331Z.json",
    );
    let expected = events_in(&fixture(WZO)) as i64;
    wait_until("file ingested in poll mode", TIMEOUT, || async {
        env.count("SELECT count(*) FROM canonical_event_sources")
            .await
            == expected
    })
    .await;
    app.stop().await;
}

/// The ingest alone, driven directly (a real matcher and stats actor behind it, no
/// watcher), with the generation it bumps.
fn ingest_actor(
    env: &TestEnv,
) -> (
    actix::Addr<event_dedup::actors::ingest::IngestActor>,
    event_dedup::actors::IngestGeneration,
) {
    use actix::Actor;
    use event_dedup::actors::ingest::IngestActor;
    use event_dedup::actors::matcher::{ConfigSource, MatcherActor};
    use event_dedup::actors::stats::StatsActor;
    use event_dedup::actors::{IngestGeneration, Shutdown};
    use std::sync::Arc;

    let lists = Arc::new(event_dedup::preprocess::WordLists::bundled());
    let shutdown = Shutdown::new();
    let generation = IngestGeneration::default();
    let stats = StatsActor::new().start();
    let persist =
        event_dedup::actors::persist::PersistActor::new(env.pool.clone(), shutdown.clone()).start();
    let matcher = MatcherActor::new(
        env.pool.clone(),
        lists.clone(),
        ConfigSource {
            path: fixture("nonexistent.toml"),
            required: false,
        },
        generation.clone(),
        persist,
        stats.clone(),
        shutdown.clone(),
    )
    .start();
    let ingest = IngestActor::new(
        env.pool.clone(),
        lists,
        env.dead().to_path_buf(),
        generation.clone(),
        matcher,
        stats,
        shutdown,
    )
    .start();
    (ingest, generation)
}

/// The ingest itself, driven directly: a parse error on a file that changed since it
/// was found ready means "not ready" (file untouched); on a stable file it means
/// dead-letter.
#[actix_rt::test]
async fn a_parse_error_on_a_changing_file_is_not_ready_but_on_a_stable_one_is_fatal() {
    use event_dedup::actors::ingest::{FileSignature, IngestFile, IngestOutcome};

    let env = TestEnv::new().await;
    let (ingest, _) = ingest_actor(&env);

    let path = env.dir().join("wzo_14.02.2026_partial.json");
    let bytes = std::fs::read(fixture(WZO)).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let seen = FileSignature::of(&std::fs::metadata(&path).unwrap());
    // The writer goes on after the watcher declared the file ready.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(b" ").unwrap();
    drop(f);
    let outcome = ingest
        .send(IngestFile {
            path: path.clone(),
            ready: seen,
        })
        .await
        .unwrap();
    assert_eq!(outcome, IngestOutcome::NotReady);
    assert!(path.exists());
    assert!(files_in(env.dead()).is_empty());

    let stable = FileSignature::of(&std::fs::metadata(&path).unwrap());
    let outcome = ingest
        .send(IngestFile {
            path: path.clone(),
            ready: stable,
        })
        .await
        .unwrap();
    assert_eq!(outcome, IngestOutcome::DeadLettered);
    assert!(!path.exists());
    assert_eq!(files_in(env.dead()).len(), 2);
}

/// One batch: a good file, a file the database refuses (a NUL character in a title),
/// a later print updating a listing of the first, and a copy of the first. The
/// refused file alone is dead-lettered; the others are stored in order (the update
/// wins), the copy is skipped, and the generation counts the two stored files.
#[actix_rt::test]
async fn a_batch_keeps_its_good_files_when_the_database_refuses_one() {
    use event_dedup::actors::ingest::{FileSignature, IngestBatch, IngestFile, IngestOutcome};

    let env = TestEnv::new().await;
    let (ingest, generation) = ingest_actor(&env);
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture(WZO)).unwrap()).unwrap();
    let print = |edit: &dyn Fn(&mut Vec<serde_json::Value>)| {
        let mut doc = original.clone();
        edit(doc["events"].as_array_mut().unwrap());
        serde_json::to_vec(&doc).unwrap()
    };
    let first_id = original["events"][0]["id"].as_str().unwrap().to_string();
    let files = [
        ("wzo_14.02.2026_a.json", print(&|_| {})),
        (
            "wzo_15.02.2026_refused.json",
            print(&|ev| {
                ev.truncate(1);
                ev[0]["id"] = "wzo-nul".into();
                ev[0]["title"] = "Umzug\u{0}".into();
            }),
        ),
        (
            "wzo_16.02.2026_update.json",
            print(&|ev| {
                ev.truncate(1);
                ev[0]["title"] = "Umzug (verlegt)".into();
            }),
        ),
        ("wzo_17.02.2026_copy.json", print(&|_| {})),
    ];
    let mut batch = Vec::new();
    for (name, bytes) in &files {
        env.drop_bytes(name, bytes);
        let path = env.dir().join(name);
        let ready = FileSignature::of(&std::fs::metadata(&path).unwrap());
        batch.push(IngestFile { path, ready });
    }
    let outcomes = ingest
        .send(IngestBatch {
            files: batch,
            more_waiting: false,
        })
        .await
        .unwrap();
    let events = events_in(&fixture(WZO));
    assert_eq!(
        outcomes,
        vec![
            IngestOutcome::Completed {
                events,
                generation: 1
            },
            IngestOutcome::DeadLettered,
            IngestOutcome::Completed {
                events: 1,
                generation: 2
            },
            IngestOutcome::Skipped,
        ]
    );
    assert_eq!(generation.current(), 2);
    assert_eq!(
        env.count("SELECT count(*) FROM source_events").await,
        events as i64
    );
    assert_eq!(
        env.count(&format!(
            "SELECT count(*) FROM source_events s JOIN file_ingestions f ON f.id = s.file_ingestion_id
             WHERE s.id = '{first_id}' AND s.title = 'Umzug (verlegt)'
               AND f.filename = 'wzo_16.02.2026_update.json'"
        ))
        .await,
        1
    );
    assert_eq!(
        env.count("SELECT count(*) FROM file_ingestions WHERE status = 'completed'")
            .await,
        2
    );
    assert_eq!(
        env.count(
            "SELECT count(*) FROM file_ingestions
             WHERE status = 'failed' AND filename = 'wzo_15.02.2026_refused.json'"
        )
        .await,
        1
    );
    let dead = helpers::dead_letters_in(env.dead());
    assert_eq!(dead.len(), 2, "{dead:?}");
    let context = dead
        .iter()
        .find(|p| p.to_string_lossy().ends_with(".error.json"))
        .expect("error context");
    let context: serde_json::Value =
        serde_json::from_slice(&std::fs::read(context).unwrap()).unwrap();
    assert_eq!(context["reason"], "database", "{context}");
    assert_eq!(context["file"], "wzo_15.02.2026_refused.json");
    assert!(!env.dir().join("wzo_15.02.2026_refused.json").exists());
    assert_eq!(
        files_in(env.dir()).len(),
        3,
        "stored and skipped files stay"
    );
}

/// A model file that cannot be used stops start-up naming the file and the problem;
/// with `EVENT_DEDUP_MODEL_FALLBACK=true` the service starts with the weighted sum
/// (its decisions then carry the weighted-sum rules and weights, not probabilities).
#[actix_rt::test]
async fn a_corrupt_model_file_stops_start_up_unless_the_fallback_is_configured() {
    let env = TestEnv::new().await;
    let bad = env.dead().join("model.json");
    std::fs::write(&bad, "{ not a model").expect("write");
    let bad_path = bad.display().to_string();
    let err = match App::build(env.settings(&[("MODEL_PATH", &bad_path)])).await {
        Ok(_) => panic!("a corrupt model must stop start-up"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains(&bad_path) && err.contains("invalid match model"),
        "{err}"
    );
    assert!(err.contains("EVENT_DEDUP_MODEL_FALLBACK"), "{err}");

    let app = env
        .spawn_with(&[("MODEL_PATH", &bad_path), ("MODEL_FALLBACK", "true")])
        .await;
    drop_worked_example(&env);
    wait_until("the worked example matched", TIMEOUT, || async {
        env.count("SELECT count(*) FROM match_decisions").await == 5
    })
    .await;
    // The weighted sum decided: the Primel-Aktion pair stays ambiguous (combined 0.65
    // below its 0.75 threshold), where the learned model matches it (p 0.86).
    assert_eq!(
        env.count(
            "SELECT count(*) FROM match_decisions
             WHERE source_event_id_a = 'pdf-3fa91c02-2-0' AND source_event_id_b = 'pdf-7c0d55e1-2-1'
               AND decision = 'ambiguous' AND combined_score < 0.75"
        )
        .await,
        1
    );
    app.stop().await;
}
