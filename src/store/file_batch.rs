//! Writing ready files: a batch of parsed files (one or many) stored by one
//! transaction in a handful of round trips, whatever the number of files.
//!
//! Statements per batch: one `INSERT … SELECT FROM unnest(…)` claims every file row,
//! one `SELECT` reads the stored versions of the batch's listing ids, one binary
//! `COPY` writes the new listings straight into `source_events`, updates go through a
//! staging table (`COPY` + one upsert, after one `DELETE` of their old dates), and one
//! `COPY` writes all dates. Never one round trip per file or per row.
//!
//! Invariants:
//! * The batch is stored as if its files were stored one by one in batch (ready)
//!   order: an id delivered by several files ends in the version of the last one,
//!   its `file_ingestion_id` names that file, and each file's [`FileOutcome`] reports
//!   its updates against the version before it (a stored one or an earlier file of
//!   the batch). Only the last version of an id is written.
//! * All of it happens in the caller's transaction: the file rows, their listings
//!   and the dates commit together or not at all
//!   ([`super::changes::load_changed_since`] relies on that).
//! * Foreign keys of a large batch's copies are checked in bulk
//!   ([`super::bulk_keys`]) before the transaction commits, the others per row.
//! * A file whose bytes are already completed (stored before, or earlier in the same
//!   batch) is answered with [`StoreError::AlreadyIngested`] and writes nothing; the
//!   other files of the batch are unaffected. Any other error fails the whole batch
//!   (the caller retries its files one by one to find the bad one).

use std::collections::HashMap;

use futures_util::pin_mut;
use sha2::{Digest, Sha256};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{Json, ToSql, Type};
use tokio_postgres::Transaction;

use super::bulk_keys::{KeyCheck, References};
use super::error::StoreError;
use super::events::get;
use crate::ingest::ParsedFile;
use crate::model::SourceEvent;
use crate::preprocess::Derived;

/// What storing one file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOutcome {
    pub file_ingestion_id: i32,
    /// Event ids seen for the first time.
    pub inserted: usize,
    /// Event ids that already existed (listing updates), in id order.
    pub updated: Vec<UpdatedEvent>,
}

/// A listing re-delivered by a later file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatedEvent {
    pub id: String,
    /// Name of the file that delivered the previous version.
    pub previous_file: String,
    /// False when the new version is identical to the stored one.
    pub content_changed: bool,
}

/// A parsed file with everything the store writes besides the parsed fields: the
/// derived fields and the content hash of every event. Built off the async threads
/// (it is pure CPU work), stored by [`insert_files`].
#[derive(Debug, Clone)]
pub struct PreparedFile {
    pub file: ParsedFile,
    pub derived: Vec<Derived>,
    /// `content_hashes[i]` belongs to `file.events[i]` ([`content_hash`]).
    pub content_hashes: Vec<String>,
}

impl PreparedFile {
    /// `derived[i]` belongs to `file.events[i]`; the content hashes are computed here.
    pub fn new(file: ParsedFile, derived: Vec<Derived>) -> Result<Self, StoreError> {
        let content_hashes = file
            .events
            .iter()
            .map(content_hash)
            .collect::<Result<Vec<_>, _>>()?;
        let prepared = PreparedFile {
            file,
            derived,
            content_hashes,
        };
        prepared.check()?;
        Ok(prepared)
    }

    /// One record per event, ids unique within the file, a count that fits the row.
    fn check(&self) -> Result<i32, StoreError> {
        let events = self.file.events.len();
        if self.derived.len() != events || self.content_hashes.len() != events {
            return Err(StoreError::Invalid(format!(
                "{}: {} derived records and {} content hashes for {events} events",
                self.file.file_name,
                self.derived.len(),
                self.content_hashes.len()
            )));
        }
        let mut seen = std::collections::HashSet::with_capacity(events);
        if let Some(e) = self.file.events.iter().find(|e| !seen.insert(&e.id)) {
            return Err(StoreError::Invalid(format!(
                "{}: event id {} appears twice",
                self.file.file_name, e.id
            )));
        }
        i32::try_from(events).map_err(|_| StoreError::Invalid("too many events in one file".into()))
    }
}

