//! The audit log (storage-and-api.md §6.5): `GET /api/audit-log` (filters, newest
//! first). Rows are written by the store (`store::review::insert_audit`), inside the
//! transaction of the action they record, so an audit row exists exactly when the
//! action committed.

use actix_web::{get, web, HttpResponse};
use serde_json::json;

use super::error::{ApiError, FieldProblem};
use super::state::ApiState;
use super::{page_params, paginated, parse_int, RawQuery};
use crate::store;

/// `GET /api/audit-log`
#[utoipa::path(get, path = "/api/audit-log", operation_id = "list_audit_log", tag = "review",
    params(crate::api::openapi::AuditQuery),
    responses(
        (status = 200, description = "Paginated audit entries, newest first", body = Object),
        (status = 422, description = "A parameter is invalid", body = crate::api::openapi::ErrorBody),
    ))]
#[get("/api/audit-log")]
pub async fn list(state: web::Data<ApiState>, query: RawQuery) -> Result<HttpResponse, ApiError> {
    let (page, size, mut problems) = page_params(&query.0, 100, 20);
    let mut canonical: Option<i32> = None;
    let mut action: Option<String> = None;
    for (k, v) in &query.0 {
        match k.as_str() {
            "canonical_event_id" => {
                canonical = parse_int(&mut problems, k, v, i32::MIN as i64, i32::MAX as i64)
                    .map(|v| v as i32)
            }
            "action_type" if v.len() > 100 => {
                problems.push(FieldProblem::new(&["query", k], "too long"))
            }
            "action_type" => action = Some(v.clone()),
            _ => {}
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let client = state.pool.get().await?;
    let (total, rows) = store::review::audit_page(
        &**client,
        canonical,
        action.as_deref(),
        size,
        (page - 1) * size,
    )
    .await?;
    let items = rows
        .into_iter()
        .map(|r| {
            json!({
                "id": r.id,
                "action_type": r.action_type,
                "canonical_event_id": r.canonical_event_id,
                "source_event_id": r.source_event_id,
                "operator": r.operator,
                "details": r.details,
                "created_at": r.created_at.to_rfc3339(),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(paginated(items, total, page, size)))
}
