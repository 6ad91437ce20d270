//! One way for an offline command to reach the database: the configured
//! `EVENT_DEDUP_DATABASE_URL`, or the embedded cluster under `EVENT_DEDUP_DATA_DIR`
//! (started for the command and stopped after it, whatever the outcome).

use std::future::Future;

use anyhow::Context;
use deadpool_postgres::Pool;

use crate::settings::Settings;
use crate::startup::open_database;
use crate::store::build_pool;

/// Runs `work` with a one-connection pool on a current-thread runtime, then closes the
/// pool and stops an embedded cluster; `work`'s error wins over a stop error.
pub fn with_database<T, F, Fut>(work: F) -> anyhow::Result<T>
where
    F: FnOnce(Pool) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let settings = Settings::from_env()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let (url, mut embedded) = open_database(&settings).await?;
        let pool = build_pool(&url, 1)?;
        let outcome = work(pool.clone()).await;
        pool.close();
        let stopped = match embedded.as_mut() {
            Some(pg) => pg.stop().map_err(anyhow::Error::from),
            None => Ok(()),
        };
        let value = outcome?;
        stopped?;
        Ok(value)
    })
}