/// SHA-256 (hex) of the event's JSON form; equal hash = identical listing.
pub fn content_hash(event: &SourceEvent) -> Result<String, StoreError> {
    let bytes = serde_json::to_vec(event).map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// Columns of a listing row, in `COPY` order. `file_ingestion_id` follows them;
/// timestamps come from `now()`, dates go to `event_dates`.
const EVENT_COLUMNS: &[(&str, Type)] = &[
    ("id", Type::TEXT),
    ("title", Type::TEXT),
    ("short_description", Type::TEXT),
    ("description", Type::TEXT),
    ("highlights", Type::JSONB),
    ("location_name", Type::TEXT),
    ("location_city", Type::TEXT),
    ("location_district", Type::TEXT),
    ("location_street", Type::TEXT),
    ("location_street_no", Type::TEXT),
    ("location_zipcode", Type::TEXT),
    ("title_normalized", Type::TEXT),
    ("short_description_normalized", Type::TEXT),
    ("location_name_normalized", Type::TEXT),
    ("location_city_normalized", Type::TEXT),
    ("blocking_keys", Type::JSONB),
    ("geo_latitude", Type::FLOAT8),
    ("geo_longitude", Type::FLOAT8),
    ("geo_confidence", Type::FLOAT8),
    ("geo_country", Type::TEXT),
    ("source_type", Type::TEXT),
    ("source_code", Type::TEXT),
    ("categories", Type::JSONB),
    ("is_family_event", Type::BOOL),
    ("is_child_focused", Type::BOOL),
    ("admission_free", Type::BOOL),
    ("registration_required", Type::BOOL),
    ("registration_contact", Type::TEXT),
    ("confidence_score", Type::FLOAT8),
    ("batch_index", Type::INT8),
    ("extracted_at", Type::TEXT),
    ("content_hash", Type::TEXT),
    ("file_ingestion_id", Type::INT4),
];

const DATE_TYPES: &[Type] = &[
    Type::TEXT,
    Type::INT4,
    Type::DATE,
    Type::TIME,
    Type::TIME,
    Type::DATE,
];

/// One listing to write: the file it comes from (batch position and row id) and its
/// position in that file.
#[derive(Debug, Clone, Copy)]
struct Row {
    file: usize,
    event: usize,
    file_id: i32,
}

/// Stores `files` inside `tx`, as if one by one in slice order (see the module
/// invariants). Answers one result per file, in the same order: its outcome, or
/// [`StoreError::AlreadyIngested`] when its bytes are already completed. The outer
/// error fails the whole batch.
pub async fn insert_files(
    tx: &Transaction<'_>,
    files: &[&PreparedFile],
) -> Result<Vec<Result<FileOutcome, StoreError>>, StoreError> {
    let counts = files
        .iter()
        .map(|f| f.check())
        .collect::<Result<Vec<_>, _>>()?;
    let file_ids = claim_file_rows(tx, files, &counts).await?;

    let ids: Vec<&str> = files
        .iter()
        .zip(&file_ids)
        .filter(|(_, id)| id.is_ok())
        .flat_map(|(f, _)| f.file.events.iter().map(|e| e.id.as_str()))
        .collect();
    let stored = if ids.is_empty() {
        HashMap::new()
    } else {
        stored_versions(tx, &ids).await?
    };

    // Replay the files in order: what each one updates, and which version wins.
    let mut current: HashMap<&str, (&str, &str)> = stored
        .iter()
        .map(|(id, (file, hash))| (id.as_str(), (file.as_str(), hash.as_str())))
        .collect();
    let mut winners: HashMap<&str, Row> = HashMap::with_capacity(ids.len());
    let mut results = Vec::with_capacity(files.len());
    for (i, (f, file_id)) in files.iter().zip(file_ids).enumerate() {
        let file_id = match file_id {
            Ok(id) => id,
            Err(e) => {
                results.push(Err(e));
                continue;
            }
        };
        let mut updated = Vec::new();
        for (k, (e, hash)) in f.file.events.iter().zip(&f.content_hashes).enumerate() {
            let previous = current.insert(&e.id, (&f.file.file_name, hash));
            if let Some((previous_file, previous_hash)) = previous {
                updated.push(UpdatedEvent {
                    id: e.id.clone(),
                    previous_file: previous_file.to_string(),
                    content_changed: previous_hash != hash,
                });
            }
            winners.insert(
                &e.id,
                Row {
                    file: i,
                    event: k,
                    file_id,
                },
            );
        }
        updated.sort_by(|a, b| a.id.cmp(&b.id));
        results.push(Ok(FileOutcome {
            file_ingestion_id: file_id,
            inserted: f.file.events.len() - updated.len(),
            updated,
        }));
    }

    // Written in batch order, so the table fills in the order the files came.
    let mut rows: Vec<(&str, Row)> = winners.into_iter().collect();
    rows.sort_by_key(|(_, r)| (r.file, r.event));
    let (replaced, new): (Vec<_>, Vec<_>) = rows
        .iter()
        .map(|(_, r)| *r)
        .partition(|r| stored.contains_key(&files[r.file].file.events[r.event].id));
    // Large batches check the new rows' keys in bulk: they reference only this
    // transaction's own file rows and listings.
    let mut keys = KeyCheck::new();
    if !new.is_empty() {
        let refs = |k: &mut References| {
            k.own_files(&new.iter().map(|r| r.file_id).collect::<Vec<_>>());
        };
        let copy = copy_events(tx, "source_events", files, &new);
        keys.copy(tx, new.len(), refs, copy).await?;
    }
    if !replaced.is_empty() {
        replace_events(tx, files, &replaced).await?;
    }
    let all: Vec<Row> = rows.into_iter().map(|(_, r)| r).collect();
    if !all.is_empty() {
        let event = |r: &Row| &files[r.file].file.events[r.event];
        let dates = all.iter().map(|r| event(r).dates.len()).sum();
        let refs = |k: &mut References| {
            k.own_sources(all.iter().map(|r| event(r).id.as_str()));
        };
        keys.copy(tx, dates, refs, copy_dates(tx, files, &all))
            .await?;
    }
    keys.verify(tx).await?;
    Ok(results)
}

/// Inserts a `completed` row per file (replacing a `failed` row of the same hash), in
/// batch order. A file whose hash is completed already, or claimed by an earlier
/// file of the batch, gets [`StoreError::AlreadyIngested`].
async fn claim_file_rows(
    tx: &Transaction<'_>,
    files: &[&PreparedFile],
    counts: &[i32],
) -> Result<Vec<Result<i32, StoreError>>, StoreError> {
    let mut first_with_hash: HashMap<&str, usize> = HashMap::new();
    let claiming: Vec<usize> = (0..files.len())
        .filter(|&i| {
            *first_with_hash
                .entry(files[i].file.file_hash.as_str())
                .or_insert(i)
                == i
        })
        .collect();
    let names: Vec<&str> = claiming
        .iter()
        .map(|&i| files[i].file.file_name.as_str())
        .collect();
    let hashes: Vec<&str> = claiming
        .iter()
        .map(|&i| files[i].file.file_hash.as_str())
        .collect();
    let sources: Vec<&str> = claiming
        .iter()
        .map(|&i| files[i].file.source_code.as_str())
        .collect();
    let event_counts: Vec<i32> = claiming.iter().map(|&i| counts[i]).collect();
    let metadata: Vec<&serde_json::Value> =
        claiming.iter().map(|&i| &files[i].file.metadata).collect();
    let rows = tx
        .query(
            "INSERT INTO file_ingestions
                 (filename, file_hash, source_code, event_count, status, file_metadata)
             SELECT f.filename, f.file_hash, f.source_code, f.event_count, 'completed', f.metadata
             FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[], $5::jsonb[])
                  WITH ORDINALITY AS f(filename, file_hash, source_code, event_count, metadata, ord)
             ORDER BY f.ord
             ON CONFLICT (file_hash) DO UPDATE SET
                 filename = EXCLUDED.filename,
                 source_code = EXCLUDED.source_code,
                 event_count = EXCLUDED.event_count,
                 status = 'completed',
                 error_message = NULL,
                 file_metadata = EXCLUDED.file_metadata,
                 ingested_at = now()
             WHERE file_ingestions.status = 'failed'
             RETURNING id, file_hash",
            &[&names, &hashes, &sources, &event_counts, &metadata],
        )
        .await?;
    let mut claimed: HashMap<String, i32> = HashMap::with_capacity(rows.len());
    for row in &rows {
        claimed.insert(get(row, "file_hash")?, get(row, "id")?);
    }
    let mut out = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        let hash = f.file.file_hash.as_str();
        let first = first_with_hash.get(hash).copied().unwrap_or(i);
        let result = match claimed.get(hash) {
            Some(&id) if first == i => Ok(id),
            Some(_) => Err(already(f, files[first].file.file_name.clone())),
            None => {
                let name = super::events::is_completed(tx, hash)
                    .await?
                    .unwrap_or_else(|| f.file.file_name.clone());
                Err(already(f, name))
            }
        };
        out.push(result);
    }
    Ok(out)
}

