//! Integration tests of the PostgreSQL layer against a real server.
//!
//! Each test gets its own freshly migrated database from
//! `event_dedup::store::test_support` (one throwaway cluster per test process), so
//! the tests run in parallel and never see each other's rows.

use std::time::{Duration, Instant};

use deadpool_postgres::Pool;
use event_dedup::ingest::{parse_event_file, ParsedFile};
use event_dedup::matching::{run, MatchingConfig, PipelineResult, ReviewConstraints};
use event_dedup::model::{SourceEvent, Trigger};
use event_dedup::preprocess::{derive, Derived};
use event_dedup::store::test_support::fresh_database;
use event_dedup::store::{self, PairConstraint, RunInfo, StoreError};
use serde_json::Value;

mod common;

use common::store_fixture::{fixture, lists, FIXTURE, FIXTURE_NAME, PARADE};

/// A file built from the fixture: `edit` may change the event list.
fn variant(file_name: &str, edit: impl FnOnce(&mut Vec<Value>)) -> ParsedFile {
    let mut doc: Value = serde_json::from_str(FIXTURE).expect("fixture is JSON");
    let events = doc["events"].as_array_mut().expect("events array");
    edit(events);
    let bytes = serde_json::to_vec(&doc).expect("serializes");
    parse_event_file(file_name, &bytes).expect("variant parses")
}

fn derived(file: &ParsedFile) -> Vec<Derived> {
    file.events.iter().map(|e| derive(e, lists())).collect()
}

async fn db() -> Pool {
    fresh_database().await.expect("test database").0
}

async fn ingest(pool: &Pool, file: &ParsedFile) -> store::FileOutcome {
    store::ingest_file(pool, file, &derived(file))
        .await
        .expect("file stored")
}

async fn load(pool: &Pool) -> Vec<SourceEvent> {
    let client = pool.get().await.expect("connection");
    store::load_all_events(&**client)
        .await
        .expect("events load")
}

fn pipeline(events: Vec<SourceEvent>, constraints: &ReviewConstraints) -> PipelineResult {
    run(events, &MatchingConfig::default(), lists(), constraints)
}

async fn persist(pool: &Pool, result: &PipelineResult) -> store::PersistSummary {
    let mut client = pool.get().await.expect("connection");
    store::persist_run(&mut client, result, &RunInfo::new(Trigger::Batch, 1))
        .await
        .expect("run persisted")
}

async fn scalar_i64(pool: &Pool, sql: &str) -> i64 {
    let client = pool.get().await.expect("connection");
    client.query_one(sql, &[]).await.expect("query").get(0)
}

/// The fixture's parade, re-listed by another paper under a new id.
fn parade_copy(id: &str) -> ParsedFile {
    variant(&format!("bz_{id}.json"), |events| {
        events.retain(|e| e["id"] == PARADE);
        events[0]["id"] = Value::from(id);
    })
}

#[tokio::test]
async fn migrations_apply_and_are_idempotent() {
    let (pool, url) = fresh_database().await.expect("test database");
    assert!(url.contains("/test_"));
    store::migrate(&pool)
        .await
        .expect("second migrate is a no-op");
    let tables = scalar_i64(
        &pool,
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'
           AND table_name IN ('file_ingestions', 'source_events', 'event_dates',
             'canonical_events', 'canonical_event_sources', 'match_decisions', 'audit_log',
             'config_settings', 'ai_match_cache', 'ai_usage_log', 'ground_truth_pairs',
             'review_constraints', 'processing_runs')",
    )
    .await;
    assert_eq!(tables, 13);
    let trgm = scalar_i64(
        &pool,
        "SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'",
    )
    .await;
    assert_eq!(trgm, 1);
    // A decision references its two source events (storage spec §1.6), not the run
    // row: that check cost a quarter of a burst's decision inserts (migration V6).
    let decision_fks = scalar_i64(
        &pool,
        "SELECT count(*) FROM pg_constraint
         WHERE conrelid = 'match_decisions'::regclass AND contype = 'f'",
    )
    .await;
    assert_eq!(decision_fks, 2);
}

#[tokio::test]
async fn parallel_tests_get_separate_databases() {
    let ((a, url_a), (b, url_b)) =
        tokio::join!(async { fresh_database().await.expect("db a") }, async {
            fresh_database().await.expect("db b")
        });
    assert_ne!(url_a, url_b);
    ingest(&a, &fixture()).await;
    assert_eq!(load(&a).await.len(), 5);
    assert!(load(&b).await.is_empty());
}

#[tokio::test]
async fn stored_file_reloads_equal() {
    let pool = db().await;
    let file = fixture();
    let outcome = ingest(&pool, &file).await;
    assert_eq!(outcome.inserted, 5);
    assert!(outcome.updated.is_empty());

    let mut expected = file.events.clone();
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(load(&pool).await, expected);

    let client = pool.get().await.expect("connection");
    let done = store::is_completed(&**client, &file.file_hash)
        .await
        .expect("query");
    assert_eq!(done.as_deref(), Some(FIXTURE_NAME));
    let row = client
        .query_one(
            "SELECT title_normalized, blocking_keys, content_hash FROM source_events WHERE id = $1",
            &[&PARADE],
        )
        .await
        .expect("row");
    let d = derive(&file.events[0], lists());
    assert_eq!(row.get::<_, String>(0), d.title_normalized);
    assert_eq!(row.get::<_, Value>(1), serde_json::json!(d.blocking_keys));
    assert_eq!(row.get::<_, String>(2).len(), 64);
    drop(client);

    // The same bytes again: refused, nothing changes.
    let again = store::ingest_file(&pool, &file, &derived(&file)).await;
    assert!(
        matches!(again, Err(StoreError::AlreadyIngested { ref file_name, .. }) if file_name == FIXTURE_NAME),
        "{again:?}"
    );
    assert_eq!(
        scalar_i64(&pool, "SELECT count(*) FROM file_ingestions").await,
        1
    );
}

