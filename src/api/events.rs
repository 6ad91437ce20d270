//! Canonical events: list (filters, sorting, pagination), distinct categories and
//! cities, and one event in detail (members side by side, provenance, decisions).
//!
//! The title search is folded like the matcher folds (umlauts, ß, dialect synonyms,
//! any word order) and a category filter includes its synonym spellings; both use
//! `preprocess::normalize`, the SQL lives in `store::catalogue`.

use actix_web::{get, web, HttpResponse};
use chrono::NaiveDate;
use serde_json::{json, Value};
use tokio_postgres::Row;

use super::error::{ApiError, FieldProblem};
use super::state::ApiState;
use super::{col, paginated, parse_int, RawQuery};
use crate::matching::{explain_pair, MatchingConfig};
use crate::model::SourceEvent;
use crate::preprocess::{normalize, WordLists};
use crate::store;
use crate::store::catalogue::{self, CatalogueQuery, Search, SortKey};

/// The UI's "all" page size.
pub const MAX_PAGE_SIZE: i64 = 10_000;
const DEFAULT_PAGE_SIZE: i64 = 25;

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
        "first_date": col::<Option<NaiveDate>>(row, "first_date")?,
        "last_date": col::<Option<NaiveDate>>(row, "last_date")?,
    }))
}

/// Parsed `GET /api/canonical-events` parameters (categories still unexpanded).
#[derive(Debug, Default)]
struct ListParams {
    q: Option<String>,
    categories: Vec<String>,
    page: i64,
    query: CatalogueQuery,
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
        page: 1,
        ..ListParams::default()
    };
    let q = &mut p.query;
    q.limit = DEFAULT_PAGE_SIZE;
    let mut problems = Vec::new();
    for (key, value) in pairs {
        match key.as_str() {
            "q" if !value.trim().is_empty() => p.q = Some(value.clone()),
            "city" if !value.is_empty() => q.cities.push(value.clone()),
            "category" if !value.is_empty() => p.categories.push(value.clone()),
            "date_from" => q.date_from = parse_date(&mut problems, key, value),
            "date_to" => q.date_to = parse_date(&mut problems, key, value),
            "review" => match value.as_str() {
                "true" => q.review = Some(true),
                "false" => q.review = Some(false),
                _ => problems.push(FieldProblem::new(&["query", key], "expected true or false")),
            },
            "min_sources" => {
                q.min_sources =
                    parse_int(&mut problems, key, value, 1, i32::MAX as i64).map(|v| v as i32)
            }
            "sort_by" => q.sort = SortKey::parse(value),
            "sort_dir" => q.descending = value == "desc",
            "page" => {
                p.page = parse_int(&mut problems, key, value, 1, super::MAX_PAGE).unwrap_or(1)
            }
            "size" => {
                q.limit = parse_int(&mut problems, key, value, 1, MAX_PAGE_SIZE)
                    .unwrap_or(DEFAULT_PAGE_SIZE)
            }
            _ => {}
        }
    }
    match (p.page - 1).checked_mul(q.limit) {
        Some(offset) => q.offset = offset,
        None => problems.push(FieldProblem::new(&["query", "page"], "page is too large")),
    }
    if problems.is_empty() {
        Ok(p)
    } else {
        Err(ApiError::Validation(problems))
    }
}

/// The folded words of a search text: the matcher's normalization (umlauts, ß,
/// dialect synonyms), split at spaces, so word order does not matter.
pub(crate) fn folded_words(text: &str, lists: &WordLists) -> Vec<String> {
    let mut words: Vec<String> = normalize(text, Some(&lists.synonyms))
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    words.dedup();
    words
}

/// `chosen` and every known category that folds to the same word (synonym spellings
/// such as fasnacht / fasching / karneval filter together).
fn category_set(chosen: &str, known: &[String], lists: &WordLists) -> Vec<String> {
    let fold = |c: &str| normalize(c, Some(&lists.synonyms));
    let key = fold(chosen);
    let mut set = vec![chosen.to_string()];
    set.extend(
        known
            .iter()
            .filter(|k| k.as_str() != chosen && !key.is_empty() && fold(k) == key)
            .cloned(),
    );
    set
}

/// `GET /api/canonical-events`
#[utoipa::path(get, path = "/api/canonical-events", operation_id = "list_canonical_events", tag = "events",
    params(crate::api::openapi::EventListQuery),
    responses(
        (status = 200, description = "`{items, total, page, size, pages}` of canonical event summaries", body = Object),
        (status = 422, description = "A parameter is invalid", body = crate::api::openapi::ErrorBody),
    ))]