fn already(f: &PreparedFile, file_name: String) -> StoreError {
    StoreError::AlreadyIngested {
        file_hash: f.file.file_hash.clone(),
        file_name,
    }
}

/// The stored version of each of `ids` that exists: id → (file name, content hash).
async fn stored_versions(
    tx: &Transaction<'_>,
    ids: &[&str],
) -> Result<HashMap<String, (String, String)>, StoreError> {
    let rows = tx
        .query(
            "SELECT s.id, f.filename, s.content_hash
             FROM source_events s JOIN file_ingestions f ON f.id = s.file_ingestion_id
             WHERE s.id = ANY($1)",
            &[&ids],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                get(r, "id")?,
                (get(r, "filename")?, get(r, "content_hash")?),
            ))
        })
        .collect()
}

/// Listings that exist already: staged, their old dates deleted, then upserted (the
/// id and `created_at` stay).
async fn replace_events(
    tx: &Transaction<'_>,
    files: &[&PreparedFile],
    rows: &[Row],
) -> Result<(), StoreError> {
    tx.batch_execute(&staging_table_sql()).await?;
    copy_events(tx, "incoming_events", files, rows).await?;
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| files[r.file].file.events[r.event].id.as_str())
        .collect();
    tx.execute("DELETE FROM event_dates WHERE event_id = ANY($1)", &[&ids])
        .await?;
    tx.execute(&upsert_events_sql(), &[]).await?;
    tx.batch_execute("DROP TABLE incoming_events").await?;
    Ok(())
}

