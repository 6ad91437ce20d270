//! The LLM tie-breaker's tables: the answer cache (`ai_match_cache`, storage spec
//! §1.9) and usage rows (`ai_usage_log`, §1.10), plus the dashboard's usage totals.
//!
//! The cache is keyed by pair hash; an answer by another model is replaced (upsert:
//! with insert-or-ignore a model change re-asked the same pairs on every run). Only
//! valid `same`/`different` answers reach here (the table's CHECK). The pool
//! implements [`LlmLedger`], the tie-breaker's view of these tables.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio_postgres::GenericClient;

use super::error::StoreError;
use super::events::get;
use crate::model::llm::{CachedAnswer, LedgerError, LlmLedger, NewCacheRow, UsageRow};

impl LlmLedger for deadpool_postgres::Pool {
    async fn cached_answers(
        &self,
        hashes: &[String],
    ) -> Result<HashMap<String, CachedAnswer>, LedgerError> {
        let client = self.get().await.map_err(StoreError::from)?;
        Ok(lookup(&**client, hashes).await?)
    }

    async fn record_batch(
        &self,
        batch_id: &str,
        rows: &[UsageRow],
        answers: &[NewCacheRow],
    ) -> Result<(), LedgerError> {
        let client = self.get().await.map_err(StoreError::from)?;
        insert_usage_rows(&**client, batch_id, rows).await?;
        store_answers(&**client, answers).await?;
        Ok(())
    }
}

/// Cached answers for the given hashes (any model; the caller compares the model).
pub async fn lookup(
    client: &impl GenericClient,
    hashes: &[String],
) -> Result<HashMap<String, CachedAnswer>, StoreError> {
    if hashes.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = client
        .query(
            "SELECT pair_hash, decision, confidence, reasoning, model
             FROM ai_match_cache WHERE pair_hash = ANY($1)",
            &[&hashes],
        )
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let decode = |e: tokio_postgres::Error| StoreError::Decode(format!("ai_match_cache: {e}"));
        out.insert(
            r.try_get("pair_hash").map_err(decode)?,
            CachedAnswer {
                decision: r.try_get("decision").map_err(decode)?,
                confidence: r.try_get("confidence").map_err(decode)?,
                reasoning: r.try_get("reasoning").map_err(decode)?,
                model: r.try_get("model").map_err(decode)?,
            },
        );
    }
    Ok(out)
}

/// Inserts answers; an existing row for the hash is replaced (model change).
pub async fn store_answers(
    client: &impl GenericClient,
    rows: &[NewCacheRow],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&NewCacheRow) -> String| rows.iter().map(f).collect::<Vec<String>>();
    let hashes = col(|r| r.pair_hash.clone());
    let ids_a = col(|r| r.event_id_a.clone());
    let ids_b = col(|r| r.event_id_b.clone());
    let decisions = col(|r| r.answer.decision.clone());
    let reasonings = col(|r| r.answer.reasoning.clone());
    let models = col(|r| r.answer.model.clone());
    let confidences: Vec<f64> = rows.iter().map(|r| r.answer.confidence).collect();
    client
        .execute(
            "INSERT INTO ai_match_cache
                 (pair_hash, event_id_a, event_id_b, decision, confidence, reasoning, model)
             SELECT DISTINCT ON (h) h, a, b, d, c, r, m
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[],
                         $6::text[], $7::text[]) AS n(h, a, b, d, c, r, m)
             ON CONFLICT (pair_hash) DO UPDATE SET
                 event_id_a = EXCLUDED.event_id_a, event_id_b = EXCLUDED.event_id_b,
                 decision = EXCLUDED.decision, confidence = EXCLUDED.confidence,
                 reasoning = EXCLUDED.reasoning, model = EXCLUDED.model, created_at = now()",
            &[
                &hashes,
                &ids_a,
                &ids_b,
                &decisions,
                &confidences,
                &reasonings,
                &models,
            ],
        )
        .await?;
    Ok(())
}

/// Writes the rows of one batch.
pub async fn insert_usage_rows(
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

/// The tie-breaker's usage since a moment (the dashboard's `ai` figures).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UsageTotals {
    pub batch_count: i64,
    pub total_requests: i64,
    pub cached_requests: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    /// Rounded to 6 decimals.
    pub estimated_cost_usd: f64,
}

/// Usage rows written since `since`, summed.
pub async fn usage_since(
    client: &impl GenericClient,
    since: DateTime<Utc>,
) -> Result<UsageTotals, StoreError> {
    let ai = client
        .query_one(
            "SELECT count(DISTINCT batch_id) AS batch_count,
                    count(*) AS total_requests,
                    count(*) FILTER (WHERE cached) AS cached_requests,
                    coalesce(sum(prompt_tokens), 0)::int8 AS prompt_tokens,
                    coalesce(sum(completion_tokens), 0)::int8 AS completion_tokens,
                    coalesce(sum(total_tokens), 0)::int8 AS total_tokens,
                    round(coalesce(sum(estimated_cost_usd), 0)::numeric, 6)::float8 AS cost
             FROM ai_usage_log WHERE created_at >= $1",
            &[&since],
        )
        .await?;
    Ok(UsageTotals {
        batch_count: get(&ai, "batch_count")?,
        total_requests: get(&ai, "total_requests")?,
        cached_requests: get(&ai, "cached_requests")?,
        prompt_tokens: get(&ai, "prompt_tokens")?,
        completion_tokens: get(&ai, "completion_tokens")?,
        total_tokens: get(&ai, "total_tokens")?,
        estimated_cost_usd: get(&ai, "cost")?,
    })
}