#[tokio::test]
async fn redelivered_event_id_is_an_update() {
    let pool = db().await;
    let first = ingest(&pool, &fixture()).await;
    let later = variant("wzo_15.02.2026.json", |events| {
        events.truncate(2);
        events[0]["title"] = Value::from("Großer Fasnetsumzug (verlegt)");
        events[0]["event_dates"] = serde_json::json!([
            { "date": "2026-02-16", "start_time": "13:00" },
            { "date": "2026-02-17" }
        ]);
        events[1]["id"] = Value::from("pdf-new-1");
    });
    let outcome = ingest(&pool, &later).await;
    assert_eq!(outcome.inserted, 1);
    assert_eq!(outcome.updated.len(), 1);
    assert_eq!(outcome.updated[0].id, PARADE);
    assert_eq!(outcome.updated[0].previous_file, FIXTURE_NAME);
    assert!(outcome.updated[0].content_changed);
    assert_ne!(outcome.file_ingestion_id, first.file_ingestion_id);

    let events = load(&pool).await;
    assert_eq!(events.len(), 6);
    let parade = events.iter().find(|e| e.id == PARADE).expect("parade");
    assert_eq!(parade, &later.events[0]);
    assert_eq!(parade.dates.len(), 2);
    let client = pool.get().await.expect("connection");
    let file_id: i32 = client
        .query_one(
            "SELECT file_ingestion_id FROM source_events WHERE id = $1",
            &[&PARADE],
        )
        .await
        .expect("row")
        .get(0);
    assert_eq!(file_id, outcome.file_ingestion_id);
    let dates: i64 = client
        .query_one(
            "SELECT count(*) FROM event_dates WHERE event_id = $1",
            &[&PARADE],
        )
        .await
        .expect("row")
        .get(0);
    assert_eq!(dates, 2);

    // Re-delivered unchanged: still an update, but not a content change.
    let third = variant("wzo_16.02.2026.json", |events| events.truncate(1));
    let third_events = third.events.clone();
    let mut edited = third.clone();
    edited.events = vec![later.events[0].clone()];
    edited.events[0].source_code = third_events[0].source_code.clone();
    let outcome = ingest(&pool, &edited).await;
    assert_eq!(outcome.updated.len(), 1);
    assert_eq!(outcome.updated[0].previous_file, "wzo_15.02.2026.json");
    assert!(!outcome.updated[0].content_changed);
}

/// The fixture, then two later prints that re-deliver the parade (the second one
/// twice changed, then unchanged) and add a listing of their own.
fn three_prints() -> Vec<ParsedFile> {
    let second = variant("wzo_15.02.2026.json", |events| {
        events.truncate(2);
        events[0]["title"] = Value::from("Großer Fasnetsumzug (verlegt)");
        events[0]["event_dates"] = serde_json::json!([
            { "date": "2026-02-16", "start_time": "13:00" },
            { "date": "2026-02-17" }
        ]);
        events[1]["id"] = Value::from("pdf-new-1");
    });
    let mut third = variant("wzo_16.02.2026.json", |events| events.truncate(2));
    third.events[0] = second.events[0].clone();
    third.events[0].source_code = third.source_code.clone();
    third.events[1].id = "pdf-new-2".into();
    vec![fixture(), second, third]
}

