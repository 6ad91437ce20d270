//! Who may write: bearer tokens for review and config writes.
//!
//! Rules (issue #4): with tokens configured, a write needs `Authorization: Bearer
//! <token>` matching one of them (401 otherwise) and the operator recorded in the
//! audit log is that token's name. With no tokens configured, writes are accepted only
//! from loopback peers (403 otherwise), so an unconfigured service is never writable
//! from the network. Reads need no token.

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
}

/// The pure decision: configured tokens, the `Authorization` header and the peer.
pub fn authorize(
    tokens: &[(String, String)],
    authorization: Option<&str>,
    peer: Option<IpAddr>,
) -> Result<String, Refusal> {
    if tokens.is_empty() {
        return match peer {
            Some(ip) if ip.is_loopback() => Ok(LOCAL_OPERATOR.to_string()),
            _ => Err(Refusal::NotLoopback),
        };
    }
    let sent = authorization
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
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
        ready(match authorize(&state.tokens, header, peer) {
            Ok(name) => Ok(Operator(name)),
            Err(Refusal::Unauthenticated) => Err(ApiError::Unauthorized(
                "Missing or invalid bearer token".into(),
            )),
            Err(Refusal::NotLoopback) => Err(ApiError::Forbidden(
                "Writes are only accepted from localhost when no API tokens are configured".into(),
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
            authorize(&tokens(), Some("Bearer other"), ip),
            Ok("bob".into())
        );
        assert_eq!(
            authorize(&tokens(), Some("Bearer nope"), ip),
            Err(Refusal::Unauthenticated)
        );
        assert_eq!(
            authorize(&tokens(), Some("s3cret"), ip),
            Err(Refusal::Unauthenticated)
        );
        assert_eq!(
            authorize(&tokens(), None, ip),
            Err(Refusal::Unauthenticated)
        );
    }

    #[test]
    fn without_tokens_only_loopback_may_write() {
        let v4 = Some("127.0.0.1".parse().unwrap());
        let v6 = Some("::1".parse().unwrap());
        let remote = Some("192.168.1.5".parse().unwrap());
        assert_eq!(authorize(&[], None, v4), Ok(LOCAL_OPERATOR.into()));
        assert_eq!(
            authorize(&[], Some("Bearer x"), v6),
            Ok(LOCAL_OPERATOR.into())
        );
        assert_eq!(authorize(&[], None, remote), Err(Refusal::NotLoopback));
        assert_eq!(authorize(&[], None, None), Err(Refusal::NotLoopback));
    }
}
