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
//! Invariants: one transaction per action under `lock_canonical_state`, so a run and a
//! review never interleave; the canonical tables change at once (the UI sees the result
//! without waiting for a run); touched canonicals get `content_hash = ''` so the next
//! run rewrites them; an `audit_log` row records operator, before and after; the
//! constraints point at that row; `rematch()` is called only after the commit.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::Transaction;

use super::audit::insert_audit;
use super::auth::Operator;
use super::config::effective_config;
use super::error::ApiError;
use super::events::{summary, SUMMARY_COLUMNS};
use super::input::reject_nul;
use super::state::ApiState;
use super::{col, page_params, paginated, parse_int, RawQuery};
use crate::matching::config::FieldStrategies;
use crate::matching::pipeline::LOW_CONFIDENCE;
use crate::matching::synthesis::synthesize;
use crate::model::CanonicalEvent;
use crate::store::{self, PairConstraint};

/// Largest review-queue page.
const MAX_QUEUE_PAGE: i64 = 100;

/// `GET /api/review/queue` (§6.4).
#[utoipa::path(get, path = "/api/review/queue", operation_id = "review_queue", tag = "review",
    params(crate::api::openapi::QueueQuery),
    responses(
        (status = 200, description = "Paginated summaries, most uncertain first", body = Object),
        (status = 422, description = "A parameter is invalid", body = crate::api::openapi::ErrorBody),
    ))]
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
    let offset = (page - 1) * size;
    let filter = "WHERE (c.needs_review OR (c.match_confidence IS NOT NULL
                         AND c.match_confidence < $1 AND c.source_count > 1))
                    AND c.source_count >= $2";
    let client = state.pool.get().await?;
    let total: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM canonical_events c {filter}"),
            &[&LOW_CONFIDENCE, &min_sources],
        )
        .await?
        .get(0);
    let rows = client
        .query(
            &format!(
                "SELECT {SUMMARY_COLUMNS} FROM canonical_events c {filter}
                 ORDER BY c.needs_review DESC, coalesce(c.match_confidence, 0) ASC, c.id ASC
                 LIMIT $3 OFFSET $4"
            ),
            &[&LOW_CONFIDENCE, &min_sources, &size, &offset],
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
    let tx = client.transaction().await?;
    store::lock_canonical_state(&tx).await?;
    for id in [a, b] {
        if !exists(&tx, id).await? {
            return Err(ApiError::NotFound(format!(
                "Canonical event {id} not found"
            )));
        }
    }
    let (members_a, members_b) = (members(&tx, a).await?, members(&tx, b).await?);
    for x in &members_a {
        constrain(&tx, PairConstraint::CannotLink, x, &members_b, &operator).await?;
    }
    let details = json!({
        "other_canonical_id": b,
        "reason": req.reason,
        "members_a": members_a,
        "members_b": members_b,
    });
    let audit_id = insert_audit(&tx, "pair_dismiss", Some(a), None, &operator, &details).await?;
    link_constraints_to_audit(&tx, audit_id).await?;
    tx.commit().await?;
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

/// Sorted member ids of a canonical.
async fn members(tx: &Transaction<'_>, canonical_id: i32) -> Result<Vec<String>, ApiError> {
    let rows = tx
        .query(
            "SELECT source_event_id FROM canonical_event_sources
             WHERE canonical_event_id = $1 ORDER BY source_event_id",
            &[&canonical_id],
        )
        .await?;
    rows.iter().map(|r| col(r, "source_event_id")).collect()
}

/// Locks and returns whether the canonical exists.
async fn exists(tx: &Transaction<'_>, canonical_id: i32) -> Result<bool, ApiError> {
    Ok(tx
        .query_opt(
            "SELECT id FROM canonical_events WHERE id = $1 FOR UPDATE",
            &[&canonical_id],
        )
        .await?
        .is_some())
}

/// Synthesizes the canonical of `member_ids` from the stored source events.
async fn synthesize_members(
    tx: &Transaction<'_>,
    member_ids: &[String],
    strategies: &FieldStrategies,
) -> Result<CanonicalEvent, ApiError> {
    let events = store::load_events_by_ids(tx, member_ids).await?;
    if events.is_empty() {
        return Err(ApiError::unexpected("members of a canonical are missing"));
    }
    let refs: Vec<_> = events.iter().collect();
    Ok(synthesize(&refs, strategies))
}

/// The 20 content columns of a canonical row (title … field_provenance) as query
/// parameters in column order, shared by the update and the insert below.
struct ContentParams<'a> {
    c: &'a CanonicalEvent,
    highlights: Json<&'a Vec<String>>,
    dates: Json<&'a Vec<crate::model::EventDate>>,
    categories: Json<&'a Vec<String>>,
    provenance: Json<&'a crate::model::FieldProvenance>,
}

