//! A borrowed, order-preserving JSON tree used only while validating one file.
//!
//! Why not `serde_json::Value`: it allocates every key and string and hashes every
//! object into an `IndexMap`, which dominates parse time for event files. This tree
//! borrows unescaped strings straight from the input and keeps objects as plain
//! key/value vectors (events have ~20 keys, so a linear scan is cheaper than hashing).
//!
//! Invariants:
//! * Nesting depth is bounded by serde_json's recursion limit (128), so the recursive
//!   helpers here (conversion, drop) cannot overflow the stack.
//! * Duplicate object keys are all kept; lookups return the *last* occurrence, which
//!   matches `serde_json::Value` (and Python `json`) semantics.
//! * Numbers are exactly what serde_json produces (`u64`, `i64` or finite `f64`).

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

/// One JSON value borrowing from the input text where possible.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    Str(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

/// Longest excerpt of a string value quoted in a problem report; keeps reports of
/// huge garbage strings readable.
const MAX_QUOTED_CHARS: usize = 40;

impl<'a> Json<'a> {
    /// Parses a whole document; trailing non-whitespace is an error.
    pub fn parse(text: &'a str) -> Result<Json<'a>, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Last value stored under `key` when `self` is an object.
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(entries) => entries
                .iter()
                .rev()
                .find(|(k, _)| k.as_ref() == key)
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Short, human-readable description used in "expected X, got Y" reasons.
    pub fn describe(&self) -> String {
        match self {
            Json::Null => "null".to_string(),
            Json::Bool(b) => format!("boolean {b}"),
            Json::Number(n) => format!("number {n}"),
            Json::Str(s) => format!("string {}", quote_excerpt(s)),
            Json::Array(_) => "an array".to_string(),
            Json::Object(_) => "an object".to_string(),
        }
    }

    /// Owned `serde_json::Value` with the same content (objects keep input order;
    /// a repeated key keeps its first position and its last value).
    pub fn to_value(&self) -> serde_json::Value {
        match self {
            Json::Null => serde_json::Value::Null,
            Json::Bool(b) => serde_json::Value::Bool(*b),
            Json::Number(n) => serde_json::Value::Number(n.clone()),
            Json::Str(s) => serde_json::Value::String(s.to_string()),
            Json::Array(items) => {
                serde_json::Value::Array(items.iter().map(Json::to_value).collect())
            }
            Json::Object(entries) => {
                let mut map = serde_json::Map::with_capacity(entries.len());
                for (k, v) in entries {
                    map.insert(k.to_string(), v.to_value());
                }
                serde_json::Value::Object(map)
            }
        }
    }
}

/// JSON-quoted excerpt of at most [`MAX_QUOTED_CHARS`] characters.
pub fn quote_excerpt(s: &str) -> String {
    let mut chars = s.char_indices();
    match chars.nth(MAX_QUOTED_CHARS) {
        None => format!("{s:?}"),
        Some((cut, _)) => format!("{:?}…", &s[..cut]),
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Number::from_f64(v)
            .map(Json::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some((Key(k), v)) = map.next_entry()? {
            entries.push((k, v));
        }
        Ok(Json::Object(entries))
    }
}

/// Object key that borrows when the key text has no escapes (serde's own
/// `Cow<str>` impl always allocates).
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_plain_strings_and_keys() {
        let doc = Json::parse(r#"{"a": "x", "b\u0020": "y\n"}"#).unwrap();
        let Json::Object(entries) = &doc else {
            panic!("not an object")
        };
        assert!(matches!(entries[0].0, Cow::Borrowed("a")));
        assert!(matches!(entries[0].1, Json::Str(Cow::Borrowed("x"))));
        assert_eq!(entries[1].0, "b ");
        assert_eq!(doc.get("b "), Some(&Json::Str(Cow::Borrowed("y\n"))));
    }

    #[test]
    fn last_duplicate_key_wins() {
        let doc = Json::parse(r#"{"k": 1, "k": 2}"#).unwrap();
        assert_eq!(doc.get("k"), Some(&Json::Number(2.into())));
        assert_eq!(doc.to_value(), serde_json::json!({"k": 2}));
    }

    #[test]
    fn rejects_non_standard_literals_and_trailing_text() {
        assert!(Json::parse("NaN").is_err());
        assert!(Json::parse("[Infinity]").is_err());
        assert!(Json::parse("{} x").is_err());
        assert!(Json::parse("").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        assert!(Json::parse(&deep).is_err());
    }

    #[test]
    fn describes_values_briefly() {
        assert_eq!(Json::Number(79341.into()).describe(), "number 79341");
        assert_eq!(Json::Null.describe(), "null");
        let long = "é".repeat(100);
        let d = Json::Str(Cow::Borrowed(&long)).describe();
        assert!(d.ends_with('…') && d.chars().count() < 60, "{d}");
    }

    #[test]
    fn converts_to_value_in_order() {
        let doc = Json::parse(r#"{"z": [1, 2.5, "s", null, true], "a": {}}"#).unwrap();
        let v = doc.to_value();
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"z":[1,2.5,"s",null,true],"a":{}}"#
        );
    }
}
