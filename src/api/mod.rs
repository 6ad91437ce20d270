//! The REST API (storage-and-api.md §5–§8, §10; issue #4): actix-web handlers over the
//! PostgreSQL store.
//!
//! * [`configure`] registers every route plus JSON error handlers for actix's own
//!   extractors; the caller registers `web::Data<ApiState>` ([`state`]) and wraps the
//!   app in [`cors`].
//! * [`error`] - [`ApiError`](error::ApiError), the one error enum of this boundary.
//! * [`auth`] - bearer tokens / loopback-only writes.
//! * [`events`], [`review`], [`audit`], [`dashboard`], [`config`], [`export`],
//!   [`explain`] - one module per resource.
//!
//! Invariants: all SQL is parameterized; request bodies are bounded
//! ([`MAX_JSON_BODY`]); every write (review, config) runs in one transaction under the
//! canonical-state advisory lock, writes an audit row, and calls `rematch()` only after
//! the commit.

pub mod audit;
pub mod auth;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod events;
pub mod explain;
pub mod export;
pub mod metrics;
pub mod rematch;
pub mod review;
pub mod server;
pub mod state;

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};
use tokio_postgres::types::FromSql;
use tokio_postgres::Row;

pub use error::ApiError;
pub use state::ApiState;

use error::FieldProblem;

/// Largest accepted JSON body: review and config requests are tiny; 64 KiB leaves
/// room for a full config document while bounding memory per request.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// Every query parameter in order, so repeated keys (`city=a&city=b`) survive.
pub type RawQuery = web::Query<Vec<(String, String)>>;

/// Registers all routes. Literal paths come before `{id}` paths.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::QueryConfig::default().error_handler(error::query_error))
        .app_data(web::PathConfig::default().error_handler(error::path_error))
        .app_data(
            web::JsonConfig::default()
                .limit(MAX_JSON_BODY)
                .error_handler(error::json_error),
        )
        .app_data(web::PayloadConfig::default().limit(MAX_JSON_BODY))
        .service(resource("/health").route(web::get().to(health)))
        .service(resource("/metrics").route(web::get().to(metrics::metrics_text)))
        .service(resource("/api/canonical-events").route(web::get().to(events::list)))
        .service(
            resource("/api/canonical-events/categories").route(web::get().to(events::categories)),
        )
        .service(resource("/api/canonical-events/cities").route(web::get().to(events::cities)))
        .service(resource("/api/canonical-events/{id}").route(web::get().to(events::detail)))
        .service(resource("/api/review/queue").route(web::get().to(review::queue)))
        .service(resource("/api/review/split").route(web::post().to(review::split)))
        .service(resource("/api/review/merge").route(web::post().to(review::merge)))
        .service(resource("/api/review/queue/{id}/dismiss").route(web::post().to(review::dismiss)))
        .service(resource("/api/audit-log").route(web::get().to(audit::list)))
        .service(resource("/api/dashboard/stats").route(web::get().to(dashboard::stats)))
        .service(
            resource("/api/dashboard/processing-history")
                .route(web::get().to(dashboard::processing_history)),
        )
        .service(resource("/api/runs").route(web::get().to(dashboard::runs)))
        .service(
            resource("/api/config")
                .route(web::get().to(config::get))
                .route(web::patch().to(config::patch)),
        )
        .service(resource("/api/export").route(web::post().to(export::export)))
        .service(resource("/api/explain").route(web::get().to(explain::explain)))
        .configure(crate::web::configure)
        .default_service(web::to(crate::web::app_or_not_found));
}

/// Origins of the development UI (spec §5), allowed with every method and header.
pub const DEV_UI_ORIGINS: [&str; 2] = ["http://localhost:5173", "http://localhost:5174"];

/// The CORS middleware for the API; wrap the `App` with it (`App::new().wrap(cors())`),
/// since `configure` cannot add middleware.
pub fn cors() -> actix_cors::Cors {
    DEV_UI_ORIGINS
        .iter()
        .fold(actix_cors::Cors::default(), |c, origin| {
            c.allowed_origin(origin)
        })
        .allow_any_method()
        .allow_any_header()
        .max_age(3600)
}

/// A resource whose unsupported methods get a JSON 405 (actix's default is empty).
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed().json(json!({"detail": "Method not allowed"}))
}

/// Reads a request body of at most [`MAX_JSON_BODY`] bytes (413 beyond), for
/// endpoints whose body is optional (so the JSON extractor cannot be used).
pub(crate) async fn read_body(mut payload: web::Payload) -> Result<web::BytesMut, ApiError> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("Could not read the body: {e}")))?;
        if body.len() + chunk.len() > MAX_JSON_BODY {
            return Err(ApiError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A load balancer's health probe typically times out after a few seconds; answer
/// well before that, reporting the database as down rather than hanging.
pub const HEALTH_DB_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// `200 {"status":"ok","database":"up"}` when a query round-trips, else `503` with
/// `"database":"down"` (the process is alive; its dependency is not).
async fn health(state: web::Data<ApiState>) -> HttpResponse {
    let probe = async {
        let client = state.pool.get().await.ok()?;
        client.simple_query("SELECT 1").await.ok()
    };
    match tokio::time::timeout(HEALTH_DB_TIMEOUT, probe).await {
        Ok(Some(_)) => HttpResponse::Ok().json(json!({"status": "ok", "database": "up"})),
        _ => HttpResponse::ServiceUnavailable()
            .json(json!({"status": "degraded", "database": "down"})),
    }
}

/// Reads a column; a type mismatch is a bug (500), never a panic.
pub(crate) fn col<'a, T: FromSql<'a>>(row: &'a Row, name: &str) -> Result<T, ApiError> {
    row.try_get(name)
        .map_err(|e| ApiError::unexpected(format!("column {name}: {e}")))
}

/// The paginated envelope `{items, total, page, size, pages}`.
pub(crate) fn paginated(items: Vec<Value>, total: i64, page: i64, size: i64) -> Value {
    let pages = if total <= 0 {
        1
    } else {
        (total + size - 1) / size
    };
    json!({"items": items, "total": total, "page": page, "size": size, "pages": pages.max(1)})
}

/// Parses an integer query value in `[min, max]`, recording a problem otherwise.
pub(crate) fn parse_int(
    problems: &mut Vec<FieldProblem>,
    key: &str,
    value: &str,
    min: i64,
    max: i64,
) -> Option<i64> {
    match value.trim().parse::<i64>() {
        Ok(v) if (min..=max).contains(&v) => Some(v),
        Ok(_) => {
            problems.push(FieldProblem::new(
                &["query", key],
                format!("must be between {min} and {max}"),
            ));
            None
        }
        Err(_) => {
            problems.push(FieldProblem::new(&["query", key], "expected an integer"));
            None
        }
    }
}

/// Parses `page`/`size` (and more integer keys) of the simple paginated endpoints:
/// returns `(page, size)` and the values of `extra` keys, or every problem.
pub(crate) fn page_params(
    pairs: &[(String, String)],
    max_size: i64,
    default_size: i64,
) -> (i64, i64, Vec<FieldProblem>) {
    let mut problems = Vec::new();
    let (mut page, mut size) = (1, default_size);
    for (k, v) in pairs {
        match k.as_str() {
            "page" => page = parse_int(&mut problems, k, v, 1, i64::MAX).unwrap_or(1),
            "size" => size = parse_int(&mut problems, k, v, 1, max_size).unwrap_or(default_size),
            _ => {}
        }
    }
    if (page - 1).checked_mul(size).is_none() {
        problems.push(FieldProblem::new(&["query", "page"], "page is too large"));
    }
    (page, size, problems)
}
