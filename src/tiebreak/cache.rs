//! The answer cache's key (`ai_match_cache`, storage-and-api.md §1.9 and §9); the
//! rows are read and written by `store::llm` through [`crate::model::llm::LlmLedger`].
//!
//! Keyed by [`pair_hash`], the content of both events, *and* by the model: a row
//! answered by another model is a miss, and the new answer replaces it (upsert, the
//! spec's note: with insert-or-ignore a model change re-asked the same pairs on every
//! run forever). Changing either event changes the hash, so edits invalidate.
//!
//! Invariant: only valid `same`/`different` answers are stored (the table's CHECK);
//! an unexpected decision text is not cached, so it is asked again next run.

use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub use crate::model::llm::{CachedAnswer, NewCacheRow};
use crate::model::SourceEvent;

/// SHA-256 (lower-case hex) of the JSON array `[F(a), F(b)]`, `a` the event with the
/// smaller id; `F` keeps the fields the model sees that identify an event (not times,
/// geo or source type), keys sorted, separators `", "` / `": "`, non-ASCII as is:
/// byte-identical to Python's `json.dumps(..., sort_keys=True, ensure_ascii=False)`.
pub fn pair_hash(x: &SourceEvent, y: &SourceEvent) -> String {
    let (a, b) = if x.id <= y.id { (x, y) } else { (y, x) };
    let doc = Value::Array(vec![fingerprint(a), fingerprint(b)]);
    let mut bytes = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut bytes, PythonFormatter);
    // Serializing a `Value` into a Vec cannot fail.
    let _ = doc.serialize(&mut ser);
    hex::encode(Sha256::digest(&bytes))
}

/// `F(e)`: keys inserted in sorted order (`preserve_order` keeps insertion order).
fn fingerprint(e: &SourceEvent) -> Value {
    let categories = e.categories.as_ref().map(|c| {
        let mut c = c.clone();
        c.sort();
        c
    });
    let mut dates: Vec<String> = e.dates.iter().map(|d| d.date.to_string()).collect();
    dates.sort();
    json!({
        "categories": categories,
        "dates": dates,
        "description": e.description,
        "location_city": e.location_city,
        "location_name": e.location_name,
        "short_description": e.short_description,
        "title": e.title,
    })
}

/// Python's default `json.dumps` separators: `", "` between items, `": "` after keys.
struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EventDate;
    use chrono::NaiveDate;

    fn event(id: &str, title: &str) -> SourceEvent {
        SourceEvent {
            id: id.into(),
            title: title.into(),
            ..SourceEvent::default()
        }
    }

    #[test]
    fn pair_hash_matches_a_hand_computed_example() {
        let mut a = event("a-1", "Fasnetsumzug in Öhningen");
        a.categories = Some(vec!["fasnacht".into(), "brauchtum".into()]);
        a.location_city = Some("Öhningen".into());
        a.dates = vec![
            EventDate {
                date: NaiveDate::from_ymd_opt(2026, 2, 15).unwrap(),
                ..EventDate::default()
            },
            EventDate {
                date: NaiveDate::from_ymd_opt(2026, 2, 14).unwrap(),
                ..EventDate::default()
            },
        ];
        let b = event("b-2", "Umzug");
        // Python: hashlib.sha256(json.dumps([Fa, Fb], sort_keys=True,
        //   ensure_ascii=False).encode()).hexdigest()
        let text = r#"[{"categories": ["brauchtum", "fasnacht"], "dates": ["2026-02-14", "2026-02-15"], "description": null, "location_city": "Öhningen", "location_name": null, "short_description": null, "title": "Fasnetsumzug in Öhningen"}, {"categories": null, "dates": [], "description": null, "location_city": null, "location_name": null, "short_description": null, "title": "Umzug"}]"#;
        let expected = hex::encode(Sha256::digest(text.as_bytes()));
        assert_eq!(pair_hash(&a, &b), expected);
        assert_eq!(
            pair_hash(&b, &a),
            expected,
            "order of the arguments is irrelevant"
        );
        assert_eq!(pair_hash(&a, &b), HAND_COMPUTED);
        let mut edited = b.clone();
        edited.title.push('!');
        assert_ne!(pair_hash(&a, &edited), expected);
    }

    /// Computed once with Python 3 (`json.dumps(..., sort_keys=True,
    /// ensure_ascii=False)`) from the two events above.
    const HAND_COMPUTED: &str = "aabba2cefedbac33f42467733d8bb81c4c5cfc2aceb392b524a86b47e3ec267b";
}
