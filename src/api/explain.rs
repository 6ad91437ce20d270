//! `GET /api/explain?a=ID&b=ID`: scores two stored source events on demand with the
//! effective matching config, exactly as a run would (`matching::explain_pair`), so a
//! reviewer can see why two listings were (not) matched even when they were never a
//! candidate pair. With the learned model the answer carries every feature's
//! contribution to the match probability.

use actix_web::{get, web, HttpResponse};

use super::config::effective_config;
use super::error::{ApiError, FieldProblem};
use super::state::ApiState;
use super::RawQuery;
use crate::matching::explain_pair;
use crate::store;

/// `GET /api/explain`
#[utoipa::path(get, path = "/api/explain", operation_id = "explain", tag = "events",
    params(crate::api::openapi::ExplainQuery),
    responses(
        (status = 200, description = "Signal scores, weights, combined score, decision and deciding rule for the pair", body = Object),
        (status = 404, description = "A source event does not exist", body = crate::api::openapi::ErrorBody),
        (status = 422, description = "`a` or `b` missing", body = crate::api::openapi::ErrorBody),
    ))]
#[get("/api/explain")]
pub async fn explain(
    state: web::Data<ApiState>,
    query: RawQuery,
) -> Result<HttpResponse, ApiError> {
    let find = |key: &str| {
        query
            .0
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let (a, b) = (find("a"), find("b"));
    let mut problems = Vec::new();
    for (key, v) in [("a", &a), ("b", &b)] {
        if v.is_none() {
            problems.push(FieldProblem::new(
                &["query", key],
                "a source event id is required",
            ));
        }
    }
    let (Some(a), Some(b)) = (a, b) else {
        return Err(ApiError::Validation(problems));
    };
    let client = state.pool.get().await?;
    let (config, _) = effective_config(&state, &**client).await?;
    let events = store::load_events_by_ids(&**client, &[a.clone(), b.clone()]).await?;
    drop(client);
    let get = |id: &str| {
        events
            .iter()
            .find(|e| e.id == id)
            .ok_or_else(|| ApiError::NotFound(format!("Source event {id} not found")))
    };
    let (ea, eb) = (get(&a)?, get(&b)?);
    let decision = explain_pair(ea, eb, &config, &state.lists);
    Ok(HttpResponse::Ok().json(decision))
}
