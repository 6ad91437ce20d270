//! Logging setup.
//!
//! The service writes bunyan JSON records on stdout (one per line, stable field names,
//! span fields copied into every record by `JsonStorageLayer`) because a log aggregator
//! ingests them. Offline commands keep stdout for their output and log human-readable
//! lines to stderr instead.

use tracing::subscriber::set_global_default;
use tracing::Subscriber;
use tracing_bunyan_formatter::{BunyanFormattingLayer, JsonStorageLayer};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Registry};

/// A bunyan JSON subscriber writing to `sink` (z2p's `get_subscriber` shape).
pub fn get_subscriber<Sink>(
    name: &str,
    default_filter: &str,
    sink: Sink,
) -> impl Subscriber + Send + Sync
where
    Sink: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(default_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    Registry::default()
        .with(filter)
        .with(JsonStorageLayer)
        .with(BunyanFormattingLayer::new(name.to_string(), sink))
}

/// Installs `subscriber` as the global default; a second call is ignored (tests).
pub fn init_subscriber(subscriber: impl Subscriber + Send + Sync) {
    let _ = set_global_default(subscriber);
}

/// Human-readable logs on stderr for the offline commands.
pub fn init_cli_logging(level: &str) {
    let filter = EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
