//! Canonical events: list (filters, sorting, pagination), distinct categories and
//! cities, and one event in detail (members side by side, provenance, decisions).
//!
//! Invariants: every user value reaches SQL as a bound parameter; only whitelisted
//! column expressions are interpolated (sort keys). `id` is always the last sort key,
//! so pages are stable.

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use serde_json::{json, Value};
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::Row;

use super::error::{ApiError, FieldProblem};
use super::state::ApiState;
use super::{col, paginated, parse_int, RawQuery};
use crate::store;

/// The UI's "all" page size.
pub const MAX_PAGE_SIZE: i64 = 10_000;
const DEFAULT_PAGE_SIZE: i64 = 25;

/// Columns of a `CanonicalEventSummary`.
pub(crate) const SUMMARY_COLUMNS: &str =
    "c.id, c.title, c.location_city, c.dates, c.categories, c.source_count, \
     c.match_confidence, c.needs_review, c.ai_assisted";

/// One summary row as JSON.
pub(crate) fn summary(row: &Row) -> Result<Value, ApiError> {
    Ok(json!({
        "id": col::<i32>(row, "id")?,
        "title": col::<String>(row, "title")?,
        "location_city": col::<Option<String>>(row, "location_city")?,
        "dates": col::<Option<Value>>(row, "dates")?.unwrap_or_else(|| json!([])),
        "categories": col::<Option<Value>>(row, "categories")?.unwrap_or_else(|| json!([])),
        "source_count": col::<i32>(row, "source_count")?,
        "match_confidence": col::<Option<f64>>(row, "match_confidence")?,
        "needs_review": col::<bool>(row, "needs_review")?,
        "ai_assisted": col::<bool>(row, "ai_assisted")?,
    }))
}

/// Parsed `GET /api/canonical-events` parameters.
#[derive(Debug, Default)]
struct ListParams {
    q: Option<String>,
    cities: Vec<String>,
    categories: Vec<String>,
    date_from: Option<NaiveDate>,
    date_to: Option<NaiveDate>,
    review: Option<bool>,
    min_sources: Option<i32>,
    sort: &'static str,
    descending: bool,
    page: i64,
    size: i64,
}

/// Whitelisted sort expressions; unknown keys fall back to `title` (spec §5.2).
fn sort_expression(key: &str) -> &'static str {
    match key {
        "city" => "c.location_city",
        "date" => "c.first_date",
        "categories" => "c.categories::text",
        "source_count" => "c.source_count",
        "confidence" => "c.match_confidence",
        "review" => "c.needs_review",
        _ => "c.title",
    }
}

fn parse_date(problems: &mut Vec<FieldProblem>, key: &str, v: &str) -> Option<NaiveDate> {
    match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            problems.push(FieldProblem::new(
                &["query", key],
                "expected a date YYYY-MM-DD",
            ));
            None
        }
    }
}

fn parse_list_params(pairs: &[(String, String)]) -> Result<ListParams, ApiError> {
    let mut p = ListParams {
        sort: "c.title",
        page: 1,
        size: DEFAULT_PAGE_SIZE,
        ..ListParams::default()
    };
    let mut problems = Vec::new();
    for (key, value) in pairs {
        match key.as_str() {
            "q" if !value.is_empty() => p.q = Some(value.clone()),
            "city" if !value.is_empty() => p.cities.push(value.clone()),
            "category" if !value.is_empty() => p.categories.push(value.clone()),
            "date_from" => p.date_from = parse_date(&mut problems, key, value),
            "date_to" => p.date_to = parse_date(&mut problems, key, value),
            "review" => match value.as_str() {
                "true" => p.review = Some(true),
                "false" => p.review = Some(false),
                _ => problems.push(FieldProblem::new(&["query", key], "expected true or false")),
            },
            "min_sources" => {
                p.min_sources =
                    parse_int(&mut problems, key, value, 1, i32::MAX as i64).map(|v| v as i32)
            }
            "sort_by" => p.sort = sort_expression(value),
            "sort_dir" => p.descending = value == "desc",
            "page" => p.page = parse_int(&mut problems, key, value, 1, i64::MAX).unwrap_or(1),
            "size" => {
                p.size = parse_int(&mut problems, key, value, 1, MAX_PAGE_SIZE)
                    .unwrap_or(DEFAULT_PAGE_SIZE)
            }
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok(p)
    } else {
        Err(ApiError::Validation(problems))
    }
}

/// Escapes `\`, `%` and `_` so a user's text is matched literally by `ILIKE`.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for ch in text.chars() {
        if matches!(ch, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// `GET /api/canonical-events`
#[utoipa::path(get, path = "/api/canonical-events", operation_id = "list_canonical_events", tag = "events",
    params(crate::api::openapi::EventListQuery),
    responses(
        (status = 200, description = "`{items, total, page, size, pages}` of canonical event summaries", body = Object),
        (status = 422, description = "A parameter is invalid", body = crate::api::openapi::ErrorBody),
    ))]
