//! Process metrics in Prometheus form (`GET /metrics`).
//!
//! Counters are fed where the facts arise: the stats actor (one update per processed
//! file and per run, the same facts as the log records) and the database retry loop.
//! Figures that live in the database (stored events, canonical events, review queue)
//! are read at scrape time by the API, so a separate `api` process reports them too,
//! and rendered by [`render_stored`] from that scrape's reading only: when the
//! database cannot be read they are absent and `event_dedup_stored_scrape_error` is 1,
//! never a stale value shown as current (issue 13).
//!
//! Invariant: one registry per process ([`shared`]), created on first use and handed
//! to the API through its state; registering the fixed metric set cannot fail, so a
//! failure there is a build defect.

use std::sync::{Arc, LazyLock};

use prometheus::{
    Counter, Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

/// Every metric of the process.
pub struct Metrics {
    registry: Registry,
    /// Files by outcome: completed, skipped, failed (dead-lettered), error (run failed).
    pub files: IntCounterVec,
    pub events_ingested: IntCounter,
    /// Matching runs by outcome: completed, failed.
    pub runs: IntCounterVec,
    pub run_duration: Histogram,
    /// Transient database errors (each is retried).
    pub db_errors: IntCounter,
    /// Rejected files that could not be dead-lettered (full or missing volume); each
    /// stays in place and is retried at the next rescan.
    pub dead_letter_errors: IntCounter,
    /// Files found but not yet ingested, per the watcher.
    pub queue_depth: IntGauge,
    /// LLM tie-breaker HTTP calls by outcome: ok, malformed, timeout,
    /// transient_error (429/5xx/transport, retried), error (not retried),
    /// budget_exhausted (not sent or cut by the run's budget).
    pub llm_requests: IntCounterVec,
    /// Pairs answered from the cache (no HTTP call).
    pub llm_cache_hits: IntCounter,
    /// Tokens billed, `direction` = in (prompt) or out (completion).
    pub llm_tokens: IntCounterVec,
    /// Estimated cost in USD (`ai.cost_per_1m_*` prices).
    pub llm_cost_usd: Counter,
}

/// Outcome labels of [`Metrics::llm_requests`].
pub const LLM_OUTCOMES: [&str; 6] = [
    "ok",
    "malformed",
    "timeout",
    "transient_error",
    "error",
    "budget_exhausted",
];

/// Run durations span 0.1 s (small catalogues) to minutes (millions of events).
const RUN_DURATION_BUCKETS: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

fn build() -> Result<Metrics, prometheus::Error> {
    let registry = Registry::new_custom(Some("event_dedup".into()), None)?;
    let files = IntCounterVec::new(
        Opts::new("files_processed_total", "Event files by outcome"),
        &["status"],
    )?;
    let events_ingested =
        IntCounter::new("events_ingested_total", "Source events stored from files")?;
    let runs = IntCounterVec::new(
        Opts::new("matching_runs_total", "Matching runs by outcome"),
        &["outcome"],
    )?;
    let run_duration = Histogram::with_opts(
        HistogramOpts::new("matching_run_duration_seconds", "Duration of matching runs")
            .buckets(RUN_DURATION_BUCKETS.to_vec()),
    )?;
    let db_errors = IntCounter::new("db_errors_total", "Transient database errors (retried)")?;
    let dead_letter_errors = IntCounter::new(
        "dead_letter_errors_total",
        "Rejected files that could not be dead-lettered (retried at the next rescan)",
    )?;
    let queue_depth = IntGauge::new("ingest_queue_depth", "Files waiting to be ingested")?;
    let llm_requests = IntCounterVec::new(
        Opts::new(
            "llm_requests_total",
            "LLM tie-breaker HTTP calls by outcome",
        ),
        &["outcome"],
    )?;
    let llm_cache_hits = IntCounter::new(
        "llm_cache_hits_total",
        "LLM tie-breaker answers served from the cache",
    )?;
    let llm_tokens = IntCounterVec::new(
        Opts::new(
            "llm_tokens_total",
            "LLM tokens billed (in = prompt, out = completion)",
        ),
        &["direction"],
    )?;
    let llm_cost_usd = Counter::new("llm_estimated_cost_usd_total", "Estimated LLM cost in USD")?;
    registry.register(Box::new(llm_requests.clone()))?;
    registry.register(Box::new(llm_cache_hits.clone()))?;
    registry.register(Box::new(llm_tokens.clone()))?;
    registry.register(Box::new(llm_cost_usd.clone()))?;
    for outcome in LLM_OUTCOMES {
        llm_requests.with_label_values(&[outcome]);
    }
    for direction in ["in", "out"] {
        llm_tokens.with_label_values(&[direction]);
    }
    registry.register(Box::new(files.clone()))?;
    registry.register(Box::new(events_ingested.clone()))?;
    registry.register(Box::new(runs.clone()))?;
    registry.register(Box::new(run_duration.clone()))?;
    registry.register(Box::new(db_errors.clone()))?;
    registry.register(Box::new(dead_letter_errors.clone()))?;
    registry.register(Box::new(queue_depth.clone()))?;
    // Every series exists from the start (at zero), so dashboards and rate() work
    // before the first file of each kind.
    for status in ["completed", "skipped", "failed", "error"] {
        files.with_label_values(&[status]);
    }
    for outcome in ["completed", "failed"] {
        runs.with_label_values(&[outcome]);
    }
    Ok(Metrics {
        registry,
        files,
        events_ingested,
        runs,
        run_duration,
        db_errors,
        dead_letter_errors,
        queue_depth,
        llm_requests,
        llm_cache_hits,
        llm_tokens,
        llm_cost_usd,
    })
}

static METRICS: LazyLock<Arc<Metrics>> = LazyLock::new(|| Arc::new(Metrics::new()));

/// The process's metrics, for the pipeline stages that count into them.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

/// The process's metrics as a handle to pass on (the API serves them from its state).
pub fn shared() -> Arc<Metrics> {
    Arc::clone(&METRICS)
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry with every series at zero. The process uses one ([`shared`]);
    /// tests make their own to assert exact values.
    pub fn new() -> Metrics {
        match build() {
            Ok(m) => m,
            Err(e) => unreachable!("the fixed metric set registers: {e}"),
        }
    }

    /// The text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding gathered families into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// The database figures of one scrape (`what`, rows), or `None` when they could not
/// be read, in the text format: `event_dedup_stored{what}` for each figure and
/// `event_dedup_stored_scrape_error` (0 or 1).
pub fn render_stored(figures: Option<&[(&str, i64)]>) -> String {
    let build = || -> Result<String, prometheus::Error> {
        let registry = Registry::new_custom(Some("event_dedup".into()), None)?;
        let stored = IntGaugeVec::new(
            Opts::new("stored", "Rows in the database at scrape time"),
            &["what"],
        )?;
        let failed = IntGauge::new(
            "stored_scrape_error",
            "1 when this scrape could not read the database figures (event_dedup_stored is then absent)",
        )?;
        registry.register(Box::new(stored.clone()))?;
        registry.register(Box::new(failed.clone()))?;
        match figures {
            Some(figures) => {
                for (what, n) in figures {
                    stored.with_label_values(&[what]).set(*n);
                }
            }
            None => failed.set(1),
        }
        let mut out = Vec::new();
        TextEncoder::new().encode(&registry.gather(), &mut out)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    };
    build().unwrap_or_else(|e| unreachable!("the fixed scrape metrics register: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_metric_family() {
        let m = metrics();
        m.files.with_label_values(&["completed"]).inc();
        m.run_duration.observe(0.3);
        let text = m.render();
        for name in [
            "event_dedup_files_processed_total{status=\"completed\"}",
            "event_dedup_matching_run_duration_seconds_bucket",
            "event_dedup_db_errors_total",
            "event_dedup_dead_letter_errors_total",
            "event_dedup_ingest_queue_depth",
            "event_dedup_llm_requests_total{outcome=\"timeout\"}",
            "event_dedup_llm_cache_hits_total",
            "event_dedup_llm_tokens_total{direction=\"in\"}",
            "event_dedup_llm_estimated_cost_usd_total",
        ] {
            assert!(text.contains(name), "{name} missing in\n{text}");
        }
    }

    #[test]
    fn stored_figures_are_dropped_when_the_database_cannot_be_read() {
        let ok = render_stored(Some(&[("source_events", 42)]));
        assert!(
            ok.contains("event_dedup_stored{what=\"source_events\"} 42"),
            "{ok}"
        );
        assert!(ok.contains("event_dedup_stored_scrape_error 0"), "{ok}");
        let down = render_stored(None);
        assert!(!down.contains("event_dedup_stored{"), "{down}");
        assert!(down.contains("event_dedup_stored_scrape_error 1"), "{down}");
    }
}
