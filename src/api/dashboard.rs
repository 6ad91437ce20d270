//! Dashboard (storage-and-api.md §7): file and decision figures, daily processing
//! history, and the recent pipeline runs (`processing_runs`, which §7's note asks for),
//! with the LLM tie-breaker's usage and cost (§9's note: show them): totals over the
//! period in `stats.ai`, and per run in `ai_usage`.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::error::ApiError;
use super::state::ApiState;
use super::{col, parse_int, RawQuery};
use crate::store;

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
#[get("/api/dashboard/stats")]
pub async fn stats(state: web::Data<ApiState>, query: RawQuery) -> Result<HttpResponse, ApiError> {
    let since = cutoff(days(&query)?);
    let client = state.pool.get().await?;
    let files = store::events::file_counts(&**client, since).await?;
    let matches = store::decisions::decision_counts(&**client).await?;
    let canonicals = store::catalogue::canonical_counts(&**client).await?;
    let ai = store::llm::usage_since(&**client, since).await?;
    Ok(HttpResponse::Ok().json(json!({
        "ai": {
            "since": since.to_rfc3339(),
            "batch_count": ai.batch_count,
            "total_requests": ai.total_requests,
            "cached_requests": ai.cached_requests,
            "api_requests": ai.total_requests - ai.cached_requests,
            "prompt_tokens": ai.prompt_tokens,
            "completion_tokens": ai.completion_tokens,
            "total_tokens": ai.total_tokens,
            "estimated_cost_usd": ai.estimated_cost_usd,
        },
        "files": {
            "total_files": files.total_files,
            "total_events": files.total_events,
            "completed": files.completed,
            "errors": files.errors,
        },
        "matches": {
            "match": matches.matches,
            "no_match": matches.no_match,
            "ambiguous": matches.ambiguous,
        },
        "canonicals": {
            "total": canonicals.total,
            "needs_review": canonicals.needs_review,
            "avg_confidence": canonicals.avg_confidence,
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
#[get("/api/dashboard/processing-history")]
pub async fn processing_history(
    state: web::Data<ApiState>,
    query: RawQuery,
) -> Result<HttpResponse, ApiError> {
    let since = cutoff(days(&query)?);
    let client = state.pool.get().await?;
    let items: Vec<Value> = store::events::daily_file_counts(&**client, since)
        .await?
        .into_iter()
        .map(|d| {
            json!({
                "date": d.day,
                "files_processed": d.files_processed,
                "events_ingested": d.events_ingested,
                "errors": d.errors,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(items))
}

/// `GET /api/runs?limit=N` (1–500, default 50): the most recent pipeline runs.
#[utoipa::path(get, path = "/api/runs", operation_id = "list_runs", tag = "operations",
    params(crate::api::openapi::RunsQuery),
    responses(
        (status = 200, description = "The most recent matching runs with their figures", body = Vec<Object>),
        (status = 422, description = "A parameter is invalid", body = crate::api::openapi::ErrorBody),
    ))]
#[get("/api/runs")]
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
    let rows = store::runs::recent_runs(&**client, limit).await?;
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