pub async fn list(state: web::Data<ApiState>, query: RawQuery) -> Result<HttpResponse, ApiError> {
    let p = parse_list_params(&query.0)?;
    let offset = (p.page - 1)
        .checked_mul(p.size)
        .ok_or_else(|| ApiError::invalid(&["query", "page"], "page is too large"))?;

    let mut clauses: Vec<String> = Vec::new();
    let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
    let bind = |params: &mut Vec<Box<dyn ToSql + Sync + Send>>, v: Box<dyn ToSql + Sync + Send>| {
        params.push(v);
        format!("${}", params.len())
    };
    if let Some(q) = &p.q {
        let n = bind(&mut params, Box::new(format!("%{}%", escape_like(q))));
        clauses.push(format!("c.title ILIKE {n} ESCAPE '\\'"));
    }
    if !p.cities.is_empty() {
        let n = bind(&mut params, Box::new(p.cities.clone()));
        clauses.push(format!(
            "lower(c.location_city) IN (SELECT lower(x) FROM unnest({n}::text[]) AS x)"
        ));
    }
    if !p.categories.is_empty() {
        let n = bind(&mut params, Box::new(Json(p.categories.clone())));
        clauses.push(format!("c.categories @> {n}::jsonb"));
    }
    // Overlap semantics: the event has a day inside [date_from, date_to].
    if let Some(from) = p.date_from {
        let n = bind(&mut params, Box::new(from));
        clauses.push(format!("c.last_date >= {n}"));
    }
    if let Some(to) = p.date_to {
        let n = bind(&mut params, Box::new(to));
        clauses.push(format!("c.first_date <= {n}"));
    }
    if let Some(review) = p.review {
        let n = bind(&mut params, Box::new(review));
        clauses.push(format!("c.needs_review = {n}"));
    }
    if let Some(min) = p.min_sources {
        let n = bind(&mut params, Box::new(min));
        clauses.push(format!("c.source_count >= {n}"));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let direction = if p.descending {
        "DESC NULLS LAST"
    } else {
        "ASC NULLS FIRST"
    };
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|b| b.as_ref() as _).collect();

    let client = state.pool.get().await?;
    let total: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM canonical_events c {filter}"),
            &refs,
        )
        .await?
        .get(0);
    let mut page_refs = refs.clone();
    page_refs.push(&p.size);
    page_refs.push(&offset);
    let n = refs.len();
    let rows = client
        .query(
            &format!(
                "SELECT {SUMMARY_COLUMNS} FROM canonical_events c {filter}
                 ORDER BY {} {direction}, c.id ASC LIMIT ${} OFFSET ${}",
                p.sort,
                n + 1,
                n + 2
            ),
            &page_refs,
        )
        .await?;
    let items = rows.iter().map(summary).collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(paginated(items, total, p.page, p.size)))
}

/// `GET /api/canonical-events/categories`: distinct category strings, sorted.
#[utoipa::path(get, path = "/api/canonical-events/categories", operation_id = "list_categories", tag = "events",
    responses((status = 200, description = "Distinct categories, sorted", body = Vec<String>)))]
pub async fn categories(state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let client = state.pool.get().await?;
    let rows = client
        .query(
            "SELECT DISTINCT x FROM canonical_events c,
                    jsonb_array_elements_text(
                        CASE WHEN jsonb_typeof(c.categories) = 'array'
                             THEN c.categories ELSE '[]'::jsonb END) AS x
             ORDER BY x",
            &[],
        )
        .await?;
    let values = rows
        .iter()
        .map(|r| col::<String>(r, "x"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(values))
}

/// `GET /api/canonical-events/cities`: distinct non-null cities, sorted.
#[utoipa::path(get, path = "/api/canonical-events/cities", operation_id = "list_cities", tag = "events",
    responses((status = 200, description = "Distinct cities, sorted", body = Vec<String>)))]
