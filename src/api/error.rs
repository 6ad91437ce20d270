//! `ApiError`: the one error type of the HTTP boundary, and the JSON error handlers
//! for actix's own extractors.
//!
//! Invariants:
//! * Every error response is JSON `{"detail": ...}`; `detail` is a string, except for
//!   validation errors (422), where it lists each problem as `{loc, msg}`.
//! * A 500 never shows its cause to the client; the full cause chain is logged.
//! * A database that cannot be reached (or a transient failure such as a
//!   serialization conflict, [`StoreError::is_transient`]) is a 503 with `Retry-After`
//!   and a `detail` that says so, logged as a warning: the request was fine, the
//!   dependency was not (issue 13).
//! * Extractor failures (query, path, JSON body) are the client's fault: 422 (413 for an
//!   oversized body), never 5xx.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;

use crate::store::StoreError;

/// One request-validation problem: where (`["query", "size"]`) and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldProblem {
    pub loc: Vec<String>,
    pub msg: String,
}

impl FieldProblem {
    /// A problem at `loc` (e.g. `["query", "size"]`).
    pub fn new(loc: &[&str], msg: impl Into<String>) -> Self {
        FieldProblem {
            loc: loc.iter().map(|s| s.to_string()).collect(),
            msg: msg.into(),
        }
    }
}

#[derive(thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// The request is well-formed but contradicts the current state (merging a group
    /// with itself): 409, since the schema cannot express it (issue 13).
    #[error("{0}")]
    Conflict(String),
    #[error("request body too large")]
    PayloadTooLarge,
    /// The request body did not arrive in time ([`super::body_guard`]).
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    /// A body that is not `application/json` where JSON is expected.
    #[error("expected a JSON body (content-type: application/json)")]
    UnsupportedMediaType,
    /// Every problem of the request at once, so a client fixes it in one pass.
    #[error("request validation failed")]
    Validation(Vec<FieldProblem>),
    /// The database is unreachable or momentarily refused the work (503).
    #[error("the database is temporarily unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else: a bug. Opaque to the client.
    #[error("internal server error")]
    Unexpected(#[source] anyhow::Error),
}

/// Seconds a client should wait after a 503 (`Retry-After`): about the time the
/// service's own retries need to notice a restarted database.
pub const RETRY_AFTER_SECS: u32 = 5;

/// The `detail` of a 503.
pub const UNAVAILABLE_DETAIL: &str =
    "The database is temporarily unavailable; retry the request later (see Retry-After)";

impl std::fmt::Debug for ApiError {
    /// The whole cause chain, so a logged 500 names the SQL error behind it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        error_chain_fmt(self, f)
    }
}

/// Writes an error and each of its causes on its own line (z2p `error_chain_fmt`).
pub fn error_chain_fmt(
    e: &impl std::error::Error,
    f: &mut std::fmt::Formatter<'_>,
) -> std::fmt::Result {
    writeln!(f, "{e}")?;
    let mut current = e.source();
    while let Some(cause) = current {
        writeln!(f, "Caused by:\n\t{cause}")?;
        current = cause.source();
    }
    Ok(())
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if e.is_transient() {
            ApiError::Unavailable(anyhow::Error::new(e))
        } else {
            ApiError::Unexpected(anyhow::Error::new(e))
        }
    }
}

impl From<crate::store::review_actions::ActionError> for ApiError {
    fn from(e: crate::store::review_actions::ActionError) -> Self {
        use crate::store::review_actions::ActionError;
        match e {
            ActionError::NotFound(message) => ApiError::NotFound(message),
            ActionError::Store(e) => e.into(),
        }
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        ApiError::from(StoreError::from(e))
    }
}

impl From<deadpool_postgres::PoolError> for ApiError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        ApiError::from(StoreError::from(e))
    }
}

impl ApiError {
    /// Shorthand for an unexpected failure with context.
    pub fn unexpected(msg: impl std::fmt::Display + Send + Sync + 'static) -> Self {
        ApiError::Unexpected(anyhow::anyhow!("{msg}"))
    }

