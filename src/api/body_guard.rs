//! `BodyGuard`: every request body is read completely, within a deadline and a size
//! bound, before any handler runs (issue 13).
//!
//! Why: actix closes a connection whose request *head* stalls
//! (`client_request_timeout`), but once the head is complete, a body that never
//! arrives held the connection (and a file descriptor) for as long as the client
//! wished, on every route, including those that ignore the body (`GET /health`).
//!
//! Rules:
//! * a request without a body passes through untouched;
//! * a body is buffered up to [`MAX_JSON_BODY`] bytes (413 beyond) and must be
//!   complete within [`BODY_READ_TIMEOUT`] after the head (408 otherwise); the handler
//!   then reads the buffered bytes, so extractors and `read_body` work unchanged;
//! * a refused request is answered with the JSON error shape and `Connection: close`,
//!   and the unread remainder of the body is kept alive until the response is written,
//!   so actix closes the connection instead of draining a body that may never come.
//!
//! Invariant: no handler ever waits for the network; the time a request can hold a
//! connection before its handler runs is bounded by the head timeout plus
//! [`BODY_READ_TIMEOUT`].

use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::BytesMut;
use actix_web::{Error, ResponseError};
use futures_util::StreamExt;

use super::error::ApiError;
use super::MAX_JSON_BODY;

/// How long a complete request body may take to arrive after the head: 64 KiB (the
/// largest accepted body) in 10 s needs only 6.4 KB/s.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A response body that owns the unread rest of the request's body until it has been
/// sent: actix decides after the last response chunk whether to drain the request
/// body (keep-alive) or close the connection, and it closes only while the request
/// payload is still owned by someone (see the module header).
struct HoldingUnread {
    body: BoxBody,
    _unread: Payload,
}

impl MessageBody for HoldingUnread {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> actix_web::body::BodySize {
        self.body.size()
    }

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<actix_web::web::Bytes, Self::Error>>> {
        std::pin::Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
}

/// Why a body was not accepted.
enum Refused {
    TooLarge(Payload),
    TimedOut(Payload),
    Broken(String),
}

/// Reads `payload` completely, at most `limit` bytes, within `timeout`.
async fn buffer(
    mut payload: Payload,
    limit: usize,
    timeout: Duration,
) -> Result<BytesMut, Refused> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut body = BytesMut::new();
    loop {
        let next = tokio::time::timeout_at(deadline, payload.next()).await;
        match next {
            Err(_) => return Err(Refused::TimedOut(payload)),
            Ok(None) => return Ok(body),
            Ok(Some(Err(e))) => return Err(Refused::Broken(e.to_string())),
            Ok(Some(Ok(chunk))) => {
                if body.len() + chunk.len() > limit {
                    return Err(Refused::TooLarge(payload));
                }
                body.extend_from_slice(&chunk);
            }
        }
    }
}

/// The middleware (`App::wrap(from_fn(body_guard))`).
pub async fn body_guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let payload = std::mem::replace(req.parts_mut().1, Payload::None);
    if matches!(payload, Payload::None) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let announced = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let read = match announced {
        // Refused at once: no point in waiting for bytes that will not be accepted.
        Some(n) if n > MAX_JSON_BODY as u64 => Err(Refused::TooLarge(payload)),
        _ => buffer(payload, MAX_JSON_BODY, BODY_READ_TIMEOUT).await,
    };
    match read {
        Ok(body) => {
            req.set_payload(Payload::from(body.freeze()));
            next.call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        }
        Err(refused) => {
            let (error, unread) = match refused {
                Refused::TooLarge(rest) => (ApiError::PayloadTooLarge, Some(rest)),
                Refused::TimedOut(rest) => (ApiError::RequestTimeout, Some(rest)),
                Refused::Broken(why) => (
                    ApiError::BadRequest(format!("Could not read the request body: {why}")),
                    None,
                ),
            };
            let mut response = error.error_response();
            response
                .head_mut()
                .set_connection_type(actix_web::http::ConnectionType::Close);
            let response = match unread {
                Some(rest) => response
                    .map_body(|_, body| HoldingUnread {
                        body,
                        _unread: rest,
                    })
                    .map_into_boxed_body(),
                None => response,
            };
            Ok(req.into_response(response))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::web::Bytes;

    fn stream_of(chunks: Vec<&'static [u8]>, then_stall: bool) -> Payload {
        let items = futures_util::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, actix_web::error::PayloadError>(Bytes::from_static(c))),
        );
        type Boxed = std::pin::Pin<
            Box<dyn futures_util::Stream<Item = Result<Bytes, actix_web::error::PayloadError>>>,
        >;
        let stream: Boxed = if then_stall {
            Box::pin(items.chain(futures_util::stream::pending()))
        } else {
            Box::pin(items)
        };
        Payload::from(stream)
    }

    #[tokio::test]
    async fn a_body_that_stops_arriving_times_out() {
        let short = Duration::from_millis(50);
        let result = buffer(stream_of(vec![b"{\"a\":"], true), 100, short).await;
        assert!(matches!(result, Err(Refused::TimedOut(_))));
    }

    #[tokio::test]
    async fn a_complete_body_is_buffered_and_a_large_one_refused() {
        let body = buffer(stream_of(vec![b"ab", b"cd"], false), 4, BODY_READ_TIMEOUT).await;
        assert!(matches!(body, Ok(b) if &b[..] == b"abcd"));
        let big = buffer(stream_of(vec![b"ab", b"cde"], false), 4, BODY_READ_TIMEOUT).await;
        assert!(matches!(big, Err(Refused::TooLarge(_))));
    }
}
