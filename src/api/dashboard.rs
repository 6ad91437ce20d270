//! Dashboard (storage-and-api.md §7): file and decision figures, daily processing
//! history, and the recent pipeline runs (`processing_runs`, which §7's note asks for),
//! with the LLM tie-breaker's usage and cost (§9's note: show them): totals over the
//! period in `stats.ai`, and per run in `ai_usage`.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};

use super::error::ApiError;
use super::state::ApiState;
use super::{col, parse_int, RawQuery};

/// `days` in 1–365, default 30.
fn days(query: &RawQuery) -> Result<i64, ApiError> {
    let mut problems = Vec::new();
    let mut days = 30;
    for (k, v) in &query.0 {
        if k == "days" {
            days = parse_int(&mut problems, k, v, 1, 365).unwrap_or(30);
        }
    }
    if problems.is_empty() {
        Ok(days)
    } else {
        Err(ApiError::Validation(problems))
    }
}

fn cutoff(days: i64) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::days(days)
}

/// `GET /api/dashboard/stats`
#[utoipa::path(get, path = "/api/dashboard/stats", operation_id = "dashboard_stats", tag = "operations",
    params(crate::api::openapi::DaysQuery),
    responses(
        (status = 200, description = "File, event, canonical and match-decision figures of the period", body = Object),
        (status = 422, description = "A parameter is invalid", body = crate::api::openapi::ErrorBody),
    ))]
pub async fn stats(state: web::Data<ApiState>, query: RawQuery) -> Result<HttpResponse, ApiError> {
    let since = cutoff(days(&query)?);
    let client = state.pool.get().await?;
    let files = client
        .query_one(
            "SELECT count(*) AS total_files,
                    coalesce(sum(event_count), 0)::int8 AS total_events,
                    count(*) FILTER (WHERE status = 'completed') AS completed,
                    count(*) FILTER (WHERE status = 'failed') AS errors
             FROM file_ingestions WHERE ingested_at >= $1",
            &[&since],
        )
        .await?;
    let matches = client
        .query_one(
            "SELECT count(*) FILTER (WHERE decision = 'match') AS m,
                    count(*) FILTER (WHERE decision = 'no_match') AS n,
                    count(*) FILTER (WHERE decision = 'ambiguous') AS a
             FROM match_decisions",
            &[],
        )
        .await?;
    let canonicals = client
        .query_one(
            "SELECT count(*) AS total,
                    count(*) FILTER (WHERE needs_review) AS needs_review,
                    round(avg(match_confidence)::numeric, 4)::float8 AS avg_confidence
             FROM canonical_events",
            &[],
        )
        .await?;
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
    let total_requests = col::<i64>(&ai, "total_requests")?;
    let cached_requests = col::<i64>(&ai, "cached_requests")?;
    Ok(HttpResponse::Ok().json(json!({
        "ai": {
            "since": since.to_rfc3339(),
            "batch_count": col::<i64>(&ai, "batch_count")?,
            "total_requests": total_requests,
            "cached_requests": cached_requests,
            "api_requests": total_requests - cached_requests,
            "prompt_tokens": col::<i64>(&ai, "prompt_tokens")?,
            "completion_tokens": col::<i64>(&ai, "completion_tokens")?,
            "total_tokens": col::<i64>(&ai, "total_tokens")?,
            "estimated_cost_usd": col::<f64>(&ai, "cost")?,
        },
        "files": {
            "total_files": col::<i64>(&files, "total_files")?,
            "total_events": col::<i64>(&files, "total_events")?,
            "completed": col::<i64>(&files, "completed")?,
            "errors": col::<i64>(&files, "errors")?,
        },
        "matches": {
            "match": col::<i64>(&matches, "m")?,
            "no_match": col::<i64>(&matches, "n")?,
            "ambiguous": col::<i64>(&matches, "a")?,
        },
        "canonicals": {
            "total": col::<i64>(&canonicals, "total")?,
            "needs_review": col::<i64>(&canonicals, "needs_review")?,
            "avg_confidence": col::<Option<f64>>(&canonicals, "avg_confidence")?,
        },
    })))
}

