//! Who may write: bearer tokens for review and config writes.
//!
//! Rules (issue #4): with tokens configured, a write needs `Authorization: Bearer
//! <token>` matching one of them (401 otherwise) and the operator recorded in the
//! audit log is that token's name. With no tokens configured, writes are accepted only
//! from loopback peers (403 otherwise), so an unconfigured service is never writable
//! from the network. Reads need no token.
//!
//! Reverse proxies (issue 13): forwarded headers are never trusted for the peer, but
//! behind a proxy on the same host every peer is loopback. So with no tokens, a write
//! that carries `Forwarded` or `X-Forwarded-For` is refused (403 naming
//! `EVENT_DEDUP_API_TOKENS`), and the service refuses to start without tokens on a
//! non-loopback address ([`check_unauthenticated_writes`]).

use std::future::{ready, Ready};
use std::net::IpAddr;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};

use super::error::ApiError;
use super::state::ApiState;

/// Operator name when no tokens are configured (loopback writes).
pub const LOCAL_OPERATOR: &str = "local";

/// The authenticated writer; extracting it enforces the rules above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator(pub String);

/// Why a write was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Tokens configured, but none or a wrong one was sent (401).
    Unauthenticated,
    /// No tokens configured and the peer is not loopback (403).
    NotLoopback,
    /// No tokens configured and the request came through a proxy (403).
    Proxied,
}

/// Headers a reverse proxy adds; their presence (not their content) matters.
pub const FORWARDING_HEADERS: [&str; 2] = ["forwarded", "x-forwarded-for"];

/// Start-up rule: without tokens, the service may only listen on a loopback address,
/// since every other client could otherwise write (when it comes through a local
/// proxy) or is refused every write anyway.
pub fn check_unauthenticated_writes(
    tokens: &[(String, String)],
    addr: std::net::SocketAddr,
) -> Result<(), String> {
    if tokens.is_empty() && !addr.ip().is_loopback() {
        return Err(format!(
            "EVENT_DEDUP_HTTP_ADDR {addr} is not a loopback address and no \
             EVENT_DEDUP_API_TOKENS are configured: set EVENT_DEDUP_API_TOKENS \
             (name:token,...) so writes need a token, or listen on 127.0.0.1"
        ));
    }
    Ok(())
}

/// The pure decision: configured tokens, the `Authorization` header, the peer and
/// whether a proxy forwarded the request.
pub fn authorize(
    tokens: &[(String, String)],
    authorization: Option<&str>,
    peer: Option<IpAddr>,
    forwarded: bool,
) -> Result<String, Refusal> {
    if tokens.is_empty() {
        return match peer {
            Some(ip) if ip.is_loopback() && forwarded => Err(Refusal::Proxied),
            Some(ip) if ip.is_loopback() => Ok(LOCAL_OPERATOR.to_string()),
            _ => Err(Refusal::NotLoopback),
        };
    }
    let sent = authorization
        .and_then(bearer_credentials)
        .ok_or(Refusal::Unauthenticated)?;
    // Compare against every token (no early exit), in constant time per token.
    let mut found = None;
    for (name, token) in tokens {
        if constant_time_eq(sent.as_bytes(), token.as_bytes()) && found.is_none() {
            found = Some(name.clone());
        }
    }
    found.ok_or(Refusal::Unauthenticated)
}

/// The credentials of a `Bearer` authorization. RFC 9110 §11.1: the scheme name is
/// case-insensitive (`bearer`, `BEARER`), and one or more spaces separate it from the
/// token.
fn bearer_credentials(header: &str) -> Option<&str> {
    let (scheme, credentials) = header.trim().split_once(' ')?;
    let credentials = credentials.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !credentials.is_empty()).then_some(credentials)
}

