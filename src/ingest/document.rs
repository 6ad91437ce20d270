//! One event file from bytes to [`ParsedFile`] or [`FileRejection`] (§2, §4).
//!
//! Invariants:
//! * all or nothing: any fatal problem anywhere rejects the whole file;
//! * rejection precedence: unreadable text → `InvalidJson`; any structure, type,
//!   date or time problem → `Validation` (listing every problem); only a file that
//!   is otherwise valid is checked for repeated event ids → `DuplicateId`;
//! * a leading UTF-8 byte-order mark is tolerated; the hash still covers it;
//! * never panics, whatever the bytes.

// `FileRejection` is large, but it is the rare path and the public contract
// returns it by value; boxing would only complicate every caller.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;

use super::event::read_event;
use super::file_name::{file_hash, lacks_separator, source_code_of};
use super::json::Json;
use super::lenient::expected;
use super::report::{FileId, FileRejection, Problem, Sink};
use crate::model::SourceEvent;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A file that passed validation, ready to be stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ParsedFile {
    /// Base name, e.g. `wzo_14.02.2026_….json`.
    pub file_name: String,
    pub source_code: String,
    pub file_hash: String,
    /// The metadata object verbatim, with `processedAt` and `sourceKey` always
    /// present (null when missing).
    pub metadata: serde_json::Value,
    /// In file order, `source_code` filled in.
    pub events: Vec<SourceEvent>,
    /// Non-fatal notes (odd file name, events without dates, ignored times,
    /// dropped geo blocks).
    pub warnings: Vec<Problem>,
}

/// Reads and validates one event file given its base name and raw bytes.
pub fn parse_event_file(file_name: &str, bytes: &[u8]) -> Result<ParsedFile, FileRejection> {
    let hash = file_hash(bytes);
    let source_code = source_code_of(file_name);
    let id = FileId {
        name: file_name,
        hash: &hash,
        source_code: &source_code,
    };
    let text = decode(bytes).map_err(|detail| id.invalid_json(&detail))?;
    let doc = Json::parse(text).map_err(|e| id.invalid_json(&e.to_string()))?;
    let mut sink = Sink::default();
    if lacks_separator(file_name) {
        let note = format!("file name has no '_'; whole name {file_name:?} used as source code");
        sink.warnings.push(Problem::file_level("file_name", note));
    }
    let (metadata, events) = read_top_level(&doc, &source_code, &mut sink);
    if !sink.errors.is_empty() {
        return Err(id.validation(sink.errors));
    }
    let duplicates = duplicate_ids(&events);
    if !duplicates.is_empty() {
        return Err(id.duplicate_ids(duplicates));
    }
    log_warnings(file_name, &sink.warnings);
    Ok(ParsedFile {
        file_name: file_name.to_string(),
        source_code,
        file_hash: hash,
        metadata,
        events,
        warnings: sink.warnings,
    })
}

/// UTF-8 text without a leading BOM, or a reason naming the offending position.
fn decode(bytes: &[u8]) -> Result<&str, String> {
    let body = bytes.strip_prefix(BOM).unwrap_or(bytes);
    std::str::from_utf8(body).map_err(|e| {
        let valid = &body[..e.valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let column = String::from_utf8_lossy(&valid[line_start..]).chars().count() + 1;
        format!(
            "file is not valid UTF-8: invalid byte sequence at line {line} column {column} (byte offset {})",
            e.valid_up_to() + (bytes.len() - body.len())
        )
    })
}

/// Checks the top-level object; returns metadata and the events read so far.
fn read_top_level(
    doc: &Json,
    source_code: &str,
    sink: &mut Sink,
) -> (serde_json::Value, Vec<SourceEvent>) {
    if !matches!(doc, Json::Object(_)) {
        let problem = expected("the top level to be an object", doc);
        sink.errors.push(Problem::file_level("", problem));
        return (empty_metadata(), Vec::new());
    }
    if let Some(r) = doc.get("rejected") {
        if !matches!(r, Json::Array(_)) {
            sink.errors
                .push(Problem::file_level("rejected", expected("an array", r)));
        }
    }
    let metadata = read_metadata(doc.get("metadata"), sink);
    let events = match doc.get("events") {
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| read_event(i, item, source_code, sink))
            .collect(),
        Some(other) => {
            sink.errors.push(Problem::file_level(
                "events",
                expected("an array of events", other),
            ));
            Vec::new()
        }
        None => {
            sink.errors
                .push(Problem::file_level("events", "missing required field"));
            Vec::new()
        }
    };
    (metadata, events)
}

fn empty_metadata() -> serde_json::Value {
    serde_json::json!({"processedAt": null, "sourceKey": null})
}

/// Metadata is stored verbatim; only its two documented keys are type-checked.
fn read_metadata(v: Option<&Json>, sink: &mut Sink) -> serde_json::Value {
    let obj = match v {
        None | Some(Json::Null) => return empty_metadata(),
        Some(obj @ Json::Object(_)) => obj,
        Some(other) => {
            sink.errors.push(Problem::file_level(
                "metadata",
                expected("an object or null", other),
            ));
            return empty_metadata();
        }
    };
    for key in ["processedAt", "sourceKey"] {
        match obj.get(key) {
            None | Some(Json::Null) | Some(Json::Str(_)) => {}
            Some(other) => {
                let field = format!("metadata.{key}");
                sink.errors
                    .push(Problem::file_level(field, expected("a string", other)));
            }
        }
    }
    let mut value = obj.to_value();
    if let serde_json::Value::Object(map) = &mut value {
        for key in ["processedAt", "sourceKey"] {
            map.entry(key).or_insert(serde_json::Value::Null);
        }
    }
    value
}

