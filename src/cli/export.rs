//! `event-dedup export [--created-after ISO] [--modified-after ISO] [--output-dir DIR]`:
//! the API's export (input-format part files, 200 events each, never a ZIP) written
//! into a directory (default `./export`, created if missing).
//!
//! Date-times without an offset are UTC, as in the API; the filters echoed in the
//! metadata are the parsed values re-serialized (`2026-02-01T00:00:00`). Uses
//! `EVENT_DEDUP_DATABASE_URL`, or the embedded cluster under `EVENT_DEDUP_DATA_DIR`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use clap::Args;

use super::database::with_database;
use crate::api::export::{export_parts, parse_instant};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Only canonical events created at or after this date-time (ISO 8601).
    #[arg(long)]
    pub created_after: Option<String>,
    /// Only canonical events modified at or after this date-time (ISO 8601).
    #[arg(long)]
    pub modified_after: Option<String>,
    /// Where the part files go (created if missing).
    #[arg(long, default_value = "./export")]
    pub output_dir: PathBuf,
}

fn bound(name: &str, value: Option<&str>) -> anyhow::Result<Option<DateTime<Utc>>> {
    match value {
        None => Ok(None),
        Some(v) => match parse_instant(v) {
            Some(t) => Ok(Some(t)),
            None => bail!("Invalid datetime format for {name}: '{v}'"),
        },
    }
}

pub fn run(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let created = bound("created_after", args.created_after.as_deref())?;
    let modified = bound("modified_after", args.modified_after.as_deref())?;
    let shown = |t: Option<DateTime<Utc>>| t.map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string());
    std::fs::create_dir_all(&args.output_dir)
        .with_context(|| format!("cannot create {}", args.output_dir.display()))?;
    with_database(|pool| async move {
        let client = pool.get().await.context("cannot connect to the database")?;
        let files = export_parts(
            &**client,
            created,
            modified,
            (shown(created), shown(modified)),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        tracing::info!(files = files.len(), "export_queried");
        for (name, bytes) in &files {
            let path = args.output_dir.join(name);
            std::fs::write(&path, bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            tracing::info!(path = %path.display(), "export_file_written");
            eprintln!("wrote {}", path.display());
        }
        tracing::info!(files = files.len(), directory = %args.output_dir.display(), "export_complete");
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