/// Equality whose time does not depend on where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequest for Operator {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<ApiState>>() else {
            return ready(Err(ApiError::unexpected("ApiState is not registered")));
        };
        let header = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let peer = req.peer_addr().map(|a| a.ip());
        let forwarded = FORWARDING_HEADERS
            .iter()
            .any(|h| req.headers().contains_key(*h));
        ready(match authorize(&state.tokens, header, peer, forwarded) {
            Ok(name) => Ok(Operator(name)),
            Err(Refusal::Unauthenticated) => Err(ApiError::Unauthorized(
                "Missing or invalid bearer token".into(),
            )),
            Err(Refusal::NotLoopback) => Err(ApiError::Forbidden(
                "Writes are only accepted from localhost when no API tokens are configured \
                 (EVENT_DEDUP_API_TOKENS)"
                    .into(),
            )),
            Err(Refusal::Proxied) => Err(ApiError::Forbidden(
                "This request came through a proxy (Forwarded / X-Forwarded-For), so it may \
                 not be local: writes through a proxy need EVENT_DEDUP_API_TOKENS to be \
                 configured and a bearer token"
                    .into(),
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Vec<(String, String)> {
        vec![
            ("alice".into(), "s3cret".into()),
            ("bob".into(), "other".into()),
        ]
    }

    #[test]
    fn token_names_the_operator() {
        let ip = Some("10.0.0.1".parse().unwrap());
        assert_eq!(
            authorize(&tokens(), Some("Bearer other"), ip, false),
            Ok("bob".into())
        );
        assert_eq!(
            authorize(&tokens(), Some("Bearer nope"), ip, false),
            Err(Refusal::Unauthenticated)
        );
        assert_eq!(
            authorize(&tokens(), Some("s3cret"), ip, false),
            Err(Refusal::Unauthenticated)
        );
        assert_eq!(
            authorize(&tokens(), None, ip, false),
            Err(Refusal::Unauthenticated)
        );
    }

    #[test]
    fn the_scheme_name_is_case_insensitive() {
        let ip = Some("10.0.0.1".parse().unwrap());
        for header in [
            "bearer s3cret",
            "BEARER s3cret",
            "BeArEr  s3cret",
            " Bearer s3cret ",
        ] {
            assert_eq!(
                authorize(&tokens(), Some(header), ip, false),
                Ok("alice".into()),
                "{header:?}"
            );
        }
        for header in [
            "Basic s3cret",
            "Bearers3cret",
            "Bearer ",
            "bearer",
            "Token s3cret",
        ] {
            assert_eq!(
                authorize(&tokens(), Some(header), ip, false),
                Err(Refusal::Unauthenticated),
                "{header:?}"
            );
        }
    }

    #[test]
    fn without_tokens_only_loopback_may_write() {
        let v4 = Some("127.0.0.1".parse().unwrap());
        let v6 = Some("::1".parse().unwrap());
        let remote = Some("192.168.1.5".parse().unwrap());
        assert_eq!(authorize(&[], None, v4, false), Ok(LOCAL_OPERATOR.into()));
        assert_eq!(
            authorize(&[], Some("Bearer x"), v6, false),
            Ok(LOCAL_OPERATOR.into())
        );
        assert_eq!(
            authorize(&[], None, remote, false),
            Err(Refusal::NotLoopback)
        );
        assert_eq!(authorize(&[], None, None, false), Err(Refusal::NotLoopback));
    }

    #[test]
    fn without_tokens_a_proxied_write_is_refused() {
        let v4 = Some("127.0.0.1".parse().unwrap());
        assert_eq!(authorize(&[], None, v4, true), Err(Refusal::Proxied));
        let remote = Some("192.168.1.5".parse().unwrap());
        assert_eq!(
            authorize(&[], None, remote, true),
            Err(Refusal::NotLoopback)
        );
        // With tokens, a proxy is fine: the token decides.
        assert_eq!(
            authorize(&tokens(), Some("Bearer s3cret"), v4, true),
            Ok("alice".into())
        );
    }

    #[test]
    fn without_tokens_only_a_loopback_address_may_be_bound() {
        let at = |a: &str| a.parse::<std::net::SocketAddr>().unwrap();
        assert!(check_unauthenticated_writes(&[], at("127.0.0.1:8000")).is_ok());
        assert!(check_unauthenticated_writes(&[], at("[::1]:8000")).is_ok());
        for addr in ["0.0.0.0:8000", "[::]:8000", "192.168.1.5:8000"] {
            let err = check_unauthenticated_writes(&[], at(addr)).unwrap_err();
            assert!(err.contains("EVENT_DEDUP_API_TOKENS"), "{err}");
        }
        assert!(check_unauthenticated_writes(&tokens(), at("0.0.0.0:8000")).is_ok());
    }
}
