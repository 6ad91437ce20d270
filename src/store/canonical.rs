//! The one writer of canonical rows and their source links, used by run persistence
//! ([`super::runs`]) and by review actions ([`super::review_actions`]).
//!
//! Every canonical write uses the one column list [`CANONICAL_COLUMNS`]. Mixed writes
//! ([`write_canonicals`]) are bulk-copied into a temporary table, then applied with
//! one `UPDATE` and one `INSERT`. A [`Rewrite`] says what an update may change: a run
//! rewrites every column and bumps `version`; a review re-synthesis overwrites content,
//! provenance, count and date bounds only (storage spec §6: `version`,
//! `match_confidence` and `ai_assisted` stay) and clears the review flag. A run's
//! new canonicals and their links ([`copy_new_canonicals`], [`copy_new_links`]) are
//! copied straight into their tables: a burst into an empty catalogue creates tens of
//! thousands, and staging them first wrote and read every row twice.
//!
//! Invariants: callers hold the canonical-state advisory lock
//! ([`super::runs::lock_canonical_state`]) in the same transaction; a review write
//! leaves `content_hash = ''` so the next run rewrites the row; link writes are bulk
//! (`unnest`), never one round trip per member.

use futures_util::pin_mut;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{Json, ToSql, Type};
use tokio_postgres::{GenericClient, Transaction};

use super::error::StoreError;
use super::events::get;
use crate::model::CanonicalEvent;

/// Every column a canonical write sets: `(name, binary COPY type, SQL type)`.
pub const CANONICAL_COLUMNS: &[(&str, Type, &str)] = &[
    ("id", Type::INT4, "integer"),
    ("title", Type::TEXT, "text"),
    ("short_description", Type::TEXT, "text"),
    ("description", Type::TEXT, "text"),
    ("highlights", Type::JSONB, "jsonb"),
    ("location_name", Type::TEXT, "text"),
    ("location_city", Type::TEXT, "text"),
    ("location_district", Type::TEXT, "text"),
    ("location_street", Type::TEXT, "text"),
    ("location_zipcode", Type::TEXT, "text"),
    ("geo_latitude", Type::FLOAT8, "double precision"),
    ("geo_longitude", Type::FLOAT8, "double precision"),
    ("geo_confidence", Type::FLOAT8, "double precision"),
    ("dates", Type::JSONB, "jsonb"),
    ("first_date", Type::DATE, "date"),
    ("last_date", Type::DATE, "date"),
    ("categories", Type::JSONB, "jsonb"),
    ("is_family_event", Type::BOOL, "boolean"),
    ("is_child_focused", Type::BOOL, "boolean"),
    ("admission_free", Type::BOOL, "boolean"),
    ("field_provenance", Type::JSONB, "jsonb"),
    ("source_count", Type::INT4, "integer"),
    ("match_confidence", Type::FLOAT8, "double precision"),
    ("needs_review", Type::BOOL, "boolean"),
    ("review_reason", Type::TEXT, "text"),
    ("ai_assisted", Type::BOOL, "boolean"),
    ("content_hash", Type::TEXT, "text"),
];

/// Columns a review re-synthesis must not touch (storage spec §6).
const KEPT_BY_REVIEW: [&str; 3] = ["id", "match_confidence", "ai_assisted"];

/// What an update of an existing canonical may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrite {
    /// A run's result: every column, `version + 1`.
    Run,
    /// A review re-synthesis: content only; `version`, `match_confidence` and
    /// `ai_assisted` stay.
    Review,
}

/// One canonical row to write.
#[derive(Debug, Clone)]
pub struct CanonicalWrite<'a> {
    pub id: i32,
    pub event: CanonicalEvent,
    pub content_hash: &'a str,
    /// Inserted (with `id`) rather than updated.
    pub is_new: bool,
}

impl CanonicalWrite<'static> {
    /// A canonical as a review action leaves it: not flagged, no confidence (only an
    /// insert stores it; an update keeps the stored one), and an empty content hash
    /// so the next run rewrites it.
    pub fn reviewed(id: i32, mut event: CanonicalEvent, is_new: bool) -> Self {
        event.needs_review = false;
        event.review_reason = None;
        event.match_confidence = None;
        event.ai_assisted = false;
        CanonicalWrite {
            id,
            event,
            content_hash: "",
            is_new,
        }
    }
}

/// Writes `rows` (see the module doc): one COPY, one UPDATE, one INSERT.
pub async fn write_canonicals<'a>(
    tx: &Transaction<'_>,
    rows: impl IntoIterator<Item = CanonicalWrite<'a>>,
    rewrite: Rewrite,
) -> Result<(), StoreError> {
    stage(tx, rows).await?;
    tx.execute(&update_sql(rewrite), &[]).await?;
    tx.execute(&insert_sql(), &[]).await?;
    tx.batch_execute("DROP TABLE incoming_canonicals").await?;
    Ok(())
}

