//! Review operations (storage-and-api.md §6): the queue, split, merge and dismiss,
//! and the missed-duplicate queue (ambiguous pairs across groups) with its dismissal.
//!
//! Review decisions stick: each action stores constraints between source events
//! (split: cannot-link between the moved source and every remaining member, plus
//! must-link to the target's members; merge: must-link between every donor and every
//! target member; dismiss: a "reviewed" marker on the member set), which every later
//! pipeline run applies. A newer decision replaces the opposite constraint on the same
//! pair (a split after a merge removes the must-link, and vice versa).
//!
//! The handlers only parse and answer: what an action means as constraints is
//! `matching::constraints`, and each action is one transaction in
//! `store::review_actions` (under the canonical-state lock, with its audit row and
//! the constraints pointing at it). `rematch()` is called only after the commit.

use super::auth::Operator;
use super::config::effective_config;
use super::error::ApiError;
use super::events::summary;
use super::input::reject_nul;
use super::state::ApiState;
use super::{col, page_params, paginated, parse_int, RawQuery};
use crate::matching::pipeline::LOW_CONFIDENCE;
use crate::store::{self, review_actions};
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

/// Largest review-queue page.
const MAX_QUEUE_PAGE: i64 = 100;

/// `GET /api/review/queue` (§6.4).
#[utoipa::path(get, path = "/api/review/queue", operation_id = "review_queue", tag = "review",
    params(crate::api::openapi::QueueQuery),
    responses(
        (status = 200, description = "Paginated summaries, most uncertain first", body = Object),
        (status = 422, description = "A parameter is invalid", body = crate::api::openapi::ErrorBody),
    ))]
#[get("/api/review/queue")]
pub async fn queue(state: web::Data<ApiState>, query: RawQuery) -> Result<HttpResponse, ApiError> {
    let (page, size, mut problems) = page_params(&query.0, MAX_QUEUE_PAGE, 20);
    let mut min_sources = 1i32;
    for (k, v) in &query.0 {
        if k == "min_sources" {
            min_sources = parse_int(&mut problems, k, v, 1, i32::MAX as i64).unwrap_or(1) as i32;
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let client = state.pool.get().await?;
    let (total, rows) = store::review::review_queue(
        &**client,
        LOW_CONFIDENCE,
        min_sources,
        size,
        (page - 1) * size,
    )
    .await?;
    let items = rows.iter().map(summary).collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(paginated(items, total, page, size)))
}

/// Largest missed-duplicate page.
const MAX_MISSED_PAGE: i64 = 100;

/// A source event of a missed-duplicate pair, as the side-by-side view shows it.
fn pair_side(e: &crate::model::SourceEvent, canonical: Option<&Value>) -> Value {
    json!({
        "id": e.id,
        "title": e.title,
        "source_code": e.source_code,
        "source_type": e.source_type,
        "short_description": e.short_description,
        "location_name": e.location_name,
        "location_city": e.location_city,
        "location_street": e.location_street,
        "geo_latitude": e.geo_latitude,
        "geo_longitude": e.geo_longitude,
        "geo_confidence": e.geo_confidence,
        "categories": e.categories,
        "dates": e.dates,
        "canonical": canonical,
    })
}

/// `GET /api/review/missed`: likely missed duplicates, i.e. ambiguous pair decisions
/// whose events sit in different groups, one per pair of groups, strongest first,
/// each with both events side by side and the decision's explanation.
#[utoipa::path(get, path = "/api/review/missed", operation_id = "missed_duplicates", tag = "review",
    params(crate::api::openapi::MissedQuery),
    responses(
        (status = 200, description = "Paginated `{decision, a, b}` entries: the pair decision (scores, weights, rule) and both source events with their canonical group", body = Object),
        (status = 422, description = "A parameter is invalid", body = crate::api::openapi::ErrorBody),
    ))]
