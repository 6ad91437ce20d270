//! What the LLM tie-breaker and the store exchange: tokens billed, usage rows, the
//! per-run [`UsageSummary`], cached answers, and the [`LlmLedger`] the tie-breaker
//! reads and records them through (implemented by `store::llm` for the pool), so
//! `tiebreak` and `store` never import each other.
//!
//! Invariant: plain data; the only behaviour is [`UsageSummary::count`], which keeps
//! rows and summary consistent by construction.

use std::collections::HashMap;
use std::future::Future;

use serde::{Deserialize, Serialize};

/// Tokens billed for one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// One pair attempt (`ai_usage_log` row).
#[derive(Debug, Clone, PartialEq)]
pub struct UsageRow {
    pub event_id_a: String,
    pub event_id_b: String,
    pub model: String,
    pub usage: Usage,
    pub estimated_cost_usd: f64,
    pub cached: bool,
}

/// The figures of one run's batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageSummary {
    /// 8 random hex characters, the `ai_usage_log.batch_id` of the run's rows.
    pub batch_id: String,
    pub model: String,
    /// Pairs in the configured score band.
    pub candidates: u64,
    /// Pair attempts (= usage rows): cached + api.
    pub total_requests: u64,
    pub cached_requests: u64,
    pub api_requests: u64,
    /// HTTP calls including retries.
    pub http_calls: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    /// Rounded to 6 decimals.
    pub estimated_cost_usd: f64,
    /// Pairs whose decision the model changed (tier `ai`).
    pub resolved: u64,
    /// Pairs answered below the confidence threshold (`ai_low_confidence`).
    pub low_confidence: u64,
    /// Pairs answered with an unexpected decision text (`ai_unexpected`).
    pub unexpected: u64,
    /// Pairs without a usable answer (error, malformed answer, budget).
    pub failed: u64,
    /// Pairs in the band that are still `ambiguous` afterwards.
    pub remaining: u64,
    /// The run stopped asking because `ai.budget_seconds` ran out.
    pub budget_exhausted: bool,
    pub duration_ms: u64,
}

impl UsageSummary {
    /// Adds one attempt's usage (rows and summary stay consistent by construction).
    pub fn count(&mut self, row: &UsageRow) {
        self.total_requests += 1;
        if row.cached {
            self.cached_requests += 1;
        } else {
            self.api_requests += 1;
        }
        self.prompt_tokens += row.usage.prompt_tokens;
        self.completion_tokens += row.usage.completion_tokens;
        self.total_tokens = self.prompt_tokens + self.completion_tokens;
        self.estimated_cost_usd =
            ((self.estimated_cost_usd + row.estimated_cost_usd) * 1e6).round() / 1e6;
    }
}

/// A cached answer (`ai_match_cache` row).
#[derive(Debug, Clone, PartialEq)]
pub struct CachedAnswer {
    pub decision: String,
    pub confidence: f64,
    pub reasoning: String,
    pub model: String,
}

/// One answer to store.
#[derive(Debug, Clone)]
pub struct NewCacheRow {
    pub pair_hash: String,
    pub event_id_a: String,
    pub event_id_b: String,
    pub answer: CachedAnswer,
}

/// Why the ledger could not be read or written (the tie-breaker logs it and goes on).
pub type LedgerError = Box<dyn std::error::Error + Send + Sync>;

/// Where the tie-breaker finds cached answers and records a run's usage and new
/// answers.
pub trait LlmLedger: Sync {
    /// Cached answers for the given pair hashes (any model; the caller compares it).
    fn cached_answers(
        &self,
        hashes: &[String],
    ) -> impl Future<Output = Result<HashMap<String, CachedAnswer>, LedgerError>> + Send;

    /// Stores one batch's usage rows and new answers (an answer replaces the cached
    /// one for its hash).
    fn record_batch(
        &self,
        batch_id: &str,
        rows: &[UsageRow],
        answers: &[NewCacheRow],
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;
}