/// Inserts canonicals that do not exist yet (ids drawn by [`allocate_ids`]) by one
/// binary COPY straight into `canonical_events`, in the given order; `is_new` is
/// ignored (every row is new). Returns the rows inserted.
pub async fn copy_new_canonicals<'a>(
    tx: &Transaction<'_>,
    rows: impl IntoIterator<Item = CanonicalWrite<'a>>,
) -> Result<u64, StoreError> {
    copy_rows(tx, "canonical_events", false, rows).await
}

/// Copies the rows into a temporary table.
async fn stage<'a>(
    tx: &Transaction<'_>,
    rows: impl IntoIterator<Item = CanonicalWrite<'a>>,
) -> Result<(), StoreError> {
    let defs: Vec<String> = CANONICAL_COLUMNS
        .iter()
        .map(|(n, _, t)| format!("{n} {t}"))
        .collect();
    tx.batch_execute(&format!(
        "DROP TABLE IF EXISTS incoming_canonicals;
         CREATE TEMP TABLE incoming_canonicals ({}, is_new boolean) ON COMMIT DROP",
        defs.join(", ")
    ))
    .await?;
    copy_rows(tx, "incoming_canonicals", true, rows).await?;
    Ok(())
}

/// Binary-copies canonical rows into `table` ([`CANONICAL_COLUMNS`], plus `is_new`
/// when `with_is_new`); returns the rows copied.
async fn copy_rows<'a>(
    tx: &Transaction<'_>,
    table: &str,
    with_is_new: bool,
    rows: impl IntoIterator<Item = CanonicalWrite<'a>>,
) -> Result<u64, StoreError> {
    let mut names: Vec<&str> = CANONICAL_COLUMNS.iter().map(|(n, _, _)| *n).collect();
    let mut types: Vec<Type> = CANONICAL_COLUMNS
        .iter()
        .map(|(_, t, _)| t.clone())
        .collect();
    if with_is_new {
        names.push("is_new");
        types.push(Type::BOOL);
    }
    let sink = tx
        .copy_in(&format!(
            "COPY {table} ({}) FROM STDIN BINARY",
            names.join(", ")
        ))
        .await?;
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    for w in rows {
        let c = &w.event;
        let source_count = i32::try_from(c.source_count)
            .map_err(|_| StoreError::Invalid("source_count overflows".into()))?;
        let highlights = Json(&c.highlights);
        let dates = Json(&c.dates);
        let categories = Json(&c.categories);
        let provenance = Json(&c.field_provenance);
        let row: [&(dyn ToSql + Sync); 28] = [
            &w.id,
            &c.title,
            &c.short_description,
            &c.description,
            &highlights,
            &c.location_name,
            &c.location_city,
            &c.location_district,
            &c.location_street,
            &c.location_zipcode,
            &c.geo_latitude,
            &c.geo_longitude,
            &c.geo_confidence,
            &dates,
            &c.first_date,
            &c.last_date,
            &categories,
            &c.is_family_event,
            &c.is_child_focused,
            &c.admission_free,
            &provenance,
            &source_count,
            &c.match_confidence,
            &c.needs_review,
            &c.review_reason,
            &c.ai_assisted,
            &w.content_hash,
            &w.is_new,
        ];
        writer.as_mut().write(&row[..types.len()]).await?;
    }
    Ok(writer.finish().await?)
}

fn update_sql(rewrite: Rewrite) -> String {
    let sets: Vec<String> = CANONICAL_COLUMNS
        .iter()
        .map(|(n, _, _)| *n)
        .filter(|n| match rewrite {
            Rewrite::Run => *n != "id",
            Rewrite::Review => !KEPT_BY_REVIEW.contains(n),
        })
        .map(|n| format!("{n} = i.{n}"))
        .collect();
    let version = match rewrite {
        Rewrite::Run => ", version = c.version + 1",
        Rewrite::Review => "",
    };
    format!(
        "UPDATE canonical_events c SET {}{version}, updated_at = now()
         FROM incoming_canonicals i WHERE c.id = i.id AND NOT i.is_new",
        sets.join(", ")
    )
}

fn insert_sql() -> String {
    let names: Vec<&str> = CANONICAL_COLUMNS.iter().map(|(n, _, _)| *n).collect();
    format!(
        "INSERT INTO canonical_events ({cols}) SELECT {cols} FROM incoming_canonicals
         WHERE is_new ORDER BY id",
        cols = names.join(", ")
    )
}

/// Draws `n` ids from the canonical id sequence up front, so new rows can be bulk
/// inserted with known ids (no reliance on `RETURNING` order).
pub async fn allocate_ids(client: &impl GenericClient, n: usize) -> Result<Vec<i32>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let n = i32::try_from(n).map_err(|_| StoreError::Invalid("too many clusters".into()))?;
    let rows = client
        .query(
            "SELECT nextval(pg_get_serial_sequence('canonical_events', 'id'))
             FROM generate_series(1, $1::int4)",
            &[&n],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let id: i64 = r
                .try_get(0)
                .map_err(|e| StoreError::Decode(e.to_string()))?;
            i32::try_from(id)
                .map_err(|_| StoreError::Decode(format!("canonical id {id} overflows")))
        })
        .collect()
}

