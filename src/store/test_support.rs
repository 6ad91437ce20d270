//! Test support: one throwaway PostgreSQL cluster per test process and one fresh,
//! migrated database per test (zero-to-production's `spawn_app` pattern), so tests
//! run in parallel without seeing each other's rows.
//!
//! Public (not `cfg(test)`) because integration tests under `tests/` link the library
//! as an ordinary dependency.
//!
//! The cluster:
//! * `EVENT_DEDUP_TEST_DATABASE_URL` set → that server is used as is (its databases
//!   are left behind, as in zero-to-production).
//! * otherwise an [`EmbeddedPostgres`] is started lazily, once per process, in a new
//!   directory under the system temp dir (`EVENT_DEDUP_PG_BIN_DIR` overrides where
//!   the server binaries are), with durability off (`fsync = off`): nothing in it
//!   outlives the test run.
//!
//! Stopping it: statics are never dropped, so `Drop` cannot stop a process-wide
//! cluster, and an exit hook would not run on a panic abort or a kill. Instead, right
//! after the start a small watchdog shell process is spawned in its own session
//! (`setsid`, so a Ctrl-C to the test's process group does not take it down first).
//! It polls `kill -0 <test pid>` every half second; once the test process is gone,
//! however it ended, it runs `pg_ctl stop -m fast` (as the `postgres` user when root)
//! and removes the cluster directory.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use deadpool_postgres::Pool;
use tokio_postgres::NoTls;
use uuid::Uuid;

use super::embedded::{EmbeddedOptions, EmbeddedPostgres};
use super::error::StoreError;
use super::pool::{build_pool, migrate};

/// Connections per test database pool: enough for the concurrency tests, small
/// enough that many parallel tests stay under `max_connections`.
const TEST_POOL_SIZE: usize = 4;

/// Admin URL of the process-wide cluster, or why it could not be started.
static CLUSTER: OnceLock<Result<String, String>> = OnceLock::new();

/// The admin (`postgres` database) URL of the test cluster, starting it on first
/// use. Blocking: call from `spawn_blocking` in async code.
pub fn cluster_url() -> Result<String, StoreError> {
    CLUSTER
        .get_or_init(start_cluster)
        .clone()
        .map_err(StoreError::Invalid)
}

fn start_cluster() -> Result<String, String> {
    if let Ok(url) = std::env::var("EVENT_DEDUP_TEST_DATABASE_URL") {
        return Ok(url);
    }
    let dir = std::env::temp_dir().join(format!(
        "event-dedup-test-pg-{}-{}",
        std::process::id(),
        Uuid::new_v4().simple()
    ));
    let options = EmbeddedOptions {
        data_dir: dir.join("pgdata"),
        bin_dir: std::env::var_os("EVENT_DEDUP_PG_BIN_DIR").map(PathBuf::from),
        ephemeral: true,
    };
    let pg = match EmbeddedPostgres::start(&options) {
        Ok(pg) => pg,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(format!("test cluster: {e}"));
        }
    };
    let url = pg.connection_url();
    spawn_watchdog(&pg, &dir).map_err(|e| format!("test cluster watchdog: {e}"))?;
    // From here on the watchdog owns the shutdown.
    pg.detach();
    Ok(url)
}

/// Starts the process that stops the cluster once this process has exited.
fn spawn_watchdog(pg: &EmbeddedPostgres, dir: &std::path::Path) -> std::io::Result<()> {
    const SCRIPT: &str = r#"pid=$1; dir=$2; shift 2
while kill -0 "$pid" 2>/dev/null; do sleep 0.5; done
"$@" >/dev/null 2>&1
rm -rf "$dir""#;
    Command::new("setsid")
        .arg("sh")
        .arg("-c")
        .arg(SCRIPT)
        .arg("event-dedup-test-pg-watchdog")
        .arg(std::process::id().to_string())
        .arg(dir)
        .args(pg.stop_command())
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(|_| ())
}

/// Creates a uniquely named database on the test cluster, migrates it and returns a
/// pool for it plus its URL.
pub async fn fresh_database() -> Result<(Pool, String), StoreError> {
    let admin = tokio::task::spawn_blocking(cluster_url)
        .await
        .map_err(|e| StoreError::Invalid(format!("test cluster task: {e}")))??;
    let name = format!("test_{}", Uuid::new_v4().simple());
    let (client, connection) = tokio_postgres::connect(&admin, NoTls).await?;
    let driver = tokio::spawn(connection);
    // The name is generated above (hex only), never user input; CREATE DATABASE
    // cannot take a bind parameter.
    client
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    drop(client);
    let _ = driver.await;
    let url = with_database(&admin, &name);
    let pool = build_pool(&url, TEST_POOL_SIZE)?;
    migrate(&pool).await?;
    Ok((pool, url))
}

/// Replaces the database name of a `postgres://…/db?params` URL.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://u@h:1/postgres", "x"),
            "postgres://u@h:1/x"
        );
        assert_eq!(with_database("postgres://u@h:1", "x"), "postgres://u@h:1/x");
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
    }
}
