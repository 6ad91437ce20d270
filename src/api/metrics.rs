//! `GET /metrics`: Prometheus text format. Process counters come from the registry
//! in [`ApiState::metrics`]; database figures (stored events, canonical events, review
//! queue, files by status) are read at scrape time, bounded by the health timeout;
//! when they cannot be read they are left out and `event_dedup_stored_scrape_error`
//! is 1 ([`crate::metrics::render_stored`]).

use actix_web::{get, web, HttpResponse};

use super::{ApiError, ApiState, HEALTH_DB_TIMEOUT};
use crate::metrics::render_stored;
use crate::store;

#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain")))]
#[get("/metrics")]
pub async fn metrics_text(state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let read = async {
        let client = state.pool.get().await.ok()?;
        store::catalogue::stored_figures(&**client).await.ok()
    };
    // The database figures are left out (not faked, not stale) when the database is
    // down; the process counters, including the retry count, are still served.
    let figures = tokio::time::timeout(HEALTH_DB_TIMEOUT, read)
        .await
        .ok()
        .flatten();
    let mut text = state.metrics.render();
    text.push_str(&render_stored(figures.as_deref()));
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