/// Every stored listing as (id, file name, content hash, dates), for comparing two
/// databases whose file ids differ.
async fn stored_rows(pool: &Pool) -> Vec<(String, String, String, Vec<String>)> {
    let client = pool.get().await.expect("connection");
    client
        .query(
            "SELECT s.id, f.filename, s.content_hash,
                    ARRAY(SELECT concat_ws(' ', d.position, d.date, d.start_time, d.end_time, d.end_date)
                          FROM event_dates d WHERE d.event_id = s.id ORDER BY d.position) AS dates
             FROM source_events s JOIN file_ingestions f ON f.id = s.file_ingestion_id
             ORDER BY s.id",
            &[],
        )
        .await
        .expect("rows")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

fn prepared(file: &ParsedFile) -> store::PreparedFile {
    store::PreparedFile::new(file.clone(), derived(file)).expect("prepared")
}

#[tokio::test]
async fn a_batch_stores_its_files_as_if_one_by_one_in_order() {
    let files = three_prints();
    let one_by_one = db().await;
    let mut expected = Vec::new();
    for f in &files {
        expected.push(ingest(&one_by_one, f).await);
    }
    let batched = db().await;
    let prepared: Vec<store::PreparedFile> = files.iter().map(prepared).collect();
    let refs: Vec<&store::PreparedFile> = prepared.iter().collect();
    // A mark before the batch: its listings are changes, with their last versions.
    let reader = batched.get().await.expect("connection");
    let mark = store::ingest_mark(&**reader).await.expect("mark");
    let outcomes = store::ingest_files(&batched, &refs)
        .await
        .expect("batch stored");

    assert_eq!(outcomes.len(), 3);
    for (got, want) in outcomes.iter().zip(&expected) {
        let got = got.as_ref().expect("stored");
        assert_eq!((got.inserted, &got.updated), (want.inserted, &want.updated));
    }
    // The third file's parade is unchanged against the second file's, in the batch.
    let third = outcomes[2].as_ref().expect("stored");
    assert_eq!(third.updated[0].previous_file, "wzo_15.02.2026.json");
    assert!(!third.updated[0].content_changed);
    assert_eq!(stored_rows(&batched).await, stored_rows(&one_by_one).await);
    let parade = load(&batched)
        .await
        .into_iter()
        .find(|e| e.id == PARADE)
        .expect("parade");
    assert_eq!(parade, files[2].events[0]);
    assert_eq!(parade.dates.len(), 2, "the last version's dates only");
    assert_eq!(
        scalar_i64(
            &batched,
            "SELECT count(*) FROM file_ingestions WHERE status = 'completed'"
        )
        .await,
        3
    );

    let changed = store::load_changed_since(&**reader, &mark)
        .await
        .expect("changes");
    assert_eq!(changed.events, load(&batched).await);
}

#[tokio::test]
async fn bytes_stored_before_or_earlier_in_the_batch_are_already_ingested() {
    let pool = db().await;
    let [first, second, _] = <[ParsedFile; 3]>::try_from(three_prints()).expect("three");
    ingest(&pool, &first).await;
    let mut first_again = first.clone();
    first_again.file_name = "wzo_copy.json".into();
    let mut second_again = second.clone();
    second_again.file_name = "wzo_15.02.2026_copy.json".into();
    let batch = [
        prepared(&first_again),
        prepared(&second),
        prepared(&second_again),
    ];
    let refs: Vec<&store::PreparedFile> = batch.iter().collect();
    let outcomes = store::ingest_files(&pool, &refs)
        .await
        .expect("batch stored");

    let already = |r: &Result<store::FileOutcome, StoreError>| match r {
        Err(StoreError::AlreadyIngested { file_name, .. }) => file_name.clone(),
        other => panic!("expected already ingested, got {other:?}"),
    };
    assert_eq!(already(&outcomes[0]), FIXTURE_NAME);
    assert_eq!(outcomes[1].as_ref().expect("stored").inserted, 1);
    assert_eq!(already(&outcomes[2]), "wzo_15.02.2026.json");
    assert_eq!(
        scalar_i64(&pool, "SELECT count(*) FROM file_ingestions").await,
        2
    );
    assert_eq!(load(&pool).await.len(), 6);
}

#[tokio::test]
async fn a_batch_the_database_refuses_stores_nothing() {
    let pool = db().await;
    let good = fixture();
    let bad = variant("wzo_17.02.2026.json", |events| {
        events.truncate(1);
        events[0]["id"] = Value::from("pdf-nul");
        events[0]["title"] = Value::from("Umzug\u{0}");
    });
    let batch = [prepared(&good), prepared(&bad)];
    let refs: Vec<&store::PreparedFile> = batch.iter().collect();
    let err = store::ingest_files(&pool, &refs)
        .await
        .expect_err("a NUL character is refused");
    assert!(!err.is_transient(), "{err:?}");
    assert_eq!(
        scalar_i64(&pool, "SELECT count(*) FROM file_ingestions").await,
        0
    );
    assert_eq!(
        scalar_i64(&pool, "SELECT count(*) FROM source_events").await,
        0
    );
    // Alone, the good file goes through.
    assert_eq!(ingest(&pool, &good).await.inserted, 5);
}

#[tokio::test]
async fn failed_attempt_does_not_block_a_later_completed_one() {
    let pool = db().await;
    let file = fixture();
    let client = pool.get().await.expect("connection");
    let failed_id =
        store::record_failed_file(&**client, FIXTURE_NAME, &file.file_hash, "wzo", "not ready")
            .await
            .expect("recorded")
            .expect("row id");
    // Recording the failure twice keeps one row.
    store::record_failed_file(
        &**client,
        FIXTURE_NAME,
        &file.file_hash,
        "wzo",
        "still not ready",
    )
    .await
    .expect("recorded");
    assert!(store::is_completed(&**client, &file.file_hash)
        .await
        .expect("query")
        .is_none());
    drop(client);

    let outcome = ingest(&pool, &file).await;
    assert_eq!(outcome.file_ingestion_id, failed_id);
    assert_eq!(outcome.inserted, 5);

    let client = pool.get().await.expect("connection");
    let row = client
        .query_one(
            "SELECT status, error_message, event_count FROM file_ingestions",
            &[],
        )
        .await
        .expect("one row");
    assert_eq!(row.get::<_, String>(0), "completed");
    assert_eq!(row.get::<_, Option<String>>(1), None);
    assert_eq!(row.get::<_, i32>(2), 5);
    // A failure reported after completion does not downgrade the row.
    let none = store::record_failed_file(&**client, FIXTURE_NAME, &file.file_hash, "wzo", "late")
        .await
        .expect("query");
    assert!(none.is_none());
    assert!(store::is_completed(&**client, &file.file_hash)
        .await
        .expect("query")
        .is_some());
}

#[tokio::test]
async fn persisting_the_same_result_twice_changes_nothing() {
    let pool = db().await;
    ingest(&pool, &fixture()).await;
    ingest(&pool, &parade_copy("bz-parade")).await;
    let result = pipeline(load(&pool).await, &ReviewConstraints::default());
    let first = persist(&pool, &result).await;
    assert_eq!(first.created, result.canonical_count());
    assert_eq!((first.updated, first.unchanged, first.removed), (0, 0, 0));

    let again = pipeline(load(&pool).await, &ReviewConstraints::default());
    let second = persist(&pool, &again).await;
    assert_eq!(second.canonical_ids, first.canonical_ids);
    assert_eq!(second.unchanged, result.canonical_count());
    assert_eq!((second.created, second.updated, second.removed), (0, 0, 0));
    assert_eq!(
        scalar_i64(&pool, "SELECT max(version)::int8 FROM canonical_events").await,
        1
    );
    assert_eq!(
        scalar_i64(
            &pool,
            "SELECT count(*) FROM processing_runs WHERE status = 'completed'"
        )
        .await,
        2
    );
    let members = scalar_i64(&pool, "SELECT count(*) FROM canonical_event_sources").await;
    assert_eq!(members, 6);
}

#[tokio::test]
async fn joining_event_keeps_the_canonical_id_and_bumps_its_version() {
    let pool = db().await;
    ingest(&pool, &fixture()).await;
    let before = pipeline(load(&pool).await, &ReviewConstraints::default());
    assert_eq!(before.canonical_count(), 5, "fixture events are distinct");
    let first = persist(&pool, &before).await;
    let parade_idx = before
        .canonical_events()
        .iter()
        .position(|c| c.source_event_ids == [PARADE])
        .expect("parade cluster");
    let parade_id = first.canonical_ids[parade_idx];

    ingest(&pool, &parade_copy("bz-parade")).await;
    let after = pipeline(load(&pool).await, &ReviewConstraints::default());
    assert_eq!(after.canonical_count(), 5);
    let joined = after
        .canonical_events()
        .iter()
        .position(|c| c.source_event_ids.len() == 2)
        .expect("the copy joined the parade");
    let second = persist(&pool, &after).await;
    assert_eq!(second.canonical_ids[joined], parade_id);
    assert_eq!(
        (
            second.created,
            second.updated,
            second.unchanged,
            second.removed
        ),
        (0, 1, 4, 0)
    );

    let client = pool.get().await.expect("connection");
    let row = client
        .query_one(
            "SELECT version, source_count, created_at < updated_at FROM canonical_events WHERE id = $1",
            &[&parade_id],
        )
        .await
        .expect("row");
    assert_eq!(row.get::<_, i32>(0), 2);
    assert_eq!(row.get::<_, i32>(1), 2);
    assert!(row.get::<_, bool>(2));
    let members: Vec<String> = client
        .query(
            "SELECT source_event_id FROM canonical_event_sources WHERE canonical_event_id = $1
             ORDER BY source_event_id",
            &[&parade_id],
        )
        .await
        .expect("rows")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(members, ["bz-parade", PARADE]);
}

#[tokio::test]
async fn merged_clusters_keep_the_smallest_id_and_delete_the_other() {
    let pool = db().await;
    ingest(&pool, &fixture()).await;
    let before = pipeline(load(&pool).await, &ReviewConstraints::default());
    let first = persist(&pool, &before).await;

    let (x, y) = ("pdf-3fa91c02-1-1", "pdf-3fa91c02-2-1");
    {
        let client = pool.get().await.expect("connection");
        store::add_pair_constraint(&**client, PairConstraint::MustLink, y, x, "tester")
            .await
            .expect("constraint stored");
    }
    let constraints = {
        let client = pool.get().await.expect("connection");
        store::load_constraints(&**client)
            .await
            .expect("constraints")
    };
    assert_eq!(constraints.must_link, vec![(x.to_string(), y.to_string())]);

    let after = pipeline(load(&pool).await, &constraints);
    assert_eq!(after.canonical_count(), 4);
    let second = persist(&pool, &after).await;
    assert_eq!(
        (
            second.created,
            second.updated,
            second.unchanged,
            second.removed
        ),
        (0, 1, 3, 1)
    );

    let id_of = |r: &PipelineResult, ids: &[i32], member: &str| {
        let i = r
            .canonical_events()
            .iter()
            .position(|c| c.source_event_ids.iter().any(|s| s == member))
            .expect("member placed");
        ids[i]
    };
    let (old_x, old_y) = (
        id_of(&before, &first.canonical_ids, x),
        id_of(&before, &first.canonical_ids, y),
    );
    let merged = id_of(&after, &second.canonical_ids, x);
    assert_eq!(merged, old_x.min(old_y));
    assert_eq!(
        scalar_i64(
            &pool,
            &format!(
                "SELECT count(*) FROM canonical_events WHERE id = {}",
                old_x.max(old_y)
            )
        )
        .await,
        0
    );
    assert_eq!(
        scalar_i64(&pool, "SELECT count(*) FROM canonical_event_sources").await,
        5
    );
}

#[tokio::test]
async fn decisions_are_stored_with_rule_and_weights() {
    let pool = db().await;
    ingest(&pool, &fixture()).await;
    ingest(&pool, &parade_copy("bz-parade")).await;
    let result = pipeline(load(&pool).await, &ReviewConstraints::default());
    assert!(!result.pairs.is_empty());
    let summary = persist(&pool, &result).await;
    assert_eq!(summary.decisions_written, result.pairs.len() as u64);

    let p = result
        .pairs
        .iter()
        .find(|p| {
            result.events[p.a as usize].id == "bz-parade"
                || result.events[p.b as usize].id == "bz-parade"
        })
        .expect("the copy is a candidate");
    let expected = result.explain(p);
    let client = pool.get().await.expect("connection");
    let row = client
        .query_one(
            "SELECT decision, rule, tier, weights, weight_source, combined_score, title_score,
                    processing_run_id
             FROM match_decisions WHERE source_event_id_a = $1 AND source_event_id_b = $2",
            &[&expected.id_a, &expected.id_b],
        )
        .await
        .expect("decision row");
    assert_eq!(row.get::<_, String>(0), expected.decision.as_str());
    assert_eq!(row.get::<_, String>(1), expected.rule.as_str());
    assert_eq!(row.get::<_, String>(2), "deterministic");
    assert_eq!(
        row.get::<_, Value>(3),
        serde_json::to_value(expected.weights).expect("json")
    );
    assert_eq!(row.get::<_, Option<String>>(4), expected.weight_source);
    assert_eq!(row.get::<_, f64>(5), expected.combined);
    assert_eq!(row.get::<_, f64>(6), expected.scores.title);
    assert_eq!(
        row.get::<_, Option<i64>>(7),
        Some(summary.processing_run_id)
    );
    drop(client);

    // The next run replaces, not appends.
    persist(&pool, &result).await;
    assert_eq!(
        scalar_i64(&pool, "SELECT count(*) FROM match_decisions").await,
        result.pairs.len() as i64
    );
}

/// Decisions are written by diff: a run that adds one listing rewrites only the
/// pairs it touches; every other decision keeps its row.
#[tokio::test]
async fn decisions_are_persisted_by_diff() {
    use std::collections::HashMap;
    async fn rows(pool: &Pool) -> HashMap<(String, String), (i64, String, i64)> {
        let client = pool.get().await.expect("connection");
        client
            .query(
                "SELECT source_event_id_a, source_event_id_b, id, decision, processing_run_id
                 FROM match_decisions",
                &[],
            )
            .await
            .expect("decisions")
            .iter()
            .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3), r.get(4))))
            .collect()
    }
    let pool = db().await;
    ingest(&pool, &fixture()).await;
    ingest(&pool, &parade_copy("bz-parade")).await;
    let first = pipeline(load(&pool).await, &ReviewConstraints::default());
    persist(&pool, &first).await;
    let before = rows(&pool).await;
    assert_eq!(before.len(), first.pairs.len());

    // Unchanged input: nothing is written, every row stays.
    let same = persist(&pool, &first).await;
    assert_eq!(same.decisions_written, 0);
    assert_eq!(rows(&pool).await, before);

    // One more copy of the parade: only pairs involving it are new.
    ingest(&pool, &parade_copy("zz-parade")).await;
    let second = pipeline(load(&pool).await, &ReviewConstraints::default());
    let summary = persist(&pool, &second).await;
    let after = rows(&pool).await;
    assert_eq!(after.len(), second.pairs.len(), "exactly this run's pairs");
    let touches = |k: &(String, String)| k.0 == "zz-parade" || k.1 == "zz-parade";
    let new_pairs = after.keys().filter(|k| touches(k)).count();
    assert!(new_pairs > 0);
    assert_eq!(summary.decisions_written, new_pairs as u64);
    for (pair, row) in &after {
        if touches(pair) {
            assert_eq!(
                row.2, summary.processing_run_id,
                "{pair:?} written by this run"
            );
        } else {
            assert_eq!(Some(row), before.get(pair), "{pair:?} kept its row");
        }
    }
    for p in &second.pairs {
        let d = second.explain(p);
        let row = &after[&(d.id_a.to_string(), d.id_b.to_string())];
        assert_eq!(row.1, d.decision.as_str());
    }
}

