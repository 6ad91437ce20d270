//! The answer cache (`ai_match_cache`, storage-and-api.md §1.9 and §9).
//!
//! Keyed by [`pair_hash`], the content of both events, *and* by the model: a row
//! answered by another model is a miss, and the new answer replaces it (upsert, the
//! spec's note: with insert-or-ignore a model change re-asked the same pairs on every
//! run forever). Changing either event changes the hash, so edits invalidate.
//!
//! Invariant: only valid `same`/`different` answers are stored (the table's CHECK);
//! an unexpected decision text is not cached, so it is asked again next run.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio_postgres::GenericClient;

use crate::model::SourceEvent;
use crate::store::StoreError;

/// A cached answer.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedAnswer {
    pub decision: String,
    pub confidence: f64,
    pub reasoning: String,
    pub model: String,
}

/// One answer to store.
#[derive(Debug, Clone)]
pub struct NewCacheRow {
    pub pair_hash: String,
    pub event_id_a: String,
    pub event_id_b: String,
    pub answer: CachedAnswer,
}

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

/// Cached answers for the given hashes (any model; the caller compares the model).
pub async fn lookup(
    client: &impl GenericClient,
    hashes: &[String],
) -> Result<HashMap<String, CachedAnswer>, StoreError> {
    if hashes.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = client
        .query(
            "SELECT pair_hash, decision, confidence, reasoning, model
             FROM ai_match_cache WHERE pair_hash = ANY($1)",
            &[&hashes],
        )
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let decode = |e: tokio_postgres::Error| StoreError::Decode(format!("ai_match_cache: {e}"));
        out.insert(
            r.try_get("pair_hash").map_err(decode)?,
            CachedAnswer {
                decision: r.try_get("decision").map_err(decode)?,
                confidence: r.try_get("confidence").map_err(decode)?,
                reasoning: r.try_get("reasoning").map_err(decode)?,
                model: r.try_get("model").map_err(decode)?,
            },
        );
    }
    Ok(out)
}

/// Inserts answers; an existing row for the hash is replaced (model change).
pub async fn store(client: &impl GenericClient, rows: &[NewCacheRow]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&NewCacheRow) -> String| rows.iter().map(f).collect::<Vec<String>>();
    let hashes = col(|r| r.pair_hash.clone());
    let ids_a = col(|r| r.event_id_a.clone());
    let ids_b = col(|r| r.event_id_b.clone());
    let decisions = col(|r| r.answer.decision.clone());
    let reasonings = col(|r| r.answer.reasoning.clone());
    let models = col(|r| r.answer.model.clone());
    let confidences: Vec<f64> = rows.iter().map(|r| r.answer.confidence).collect();
    client
        .execute(
            "INSERT INTO ai_match_cache
                 (pair_hash, event_id_a, event_id_b, decision, confidence, reasoning, model)
             SELECT DISTINCT ON (h) h, a, b, d, c, r, m
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[],
                         $6::text[], $7::text[]) AS n(h, a, b, d, c, r, m)
             ON CONFLICT (pair_hash) DO UPDATE SET
                 event_id_a = EXCLUDED.event_id_a, event_id_b = EXCLUDED.event_id_b,
                 decision = EXCLUDED.decision, confidence = EXCLUDED.confidence,
                 reasoning = EXCLUDED.reasoning, model = EXCLUDED.model, created_at = now()",
            &[
                &hashes,
                &ids_a,
                &ids_b,
                &decisions,
                &confidences,
                &reasonings,
                &models,
            ],
        )
        .await?;
    Ok(())
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
