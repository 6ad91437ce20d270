//! `App`: builds and runs the whole service in-process (zero-to-production's
//! `Application::build` / `run_until_stopped` shape), so tests start exactly what
//! `event-dedup run` starts.
//!
//! `App::build(settings)`: word lists and matching config (fail fast on a bad file) →
//! database (the URL, or a private embedded PostgreSQL under `DATA_DIR`) → migrations
//! → watched and dead-letter directories → actors (stats, matcher, ingest, watcher)
//! → the HTTP server on `HTTP_ADDR` (`GET /health`).
//! It must be called inside an actix `System` (the actors live on its arbiter).
//!
//! `App::run_until_stopped()`: waits for SIGTERM / SIGINT (or [`App::shutdown_handle`]),
//! then drains in a fixed order within [`DRAIN_TIMEOUT`]: the watcher stops
//! discovering → the ingest finishes its file → the matcher finishes its run (and runs
//! once more for files still uncovered) → the stats flush → HTTP stops → the
//! embedded database stops. A second signal during the drain exits at once.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use anyhow::Context as _;
use deadpool_postgres::Pool;

use crate::actors::ingest::{DrainIngest, IngestActor};
use crate::actors::matcher::{CatchUp, ConfigSource, DrainMatcher, MatcherActor};
use crate::actors::persist::PersistActor;
use crate::actors::stats::{FlushStats, GetStats, StatsActor, StatsSnapshot};
use crate::actors::watcher::{StopWatching, WatcherActor, WatcherSettings};
use crate::actors::{IngestGeneration, Shutdown};
use crate::matching::learned::MatchModel;
use crate::preprocess::WordLists;
use crate::settings::Settings;
use crate::store::{self, EmbeddedOptions, EmbeddedPostgres, StoreError};

/// How long a graceful shutdown may take before the process exits anyway: one file
/// plus one full run on a large catalogue fits comfortably; a container orchestrator's
/// kill grace period should be longer.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);
/// Migration attempts at start-up and the pause between them (storage spec §2: the
/// API and the worker may start while the database is still coming up).
pub const MIGRATE_ATTEMPTS: u32 = 3;
pub const MIGRATE_RETRY_PAUSE: Duration = Duration::from_secs(2);

/// The running service.
pub struct App {
    pool: Pool,
    database_url: String,
    embedded: Option<EmbeddedPostgres>,
    shutdown: Shutdown,
    watcher: Addr<WatcherActor>,
    ingest: Addr<IngestActor>,
    matcher: Addr<MatcherActor>,
    stats: Addr<StatsActor>,
    event_data_dir: PathBuf,
    http: actix_web::dev::ServerHandle,
    port: u16,
}