pub async fn cities(state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let client = state.pool.get().await?;
    let rows = client
        .query(
            "SELECT DISTINCT location_city FROM canonical_events
             WHERE location_city IS NOT NULL ORDER BY location_city",
            &[],
        )
        .await?;
    let values = rows
        .iter()
        .map(|r| col::<String>(r, "location_city"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(values))
}

/// `GET /api/canonical-events/{id}`
#[utoipa::path(get, path = "/api/canonical-events/{id}", operation_id = "get_canonical_event", tag = "events",
    params(("id" = i32, Path, description = "Canonical event id")),
    responses(
        (status = 200, description = "The canonical event with field provenance, its sources and every pair decision with its explanation", body = Object),
        (status = 404, description = "No such canonical event", body = crate::api::openapi::ErrorBody),
        (status = 422, description = "The id is not an integer", body = crate::api::openapi::ErrorBody),
    ))]
pub async fn detail(
    state: web::Data<ApiState>,
    path: web::Path<i32>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let client = state.pool.get().await?;
    let Some(c) = client
        .query_opt("SELECT * FROM canonical_events WHERE id = $1", &[&id])
        .await?
    else {
        return Err(ApiError::NotFound("Canonical event not found".into()));
    };
    let sources = client
        .query(
            "SELECT s.* FROM source_events s
             JOIN canonical_event_sources m ON m.source_event_id = s.id
             WHERE m.canonical_event_id = $1 ORDER BY s.id",
            &[&id],
        )
        .await?;
    let dates = client
        .query(
            "SELECT d.event_id, d.date, d.start_time, d.end_time, d.end_date
             FROM event_dates d
             JOIN canonical_event_sources m ON m.source_event_id = d.event_id
             WHERE m.canonical_event_id = $1 ORDER BY d.event_id, d.position",
            &[&id],
        )
        .await?;
    let decisions = client
        .query(
            "SELECT d.* FROM match_decisions d
             WHERE d.source_event_id_a IN
                     (SELECT source_event_id FROM canonical_event_sources WHERE canonical_event_id = $1)
               AND d.source_event_id_b IN
                     (SELECT source_event_id FROM canonical_event_sources WHERE canonical_event_id = $1)
             ORDER BY d.source_event_id_a, d.source_event_id_b",
            &[&id],
        )
        .await?;

    // The learned model's per-feature contributions are not stored: recompute them
    // from the members with the effective config and model, exactly as `/api/explain`.
    let member_ids = sources
        .iter()
        .map(|s| col::<String>(s, "id"))
        .collect::<Result<Vec<_>, ApiError>>()?;
    let members = store::load_events_by_ids(&**client, &member_ids).await?;
    let (config, _) = super::config::effective_config(&state, &**client).await?;
    let contributions = |a: &str, b: &str| {
        let find = |id: &str| members.iter().find(|e| e.id == id);
        let (ea, eb) = (find(a)?, find(b)?);
        crate::matching::explain_pair(ea, eb, &config, &state.lists).contributions
    };

    let mut source_items = Vec::with_capacity(sources.len());
    for s in &sources {
        let sid: String = col(s, "id")?;
        let mut own_dates = Vec::new();
        for d in dates.iter() {
            if col::<&str>(d, "event_id")? == sid {
                own_dates.push(json!({
                    "date": col::<NaiveDate>(d, "date")?,
                    "start_time": col::<Option<chrono::NaiveTime>>(d, "start_time")?
                        .map(|t| t.format("%H:%M:%S").to_string()),
                    "end_time": col::<Option<chrono::NaiveTime>>(d, "end_time")?
                        .map(|t| t.format("%H:%M:%S").to_string()),
                    "end_date": col::<Option<NaiveDate>>(d, "end_date")?,
                }));
            }
        }
        source_items.push(json!({
            "id": sid,
            "title": col::<String>(s, "title")?,
            "short_description": col::<Option<String>>(s, "short_description")?,
            "description": col::<Option<String>>(s, "description")?,
            "highlights": col::<Option<Value>>(s, "highlights")?,
            "location_name": col::<Option<String>>(s, "location_name")?,
            "location_city": col::<Option<String>>(s, "location_city")?,
            "location_district": col::<Option<String>>(s, "location_district")?,
            "location_street": col::<Option<String>>(s, "location_street")?,
            "location_street_no": col::<Option<String>>(s, "location_street_no")?,
            "location_zipcode": col::<Option<String>>(s, "location_zipcode")?,
            "geo_latitude": col::<Option<f64>>(s, "geo_latitude")?,
            "geo_longitude": col::<Option<f64>>(s, "geo_longitude")?,
            "geo_confidence": col::<Option<f64>>(s, "geo_confidence")?,
            "source_type": col::<String>(s, "source_type")?,
            "source_code": col::<String>(s, "source_code")?,
            "categories": col::<Option<Value>>(s, "categories")?,
            "is_family_event": col::<Option<bool>>(s, "is_family_event")?,
            "is_child_focused": col::<Option<bool>>(s, "is_child_focused")?,
            "admission_free": col::<Option<bool>>(s, "admission_free")?,
            "dates": own_dates,
        }));
    }
    let decision_items = decisions
        .iter()
        .map(|d| {
            let (a, b) = (
                col::<String>(d, "source_event_id_a")?,
                col::<String>(d, "source_event_id_b")?,
            );
            Ok(json!({
                "id": col::<i64>(d, "id")?,
                // With the learned model: each feature's share of the match
                // probability in log-odds, largest effect first; null otherwise.
                "contributions": contributions(&a, &b),
                "source_event_id_a": a,
                "source_event_id_b": b,
                "combined_score": col::<f64>(d, "combined_score")?,
                "date_score": col::<f64>(d, "date_score")?,
                "geo_score": col::<f64>(d, "geo_score")?,
                "title_score": col::<f64>(d, "title_score")?,
                "description_score": col::<f64>(d, "description_score")?,
                "decision": col::<String>(d, "decision")?,
                "tier": col::<String>(d, "tier")?,
                "weights": col::<Value>(d, "weights")?,
                "weight_source": col::<Option<String>>(d, "weight_source")?,
                "rule": col::<String>(d, "rule")?,
                // Set when the LLM tie-breaker answered for the pair (any `ai*` tier):
                // the model's own explanation and confidence.
                "ai_reasoning": col::<Option<String>>(d, "ai_reasoning")?,
                "ai_confidence": col::<Option<f64>>(d, "ai_confidence")?,
            }))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;

    Ok(HttpResponse::Ok().json(json!({
        "id": id,
        "title": col::<String>(&c, "title")?,
        "short_description": col::<Option<String>>(&c, "short_description")?,
        "description": col::<Option<String>>(&c, "description")?,
        "highlights": col::<Option<Value>>(&c, "highlights")?,
        "location_name": col::<Option<String>>(&c, "location_name")?,
        "location_city": col::<Option<String>>(&c, "location_city")?,
        "location_district": col::<Option<String>>(&c, "location_district")?,
        "location_street": col::<Option<String>>(&c, "location_street")?,
        "location_zipcode": col::<Option<String>>(&c, "location_zipcode")?,
        "geo_latitude": col::<Option<f64>>(&c, "geo_latitude")?,
        "geo_longitude": col::<Option<f64>>(&c, "geo_longitude")?,
        "geo_confidence": col::<Option<f64>>(&c, "geo_confidence")?,
        "dates": col::<Option<Value>>(&c, "dates")?,
        "categories": col::<Option<Value>>(&c, "categories")?,
        "is_family_event": col::<Option<bool>>(&c, "is_family_event")?,
        "is_child_focused": col::<Option<bool>>(&c, "is_child_focused")?,
        "admission_free": col::<Option<bool>>(&c, "admission_free")?,
        "field_provenance": col::<Option<Value>>(&c, "field_provenance")?,
        "source_count": col::<i32>(&c, "source_count")?,
        "match_confidence": col::<Option<f64>>(&c, "match_confidence")?,
        "needs_review": col::<bool>(&c, "needs_review")?,
        "review_reason": col::<Option<String>>(&c, "review_reason")?,
        "ai_assisted": col::<bool>(&c, "ai_assisted")?,
        "first_date": col::<Option<NaiveDate>>(&c, "first_date")?,
        "last_date": col::<Option<NaiveDate>>(&c, "last_date")?,
        "version": col::<i32>(&c, "version")?,
        "sources": source_items,
        "match_decisions": decision_items,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }

    #[test]
    fn list_params_report_every_problem() {
        let pairs: Vec<(String, String)> =
            [("size", "0"), ("page", "x"), ("date_to", "2026-13-01")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        match parse_list_params(&pairs) {
            Err(ApiError::Validation(p)) => assert_eq!(p.len(), 3),
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_sort_falls_back_to_title() {
        assert_eq!(sort_expression("nope; DROP TABLE x"), "c.title");
    }
}