impl<'a> ContentParams<'a> {
    fn new(c: &'a CanonicalEvent) -> Self {
        ContentParams {
            c,
            highlights: Json(&c.highlights),
            dates: Json(&c.dates),
            categories: Json(&c.categories),
            provenance: Json(&c.field_provenance),
        }
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        let c = self.c;
        vec![
            &c.title,
            &c.short_description,
            &c.description,
            &self.highlights,
            &c.location_name,
            &c.location_city,
            &c.location_district,
            &c.location_street,
            &c.location_zipcode,
            &c.geo_latitude,
            &c.geo_longitude,
            &c.geo_confidence,
            &self.dates,
            &c.first_date,
            &c.last_date,
            &self.categories,
            &c.is_family_event,
            &c.is_child_focused,
            &c.admission_free,
            &self.provenance,
        ]
    }
}

/// Re-synthesizes a canonical over its current members (§6, "re-synthesize"):
/// content, provenance, count and date bounds are overwritten; `needs_review = false`.
async fn resynthesize(
    tx: &Transaction<'_>,
    canonical_id: i32,
    strategies: &FieldStrategies,
) -> Result<(), ApiError> {
    let ids = members(tx, canonical_id).await?;
    let c = synthesize_members(tx, &ids, strategies).await?;
    let count = i32::try_from(ids.len()).map_err(|_| ApiError::unexpected("too many members"))?;
    let content = ContentParams::new(&c);
    tx.execute(
        "UPDATE canonical_events SET
            title = $2, short_description = $3, description = $4, highlights = $5,
            location_name = $6, location_city = $7, location_district = $8,
            location_street = $9, location_zipcode = $10, geo_latitude = $11,
            geo_longitude = $12, geo_confidence = $13, dates = $14, first_date = $15,
            last_date = $16, categories = $17, is_family_event = $18,
            is_child_focused = $19, admission_free = $20, field_provenance = $21,
            source_count = $22, needs_review = false, review_reason = NULL,
            content_hash = '', updated_at = now()
         WHERE id = $1",
        &[
            &[&canonical_id as &(dyn ToSql + Sync)],
            content.params().as_slice(),
            &[&count],
        ]
        .concat(),
    )
    .await?;
    Ok(())
}

/// Creates a canonical from one source event and links it; returns its id.
async fn create_single(
    tx: &Transaction<'_>,
    source_id: &str,
    strategies: &FieldStrategies,
) -> Result<i32, ApiError> {
    let c = synthesize_members(tx, &[source_id.to_string()], strategies).await?;
    let row = tx
        .query_one(
            "INSERT INTO canonical_events (
                title, short_description, description, highlights, location_name,
                location_city, location_district, location_street, location_zipcode,
                geo_latitude, geo_longitude, geo_confidence, dates, first_date, last_date,
                categories, is_family_event, is_child_focused, admission_free,
                field_provenance, source_count, match_confidence, needs_review, content_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                     $16, $17, $18, $19, $20, 1, NULL, false, '')
             RETURNING id",
            &ContentParams::new(&c).params(),
        )
        .await?;
    let id: i32 = col(&row, "id")?;
    tx.execute(
        "INSERT INTO canonical_event_sources (canonical_event_id, source_event_id)
         VALUES ($1, $2)",
        &[&id, &source_id],
    )
    .await?;
    Ok(id)
}

