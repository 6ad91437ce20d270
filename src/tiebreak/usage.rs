//! Usage and cost of the tie-breaker (`ai_usage_log`, storage-and-api.md §1.10, §9).
//!
//! One [`UsageRow`] per pair attempt (a cache hit is a row with `cached = true` and 0
//! tokens; a failed call is a row with the tokens billed, usually 0), all rows of a
//! run under one `batch_id`. [`UsageSummary`] is the per-run figure that goes into the
//! run's log record, its `processing_runs` row and the dashboard.

use serde::{Deserialize, Serialize};
use tokio_postgres::GenericClient;

use super::client::Usage;
use crate::matching::config::AiConfig;
use crate::store::StoreError;

/// `prompt / 1e6 × input price + completion / 1e6 × output price` (USD).
pub fn estimated_cost(usage: Usage, config: &AiConfig) -> f64 {
    usage.prompt_tokens as f64 / 1e6 * config.cost_per_1m_input_tokens
        + usage.completion_tokens as f64 / 1e6 * config.cost_per_1m_output_tokens
}

/// One pair attempt.
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

/// 8 random lower-case hex characters.
pub fn new_batch_id() -> String {
    format!("{:08x}", rand::random::<u32>())
}

/// Writes the rows of one batch.
pub async fn insert_rows(
    client: &impl GenericClient,
    batch_id: &str,
    rows: &[UsageRow],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let clamp = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
    let ids_a: Vec<&str> = rows.iter().map(|r| r.event_id_a.as_str()).collect();
    let ids_b: Vec<&str> = rows.iter().map(|r| r.event_id_b.as_str()).collect();
    let models: Vec<&str> = rows.iter().map(|r| r.model.as_str()).collect();
    let prompt: Vec<i32> = rows.iter().map(|r| clamp(r.usage.prompt_tokens)).collect();
    let completion: Vec<i32> = rows
        .iter()
        .map(|r| clamp(r.usage.completion_tokens))
        .collect();
    let total: Vec<i32> = rows
        .iter()
        .map(|r| clamp(r.usage.prompt_tokens + r.usage.completion_tokens))
        .collect();
    let cost: Vec<f64> = rows.iter().map(|r| r.estimated_cost_usd).collect();
    let cached: Vec<bool> = rows.iter().map(|r| r.cached).collect();
    client
        .execute(
            "INSERT INTO ai_usage_log (batch_id, event_id_a, event_id_b, model, prompt_tokens,
                 completion_tokens, total_tokens, estimated_cost_usd, cached)
             SELECT $1, a, b, m, p, c, t, e, k
             FROM unnest($2::text[], $3::text[], $4::text[], $5::int4[], $6::int4[],
                         $7::int4[], $8::float8[], $9::bool[]) AS n(a, b, m, p, c, t, e, k)",
            &[
                &batch_id,
                &ids_a,
                &ids_b,
                &models,
                &prompt,
                &completion,
                &total,
                &cost,
                &cached,
            ],
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_follows_the_formula() {
        let c = AiConfig::default();
        let usage = Usage {
            prompt_tokens: 1_000_000,
            completion_tokens: 200_000,
        };
        assert!((estimated_cost(usage, &c) - (0.30 + 0.5)).abs() < 1e-12);
        let id = new_batch_id();
        assert_eq!(id.len(), 8);
        assert!(id.chars().all(|ch| ch.is_ascii_hexdigit()));
    }
}
