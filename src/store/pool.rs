//! Connection pool and schema migrations.
//!
//! The pool is `deadpool-postgres` over `tokio-postgres` without TLS: the database
//! is either the embedded loopback cluster or a service on the compose network.
//! Migrations are the SQL files under `migrations/`, embedded into the binary by
//! refinery so a deployed binary never depends on files next to it.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use super::error::StoreError;

/// How long a caller waits for a free connection before the pool reports a
/// (transient) timeout, instead of hanging forever behind a stuck run.
pub const POOL_WAIT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long establishing a new connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

mod embedded_migrations {
    refinery::embed_migrations!("migrations");
}

/// Builds a pool for `url` (`postgres://user[:password]@host:port/db` or the
/// key=value form) with at most `max_size` connections. Connections are opened
/// lazily, so this does not fail on an unreachable server.
pub fn build_pool(url: &str, max_size: usize) -> Result<Pool, StoreError> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e: tokio_postgres::Error| StoreError::PoolConfig(e.to_string()))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            // Fast recycling: a broken connection is detected on first use and
            // reported as a transient error; the next checkout gets a new one.
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size.max(1))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(POOL_WAIT_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(|e| StoreError::PoolConfig(e.to_string()))
}

/// Session advisory lock held while migrating, so the API and the worker starting
/// at the same time against one database do not both try to apply a migration.
pub const MIGRATION_LOCK_KEY: i64 = 0x0065_7664_6d69_6772;

/// Applies every pending migration, serialized across processes by
/// [`MIGRATION_LOCK_KEY`].
pub async fn migrate(pool: &Pool) -> Result<(), StoreError> {
    let mut client = pool.get().await?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await?;
    let outcome = embedded_migrations::migrations::runner()
        .run_async(&mut **client)
        .await;
    // Unlock even when migrating failed; a broken connection releases it anyway.
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY])
        .await;
    let report = outcome?;
    unlocked?;
    for m in report.applied_migrations() {
        tracing::info!(migration = %m, "applied schema migration");
    }
    Ok(())
}

/// Whether the database answers a trivial query (the health probe).
pub async fn ping(pool: &Pool) -> bool {
    match pool.get().await {
        Ok(client) => client.simple_query("SELECT 1").await.is_ok(),
        Err(_) => false,
    }
}

/// Sends a notification on `channel` (a fixed identifier, never user input).
pub async fn notify(
    client: &impl tokio_postgres::GenericClient,
    channel: &str,
) -> Result<(), StoreError> {
    client.batch_execute(&format!("NOTIFY {channel}")).await?;
    Ok(())
}

/// Subscribes the connection to `channel` (a fixed identifier, never user input).
pub async fn listen(
    client: &tokio_postgres::Client,
    channel: &str,
) -> Result<(), tokio_postgres::Error> {
    client.batch_execute(&format!("LISTEN {channel}")).await
}
