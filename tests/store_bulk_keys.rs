//! Foreign keys of large copies checked in bulk (`store::bulk_keys`) against a real
//! server: a large ingest batch and run store exactly what per-row checks store, a
//! missing key fails the transaction with a foreign-key violation, and the keys a
//! bulk check verified stay locked until the commit, as the per-row triggers' locks
//! do.

mod common;

use deadpool_postgres::Pool;
use event_dedup::generate::{generate, GenerateOptions};
use event_dedup::ingest::{parse_event_file, ParsedFile};
use event_dedup::matching::{run, MatchingConfig, ReviewConstraints};
use event_dedup::model::{SourceEvent, Trigger};
use event_dedup::preprocess::derive;
use event_dedup::store::bulk_keys::{KeyCheck, References, MIN_BULK_ROWS};
use event_dedup::store::test_support::fresh_database;
use event_dedup::store::{self, PreparedFile, RunInfo, StoreError};

use common::catalogue::catalogue;
use common::store_fixture::{fixture, lists, PARADE};

/// Generated listings, enough for a run whose copies take the bulk path.
fn generated_files(events: usize) -> Vec<ParsedFile> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let opts = GenerateOptions {
        events,
        pretty: false,
        ..GenerateOptions::default()
    };
    generate(&opts, dir.path()).expect("listings generated");
    let mut names: Vec<_> = std::fs::read_dir(dir.path().join("events"))
        .expect("events directory")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| {
            let name = p.file_name().expect("file name").to_string_lossy();
            let bytes = std::fs::read(p).expect("file reads");
            parse_event_file(&name, &bytes).expect("generated file parses")
        })
        .collect()
}

/// Stores `files` as one ingest batch over `client` (its role decides how the
/// batch's keys are checked).
async fn store_all(client: &mut deadpool_postgres::Object, files: &[ParsedFile]) {
    let prepared: Vec<PreparedFile> = files
        .iter()
        .map(|f| {
            let derived = f.events.iter().map(|e| derive(e, lists())).collect();
            PreparedFile::new(f.clone(), derived).expect("prepared")
        })
        .collect();
    let refs: Vec<&PreparedFile> = prepared.iter().collect();
    let tx = client.transaction().await.expect("transaction");
    for outcome in store::insert_files(&tx, &refs).await.expect("batch stored") {
        outcome.expect("file stored");
    }
    tx.commit().await.expect("commit");
}

async fn stored_listings(client: &deadpool_postgres::Object) -> Vec<SourceEvent> {
    store::load_all_events(&***client)
        .await
        .expect("events load")
}

/// A connection of `pool` acting as a role without superuser rights (and so without
/// the right to skip triggers), with the privileges the service's writes need.
async fn plain_writer(pool: &Pool) -> deadpool_postgres::Object {
    let client = pool.get().await.expect("connection");
    let database: String = client
        .query_one("SELECT current_database()::text", &[])
        .await
        .expect("database name")
        .get(0);
    // Roles are cluster-wide: one per test database.
    let role = format!("plain_{database}");
    client
        .batch_execute(&format!(
            "CREATE ROLE {role} NOLOGIN;
             GRANT USAGE ON SCHEMA public TO {role};
             GRANT ALL ON ALL TABLES IN SCHEMA public TO {role};
             GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role};
             SET ROLE {role};"
        ))
        .await
        .expect("plain role");
    client
}

#[tokio::test]
async fn a_large_batch_and_run_check_their_keys_in_bulk_and_store_what_per_row_checks_store() {
    let files = generated_files(6_000);
    let (bulk_pool, _) = fresh_database().await.expect("test database");
    let (row_pool, _) = fresh_database().await.expect("test database");
    let mut superuser = bulk_pool.get().await.expect("connection");
    let mut plain = plain_writer(&row_pool).await;
    store_all(&mut superuser, &files).await;
    store_all(&mut plain, &files).await;

    // The ingest batch (listings onto files, dates onto listings) stores the same.
    let events = stored_listings(&superuser).await;
    assert_eq!(events, stored_listings(&plain).await);
    let listings = events.len();
    let result = run(
        events,
        &MatchingConfig::default(),
        lists(),
        &ReviewConstraints::default(),
    );
    assert!(
        result.pairs.len() >= MIN_BULK_ROWS && listings >= MIN_BULK_ROWS,
        "the data must be large enough for both copies to go bulk: {} pairs, {listings} listings",
        result.pairs.len()
    );

    let bulk = store::persist_run(&mut superuser, &result, &RunInfo::new(Trigger::Batch, 1))
        .await
        .expect("run persisted with bulk checks");
    let per_row = store::persist_run(&mut plain, &result, &RunInfo::new(Trigger::Batch, 1))
        .await
        .expect("run persisted with per-row checks");

    assert_eq!(
        bulk.bulk_checked_rows,
        result.pairs.len() + listings,
        "every decision and every link of a run onto an empty catalogue is checked in bulk"
    );
    assert_eq!(
        per_row.bulk_checked_rows, 0,
        "a plain role cannot skip triggers"
    );
    assert_eq!(bulk.created, per_row.created);
    assert_eq!(bulk.decisions_written, per_row.decisions_written);
    assert_eq!(catalogue(&bulk_pool).await, catalogue(&row_pool).await);
}