impl App {
    /// Starts everything (see the module header). Fails with a message naming what is
    /// wrong: a config file, the database, a directory.
    pub async fn build(settings: Settings) -> anyhow::Result<App> {
        tracing::info!(
            event_data_dir = %settings.event_data_dir.display(),
            dead_letter_dir = %settings.dead_letter_dir.display(),
            database = settings.database_url.as_ref().map(|u| u.to_string()).unwrap_or_else(|| "embedded".into()),
            "worker_starting"
        );
        // Before anything starts: a refused configuration must not start a database.
        crate::api::auth::check_unauthenticated_writes(&settings.api_tokens.0, settings.http_addr)
            .map_err(anyhow::Error::msg)?;
        let lists = Arc::new(load_lists(&settings)?);
        let config = ConfigSource {
            path: settings.matching_config_path.clone(),
            required: settings.matching_config_explicit,
        };
        config
            .load_file()
            .map_err(|e| anyhow::anyhow!("invalid matching config: {e}"))?;

        let (database_url, embedded) = open_database(&settings).await?;
        let pool = store::build_pool(&database_url, settings.db_pool_size)
            .context("invalid EVENT_DEDUP_DATABASE_URL")?;
        migrate_with_retries(&pool).await?;

        for (var, dir) in [
            ("EVENT_DATA_DIR", &settings.event_data_dir),
            ("DEAD_LETTER_DIR", &settings.dead_letter_dir),
        ] {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create EVENT_DEDUP_{var} {}", dir.display()))?;
        }
        // notify reports absolute paths; compare like with like.
        let event_data_dir = std::fs::canonicalize(&settings.event_data_dir)
            .with_context(|| format!("cannot resolve {}", settings.event_data_dir.display()))?;
        let dead_letter_dir = std::fs::canonicalize(&settings.dead_letter_dir)
            .with_context(|| format!("cannot resolve {}", settings.dead_letter_dir.display()))?;

        let listener = std::net::TcpListener::bind(settings.http_addr).with_context(|| {
            format!(
                "cannot listen on EVENT_DEDUP_HTTP_ADDR {}",
                settings.http_addr
            )
        })?;
        let port = listener.local_addr()?.port();

        let shutdown = Shutdown::new();
        let generation = IngestGeneration::default();
        let stats = StatsActor::new().start();
        let persist_pool = pool.clone();
        let persist_shutdown = shutdown.clone();
        // Stateless, so a supervised restart loses nothing (panics are not caught by
        // the supervisor: the panic hook stops the process instead).
        let persist = actix::Supervisor::start(move |_| {
            PersistActor::new(persist_pool.clone(), persist_shutdown.clone())
        });
        let matcher = MatcherActor::new(
            pool.clone(),
            Arc::clone(&lists),
            config,
            generation.clone(),
            persist,
            stats.clone(),
            shutdown.clone(),
        )
        .with_tiebreak(settings.llm.clone())
        .start();
        let ingest = IngestActor::new(
            pool.clone(),
            Arc::clone(&lists),
            dead_letter_dir,
            generation,
            matcher.clone(),
            stats.clone(),
            shutdown.clone(),
        )
        .start();
        // Files committed before a crash may lack a run: match them now.
        let _ = matcher.send(CatchUp).await;
        let watcher = WatcherActor::new(
            WatcherSettings {
                dir: event_data_dir.clone(),
                mode: settings.watch_mode,
                settle: settings.file_settle.get(),
                rescan_interval: settings.rescan_interval.get(),
                poll_interval: settings.poll_interval.get(),
            },
            ingest.clone(),
        )
        .start();
        let state = api_state(
            &settings,
            pool.clone(),
            rematch_via_actor(matcher.clone()),
            lists,
        )?;
        let server = crate::api::server::run(listener, state)?;
        // Reviews made through a separate `event-dedup api` process arrive as
        // PostgreSQL notifications.
        crate::api::rematch::listen(database_url.clone(), matcher.clone(), shutdown.clone());
        let http = server.handle();
        actix_rt::spawn(server);
        tracing::info!(addr = %settings.http_addr, port, "http_listening");
        Ok(App {
            http,
            port,
            pool,
            database_url,
            embedded,
            shutdown,
            watcher,
            ingest,
            matcher,
            stats,
            event_data_dir,
        })
    }

    /// A handle that stops the app like a signal does (for tests and embedding).
    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// The HTTP port (useful with `HTTP_ADDR=127.0.0.1:0`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The pool the service uses.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The database URL in use (the embedded cluster's when no URL was configured).
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// The watched directory, resolved.
    pub fn event_data_dir(&self) -> &std::path::Path {
        &self.event_data_dir
    }

    /// Address of the stats actor (counters for tests and the dashboard).
    pub fn stats(&self) -> Addr<StatsActor> {
        self.stats.clone()
    }

    /// Current counters.
    pub async fn stats_snapshot(&self) -> Option<StatsSnapshot> {
        self.stats.send(GetStats).await.ok()
    }

    /// Runs until a signal or the shutdown handle, then drains (module header).
    pub async fn run_until_stopped(mut self) -> anyhow::Result<()> {
        let signalled = tokio::select! {
            s = wait_for_signal() => Some(s?),
            _ = self.shutdown.wait() => None,
        };
        tracing::info!(signal = signalled.unwrap_or("handle"), "shutdown_requested");
        self.shutdown.trigger();
        let drain = async {
            let _ = self.watcher.send(StopWatching).await;
            let _ = self.ingest.send(DrainIngest).await;
            let _ = self.matcher.send(DrainMatcher).await;
            let _ = self.stats.send(FlushStats).await;
        };
        let outcome = tokio::select! {
            r = tokio::time::timeout(DRAIN_TIMEOUT, drain) => {
                if r.is_err() {
                    tracing::warn!(timeout_s = DRAIN_TIMEOUT.as_secs(), "drain timed out");
                }
                Ok(())
            }
            s = wait_for_signal() => {
                tracing::warn!(signal = s.unwrap_or("?"), "second signal, exiting without draining");
                Err(anyhow::anyhow!("interrupted during shutdown"))
            }
        };
        self.http.stop(true).await;
        self.pool.close();
        if let Some(mut pg) = self.embedded.take() {
            let stopped = tokio::task::spawn_blocking(move || pg.stop()).await;
            match stopped {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "could not stop the embedded PostgreSQL"),
                Err(e) => tracing::error!(error = %e, "could not stop the embedded PostgreSQL"),
            }
        }
        tracing::info!("worker_shutdown");
        outcome
    }
}

