//! `event-dedup api`: the REST API alone, for the `api` service of the compose file.
//!
//! It needs `EVENT_DEDUP_DATABASE_URL` (the worker owns an embedded database, so a
//! second process cannot share it). Reviews and config changes made here reach the
//! worker's matcher as PostgreSQL notifications (`api::rematch`). SIGTERM/SIGINT stop
//! the server gracefully; exit 0.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::run::init_service_logging;
use crate::api::{rematch, server};
use crate::settings::Settings;
use crate::startup::{api_state, load_lists, migrate_with_retries, wait_for_signal};
use crate::store::build_pool;
use crate::telemetry::install_panic_hook;

#[derive(Debug, Args)]
pub struct ApiArgs {}

pub fn run(_args: &ApiArgs) -> anyhow::Result<ExitCode> {
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let Some(url) = settings.database_url.clone() else {
        eprintln!("error: `event-dedup api` needs EVENT_DEDUP_DATABASE_URL (use `event-dedup run` for the all-in-one service with its own database)");
        return Ok(ExitCode::FAILURE);
    };
    init_service_logging(&settings);
    install_panic_hook();
    let system = actix_rt::System::new();
    let result: anyhow::Result<()> = system.block_on(async move {
        let pool = build_pool(url.expose(), settings.db_pool_size)
            .context("invalid EVENT_DEDUP_DATABASE_URL")?;
        migrate_with_retries(&pool).await?;
        let listener = std::net::TcpListener::bind(settings.http_addr).with_context(|| {
            format!(
                "cannot listen on EVENT_DEDUP_HTTP_ADDR {}",
                settings.http_addr
            )
        })?;
        let lists = std::sync::Arc::new(load_lists(&settings)?);
        let state = api_state(
            &settings,
            pool.clone(),
            rematch::via_notify(pool.clone()),
            lists,
        )?;
        let server = server::run(listener, state)?;
        let handle = server.handle();
        tracing::info!(addr = %settings.http_addr, "api_listening");
        actix_rt::spawn(async move {
            let signal = wait_for_signal().await.unwrap_or("error");
            tracing::info!(signal, "api_shutdown");
            handle.stop(true).await;
        });
        server.await.context("the HTTP server failed")
    });
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "api_failed");
            eprintln!("error: {e:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}
