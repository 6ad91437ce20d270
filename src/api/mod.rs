//! The REST API (storage-and-api.md §5–§8, §10; issue #4): actix-web handlers over the
//! PostgreSQL store.
//!
//! * [`configure`] registers every route ([`register`]: the handlers with their
//!   `#[utoipa::path]` documents, via `utoipa-actix-web`) plus JSON error handlers for
//!   actix's own extractors; the caller registers `web::Data<ApiState>` ([`state`])
//!   and wraps the app in [`cors`].
//! * [`error`] - [`ApiError`](error::ApiError), the one error enum of this boundary.
//! * [`auth`] - bearer tokens / loopback-only writes.
//! * [`body_guard`] - request bodies are read within a deadline and a size bound
//!   before any handler runs (wrap the app in it, as [`server::run`] does).
//! * [`connection`] - the JSON error shape for the 400/408/431 that actix-http
//!   answers by itself.
//! * [`events`], [`review`], [`audit`], [`dashboard`], [`config`], [`export`],
//!   [`explain`] - one module per resource.
//!
//! Handlers are thin: parse, call a `store` function (all SQL lives there) or a pure
//! function, map the result.
//!
//! Invariants: request bodies are bounded ([`MAX_JSON_BODY`]); every write (review,
//! config) runs in one transaction under the canonical-state advisory lock, writes an
//! audit row, and calls `rematch()` only after the commit.

pub mod audit;
pub mod auth;
pub mod body_guard;
pub mod config;
pub mod connection;
pub mod dashboard;
pub mod error;
pub mod events;
pub mod explain;
pub mod export;
pub mod input;
pub mod metrics;
pub mod openapi;
pub mod rematch;
pub mod review;
pub mod server;
pub mod state;

use actix_web::{get, web, HttpResponse};
use serde_json::{json, Value};
use tokio_postgres::types::FromSql;
use tokio_postgres::Row;

pub use error::ApiError;
pub use state::ApiState;

use error::FieldProblem;

/// Largest accepted JSON body: review and config requests are tiny; 64 KiB leaves
/// room for a full config document while bounding memory per request.
pub const MAX_JSON_BODY: usize = 64 * 1024;

pub use input::RawQuery;

/// Registers every documented route ([`register`]) with a JSON 405 for its other
/// methods, plus the JSON error handlers and the JSON 404 for everything else.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::QueryConfig::default().error_handler(error::query_error))
        .app_data(web::PathConfig::default().error_handler(error::path_error))
        .app_data(
            web::JsonConfig::default()
                .limit(MAX_JSON_BODY)
                .error_handler(error::json_error),
        )
        .app_data(web::PayloadConfig::default().limit(MAX_JSON_BODY));
    register(&mut utoipa_actix_web::service_config::ServiceConfig::new(
        cfg,
    ));
    // Each documented path answers its other methods with a JSON 405 (the routes
    // above carry method guards, so a request they refuse falls through to here).
    let routes = openapi::documented_routes();
    for same_path in routes.chunk_by(|a, b| a.path == b.path) {
        let allowed: Vec<&str> = same_path.iter().map(|r| r.method.as_str()).collect();
        cfg.service(resource(&same_path[0].path, &allowed));
    }
    cfg.configure(crate::web::configure)
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

/// Registers every handler of the API with its `#[utoipa::path]` document (the
/// OpenAPI paths are collected from this call, see [`openapi::document`]). Order
/// matters: actix matches resources in registration order, so a literal path comes
/// before a templated one it would also match (`…/cities` before `…/{id}`).
pub(crate) fn register(api: &mut utoipa_actix_web::service_config::ServiceConfig) {
    api.service(health)
        .service(metrics::metrics_text)
        .service(openapi::openapi_json)
        .service(events::list)
        .service(events::categories)
        .service(events::cities)
        .service(events::detail)
        .service(review::queue)
        .service(review::split)
        .service(review::merge)
        .service(review::missed)
        .service(review::dismiss_missed)
        .service(review::dismiss)
        .service(audit::list)
        .service(dashboard::stats)
        .service(dashboard::processing_history)
        .service(dashboard::runs)
        .service(config::get)
        .service(config::patch)
        .service(export::export)
        .service(explain::explain);
}

/// A resource whose unsupported methods get a JSON 405 with the `Allow` header RFC
/// 9110 requires (actix's default is an empty body without it).
fn resource(path: &str, allowed: &[&str]) -> actix_web::Resource {
    let allow = allowed.join(", ");
    web::resource(path).default_service(web::to(move || {
        let allow = allow.clone();
        async move {
            HttpResponse::MethodNotAllowed()
                .insert_header((actix_web::http::header::ALLOW, allow))
                .json(json!({"detail": "Method not allowed"}))
        }
    }))
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
#[utoipa::path(get, path = "/health", operation_id = "health", tag = "operations",
    responses(
        (status = 200, description = "Process and database are up", body = Object),
        (status = 503, description = "The database does not answer", body = Object),
    ))]
#[get("/health")]
async fn health(state: web::Data<ApiState>) -> HttpResponse {
    match tokio::time::timeout(HEALTH_DB_TIMEOUT, crate::store::pool::ping(&state.pool)).await {
        Ok(true) => HttpResponse::Ok().json(json!({"status": "ok", "database": "up"})),
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

/// Largest `page` of every paginated endpoint (documented as the parameter's
/// maximum): a million pages of the largest size is far beyond any catalogue, and
/// the offset stays far from overflowing.
pub const MAX_PAGE: i64 = 1_000_000;

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
            "page" => page = parse_int(&mut problems, k, v, 1, MAX_PAGE).unwrap_or(1),
            "size" => size = parse_int(&mut problems, k, v, 1, max_size).unwrap_or(default_size),
            _ => {}
        }
    }
    if (page - 1).checked_mul(size).is_none() {
        problems.push(FieldProblem::new(&["query", "page"], "page is too large"));
    }
    (page, size, problems)
}