    /// A single validation problem.
    pub fn invalid(loc: &[&str], msg: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldProblem::new(loc, msg)])
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let detail = match self {
            ApiError::Validation(problems) => serde_json::json!(problems),
            ApiError::Unexpected(_) => {
                tracing::error!(error.cause_chain = ?self, "Request failed unexpectedly");
                serde_json::json!("Internal server error")
            }
            ApiError::Unavailable(_) => {
                tracing::warn!(error.cause_chain = ?self, "database_unavailable");
                serde_json::json!(UNAVAILABLE_DETAIL)
            }
            other => serde_json::json!(other.to_string()),
        };
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::Unauthorized(_) => {
                response.insert_header(("WWW-Authenticate", "Bearer"));
            }
            ApiError::Unavailable(_) => {
                response.insert_header(("Retry-After", RETRY_AFTER_SECS.to_string()));
            }
            _ => {}
        }
        response.json(serde_json::json!({ "detail": detail }))
    }
}

/// Query-string extractor failures → 422.
pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::invalid(&["query"], err.to_string()).into()
}

/// Path extractor failures (e.g. a non-integer id) → 422.
pub fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::invalid(&["path"], err.to_string()).into()
}

/// JSON body extractor failures → 413 when too large, else 422.
pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    match err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::PayloadTooLarge.into()
        }
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType.into(),
        other => ApiError::invalid(&["body"], other.to_string()).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(e: &ApiError) -> (u16, serde_json::Value) {
        let response = e.error_response();
        let status = response.status().as_u16();
        let bytes = actix_web::body::to_bytes(response.into_body())
            .await
            .unwrap_or_default();
        (status, serde_json::from_slice(&bytes).unwrap_or_default())
    }

    #[tokio::test]
    async fn internal_errors_are_opaque() {
        let e = ApiError::Unexpected(anyhow::anyhow!("password=hunter2 in SQL"));
        let (status, body) = body_of(&e).await;
        assert_eq!(status, 500);
        assert_eq!(body, serde_json::json!({"detail": "Internal server error"}));
        assert!(
            format!("{e:?}").contains("hunter2"),
            "the log keeps the cause"
        );
    }

    #[tokio::test]
    async fn an_unreachable_database_is_a_503_with_retry_after() {
        let pool =
            crate::store::build_pool("postgres://u:pw@127.0.0.1:1/none", 1).expect("pool config");
        let Err(e) = pool.get().await else {
            panic!("nothing listens on port 1");
        };
        let e = ApiError::from(e);
        let response = e.error_response();
        assert_eq!(response.status().as_u16(), 503);
        assert_eq!(
            response
                .headers()
                .get("Retry-After")
                .and_then(|v| v.to_str().ok()),
            Some(RETRY_AFTER_SECS.to_string().as_str())
        );
        let (_, body) = body_of(&e).await;
        assert_eq!(body["detail"], UNAVAILABLE_DETAIL);
        let permanent = ApiError::from(StoreError::Decode("bad row".into()));
        assert_eq!(body_of(&permanent).await.0, 500);
    }

    #[tokio::test]
    async fn validation_lists_problems_and_others_are_strings() {
        let e = ApiError::Validation(vec![
            FieldProblem::new(&["query", "size"], "too big"),
            FieldProblem::new(&["query", "page"], "too small"),
        ]);
        let (status, body) = body_of(&e).await;
        assert_eq!(status, 422);
        assert_eq!(
            body["detail"][1]["loc"],
            serde_json::json!(["query", "page"])
        );
        let (status, body) = body_of(&ApiError::NotFound("Canonical event not found".into())).await;
        assert_eq!(status, 404);
        assert_eq!(body["detail"], "Canonical event not found");
        assert_eq!(body_of(&ApiError::PayloadTooLarge).await.0, 413);
        assert_eq!(body_of(&ApiError::Forbidden("no".into())).await.0, 403);
        assert_eq!(body_of(&ApiError::Unauthorized("no".into())).await.0, 401);
        assert_eq!(body_of(&ApiError::BadRequest("no".into())).await.0, 400);
        assert_eq!(body_of(&ApiError::Conflict("no".into())).await.0, 409);
    }
}