#[get("/api/review/missed")]
pub async fn missed(state: web::Data<ApiState>, query: RawQuery) -> Result<HttpResponse, ApiError> {
    let (page, size, problems) = page_params(&query.0, MAX_MISSED_PAGE, 20);
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let client = state.pool.get().await?;
    let (total, rows) =
        store::missed::missed_duplicates(&**client, size, (page - 1) * size).await?;
    let mut source_ids = Vec::new();
    let mut canonical_ids = Vec::new();
    for r in &rows {
        source_ids.push(col::<String>(r, "source_event_id_a")?);
        source_ids.push(col::<String>(r, "source_event_id_b")?);
        canonical_ids.push(col::<i32>(r, "canonical_a")?);
        canonical_ids.push(col::<i32>(r, "canonical_b")?);
    }
    let events = store::load_events_by_ids(&**client, &source_ids).await?;
    let (config, _) = super::config::effective_config(&state, &**client).await?;
    let canonicals = store::catalogue::canonical_summaries(&**client, &canonical_ids)
        .await?
        .iter()
        .map(summary)
        .collect::<Result<Vec<_>, _>>()?;
    let canonical = |id: i32| canonicals.iter().find(|c| c["id"] == json!(id));
    let side = |id: &str, canonical_id: i32| {
        events
            .iter()
            .find(|e| e.id == id)
            .map(|e| pair_side(e, canonical(canonical_id)))
            .ok_or_else(|| ApiError::unexpected(format!("source event {id} vanished")))
    };
    let items = rows
        .iter()
        .map(|d| {
            let (a, b): (String, String) =
                (col(d, "source_event_id_a")?, col(d, "source_event_id_b")?);
            Ok(json!({
                "decision": super::events::explained_decision_json(d, &events, &config, &state.lists)?,
                "a": side(&a, col(d, "canonical_a")?)?,
                "b": side(&b, col(d, "canonical_b")?)?,
            }))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(HttpResponse::Ok().json(paginated(items, total, page, size)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PairDismissRequest {
    /// The two groups the reviewer declares to be different events.
    #[serde(deserialize_with = "super::input::id")]
    pub canonical_a: i32,
    #[serde(deserialize_with = "super::input::id")]
    pub canonical_b: i32,
    #[serde(default)]
    pub operator: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /api/review/missed/dismiss`: the two groups are different events. Stores a
/// cannot-link between every member of one and every member of the other, so the
/// pair leaves the missed-duplicate queue and no later run joins them.
#[tracing::instrument(name = "Dismissing a missed-duplicate pair", skip_all, fields(operator = %op.0, canonical_a = body.canonical_a, canonical_b = body.canonical_b))]
#[utoipa::path(post, path = "/api/review/missed/dismiss", operation_id = "dismiss_missed", tag = "review",
    request_body = PairDismissRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "Dismissed; cannot-link constraints keep the groups apart in every later re-match", body = Object),
        (status = 409, description = "Both ids name the same group", body = crate::api::openapi::ErrorBody),
        (status = 401, description = "Missing or unknown token", body = crate::api::openapi::ErrorBody),
        (status = 403, description = "No tokens configured and the client is not on loopback", body = crate::api::openapi::ErrorBody),
        (status = 404, description = "No such canonical event", body = crate::api::openapi::ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = crate::api::openapi::ErrorBody),
        (status = 422, description = "The body is invalid", body = crate::api::openapi::ErrorBody),
    ))]
#[post("/api/review/missed/dismiss")]
pub async fn dismiss_missed(
    state: web::Data<ApiState>,
    op: Operator,
    body: web::Json<PairDismissRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    reject_nul(&["body", "operator"], req.operator.as_deref())?;
    reject_nul(&["body", "reason"], req.reason.as_deref())?;
    let operator = operator_name(&state, &op, req.operator.as_deref());
    let (a, b) = (req.canonical_a, req.canonical_b);
    if a == b {
        return Err(ApiError::Conflict(
            "A group cannot be dismissed against itself".into(),
        ));
    }
    let mut client = state.pool.get().await?;
    review_actions::dismiss_pair(&mut client, a, b, req.reason.as_deref(), &operator).await?;
    (state.rematch)();
    Ok(HttpResponse::Ok().json(json!({"status": "dismissed", "canonical_a": a, "canonical_b": b})))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SplitRequest {
    #[serde(deserialize_with = "super::input::id")]
    pub canonical_event_id: i32,
    pub source_event_id: String,
    #[serde(default, deserialize_with = "super::input::optional_id")]
    pub target_canonical_id: Option<i32>,
    /// Recorded only when no tokens are configured (else the token's name is).
    #[serde(default)]
    pub operator: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MergeRequest {
    #[serde(deserialize_with = "super::input::id")]
    pub source_canonical_id: i32,
    #[serde(deserialize_with = "super::input::id")]
    pub target_canonical_id: i32,
    #[serde(default)]
    pub operator: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct DismissRequest {
    #[serde(default)]
    pub operator: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The name recorded in the audit log: the token's name when tokens are configured;
/// otherwise (loopback writes) what the body says, bounded, or `local`.
fn operator_name(state: &ApiState, op: &Operator, claimed: Option<&str>) -> String {
    match claimed {
        Some(name) if state.tokens.is_empty() && !name.trim().is_empty() => {
            name.chars().take(100).collect()
        }
        _ => op.0.clone(),
    }
}

/// `POST /api/review/split` (§6.1).
#[tracing::instrument(name = "Splitting a canonical event", skip_all, fields(operator = %op.0, canonical_event_id = body.canonical_event_id, source_event_id = %body.source_event_id))]
#[utoipa::path(post, path = "/api/review/split", operation_id = "split", tag = "review",
    request_body = SplitRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "The source was detached; a cannot-link constraint keeps it apart in every later re-match", body = Object),
        (status = 409, description = "The request contradicts the current state (e.g. merging a group with itself)", body = crate::api::openapi::ErrorBody),
        (status = 401, description = "Missing or unknown token", body = crate::api::openapi::ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = crate::api::openapi::ErrorBody),
        (status = 403, description = "No tokens configured and the client is not on loopback", body = crate::api::openapi::ErrorBody),
        (status = 404, description = "No such canonical event or member", body = crate::api::openapi::ErrorBody),
        (status = 422, description = "The body is invalid", body = crate::api::openapi::ErrorBody),
    ))]
#[post("/api/review/split")]
pub async fn split(
    state: web::Data<ApiState>,
    op: Operator,
    body: web::Json<SplitRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    reject_nul(&["body", "source_event_id"], Some(&req.source_event_id))?;
    reject_nul(&["body", "operator"], req.operator.as_deref())?;
    let operator = operator_name(&state, &op, req.operator.as_deref());
    let (cid, sid) = (req.canonical_event_id, req.source_event_id.as_str());
    if req.target_canonical_id == Some(cid) {
        return Err(ApiError::Conflict(
            "Target canonical must differ from the original canonical".into(),
        ));
    }
    let mut client = state.pool.get().await?;
    let config = effective_config(&state, &**client).await?.0;
    let outcome = review_actions::split(
        &mut client,
        &review_actions::Split {
            canonical_id: cid,
            source_id: sid,
            target_id: req.target_canonical_id,
            operator: &operator,
        },
        &config.canonical.field_strategies,
    )
    .await?;
    (state.rematch)();
    Ok(HttpResponse::Ok().json(json!({
        "original_canonical_id": cid,
        "new_canonical_id": outcome.new_canonical_id,
        "target_canonical_id": req.target_canonical_id,
        "original_deleted": outcome.original_deleted,
    })))
}

/// `POST /api/review/merge` (§6.2).
#[tracing::instrument(name = "Merging canonical events", skip_all, fields(operator = %op.0, source_canonical_id = body.source_canonical_id, target_canonical_id = body.target_canonical_id))]
#[utoipa::path(post, path = "/api/review/merge", operation_id = "merge", tag = "review",
    request_body = MergeRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "Merged; must-link constraints keep the groups together in every later re-match", body = Object),
        (status = 409, description = "The request contradicts the current state (e.g. merging a group with itself)", body = crate::api::openapi::ErrorBody),
        (status = 401, description = "Missing or unknown token", body = crate::api::openapi::ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = crate::api::openapi::ErrorBody),
        (status = 403, description = "No tokens configured and the client is not on loopback", body = crate::api::openapi::ErrorBody),
        (status = 404, description = "No such canonical event", body = crate::api::openapi::ErrorBody),
        (status = 422, description = "The body is invalid", body = crate::api::openapi::ErrorBody),
    ))]
#[post("/api/review/merge")]
pub async fn merge(
    state: web::Data<ApiState>,
    op: Operator,
    body: web::Json<MergeRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    reject_nul(&["body", "operator"], req.operator.as_deref())?;
    let operator = operator_name(&state, &op, req.operator.as_deref());
    let (donor, target) = (req.source_canonical_id, req.target_canonical_id);
    if donor == target {
        return Err(ApiError::Conflict(
            "Cannot merge a canonical event with itself".into(),
        ));
    }
    let mut client = state.pool.get().await?;
    let config = effective_config(&state, &**client).await?.0;
    let strategies = &config.canonical.field_strategies;
    let new_source_count =
        review_actions::merge(&mut client, donor, target, &operator, strategies).await?;
    (state.rematch)();
    Ok(HttpResponse::Ok().json(json!({
        "surviving_canonical_id": target,
        "deleted_canonical_id": donor,
        "new_source_count": new_source_count,
    })))
}

/// Parses an optional JSON body: empty means `T::default()`; anything else must be a
/// valid document (422 otherwise).
pub(crate) fn optional_json<T: Default + serde::de::DeserializeOwned>(
    body: &[u8],
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    // `null` is "no body" too (the optional body's schema allows it). Only an object
    // is a body: serde would otherwise read a struct from a JSON array as well.
    let invalid = |e: serde_json::Error| ApiError::invalid(&["body"], e.to_string());
    match serde_json::from_slice::<Value>(body).map_err(invalid)? {
        Value::Null => Ok(T::default()),
        v @ Value::Object(_) => serde_json::from_value(v).map_err(invalid),
        _ => Err(ApiError::invalid(&["body"], "expected a JSON object")),
    }
}

/// `POST /api/review/queue/{id}/dismiss` (§6.3).
#[tracing::instrument(name = "Dismissing a review item", skip_all, fields(operator = %op.0, canonical_event_id = *path))]
#[utoipa::path(post, path = "/api/review/queue/{id}/dismiss", operation_id = "dismiss", tag = "review",
    params(("id" = i32, Path, description = "Canonical event id")),
    request_body(content = Option<DismissRequest>, description = "Optional operator and reason"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Dismissed; the group stays out of the queue until its membership changes", body = Object),
        (status = 409, description = "The request contradicts the current state (e.g. merging a group with itself)", body = crate::api::openapi::ErrorBody),
        (status = 401, description = "Missing or unknown token", body = crate::api::openapi::ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = crate::api::openapi::ErrorBody),
        (status = 403, description = "No tokens configured and the client is not on loopback", body = crate::api::openapi::ErrorBody),
        (status = 404, description = "No such canonical event", body = crate::api::openapi::ErrorBody),
        (status = 422, description = "The body or id is invalid", body = crate::api::openapi::ErrorBody),
    ))]
#[post("/api/review/queue/{id}/dismiss")]
pub async fn dismiss(
    state: web::Data<ApiState>,
    op: Operator,
    path: web::Path<i32>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let req: DismissRequest = optional_json(&super::read_body(payload).await?)?;
    reject_nul(&["body", "operator"], req.operator.as_deref())?;
    reject_nul(&["body", "reason"], req.reason.as_deref())?;
    let operator = operator_name(&state, &op, req.operator.as_deref());
    let mut client = state.pool.get().await?;
    review_actions::dismiss(&mut client, id, req.reason.as_deref(), &operator).await?;
    (state.rematch)();
    Ok(HttpResponse::Ok().json(json!({"status": "dismissed"})))
}
