//! Usage and cost of the tie-breaker (`ai_usage_log`, storage-and-api.md §1.10, §9).
//!
//! One [`UsageRow`] per pair attempt (a cache hit is a row with `cached = true` and 0
//! tokens; a failed call is a row with the tokens billed, usually 0), all rows of a
//! run under one `batch_id`. [`UsageSummary`] is the per-run figure that goes into the
//! run's log record, its `processing_runs` row and the dashboard.

use crate::matching::config::AiConfig;
pub use crate::model::llm::{Usage, UsageRow, UsageSummary};

/// `prompt / 1e6 × input price + completion / 1e6 × output price` (USD).
pub fn estimated_cost(usage: Usage, config: &AiConfig) -> f64 {
    usage.prompt_tokens as f64 / 1e6 * config.cost_per_1m_input_tokens
        + usage.completion_tokens as f64 / 1e6 * config.cost_per_1m_output_tokens
}

/// 8 random lower-case hex characters.
pub fn new_batch_id() -> String {
    format!("{:08x}", rand::random::<u32>())
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