/// Paged reads give every listing once, with its dates, in the order of one read of
/// everything (the start-up state build pages through a million).
#[tokio::test]
async fn listings_read_page_by_page_equal_one_read_of_all() {
    let pool = db().await;
    ingest(&pool, &fixture()).await;
    ingest(&pool, &parade_copy("bz-parade")).await;
    let all = load(&pool).await;
    assert!(all.len() > 3, "several pages of two");
    assert!(all.iter().any(|e| !e.dates.is_empty()));
    let client = pool.get().await.expect("connection");
    assert_eq!(
        store::count_events(&**client).await.expect("count"),
        all.len()
    );
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store::load_events_page(&**client, after.as_deref(), 2)
            .await
            .expect("page loads");
        let Some(last) = page.last() else { break };
        assert!(page.len() <= 2);
        after = Some(last.id.clone());
        pages.push(page);
    }
    assert_eq!(pages.len(), all.len().div_ceil(2));
    assert_eq!(pages.concat(), all);
}

/// A run reads its input from one snapshot: a file committed while it loads is not
/// half-seen (events from before, dates from after made runs fail).
#[tokio::test]
async fn run_input_is_read_from_one_snapshot() {
    let pool = db().await;
    ingest(&pool, &fixture()).await;
    let mut client = pool.get().await.expect("connection");
    let tx = store::begin_run_snapshot(&mut client)
        .await
        .expect("snapshot");
    // The first statement fixes the snapshot.
    store::load_stored_config(&*tx).await.expect("config");
    ingest(&pool, &parade_copy("bz-parade")).await;
    let seen = store::load_all_events(&*tx).await.expect("events");
    assert_eq!(
        seen.len(),
        fixture().events.len(),
        "the later file is not seen"
    );
    assert!(seen.iter().all(|e| e.id != "bz-parade"));
    tx.commit().await.expect("commit");
    assert_eq!(load(&pool).await.len(), fixture().events.len() + 1);
}

