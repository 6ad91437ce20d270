//! `EmbeddedPostgres` lifecycle on a temp dir: init, start, connect, stop; and the
//! error a missing installation produces.

use event_dedup::store::{EmbeddedError, EmbeddedOptions, EmbeddedPostgres};
use tokio_postgres::NoTls;

#[tokio::test]
async fn starts_accepts_connections_and_stops() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut options = EmbeddedOptions::new(dir.path().join("pgdata"));
    options.ephemeral = true;
    let mut pg = EmbeddedPostgres::start_async(options.clone())
        .await
        .expect("cluster starts");
    let url = pg.connection_url();
    assert!(url.starts_with("postgres://postgres@127.0.0.1:"));

    let (client, conn) = tokio_postgres::connect(&url, NoTls)
        .await
        .expect("connects");
    let driver = tokio::spawn(conn);
    let one: i32 = client
        .query_one("SELECT 1", &[])
        .await
        .expect("query")
        .get(0);
    assert_eq!(one, 1);
    drop(client);
    let _ = driver.await;

    tokio::task::spawn_blocking(move || {
        pg.stop().expect("stops");
        pg
    })
    .await
    .expect("task");
    assert!(
        tokio_postgres::connect(&url, NoTls).await.is_err(),
        "server is down"
    );

    // A second start reuses the initialised data directory (no initdb).
    let pg = EmbeddedPostgres::start_async(options)
        .await
        .expect("restarts");
    assert!(pg.data_dir().join("PG_VERSION").exists());
    // Dropped here: Drop stops the server.
    let url = pg.connection_url();
    tokio::task::spawn_blocking(move || drop(pg))
        .await
        .expect("task");
    assert!(
        tokio_postgres::connect(&url, NoTls).await.is_err(),
        "drop stopped it"
    );
}

#[test]
fn missing_binaries_name_what_to_install() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut options = EmbeddedOptions::new(dir.path().join("pgdata"));
    options.bin_dir = Some(dir.path().join("no-such-bin"));
    let err = EmbeddedPostgres::start(&options).expect_err("no binaries there");
    assert!(matches!(err, EmbeddedError::BinariesNotFound { .. }));
    let msg = err.to_string();
    assert!(msg.contains("apt-get install postgresql"), "{msg}");
    assert!(msg.contains("EVENT_DEDUP_PG_BIN_DIR"), "{msg}");
}