#[get("/api/canonical-events")]
pub async fn list(state: web::Data<ApiState>, query: RawQuery) -> Result<HttpResponse, ApiError> {
    let ListParams {
        q,
        categories: wanted_categories,
        page,
        mut query,
    } = parse_list_params(&query.0)?;
    query.search = q.map(|raw| Search {
        folded_words: folded_words(&raw, &state.lists),
        raw,
    });
    let client = state.pool.get().await?;
    if !wanted_categories.is_empty() {
        let known = catalogue::distinct_categories(&**client).await?;
        query.category_sets = wanted_categories
            .iter()
            .map(|c| category_set(c, &known, &state.lists))
            .collect();
    }
    let (total, rows) = catalogue::list_canonicals(&**client, &query).await?;
    let items = rows.iter().map(summary).collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(paginated(items, total, page, query.limit)))
}

/// `GET /api/canonical-events/categories`: distinct category strings, sorted.
#[utoipa::path(get, path = "/api/canonical-events/categories", operation_id = "list_categories", tag = "events",
    responses((status = 200, description = "Distinct categories, sorted", body = Vec<String>)))]
#[get("/api/canonical-events/categories")]
pub async fn categories(state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let client = state.pool.get().await?;
    Ok(HttpResponse::Ok().json(catalogue::distinct_categories(&**client).await?))
}

/// `GET /api/canonical-events/cities`: distinct non-null cities, in German order.
#[utoipa::path(get, path = "/api/canonical-events/cities", operation_id = "list_cities", tag = "events",
    responses((status = 200, description = "Distinct cities, sorted", body = Vec<String>)))]
#[get("/api/canonical-events/cities")]
pub async fn cities(state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let client = state.pool.get().await?;
    Ok(HttpResponse::Ok().json(catalogue::distinct_cities(&**client).await?))
}

/// One `match_decisions` row as JSON: the four signal scores, the combined score,
/// decision, tier, weights used and the deciding rule.
pub(crate) fn decision_json(d: &Row) -> Result<Value, ApiError> {
    Ok(json!({
        "id": col::<i64>(d, "id")?,
        "source_event_id_a": col::<String>(d, "source_event_id_a")?,
        "source_event_id_b": col::<String>(d, "source_event_id_b")?,
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
}

/// A stored decision as JSON plus the learned model's per-feature contributions
/// (log-odds, largest effect first), recomputed from its two events exactly as
/// `/api/explain` does; `null` under the weighted sum or when an event is not at hand.
pub(crate) fn explained_decision_json(
    d: &Row,
    events: &[SourceEvent],
    config: &MatchingConfig,
    lists: &WordLists,
) -> Result<Value, ApiError> {
    let mut item = decision_json(d)?;
    let (a, b): (String, String) = (col(d, "source_event_id_a")?, col(d, "source_event_id_b")?);
    let find = |id: &str| events.iter().find(|e| e.id == id);
    let contributions = match (find(&a), find(&b)) {
        (Some(ea), Some(eb)) => explain_pair(ea, eb, config, lists).contributions,
        _ => None,
    };
    item["contributions"] = json!(contributions);
    Ok(item)
}

/// `GET /api/canonical-events/{id}`
#[utoipa::path(get, path = "/api/canonical-events/{id}", operation_id = "get_canonical_event", tag = "events",
    params(("id" = i32, Path, description = "Canonical event id")),
    responses(
        (status = 200, description = "The canonical event with field provenance, its sources and every pair decision with its explanation", body = Object),
        (status = 404, description = "No such canonical event", body = crate::api::openapi::ErrorBody),
        (status = 422, description = "The id is not an integer", body = crate::api::openapi::ErrorBody),
    ))]
#[get("/api/canonical-events/{id}")]
pub async fn detail(
    state: web::Data<ApiState>,
    path: web::Path<i32>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let client = state.pool.get().await?;
    let Some(catalogue::CanonicalDetail {
        canonical: c,
        sources,
        dates,
        decisions,
    }) = catalogue::canonical_detail(&**client, id).await?
    else {
        return Err(ApiError::NotFound("Canonical event not found".into()));
    };

    // The learned model's per-feature contributions are not stored: they are
    // recomputed from the members with the effective config and model.
    let member_ids = sources
        .iter()
        .map(|s| col::<String>(s, "id"))
        .collect::<Result<Vec<_>, ApiError>>()?;
    let members = store::load_events_by_ids(&**client, &member_ids).await?;
    let (config, _) = super::config::effective_config(&state, &**client).await?;

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
        .map(|d| explained_decision_json(d, &members, &config, &state.lists))
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
    fn search_words_are_folded_like_the_matcher() {
        assert_eq!(
            folded_words("Willstätt  Fasent", &WordLists::bundled()),
            ["willstaett", "fastnacht"]
        );
        assert_eq!(folded_words("Straße", &WordLists::bundled()), ["strasse"]);
    }

    #[test]
    fn synonym_categories_form_one_set() {
        let known: Vec<String> = ["fasching", "fasnacht", "karneval", "konzert"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut set = category_set("Fasnacht", &known, &WordLists::bundled());
        set.sort();
        assert_eq!(set, ["Fasnacht", "fasching", "fasnacht", "karneval"]);
        assert_eq!(
            category_set("konzert", &known, &WordLists::bundled()),
            ["konzert"]
        );
    }
}