/// Applies migrations, retrying a transient failure [`MIGRATE_ATTEMPTS`] times.
pub async fn migrate_with_retries(pool: &Pool) -> anyhow::Result<()> {
    let mut attempt = 1;
    loop {
        match store::migrate(pool).await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_transient() && attempt < MIGRATE_ATTEMPTS => {
                tracing::warn!(attempt, error = %format!("{e:?}").trim_end(), "migration failed, retrying");
                tokio::time::sleep(MIGRATE_RETRY_PAUSE).await;
                attempt += 1;
            }
            Err(e) => return Err(migration_error(e)),
        }
    }
}

fn migration_error(e: StoreError) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot migrate the database: {}",
        format!("{e:?}").trim_end()
    )
}

/// SIGTERM or SIGINT, by name.
pub async fn wait_for_signal() -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}

/// The API's shared state; logs when writes are open to loopback clients only, and
/// refuses a non-loopback `HTTP_ADDR` without tokens
/// ([`crate::api::auth::check_unauthenticated_writes`]).
pub fn api_state(
    settings: &Settings,
    pool: deadpool_postgres::Pool,
    rematch: std::sync::Arc<dyn Fn() + Send + Sync>,
    lists: Arc<WordLists>,
) -> anyhow::Result<crate::api::ApiState> {
    crate::api::auth::check_unauthenticated_writes(&settings.api_tokens.0, settings.http_addr)
        .map_err(anyhow::Error::msg)?;
    if settings.api_tokens.0.is_empty() {
        tracing::warn!("no EVENT_DEDUP_API_TOKENS configured: write endpoints (review, config) accept requests from loopback clients only, never through a proxy");
    }
    Ok(crate::api::ApiState {
        tokens: settings.api_tokens.0.clone(),
        encryption_key: settings.llm.encryption_key.clone(),
        llm_env_key: settings.llm.env_key.is_some(),
        ..crate::api::ApiState::new(pool, rematch, settings.matching_config_path.clone(), lists)
    })
}

/// In-process re-match trigger: a message to the matcher, which coalesces requests.
/// `try_send` never blocks an HTTP worker; a full mailbox means runs are pending anyway
/// (every run reloads the constraints), so a dropped request loses nothing.
fn rematch_via_actor(
    matcher: actix::Addr<crate::actors::matcher::MatcherActor>,
) -> std::sync::Arc<dyn Fn() + Send + Sync> {
    std::sync::Arc::new(move || {
        if let Err(e) = matcher.try_send(crate::actors::matcher::RematchRequested) {
            tracing::warn!(error = %e, "re-match request not queued; a pending run covers it");
        }
    })
}

/// The configured database URL, or a started embedded cluster under `DATA_DIR` (and
/// its URL) when none is configured. The caller stops the cluster on shutdown.
pub async fn open_database(
    settings: &Settings,
) -> anyhow::Result<(String, Option<EmbeddedPostgres>)> {
    match &settings.database_url {
        Some(url) => Ok((url.expose().to_string(), None)),
        None => {
            let options = EmbeddedOptions::new(settings.data_dir.join("pgdata"));
            let pg = EmbeddedPostgres::start_async(options)
                .await
                .context("cannot start the embedded PostgreSQL (no EVENT_DEDUP_DATABASE_URL set); install the server with `apt-get install postgresql` or set EVENT_DEDUP_DATABASE_URL")?;
            Ok((pg.connection_url(), Some(pg)))
        }
    }
}

/// The word lists and match model of the settings (start-up fails naming a bad file).
pub fn load_lists(settings: &Settings) -> anyhow::Result<WordLists> {
    Ok(WordLists::load(
        settings.prefixes_config_path.as_deref(),
        settings.synonyms_path.as_deref(),
        settings.city_aliases_path.as_deref(),
    )
    .context("cannot load the word lists")?
    .with_model(load_model(settings)?))
}

/// The match model of the settings: the bundled one, a file, or (when the file cannot
/// be used and `MODEL_FALLBACK` allows it) none, so the weighted sum decides.
fn load_model(settings: &Settings) -> anyhow::Result<Option<MatchModel>> {
    let Some(path) = &settings.model_path else {
        return Ok(Some(MatchModel::bundled()));
    };
    match MatchModel::load(path) {
        Ok(model) => Ok(Some(model)),
        Err(e) if settings.model_fallback => {
            tracing::warn!(error = %e, "model_unavailable_weighted_sum_used");
            Ok(None)
        }
        Err(e) => Err(anyhow::Error::new(e).context(
            "cannot load the match model (set EVENT_DEDUP_MODEL_FALLBACK=true to start with the weighted sum)",
        )),
    }
}
