//! `event-dedup migrate`: apply the schema migrations to `EVENT_DEDUP_DATABASE_URL`
//! (or the embedded cluster under `EVENT_DEDUP_DATA_DIR`) and exit.

use std::process::ExitCode;

use clap::Args;

use super::database::with_database;
use crate::startup::migrate_with_retries;

#[derive(Debug, Args)]
pub struct MigrateArgs {}

pub fn run(_args: &MigrateArgs) -> anyhow::Result<ExitCode> {
    with_database(|pool| async move { migrate_with_retries(&pool).await })?;
    eprintln!("database schema is up to date");
    Ok(ExitCode::SUCCESS)
}
