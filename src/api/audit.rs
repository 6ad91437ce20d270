//! The audit log (storage-and-api.md §6.5): writing one row per review or config
//! action, and `GET /api/audit-log` (filters, newest first).
//!
//! Invariant: rows are only inserted inside the transaction of the action they record,
//! so an audit row exists exactly when the action committed.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio_postgres::types::ToSql;
use tokio_postgres::Transaction;

use super::error::{ApiError, FieldProblem};
use super::state::ApiState;
use super::{col, page_params, paginated, parse_int, RawQuery};

/// Inserts an audit row and returns its id.
pub(crate) async fn insert_audit(
    tx: &Transaction<'_>,
    action_type: &str,
    canonical_event_id: Option<i32>,
    source_event_id: Option<&str>,
    operator: &str,
    details: &Value,
) -> Result<i64, ApiError> {
    let row = tx
        .query_one(
            "INSERT INTO audit_log (action_type, canonical_event_id, source_event_id, operator, details)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[&action_type, &canonical_event_id, &source_event_id, &operator, details],
        )
        .await?;
    col(&row, "id")
}

/// `GET /api/audit-log`
#[utoipa::path(get, path = "/api/audit-log", operation_id = "list_audit_log", tag = "review",
    params(crate::api::openapi::AuditQuery),
    responses(
        (status = 200, description = "Paginated audit entries, newest first", body = Object),
        (status = 422, description = "A parameter is invalid", body = crate::api::openapi::ErrorBody),
    ))]
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
    let filter = "WHERE ($1::int4 IS NULL OR canonical_event_id = $1)
                    AND ($2::text IS NULL OR action_type = $2)";
    let params: [&(dyn ToSql + Sync); 2] = [&canonical, &action];
    let client = state.pool.get().await?;
    let total: i64 = client
        .query_one(&format!("SELECT count(*) FROM audit_log {filter}"), &params)
        .await?
        .get(0);
    let offset = (page - 1) * size;
    let rows = client
        .query(
            &format!(
                "SELECT * FROM audit_log {filter}
                 ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
            ),
            &[&canonical, &action, &size, &offset],
        )
        .await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(json!({
                "id": col::<i64>(r, "id")?,
                "action_type": col::<String>(r, "action_type")?,
                "canonical_event_id": col::<Option<i32>>(r, "canonical_event_id")?,
                "source_event_id": col::<Option<String>>(r, "source_event_id")?,
                "operator": col::<String>(r, "operator")?,
                "details": col::<Option<Value>>(r, "details")?,
                "created_at": col::<DateTime<Utc>>(r, "created_at")?.to_rfc3339(),
            }))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(HttpResponse::Ok().json(paginated(items, total, page, size)))
}
