//! `event-dedup migrate`: apply the schema migrations to `EVENT_DEDUP_DATABASE_URL`
//! (or the embedded cluster under `EVENT_DEDUP_DATA_DIR`) and exit.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::settings::Settings;
use crate::startup::{migrate_with_retries, open_database};
use crate::store::build_pool;

#[derive(Debug, Args)]
pub struct MigrateArgs {}

pub fn run(_args: &MigrateArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_env()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let (url, mut embedded) = open_database(&settings).await?;
        let pool = build_pool(&url, 1)?;
        let outcome = migrate_with_retries(&pool).await;
        pool.close();
        if let Some(pg) = embedded.as_mut() {
            pg.stop()?;
        }
        outcome?;
        eprintln!("database schema is up to date");
        Ok(ExitCode::SUCCESS)
    })
}
