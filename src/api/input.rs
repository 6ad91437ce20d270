//! Request input that reaches PostgreSQL: query strings and JSON text.
//!
//! PostgreSQL text and `jsonb` cannot hold the NUL character (`\0` / `\u0000`); a
//! value carrying one made the database reject the statement and the client saw a
//! 500 (found by schemathesis). Every text value is therefore checked here, at the
//! boundary, and refused with a 422 naming where it was.
//!
//! * [`RawQuery`] - every query parameter in order (repeated keys such as
//!   `city=a&city=b` survive), NUL-free.
//! * [`reject_nul`] / [`reject_nul_in_json`] - the same check for body fields.
//! * [`id`] / [`optional_id`] - integer ids in JSON bodies. JSON Schema (and so the
//!   OpenAPI document) counts `14568337.0` as an integer; serde's `i32` does not, so
//!   ids accept exactly the integer-valued numbers in range (issue 13).

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde_json::Value;

use super::error::{ApiError, FieldProblem};

/// Every query parameter in order, each key and value free of NUL characters.
#[derive(Debug, Clone, Default)]
pub struct RawQuery(pub Vec<(String, String)>);

impl FromRequest for RawQuery {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map_err(Into::into))
    }
}

fn parse_query(query: &str) -> Result<RawQuery, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|e| ApiError::invalid(&["query"], format!("Query deserialize error: {e}")))?;
    let problems: Vec<FieldProblem> = pairs
        .iter()
        .filter(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| nul_problem(&["query", &k.replace('\0', "")]))
        .collect();
    if problems.is_empty() {
        Ok(RawQuery(pairs))
    } else {
        Err(ApiError::Validation(problems))
    }
}

fn nul_problem(loc: &[&str]) -> FieldProblem {
    FieldProblem::new(loc, "must not contain NUL characters")
}

/// Refuses a body text field holding a NUL character.
pub fn reject_nul(loc: &[&str], text: Option<&str>) -> Result<(), ApiError> {
    match text {
        Some(t) if t.contains('\0') => Err(ApiError::Validation(vec![nul_problem(loc)])),
        _ => Ok(()),
    }
}

/// Refuses a JSON document with a NUL character in any key or string, naming the
/// first such place (`["body", "ai", "model"]`).
pub fn reject_nul_in_json(value: &Value) -> Result<(), ApiError> {
    fn find(value: &Value, path: &mut Vec<String>) -> bool {
        match value {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().enumerate().any(|(i, v)| {
                path.push(i.to_string());
                let found = find(v, path);
                if !found {
                    path.pop();
                }
                found
            }),
            Value::Object(map) => map.iter().any(|(k, v)| {
                path.push(k.replace('\0', ""));
                let found = k.contains('\0') || find(v, path);
                if !found {
                    path.pop();
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = vec!["body".to_string()];
    if find(value, &mut path) {
        let loc: Vec<&str> = path.iter().map(String::as_str).collect();
        return Err(ApiError::Validation(vec![nul_problem(&loc)]));
    }
    Ok(())
}

/// A JSON number that is an integer in `i32` range (`7` or `7.0`, not `7.5`).
fn integer_id(value: &serde_json::Number) -> Option<i32> {
    if let Some(i) = value.as_i64() {
        return i32::try_from(i).ok();
    }
    let f = value.as_f64()?;
    let in_range = f.fract() == 0.0 && f >= f64::from(i32::MIN) && f <= f64::from(i32::MAX);
    // In range and integral, so the cast is exact.
    in_range.then_some(f as i32)
}

/// `#[serde(deserialize_with = "id")]` for an `i32` id field.
pub fn id<'de, D: serde::Deserializer<'de>>(de: D) -> Result<i32, D::Error> {
    use serde::de::{Deserialize, Error};
    let number = serde_json::Number::deserialize(de)?;
    integer_id(&number)
        .ok_or_else(|| D::Error::custom(format!("expected an integer id, got {number}")))
}

/// `#[serde(default, deserialize_with = "optional_id")]` for an `Option<i32>` id.
pub fn optional_id<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<i32>, D::Error> {
    use serde::de::{Deserialize, Error};
    match Option::<serde_json::Number>::deserialize(de)? {
        None => Ok(None),
        Some(number) => integer_id(&number)
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("expected an integer id, got {number}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_accept_exactly_the_integer_valued_numbers() {
        #[derive(serde::Deserialize)]
        struct Body {
            #[serde(deserialize_with = "id")]
            a: i32,
            #[serde(default, deserialize_with = "optional_id")]
            b: Option<i32>,
        }
        let parse = |text: &str| serde_json::from_str::<Body>(text).map(|b| (b.a, b.b));
        assert_eq!(parse(r#"{"a": 7}"#).ok(), Some((7, None)));
        assert_eq!(
            parse(r#"{"a": 14568337.0, "b": -3.0}"#).ok(),
            Some((14568337, Some(-3)))
        );
        assert_eq!(parse(r#"{"a": 1e3, "b": null}"#).ok(), Some((1000, None)));
        for bad in [
            r#"{"a": 7.5}"#,
            r#"{"a": 2147483648}"#,
            r#"{"a": 2147483648.0}"#,
            r#"{"a": "7"}"#,
            r#"{"a": 1, "b": 0.1}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_keeps_repeated_keys_in_order() {
        let q = parse_query("city=a&city=b%20c&q=x").expect("valid");
        assert_eq!(
            q.0,
            vec![
                ("city".to_string(), "a".to_string()),
                ("city".to_string(), "b c".to_string()),
                ("q".to_string(), "x".to_string()),
            ]
        );
    }

    #[test]
    fn nul_in_a_query_value_or_key_is_refused_naming_the_key() {
        let Err(ApiError::Validation(problems)) = parse_query("q=ok&city=a%00b&x%00y=1") else {
            panic!("expected a validation error");
        };
        let locs: Vec<Vec<String>> = problems.into_iter().map(|p| p.loc).collect();
        assert_eq!(locs, vec![vec!["query", "city"], vec!["query", "xy"]]);
    }

    #[test]
    fn nul_anywhere_in_json_is_refused_with_its_path() {
        assert!(reject_nul_in_json(&json!({"ai": {"model": "gpt", "list": ["a"]}})).is_ok());
        let Err(ApiError::Validation(p)) = reject_nul_in_json(&json!({"ai": {"model": "x\u{0}"}}))
        else {
            panic!("expected a validation error");
        };
        assert_eq!(p[0].loc, vec!["body", "ai", "model"]);
        let Err(ApiError::Validation(p)) = reject_nul_in_json(&json!({"k": [1, {"a\u{0}": 2}]}))
        else {
            panic!("expected a validation error");
        };
        assert_eq!(p[0].loc, vec!["body", "k", "1", "a"]);
        assert!(reject_nul(&["body", "reason"], Some("a\u{0}")).is_err());
        assert!(reject_nul(&["body", "reason"], None).is_ok());
    }
}
