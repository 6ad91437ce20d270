//! The review web UI (issue #5, `frontend.md`): a single-page app in plain JavaScript
//! modules, embedded into the binary and served on the API's listener.
//!
//! * `GET /assets/<file>` serves one embedded file ([`assets`]) with its content type,
//!   an `ETag` and `Cache-Control: no-cache` (browsers revalidate, so a new binary never
//!   leaves a stale script running, and an unchanged file costs a 304).
//! * Every other `GET`/`HEAD` path outside `/api/`, `/health` and `/metrics` answers
//!   `index.html` (client-side routing: "Unknown paths are served the app"); the app's
//!   router shows its own "Page not found".
//! * Unknown `/api/...` paths and other methods keep the API's JSON 404.
//!
//! Invariants: no page is rendered on the server, so no data ever reaches HTML here;
//! the HTML carries a strict Content-Security-Policy (`script-src 'self'`, no inline
//! scripts or styles), and the scripts build the DOM with `textContent` only.

pub mod assets;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::{guard, web, HttpRequest, HttpResponse};

use crate::api::ApiError;

/// The Content-Security-Policy of the app: everything from this origin only; no inline
/// script or style; no framing (click-jacking); `data:` images for nothing but the
/// browser's own defaults.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Registers `GET|HEAD /assets/{file}`. Call from the API's `configure`, before its
/// default service ([`app_or_not_found`]).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/assets/{file:.*}").route(
            web::route()
                .guard(guard::Any(guard::Get()).or(guard::Head()))
                .to(asset),
        ),
    );
}

/// Whether `path` belongs to the API's namespace (never answered with the app).
fn is_api_path(path: &str) -> bool {
    path == "/api"
        || path.starts_with("/api/")
        || path == "/health"
        || path == "/metrics"
        || path.starts_with("/assets/")
}

/// The default service: `index.html` for page loads, the API's JSON 404 otherwise.
pub async fn app_or_not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let page_load = matches!(*req.method(), Method::GET | Method::HEAD);
    if page_load && !is_api_path(req.path()) {
        Ok(index())
    } else {
        Err(ApiError::NotFound("Not found".into()))
    }
}

/// `index.html` with the security headers. Never cached: it is tiny and names the
/// scripts, so a new binary must be picked up on the next load.
fn index() -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    security_headers(&mut response);
    response.body(assets::INDEX_HTML)
}

/// Headers every UI response carries.
fn security_headers(response: &mut actix_web::HttpResponseBuilder) {
    response
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
}

/// `GET /assets/{file}`: the embedded file, 304 when the browser's copy is current.
async fn asset(req: HttpRequest, file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let Some(asset) = assets::find(&file) else {
        return Err(ApiError::NotFound(format!("No asset {file}")));
    };
    let etag = asset.etag();
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::ETAG, etag_header(&etag)));
    security_headers(&mut response);
    if matches {
        return Ok(response.finish());
    }
    Ok(response.content_type(asset.content_type).body(asset.bytes))
}

/// The ETag as a header value (it is hex in quotes, always valid).
fn etag_header(etag: &str) -> HeaderValue {
    HeaderValue::from_str(etag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_namespace_is_never_the_app() {
        for path in [
            "/api",
            "/api/unknown",
            "/health",
            "/metrics",
            "/assets/x.js",
        ] {
            assert!(is_api_path(path), "{path}");
        }
        for path in ["/", "/review", "/events/12", "/apix", "/healthz"] {
            assert!(!is_api_path(path), "{path}");
        }
    }
}