/// The fixture stored and matched, and a connection a "review" holds the lock on.
async fn matched_fixture_and_reviewer(
    pool: &Pool,
) -> (std::sync::Arc<PipelineResult>, deadpool_postgres::Object) {
    ingest(pool, &fixture()).await;
    let result = std::sync::Arc::new(pipeline(load(pool).await, &ReviewConstraints::default()));
    (result, pool.get().await.expect("connection"))
}

/// Persists `result` on a task of its own (so it can wait for a lock).
fn persist_in_background(
    pool: &Pool,
    result: &std::sync::Arc<PipelineResult>,
) -> tokio::task::JoinHandle<store::PersistSummary> {
    let (pool, result) = (pool.clone(), result.clone());
    tokio::spawn(async move { persist(&pool, &result).await })
}

/// Waits (with a deadline) until the run's transaction is blocked on the advisory
/// lock: the run has started and is waiting, not merely slow to start.
async fn wait_until_blocked_on_the_lock<T>(pool: &Pool, run: &tokio::task::JoinHandle<T>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while scalar_i64(
        pool,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .await
        == 0
    {
        assert!(
            !run.is_finished(),
            "the run finished without waiting for the lock"
        );
        assert!(
            Instant::now() < deadline,
            "the run never waited for the lock"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn advisory_lock_serializes_review_writes_and_runs() {
    let pool = db().await;
    let (result, mut reviewer) = matched_fixture_and_reviewer(&pool).await;

    // A review action holds the lock...
    let tx = reviewer.transaction().await.expect("tx");
    store::lock_canonical_state(&tx).await.expect("lock");

    // ...so a run waits for it,
    let run = persist_in_background(&pool, &result);
    wait_until_blocked_on_the_lock(&pool, &run).await;
    assert!(!run.is_finished(), "the run must wait for the review lock");
    tx.commit().await.expect("commit");
    let summary = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("run finishes once the lock is free")
        .expect("task");
    assert_eq!(summary.created, 5);

    // ...and concurrent runs serialize without deadlock.
    let runs: Vec<_> = (0..3)
        .map(|_| persist_in_background(&pool, &result))
        .collect();
    for r in runs {
        let s = tokio::time::timeout(Duration::from_secs(10), r)
            .await
            .expect("no deadlock")
            .expect("task");
        assert_eq!(s.canonical_ids, summary.canonical_ids);
    }
}

/// Issue 13, item 8: `finished_at` is stamped when the run commits, not when its
/// transaction began, and `duration_ms` agrees with it. A review holds the canonical
/// lock, so the run's transaction starts and then waits; the run must look finished
/// only after the lock was released.
#[tokio::test]
async fn a_run_is_stamped_finished_when_it_commits() {
    let pool = db().await;
    let (result, mut reviewer) = matched_fixture_and_reviewer(&pool).await;
    let tx = reviewer.transaction().await.expect("tx");
    store::lock_canonical_state(&tx).await.expect("lock");
    let run = persist_in_background(&pool, &result);
    wait_until_blocked_on_the_lock(&pool, &run).await;
    let released: chrono::DateTime<chrono::Utc> = tx
        .query_one("SELECT clock_timestamp()", &[])
        .await
        .expect("clock")
        .get(0);
    tx.commit().await.expect("commit");
    let summary = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("run finishes once the lock is free")
        .expect("task");
    let client = pool.get().await.expect("connection");
    let row = client
        .query_one(
            "SELECT started_at, finished_at, duration_ms FROM processing_runs WHERE id = $1",
            &[&summary.processing_run_id],
        )
        .await
        .expect("run row");
    let started: chrono::DateTime<chrono::Utc> = row.get(0);
    let finished: chrono::DateTime<chrono::Utc> = row.get(1);
    let duration_ms: i64 = row.get(2);
    assert!(
        finished >= released,
        "finished_at {finished} precedes the lock release {released}"
    );
    assert!(
        ((finished - started).num_milliseconds() - duration_ms).abs() <= 1,
        "duration_ms {duration_ms} disagrees with {started}..{finished}"
    );
}

#[tokio::test]
async fn constraints_round_trip() {
    let pool = db().await;
    ingest(&pool, &fixture()).await;
    let client = pool.get().await.expect("connection");
    store::add_pair_constraint(
        &**client,
        PairConstraint::CannotLink,
        "pdf-3fa91c02-2-0",
        "pdf-3fa91c02-1-0",
        "t",
    )
    .await
    .expect("stored");
    store::add_pair_constraint(
        &**client,
        PairConstraint::CannotLink,
        "pdf-3fa91c02-1-0",
        "pdf-3fa91c02-2-0",
        "t",
    )
    .await
    .expect("duplicate ignored");
    store::add_reviewed_set(
        &**client,
        &[
            "pdf-3fa91c02-3-0".to_string(),
            "pdf-3fa91c02-1-1".to_string(),
        ],
        "t",
    )
    .await
    .expect("stored");
    let c = store::load_constraints(&**client).await.expect("loaded");
    assert_eq!(
        c.cannot_link,
        vec![(
            "pdf-3fa91c02-1-0".to_string(),
            "pdf-3fa91c02-2-0".to_string()
        )]
    );
    assert!(c.must_link.is_empty());
    assert_eq!(
        c.reviewed,
        vec![vec![
            "pdf-3fa91c02-1-1".to_string(),
            "pdf-3fa91c02-3-0".to_string()
        ]]
    );
    let same = store::add_pair_constraint(&**client, PairConstraint::MustLink, "x", "x", "t").await;
    assert!(matches!(same, Err(StoreError::Invalid(_))));
    // A check violation is a permanent data error.
    let err = client
        .execute(
            "INSERT INTO review_constraints (kind, event_id_a, event_id_b) VALUES ('must_link', $1, $2)",
            &[&"pdf-3fa91c02-2-0", &"pdf-3fa91c02-1-0"],
        )
        .await
        .map_err(StoreError::from)
        .expect_err("order check");
    assert!(err.is_constraint_violation());
    assert!(!err.is_transient());
}

#[tokio::test]
async fn unreachable_server_is_a_transient_error() {
    // Nothing listens on port 1.
    let pool = store::build_pool("postgres://postgres@127.0.0.1:1/postgres", 1).expect("pool");
    let err = pool
        .get()
        .await
        .map(|_| ())
        .map_err(StoreError::from)
        .expect_err("no server");
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn bulk_insert_of_ten_thousand_events() {
    let pool = db().await;
    let template = fixture();
    let mut big = template.clone();
    big.file_name = "bulk_01.01.2026.json".into();
    big.file_hash = "b".repeat(64);
    big.events = (0..10_000)
        .map(|i| {
            let mut e = template.events[i % template.events.len()].clone();
            e.id = format!("bulk-{i:05}");
            e.title = format!("{} {i}", e.title);
            e
        })
        .collect();
    let derived = derived(&big);
    let started = Instant::now();
    let outcome = store::ingest_file(&pool, &big, &derived)
        .await
        .expect("stored");
    let insert_ms = started.elapsed().as_millis();
    assert_eq!(outcome.inserted, 10_000);

    let started = Instant::now();
    let loaded = load(&pool).await;
    let load_ms = started.elapsed().as_millis();
    assert_eq!(loaded.len(), 10_000);
    assert_eq!(loaded[1234], big.events[1234]);

    // Re-delivering all 10k (new file, same ids) is 10k updates.
    big.file_hash = "c".repeat(64);
    big.file_name = "bulk_02.01.2026.json".into();
    let started = Instant::now();
    let outcome = store::ingest_file(&pool, &big, &derived)
        .await
        .expect("stored");
    let update_ms = started.elapsed().as_millis();
    assert_eq!(outcome.updated.len(), 10_000);
    eprintln!(
        "bulk: insert 10k events {insert_ms} ms, load {load_ms} ms, update 10k {update_ms} ms"
    );
}

#[tokio::test]
async fn failed_persist_rolls_back_and_can_be_recorded() {
    let pool = db().await;
    ingest(&pool, &fixture()).await;
    let stored = load(&pool).await;
    let first = persist(
        &pool,
        &pipeline(stored.clone(), &ReviewConstraints::default()),
    )
    .await;

    // An event that was never stored: its membership row breaks the foreign key.
    let mut ghost = stored[0].clone();
    ghost.id = "zz-never-stored".into();
    ghost.title = "Etwas ganz anderes".into();
    let mut events = stored;
    events.push(ghost);
    let result = pipeline(events, &ReviewConstraints::default());
    let run = RunInfo::new(Trigger::Batch, 1);
    let mut client = pool.get().await.expect("connection");
    let err = store::persist_run(&mut client, &result, &run)
        .await
        .expect_err("foreign key violation");
    assert!(err.is_constraint_violation(), "{err:?}");
    assert!(!err.is_transient());
    store::record_failed_run(&**client, &run, &err.to_string())
        .await
        .expect("failure recorded");
    drop(client);

    // Nothing of the failed run is visible.
    let ids: Vec<i32> = {
        let client = pool.get().await.expect("connection");
        client
            .query("SELECT id FROM canonical_events ORDER BY id", &[])
            .await
            .expect("rows")
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    let mut expected = first.canonical_ids.clone();
    expected.sort_unstable();
    assert_eq!(ids, expected);
    assert_eq!(
        scalar_i64(
            &pool,
            "SELECT count(*) FROM processing_runs WHERE status = 'failed'"
        )
        .await,
        1
    );
    assert_eq!(
        scalar_i64(
            &pool,
            "SELECT count(*) FROM processing_runs WHERE status = 'completed'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn concurrent_migrations_serialize() {
    let (pool, url) = fresh_database().await.expect("test database");
    // A fresh schema-less database migrated by three pools at once.
    let client = pool.get().await.expect("connection");
    client
        .batch_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        .await
        .expect("schema reset");
    drop(client);
    let pools: Vec<Pool> = (0..3)
        .map(|_| store::build_pool(&url, 1).expect("pool"))
        .collect();
    let results = futures_util::future::join_all(pools.iter().map(store::migrate)).await;
    for r in results {
        r.expect("every migrate succeeds");
    }
    ingest(&pool, &fixture()).await;
}

#[tokio::test]
async fn config_row_round_trips() {
    let pool = db().await;
    let client = pool.get().await.expect("connection");
    assert!(store::load_stored_config(&**client)
        .await
        .expect("query")
        .is_none());
    let config = serde_json::json!({"thresholds": {"high": 0.8}});
    store::save_stored_config(&**client, &config, Some("plain:k"), "api")
        .await
        .expect("saved");
    store::save_stored_config(&**client, &config, None, "api")
        .await
        .expect("replaced");
    let stored = store::load_stored_config(&**client)
        .await
        .expect("query")
        .expect("row");
    assert_eq!(stored.config_json, config);
    assert_eq!(stored.encrypted_api_key, None);
    assert_eq!(stored.updated_by, "api");
    assert_eq!(
        scalar_i64(&pool, "SELECT count(*) FROM config_settings").await,
        1
    );
}

/// `train --database`: the reviewers' splits (cannot-links) and merges (must-links)
/// stored in PostgreSQL become weighted training pairs; a split pair then scores lower
/// than under a model trained on the labelled set alone.
#[tokio::test]
async fn train_learns_from_the_stored_review_decisions() {
    let (pool, url) = fresh_database().await.expect("test database");
    let other_name = "bzk_15.02.2026_2026-02-15T06-40-11-002Z.json";
    let other_path = format!(
        "{}/tests/fixtures/worked_example/{other_name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let other = std::fs::read(&other_path).expect("fixture");
    ingest(&pool, &fixture()).await;
    ingest(
        &pool,
        &parse_event_file(other_name, &other).expect("parses"),
    )
    .await;
    // The parade printed by both sources, split apart by a reviewer; a merge of two
    // different listings.
    let client = pool.get().await.expect("connection");
    for (kind, a, b) in [
        (PairConstraint::CannotLink, PARADE, "pdf-7c0d55e1-1-0"),
        (
            PairConstraint::MustLink,
            "pdf-3fa91c02-1-1",
            "pdf-7c0d55e1-2-0",
        ),
    ] {
        store::add_pair_constraint(&**client, kind, a, b, "t")
            .await
            .expect("stored");
    }
    let events = load(&pool).await;
    let find = |id: &str| events.iter().find(|e| e.id == id).expect("event");
    let features = event_dedup::matching::features_of_pair(
        find(PARADE),
        find("pdf-7c0d55e1-1-0"),
        &MatchingConfig::default(),
        lists(),
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let set = format!(
        "{}/tests/fixtures/train/plain-21",
        env!("CARGO_MANIFEST_DIR")
    );
    let train = |database: bool, out: &std::path::Path| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_event-dedup"));
        cmd.args(["train", &set, "--no-folds", "--out"])
            .arg(out)
            .env("EVENT_DEDUP_DATABASE_URL", &url);
        if database {
            cmd.arg("--database");
        }
        let output = cmd.output().expect("runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    let (plain, reviewed) = (
        dir.path().join("plain.json"),
        dir.path().join("reviewed.json"),
    );
    train(false, &plain);
    let report = train(true, &reviewed);
    assert!(report.contains("and 2 reviewer pair(s)"), "{report}");
    let load_model = |p: &std::path::Path| {
        event_dedup::matching::learned::MatchModel::load(p).expect("model loads")
    };
    let (before, after) = (load_model(&plain), load_model(&reviewed));
    assert_eq!(after.training.reviewer_pairs, 2);
    let (p0, p1) = (before.probability(&features), after.probability(&features));
    assert!(p1 < p0, "split pair: {p0:.4} before, {p1:.4} after");
}

/// A review's constraints are written in bulk, each pointing at its audit row by id
/// (not by timestamp); a newer decision replaces the opposite one on the same pair,
/// and repeating a decision adds nothing.
#[tokio::test]
async fn review_rules_point_at_their_audit_row_and_replace_the_opposite() {
    use event_dedup::matching::constraints::{merge_rules, split_rules};
    use event_dedup::store::review::{insert_audit, write_pair_rules, AuditEntry};
    let pool = db().await;
    ingest(&pool, &fixture()).await;
    let client = pool.get().await.expect("connection");
    let (x, y, z) = ("pdf-3fa91c02-1-0", "pdf-3fa91c02-2-0", "pdf-3fa91c02-3-0");
    let details = serde_json::json!({});
    let entry = |action_type| AuditEntry {
        action_type,
        canonical_event_id: None,
        source_event_id: None,
        operator: "t",
        details: &details,
    };
    let merged = insert_audit(&**client, &entry("merge"))
        .await
        .expect("audit row");
    let merge = merge_rules(&[x.to_string()], &[y.to_string(), z.to_string()]);
    write_pair_rules(&**client, &merge, "t", merged)
        .await
        .expect("stored");
    write_pair_rules(&**client, &merge, "t", merged)
        .await
        .expect("repeat stored");
    let split = insert_audit(&**client, &entry("split"))
        .await
        .expect("audit row");
    write_pair_rules(
        &**client,
        &split_rules(x, &[y.to_string()], None),
        "t",
        split,
    )
    .await
    .expect("stored");

    let c = store::load_constraints(&**client).await.expect("loaded");
    assert_eq!(c.must_link, vec![(x.to_string(), z.to_string())]);
    assert_eq!(c.cannot_link, vec![(x.to_string(), y.to_string())]);
    let rows: Vec<(String, String, Option<i64>)> = client
        .query(
            "SELECT kind, event_id_b, audit_log_id FROM review_constraints ORDER BY id",
            &[],
        )
        .await
        .expect("rows")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("must_link".to_string(), z.to_string(), Some(merged)),
            ("cannot_link".to_string(), y.to_string(), Some(split)),
        ]
    );
}

/// A split re-synthesizes the group it leaves through the one canonical writer,
/// which in review mode keeps `version`, `match_confidence` and `ai_assisted`
/// (storage spec §6) and leaves `content_hash = ''` for the next run; the moved
/// source gets a new canonical of its own.
#[tokio::test]
async fn a_split_keeps_version_and_confidence_of_the_group_it_leaves() {
    use event_dedup::store::review_actions::{split, Split};
    let pool = db().await;
    ingest(&pool, &fixture()).await;
    ingest(&pool, &parade_copy("bz-parade")).await;
    persist(
        &pool,
        &pipeline(load(&pool).await, &ReviewConstraints::default()),
    )
    .await;
    let mut client = pool.get().await.expect("connection");
    let owner = |id: &'static str| {
        let pool = pool.clone();
        async move {
            let client = pool.get().await.expect("connection");
            let row = client
                .query_one(
                    "SELECT canonical_event_id FROM canonical_event_sources WHERE source_event_id = $1",
                    &[&id],
                )
                .await
                .expect("linked");
            row.get::<_, i32>(0)
        }
    };
    let cid = owner(PARADE).await;
    assert_eq!(cid, owner("bz-parade").await, "the copy joined the parade");
    client
        .execute(
            "UPDATE canonical_events SET version = 7, match_confidence = 0.55, ai_assisted = true
             WHERE id = $1",
            &[&cid],
        )
        .await
        .expect("marked");

    let strategies = MatchingConfig::default().canonical.field_strategies;
    let request = Split {
        canonical_id: cid,
        source_id: "bz-parade",
        target_id: None,
        operator: "t",
    };
    let outcome = split(&mut client, &request, &strategies)
        .await
        .expect("split");
    assert!(!outcome.original_deleted);
    let new_id = outcome.new_canonical_id.expect("a new canonical");
    assert_eq!(owner("bz-parade").await, new_id);

    let state = |id: i32| {
        let pool = pool.clone();
        async move {
            let client = pool.get().await.expect("connection");
            let r = client
                .query_one(
                    "SELECT version, match_confidence, ai_assisted, needs_review, content_hash,
                            source_count
                     FROM canonical_events WHERE id = $1",
                    &[&id],
                )
                .await
                .expect("canonical");
            (
                r.get::<_, i32>(0),
                r.get::<_, Option<f64>>(1),
                r.get::<_, bool>(2),
                r.get::<_, bool>(3),
                r.get::<_, String>(4),
                r.get::<_, i32>(5),
            )
        }
    };
    assert_eq!(
        state(cid).await,
        (7, Some(0.55), true, false, String::new(), 1)
    );
    assert_eq!(
        state(new_id).await,
        (1, None, false, false, String::new(), 1)
    );
    let audit_links = scalar_i64(
        &pool,
        "SELECT count(*) FROM review_constraints c JOIN audit_log a ON a.id = c.audit_log_id
         WHERE a.action_type = 'split' AND c.kind = 'cannot_link'",
    )
    .await;
    assert_eq!(audit_links, 1);
}

/// Start-up catch-up: a file or a review action after the last completed run's
/// start means the catalogue is not the matching of what is stored; the fingerprint
/// of the last completed run is read back.
#[tokio::test]
async fn catch_up_is_needed_after_a_file_or_a_review_and_the_fingerprint_is_kept() {
    let pool = db().await;
    let client = pool.get().await.expect("connection");
    assert!(!store::needs_catch_up(&**client).await.expect("check"));
    assert_eq!(
        store::last_fingerprint(&**client)
            .await
            .expect("fingerprint"),
        store::StoredFingerprint::NoRun
    );

    ingest(&pool, &fixture()).await;
    assert!(store::needs_catch_up(&**client).await.expect("check"));

    let result = pipeline(load(&pool).await, &ReviewConstraints::default());
    let mut run = RunInfo::new(Trigger::File, 1);
    run.matching_fingerprint = Some("fp-1".into());
    let mut c = pool.get().await.expect("connection");
    store::persist_run(&mut c, &result, &run)
        .await
        .expect("persisted");
    assert!(!store::needs_catch_up(&**client).await.expect("check"));
    assert_eq!(
        store::last_fingerprint(&**client)
            .await
            .expect("fingerprint"),
        store::StoredFingerprint::Last(Some("fp-1".into()))
    );

    client
        .execute(
            "INSERT INTO audit_log (action_type, operator) VALUES ('review_dismiss', 't')",
            &[],
        )
        .await
        .expect("audit row");
    assert!(store::needs_catch_up(&**client).await.expect("check"));
}