/// A canonical row to link to, in `tx`.
async fn some_canonical(tx: &tokio_postgres::Transaction<'_>) -> i32 {
    tx.query_one(
        "INSERT INTO canonical_events (title) VALUES ('Umzug') RETURNING id",
        &[],
    )
    .await
    .expect("canonical inserted")
    .get(0)
}

async fn link(
    tx: &tokio_postgres::Transaction<'_>,
    canonical: i32,
    source: &str,
) -> Result<u64, StoreError> {
    Ok(tx
        .execute(
            "INSERT INTO canonical_event_sources (canonical_event_id, source_event_id)
             VALUES ($1, $2)",
            &[&canonical, &source],
        )
        .await?)
}

/// Links `canonical` (inserted by the transaction) to `source` as a copy of `rows`
/// rows through a fresh [`KeyCheck`]; answers the check and the copy's result.
async fn checked_link(
    tx: &tokio_postgres::Transaction<'_>,
    rows: usize,
    canonical: i32,
    source: &'static str,
) -> (KeyCheck, Result<u64, StoreError>) {
    let mut keys = KeyCheck::new();
    let refs = move |r: &mut References| {
        r.stored_sources([source]).own_canonicals(&[canonical]);
    };
    let copied = keys.copy(tx, rows, refs, link(tx, canonical, source)).await;
    (keys, copied)
}

/// Asserts that `err` is the bulk check's report of `key` missing from `table`.
fn assert_missing(err: &StoreError, table: &str, key: &str) {
    assert!(
        matches!(err, StoreError::MissingKey { table: t, key: k, .. } if *t == table && k == key),
        "{err:?}"
    );
    assert!(err.is_constraint_violation() && !err.is_transient());
}

async fn fixture_db() -> Pool {
    let (pool, _) = fresh_database().await.expect("test database");
    store_all(&mut pool.get().await.expect("connection"), &[fixture()]).await;
    pool
}

#[tokio::test]
async fn a_missing_key_fails_the_bulk_check_with_a_foreign_key_violation() {
    let pool = fixture_db().await;
    let mut client = pool.get().await.expect("connection");

    // A missing source event: the copy itself runs unchecked, the verification fails.
    let tx = client.transaction().await.expect("transaction");
    let canonical = some_canonical(&tx).await;
    let (keys, copied) = checked_link(&tx, MIN_BULK_ROWS, canonical, "no-such-listing").await;
    assert_eq!(copied.expect("the bulk path skips the per-row trigger"), 1);
    assert_eq!(keys.bulk_rows(), MIN_BULK_ROWS);
    let err = keys.verify(&tx).await.expect_err("a missing source event");
    assert_missing(&err, "source_events", "no-such-listing");
    tx.rollback().await.expect("rollback");

    // A missing canonical event.
    let tx = client.transaction().await.expect("transaction");
    let (keys, copied) = checked_link(&tx, MIN_BULK_ROWS, 999_999, PARADE).await;
    copied.expect("unchecked copy");
    let err = keys.verify(&tx).await.expect_err("a missing canonical");
    assert_missing(&err, "canonical_events", "999999");
    tx.rollback().await.expect("rollback");

    // A missing file row of a listing copied by the ingest.
    let tx = client.transaction().await.expect("transaction");
    let mut keys = KeyCheck::new();
    let files = |r: &mut References| {
        r.own_files(&[999_999]);
    };
    keys.copy(&tx, MIN_BULK_ROWS, files, async { Ok(()) })
        .await
        .expect("nothing copied");
    let err = keys.verify(&tx).await.expect_err("a missing file row");
    assert_missing(&err, "file_ingestions", "999999");
    tx.rollback().await.expect("rollback");

    // A small copy keeps the server's per-row check, which refuses the row at once.
    let tx = client.transaction().await.expect("transaction");
    let canonical = some_canonical(&tx).await;
    let (keys, copied) = checked_link(&tx, MIN_BULK_ROWS - 1, canonical, "no-such-listing").await;
    let err = copied.expect_err("the per-row trigger refuses the row");
    assert!(err.is_constraint_violation(), "{err:?}");
    assert_eq!(keys.bulk_rows(), 0);
}

#[tokio::test]
async fn keys_checked_in_bulk_stay_locked_until_the_commit() {
    let pool = fixture_db().await;
    let mut writer = pool.get().await.expect("connection");
    let other = pool.get().await.expect("second connection");
    other
        .batch_execute("SET lock_timeout = '300ms'")
        .await
        .expect("lock timeout");
    let delete_parade = || other.execute("DELETE FROM source_events WHERE id = $1", &[&PARADE]);

    let tx = writer.transaction().await.expect("transaction");
    let canonical = some_canonical(&tx).await;
    let (keys, copied) = checked_link(&tx, MIN_BULK_ROWS, canonical, PARADE).await;
    copied.expect("unchecked copy");
    keys.verify(&tx).await.expect("every key exists");

    let err = delete_parade()
        .await
        .expect_err("the verified key is locked");
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE),
        "{err:?}"
    );
    tx.commit().await.expect("commit");
    let err = delete_parade()
        .await
        .expect_err("after the commit the foreign key holds the row");
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION),
        "{err:?}"
    );
}