/// Stores `kind` between `x` and each of `others`, first removing the opposite
/// constraint on the same pairs (the newer decision wins).
async fn constrain(
    tx: &Transaction<'_>,
    kind: PairConstraint,
    x: &str,
    others: &[String],
    operator: &str,
) -> Result<(), ApiError> {
    let opposite = match kind {
        PairConstraint::MustLink => PairConstraint::CannotLink,
        PairConstraint::CannotLink => PairConstraint::MustLink,
    };
    for y in others.iter().filter(|y| y.as_str() != x) {
        let (a, b) = if x < y.as_str() {
            (x, y.as_str())
        } else {
            (y.as_str(), x)
        };
        tx.execute(
            "DELETE FROM review_constraints WHERE kind = $1 AND event_id_a = $2 AND event_id_b = $3",
            &[&opposite.as_str(), &a, &b],
        )
        .await?;
        store::add_pair_constraint(tx, kind, x, y, operator).await?;
    }
    Ok(())
}

/// Points the constraints written by this transaction at its audit row (rows of one
/// transaction share `now()`; the advisory lock excludes other writers).
async fn link_constraints_to_audit(tx: &Transaction<'_>, audit_id: i64) -> Result<(), ApiError> {
    tx.execute(
        "UPDATE review_constraints SET audit_log_id = $1
         WHERE audit_log_id IS NULL AND created_at = now()",
        &[&audit_id],
    )
    .await?;
    Ok(())
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
    let strategies = &config.canonical.field_strategies;
    let tx = client.transaction().await?;
    store::lock_canonical_state(&tx).await?;

    let before = members(&tx, cid).await?;
    if !before.iter().any(|m| m == sid) {
        return Err(ApiError::NotFound(format!(
            "Source {sid} not linked to canonical {cid}"
        )));
    }
    let target_before = match req.target_canonical_id {
        Some(tid) => {
            if !exists(&tx, tid).await? {
                return Err(ApiError::NotFound(format!(
                    "Target canonical {tid} not found"
                )));
            }
            Some(members(&tx, tid).await?)
        }
        None => None,
    };
    tx.execute(
        "DELETE FROM canonical_event_sources WHERE canonical_event_id = $1 AND source_event_id = $2",
        &[&cid, &sid],
    )
    .await?;
    let remaining: Vec<String> = before.iter().filter(|m| *m != sid).cloned().collect();
    let original_deleted = remaining.is_empty();
    if original_deleted {
        tx.execute("DELETE FROM canonical_events WHERE id = $1", &[&cid])
            .await?;
    } else {
        resynthesize(&tx, cid, strategies).await?;
    }
    let mut new_canonical_id = None;
    match (req.target_canonical_id, &target_before) {
        (Some(tid), Some(target_members)) => {
            tx.execute(
                "INSERT INTO canonical_event_sources (canonical_event_id, source_event_id)
                 VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&tid, &sid],
            )
            .await?;
            resynthesize(&tx, tid, strategies).await?;
            constrain(
                &tx,
                PairConstraint::MustLink,
                sid,
                target_members,
                &operator,
            )
            .await?;
        }
        _ => new_canonical_id = Some(create_single(&tx, sid, strategies).await?),
    }
    constrain(&tx, PairConstraint::CannotLink, sid, &remaining, &operator).await?;

    let audit_canonical = if original_deleted {
        new_canonical_id.or(req.target_canonical_id)
    } else {
        Some(cid)
    };
    let mut details = json!({
        "target_canonical_id": req.target_canonical_id,
        "original_deleted": original_deleted,
        "before": {"members": before, "target_members": target_before},
        "after": {"original_members": remaining},
    });
    if let Some(id) = new_canonical_id {
        details["new_canonical_id"] = json!(id);
    }
    let audit_id = insert_audit(
        &tx,
        "split",
        audit_canonical,
        Some(sid),
        &operator,
        &details,
    )
    .await?;
    link_constraints_to_audit(&tx, audit_id).await?;
    tx.commit().await?;
    (state.rematch)();
    Ok(HttpResponse::Ok().json(json!({
        "original_canonical_id": cid,
        "new_canonical_id": new_canonical_id,
        "target_canonical_id": req.target_canonical_id,
        "original_deleted": original_deleted,
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
    let tx = client.transaction().await?;
    store::lock_canonical_state(&tx).await?;
    if !exists(&tx, donor).await? {
        return Err(ApiError::NotFound(format!(
            "Source canonical {donor} not found"
        )));
    }
    if !exists(&tx, target).await? {
        return Err(ApiError::NotFound(format!(
            "Target canonical {target} not found"
        )));
    }
    let donor_members = members(&tx, donor).await?;
    let target_members = members(&tx, target).await?;
    // Links are unique per source: remove the donor's before re-linking to the target.
    tx.execute("DELETE FROM canonical_events WHERE id = $1", &[&donor])
        .await?;
    let moved = tx
        .execute(
            "INSERT INTO canonical_event_sources (canonical_event_id, source_event_id)
             SELECT $1, x FROM unnest($2::text[]) AS x ON CONFLICT DO NOTHING",
            &[&target, &donor_members],
        )
        .await?;
    resynthesize(&tx, target, &config.canonical.field_strategies).await?;
    for d in &donor_members {
        constrain(&tx, PairConstraint::MustLink, d, &target_members, &operator).await?;
    }
    let after = members(&tx, target).await?;
    let details = json!({
        "deleted_canonical_id": donor,
        "sources_moved": moved,
        "new_source_count": after.len(),
        "before": {"source_members": donor_members, "target_members": target_members},
        "after": {"members": after},
    });
    let audit_id = insert_audit(&tx, "merge", Some(target), None, &operator, &details).await?;
    link_constraints_to_audit(&tx, audit_id).await?;
    tx.commit().await?;
    (state.rematch)();
    Ok(HttpResponse::Ok().json(json!({
        "surviving_canonical_id": target,
        "deleted_canonical_id": donor,
        "new_source_count": after.len(),
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
    let tx = client.transaction().await?;
    store::lock_canonical_state(&tx).await?;
    let Some(row) = tx
        .query_opt(
            "SELECT match_confidence, needs_review FROM canonical_events WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .await?
    else {
        return Err(ApiError::NotFound("Canonical event not found".into()));
    };
    let original: Option<f64> = col(&row, "match_confidence")?;
    let was_flagged: bool = col(&row, "needs_review")?;
    let member_ids = members(&tx, id).await?;
    let new_confidence = match original {
        Some(c) if c < LOW_CONFIDENCE => Some(crate::matching::pipeline::REVIEWED_CONFIDENCE),
        other => other,
    };
    tx.execute(
        "UPDATE canonical_events SET needs_review = false, match_confidence = $2,
                content_hash = '', updated_at = now()
         WHERE id = $1",
        &[&id, &new_confidence],
    )
    .await?;
    if member_ids.len() > 1 {
        store::add_reviewed_set(&*tx, &member_ids, &operator).await?;
    }
    let details: Value = json!({
        "reason": req.reason,
        "original_confidence": original,
        "before": {"needs_review": was_flagged, "match_confidence": original},
        "after": {"needs_review": false, "match_confidence": new_confidence},
        "members": member_ids,
    });
    let audit_id = insert_audit(&tx, "review_dismiss", Some(id), None, &operator, &details).await?;
    link_constraints_to_audit(&tx, audit_id).await?;
    tx.commit().await?;
    (state.rematch)();
    Ok(HttpResponse::Ok().json(json!({"status": "dismissed"})))
}
