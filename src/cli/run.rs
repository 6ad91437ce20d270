//! `event-dedup run`: the service (watcher, ingest, matcher, stats).
//!
//! Order: settings (a bad variable stops here, named) → bunyan JSON telemetry on
//! stdout (nothing else writes to stdout) → panic hook → `App::build` → wait for a
//! signal → drain. Runs on an actix `System` because the stages are actors.

use std::process::ExitCode;

use clap::Args;

use crate::settings::Settings;
use crate::startup::App;
use crate::telemetry::{get_subscriber, init_subscriber, install_panic_hook, RenameSourceFile};

/// Name in every log record.
pub const SERVICE_NAME: &str = "event-dedup";

#[derive(Debug, Args)]
pub struct RunArgs {}

pub fn run(_args: &RunArgs) -> anyhow::Result<ExitCode> {
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    init_service_logging(&settings);
    install_panic_hook();
    let system = actix_rt::System::new();
    let result = system.block_on(async move {
        let app = App::build(settings).await?;
        app.run_until_stopped().await
    });
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "service_failed");
            eprintln!("error: {e:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Bunyan JSON on stdout, or human-readable lines when `LOG_JSON=false`.
pub fn init_service_logging(settings: &Settings) {
    let filter = settings.log_level.as_filter();
    if settings.log_json {
        init_subscriber(get_subscriber(
            SERVICE_NAME,
            filter,
            RenameSourceFile(std::io::stdout),
        ));
    } else {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stdout)
            .try_init();
    }
}