/// Deletes canonicals (their links cascade).
pub async fn delete_canonicals(client: &impl GenericClient, ids: &[i32]) -> Result<(), StoreError> {
    if !ids.is_empty() {
        client
            .execute("DELETE FROM canonical_events WHERE id = ANY($1)", &[&ids])
            .await?;
    }
    Ok(())
}

/// Links `(canonical id, source id)` pairs, skipping existing links; returns how
/// many were new.
pub async fn link_sources(
    client: &impl GenericClient,
    canonical_ids: &[i32],
    source_ids: &[String],
) -> Result<u64, StoreError> {
    Ok(client
        .execute(
            "INSERT INTO canonical_event_sources (canonical_event_id, source_event_id)
             SELECT cid, sid FROM unnest($1::int4[], $2::text[]) AS n(cid, sid)
             ON CONFLICT (canonical_event_id, source_event_id) DO NOTHING",
            &[&canonical_ids, &source_ids],
        )
        .await?)
}

/// Links the members of new canonicals (`(canonical id, source id)` pairs) by one
/// binary COPY. The canonicals must be new: no link of theirs exists, and every
/// member's previous link must already be gone (pruned or cascaded), since a source
/// belongs to one canonical. Returns the links written.
pub async fn copy_new_links(
    tx: &Transaction<'_>,
    canonical_ids: &[i32],
    source_ids: &[String],
) -> Result<u64, StoreError> {
    let sink = tx
        .copy_in(
            "COPY canonical_event_sources (canonical_event_id, source_event_id)
             FROM STDIN BINARY",
        )
        .await?;
    let writer = BinaryCopyInWriter::new(sink, &[Type::INT4, Type::TEXT]);
    pin_mut!(writer);
    for (cid, sid) in canonical_ids.iter().zip(source_ids) {
        writer.as_mut().write(&[cid, sid]).await?;
    }
    Ok(writer.finish().await?)
}

/// Removes the links of the `canonicals` that are not among the
/// `(canonical id, source id)` pairs given; a link that stays keeps its row.
pub async fn prune_links(
    client: &impl GenericClient,
    canonicals: &[i32],
    canonical_ids: &[i32],
    source_ids: &[String],
) -> Result<(), StoreError> {
    client
        .execute(
            "DELETE FROM canonical_event_sources c
             WHERE c.canonical_event_id = ANY($1)
               AND NOT EXISTS (
                   SELECT 1 FROM unnest($2::int4[], $3::text[]) AS n(cid, sid)
                   WHERE n.cid = c.canonical_event_id
                     AND n.sid COLLATE \"C\" = c.source_event_id)",
            &[&canonicals, &canonical_ids, &source_ids],
        )
        .await?;
    Ok(())
}

/// Removes one link; returns whether it existed.
pub async fn unlink_source(
    client: &impl GenericClient,
    canonical_id: i32,
    source_id: &str,
) -> Result<bool, StoreError> {
    Ok(client
        .execute(
            "DELETE FROM canonical_event_sources WHERE canonical_event_id = $1 AND source_event_id = $2",
            &[&canonical_id, &source_id],
        )
        .await?
        > 0)
}

/// Sorted member ids of a canonical.
pub async fn members(
    client: &impl GenericClient,
    canonical_id: i32,
) -> Result<Vec<String>, StoreError> {
    let rows = client
        .query(
            "SELECT source_event_id FROM canonical_event_sources
             WHERE canonical_event_id = $1 ORDER BY source_event_id",
            &[&canonical_id],
        )
        .await?;
    rows.iter().map(|r| get(r, "source_event_id")).collect()
}

/// Locks the canonical's row for the transaction; returns whether it exists.
pub async fn lock_canonical(
    client: &impl GenericClient,
    canonical_id: i32,
) -> Result<bool, StoreError> {
    Ok(client
        .query_opt(
            "SELECT id FROM canonical_events WHERE id = $1 FOR UPDATE",
            &[&canonical_id],
        )
        .await?
        .is_some())
}

/// A canonical's review flag and confidence, read under a row lock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReviewState {
    pub match_confidence: Option<f64>,
    pub needs_review: bool,
}

/// Locks the canonical's row and reads its review state (`None`: no such canonical).
pub async fn lock_review_state(
    client: &impl GenericClient,
    canonical_id: i32,
) -> Result<Option<ReviewState>, StoreError> {
    let Some(row) = client
        .query_opt(
            "SELECT match_confidence, needs_review FROM canonical_events WHERE id = $1 FOR UPDATE",
            &[&canonical_id],
        )
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(ReviewState {
        match_confidence: get(&row, "match_confidence")?,
        needs_review: get(&row, "needs_review")?,
    }))
}

/// Clears a canonical's review flag and sets its confidence (a dismissal); the
/// content hash is reset so the next run rewrites the row.
pub async fn mark_reviewed(
    client: &impl GenericClient,
    canonical_id: i32,
    match_confidence: Option<f64>,
) -> Result<(), StoreError> {
    client
        .execute(
            "UPDATE canonical_events SET needs_review = false, match_confidence = $2,
                    content_hash = '', updated_at = now()
             WHERE id = $1",
            &[&canonical_id, &match_confidence],
        )
        .await?;
    Ok(())
}