fn staging_table_sql() -> String {
    let columns: Vec<String> = EVENT_COLUMNS
        .iter()
        .map(|(name, ty)| {
            let sql_type = match *ty {
                Type::TEXT if *name == "id" => "text COLLATE \"C\"",
                Type::TEXT => "text",
                Type::JSONB => "jsonb",
                Type::FLOAT8 => "double precision",
                Type::BOOL => "boolean",
                Type::INT8 => "bigint",
                Type::INT4 => "integer",
                _ => "text",
            };
            format!("{name} {sql_type}")
        })
        .collect();
    format!(
        "DROP TABLE IF EXISTS incoming_events;
         CREATE TEMP TABLE incoming_events ({}) ON COMMIT DROP",
        columns.join(", ")
    )
}

fn upsert_events_sql() -> String {
    let names: Vec<&str> = EVENT_COLUMNS.iter().map(|(n, _)| *n).collect();
    let updates: Vec<String> = names
        .iter()
        .filter(|n| **n != "id")
        .map(|n| format!("{n} = EXCLUDED.{n}"))
        .collect();
    format!(
        "INSERT INTO source_events ({cols})
         SELECT {cols} FROM incoming_events
         ON CONFLICT (id) DO UPDATE SET {updates}, updated_at = now()",
        cols = names.join(", "),
        updates = updates.join(", ")
    )
}

/// One binary `COPY` of the listings `rows` into `table` (`source_events` or the
/// staging table, same columns).
async fn copy_events(
    tx: &Transaction<'_>,
    table: &str,
    files: &[&PreparedFile],
    rows: &[Row],
) -> Result<(), StoreError> {
    let names: Vec<&str> = EVENT_COLUMNS.iter().map(|(n, _)| *n).collect();
    let types: Vec<Type> = EVENT_COLUMNS.iter().map(|(_, t)| t.clone()).collect();
    let sink = tx
        .copy_in(&format!(
            "COPY {table} ({}) FROM STDIN BINARY",
            names.join(", ")
        ))
        .await?;
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    for r in rows {
        let f = files[r.file];
        let (e, d, hash) = (
            &f.file.events[r.event],
            &f.derived[r.event],
            &f.content_hashes[r.event],
        );
        let highlights = e.highlights.as_ref().map(Json);
        let categories = e.categories.as_ref().map(Json);
        let blocking_keys = Json(&d.blocking_keys);
        let row: [&(dyn ToSql + Sync); 33] = [
            &e.id,
            &e.title,
            &e.short_description,
            &e.description,
            &highlights,
            &e.location_name,
            &e.location_city,
            &e.location_district,
            &e.location_street,
            &e.location_street_no,
            &e.location_zipcode,
            &d.title_normalized,
            &d.short_description_normalized,
            &d.location_name_normalized,
            &d.location_city_normalized,
            &blocking_keys,
            &e.geo_latitude,
            &e.geo_longitude,
            &e.geo_confidence,
            &e.geo_country,
            &e.source_type,
            &e.source_code,
            &categories,
            &e.is_family_event,
            &e.is_child_focused,
            &e.admission_free,
            &e.registration_required,
            &e.registration_contact,
            &e.confidence_score,
            &e.batch_index,
            &e.extracted_at,
            hash,
            &r.file_id,
        ];
        writer.as_mut().write(&row).await?;
    }
    writer.finish().await?;
    Ok(())
}

/// One binary `COPY` of the dates of the listings `rows`, in input order.
async fn copy_dates(
    tx: &Transaction<'_>,
    files: &[&PreparedFile],
    rows: &[Row],
) -> Result<(), StoreError> {
    let sink = tx
        .copy_in(
            "COPY event_dates (event_id, position, date, start_time, end_time, end_date)
             FROM STDIN BINARY",
        )
        .await?;
    let writer = BinaryCopyInWriter::new(sink, DATE_TYPES);
    pin_mut!(writer);
    for r in rows {
        let e = &files[r.file].file.events[r.event];
        for (position, d) in e.dates.iter().enumerate() {
            let position = i32::try_from(position)
                .map_err(|_| StoreError::Invalid(format!("event {}: too many dates", e.id)))?;
            writer
                .as_mut()
                .write(&[
                    &e.id,
                    &position,
                    &d.date,
                    &d.start_time,
                    &d.end_time,
                    &d.end_date,
                ])
                .await?;
        }
    }
    writer.finish().await?;
    Ok(())
}