/// `GET /api/dashboard/processing-history`: one entry per UTC day with files.
#[utoipa::path(get, path = "/api/dashboard/processing-history", operation_id = "processing_history", tag = "operations",
    params(crate::api::openapi::DaysQuery),
    responses(
        (status = 200, description = "One entry per UTC day: files processed, events ingested, errors", body = Vec<Object>),
        (status = 422, description = "A parameter is invalid", body = crate::api::openapi::ErrorBody),
    ))]
pub async fn processing_history(
    state: web::Data<ApiState>,
    query: RawQuery,
) -> Result<HttpResponse, ApiError> {
    let since = cutoff(days(&query)?);
    let client = state.pool.get().await?;
    let rows = client
        .query(
            "SELECT (ingested_at AT TIME ZONE 'UTC')::date AS day,
                    count(*) AS files_processed,
                    coalesce(sum(event_count), 0)::int8 AS events_ingested,
                    count(*) FILTER (WHERE status = 'failed') AS errors
             FROM file_ingestions WHERE ingested_at >= $1
             GROUP BY day ORDER BY day",
            &[&since],
        )
        .await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(json!({
                "date": col::<NaiveDate>(r, "day")?,
                "files_processed": col::<i64>(r, "files_processed")?,
                "events_ingested": col::<i64>(r, "events_ingested")?,
                "errors": col::<i64>(r, "errors")?,
            }))
        })
        .collect::<Result<Vec<Value>, ApiError>>()?;
    Ok(HttpResponse::Ok().json(items))
}

/// `GET /api/runs?limit=N` (1–500, default 50): the most recent pipeline runs.
#[utoipa::path(get, path = "/api/runs", operation_id = "list_runs", tag = "operations",
    params(crate::api::openapi::RunsQuery),
    responses(
        (status = 200, description = "The most recent matching runs with their figures", body = Vec<Object>),
        (status = 422, description = "A parameter is invalid", body = crate::api::openapi::ErrorBody),
    ))]
pub async fn runs(state: web::Data<ApiState>, query: RawQuery) -> Result<HttpResponse, ApiError> {
    let mut problems = Vec::new();
    let mut limit = 50;
    for (k, v) in &query.0 {
        if k == "limit" {
            limit = parse_int(&mut problems, k, v, 1, 500).unwrap_or(50);
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let client = state.pool.get().await?;
    let rows = client
        .query(
            "SELECT * FROM processing_runs ORDER BY started_at DESC, id DESC LIMIT $1",
            &[&limit],
        )
        .await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(json!({
                "id": col::<i64>(r, "id")?,
                "run_id": col::<uuid::Uuid>(r, "run_id")?.to_string(),
                "started_at": col::<DateTime<Utc>>(r, "started_at")?.to_rfc3339(),
                "finished_at": col::<Option<DateTime<Utc>>>(r, "finished_at")?.map(|t| t.to_rfc3339()),
                "status": col::<String>(r, "status")?,
                "trigger": col::<String>(r, "trigger")?,
                "files_covered": col::<i32>(r, "files_covered")?,
                "total_events": col::<i32>(r, "total_events")?,
                "candidate_pairs": col::<i64>(r, "candidate_pairs")?,
                "matches": col::<i64>(r, "matches")?,
                "ambiguous": col::<i64>(r, "ambiguous")?,
                "canonicals_created": col::<i32>(r, "canonicals_created")?,
                "canonicals_updated": col::<i32>(r, "canonicals_updated")?,
                "canonicals_unchanged": col::<i32>(r, "canonicals_unchanged")?,
                "canonicals_removed": col::<i32>(r, "canonicals_removed")?,
                "flagged": col::<i32>(r, "flagged")?,
                "duration_ms": col::<Option<i64>>(r, "duration_ms")?,
                "error": col::<Option<String>>(r, "error")?,
                "stats": col::<Option<Value>>(r, "stats")?,
                "ai_usage": col::<Option<Value>>(r, "ai_usage")?,
            }))
        })
        .collect::<Result<Vec<Value>, ApiError>>()?;
    Ok(HttpResponse::Ok().json(items))
}