/// One problem per repeated id, naming the first and the repeating index.
fn duplicate_ids(events: &[SourceEvent]) -> Vec<Problem> {
    let mut first_seen: HashMap<&str, usize> = HashMap::with_capacity(events.len());
    let mut problems = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        if let Some(&first) = first_seen.get(ev.id.as_str()) {
            problems.push(Problem {
                event_index: Some(i),
                event_id: Some(ev.id.clone()),
                field: format!("events.{i}.id"),
                problem: format!("id {:?} appears at events.{first} and events.{i}", ev.id),
            });
        } else {
            first_seen.insert(ev.id.as_str(), i);
        }
    }
    problems
}

fn log_warnings(file_name: &str, warnings: &[Problem]) {
    for w in warnings {
        tracing::warn!(file = file_name, event_index = ?w.event_index, event_id = ?w.event_id, field = %w.field, "{}", w.problem);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::RejectionReason;

    const NAME: &str = "abc_01.01.2026_x.json";

    fn reject(text: &[u8]) -> FileRejection {
        parse_event_file(NAME, text).unwrap_err()
    }

    #[test]
    fn empty_events_is_valid() {
        let f = parse_event_file(NAME, br#"{"events": []}"#).unwrap();
        assert!(f.events.is_empty() && f.warnings.is_empty());
        assert_eq!(
            f.metadata,
            serde_json::json!({"processedAt": null, "sourceKey": null})
        );
        assert_eq!(f.source_code, "abc");
        assert_eq!(f.file_hash, file_hash(br#"{"events": []}"#));
    }

    #[test]
    fn metadata_keeps_extras_and_fills_missing_keys() {
        let f = parse_event_file(
            NAME,
            br#"{"events": [], "metadata": {"pageCount": 3, "sourceKey": "a.pdf"}, "other": 1}"#,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&f.metadata).unwrap(),
            r#"{"pageCount":3,"sourceKey":"a.pdf","processedAt":null}"#
        );
        let f = parse_event_file(NAME, br#"{"events": [], "metadata": null}"#).unwrap();
        assert_eq!(
            f.metadata,
            serde_json::json!({"processedAt": null, "sourceKey": null})
        );
        let r = reject(br#"{"events": [], "metadata": {"processedAt": 5}}"#);
        assert_eq!(r.details[0].field, "metadata.processedAt");
        assert_eq!(
            reject(br#"{"events": [], "metadata": []}"#).details[0].field,
            "metadata"
        );
    }

    #[test]
    fn top_level_shape_errors() {
        for (text, field) in [
            (&br#"[]"#[..], ""),
            (br#"{}"#, "events"),
            (br#"{"events": null}"#, "events"),
            (br#"{"events": {}}"#, "events"),
            (br#"{"events": [], "rejected": null}"#, "rejected"),
            (br#"{"events": [], "rejected": {}}"#, "rejected"),
        ] {
            let r = reject(text);
            assert_eq!(r.reason, RejectionReason::Validation, "{}", r.message);
            assert_eq!(r.details[0].field, field);
            assert!(
                r.message
                    .starts_with("Validation error for abc_01.01.2026_x.json: 1 problem: "),
                "{}",
                r.message
            );
        }
        assert!(parse_event_file(NAME, br#"{"events": [], "rejected": [1, {"x": null}]}"#).is_ok());
    }

    #[test]
    fn invalid_json_and_encoding() {
        let r = reject(b"");
        assert_eq!(r.reason, RejectionReason::InvalidJson);
        assert!(
            r.message
                .starts_with("Invalid JSON in abc_01.01.2026_x.json: EOF while parsing"),
            "{}",
            r.message
        );
        let r = reject(b"{\"events\": [\n\"\xff\"]}");
        assert_eq!(r.reason, RejectionReason::InvalidJson);
        assert!(
            r.message.contains("not valid UTF-8") && r.message.contains("line 2 column 2"),
            "{}",
            r.message
        );
        let r = reject(b"{\"events\": [NaN]}");
        assert!(r.message.contains("line 1 column"), "{}", r.message);
        assert!(parse_event_file(NAME, b"\xEF\xBB\xBF{\"events\": []}").is_ok());
        assert_eq!(
            reject(b"\xEF\xBB\xBF\xEF\xBB\xBF{}").reason,
            RejectionReason::InvalidJson
        );
    }

    #[test]
    fn duplicate_ids_reported_after_validation() {
        let ev = r#"{"id":"x","title":"","source_type":"a","event_dates":[{"date":"2026-01-01"}]}"#;
        let text = format!(r#"{{"events":[{ev},{{"id":"y","title":"","source_type":"a"}},{ev}]}}"#);
        let r = reject(text.as_bytes());
        assert_eq!(r.reason, RejectionReason::DuplicateId);
        assert_eq!(r.message, "Duplicate event id in abc_01.01.2026_x.json: id \"x\" appears at events.0 and events.2");
        assert_eq!(r.details[0].event_index, Some(2));
        let bad = format!(r#"{{"events":[{ev},{ev},{{"id":"z"}}]}}"#);
        assert_eq!(reject(bad.as_bytes()).reason, RejectionReason::Validation);
    }

    #[test]
    fn name_without_underscore_warns() {
        let f = parse_event_file("events.json", br#"{"events": []}"#).unwrap();
        assert_eq!(f.source_code, "events.json");
        assert_eq!(f.warnings[0].field, "file_name");
        assert_eq!(f.warnings[0].event_index, None);
    }
}
