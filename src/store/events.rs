//! Source events and file ingestions: writing one event file, recording a failed
//! file, and loading every event for a matching run.
//!
//! Invariants:
//! * One transaction per file ([`insert_file`] runs inside the caller's
//!   transaction; [`ingest_file`] opens and commits one). Either the file row, all of
//!   its events and all of their dates are stored, or nothing is.
//! * Writes are bulk: the events go through one binary `COPY` into a temporary table
//!   and one `INSERT … SELECT … ON CONFLICT` upsert; the dates through one `COPY`.
//!   There is never one round trip per row.
//! * An event id that already exists is an **update** of that listing: its fields,
//!   derived fields and dates are replaced, the id and `created_at` stay, and
//!   `file_ingestion_id` points at the newest file that delivered it.
//! * `file_hash` is unique. A failed attempt leaves a `failed` row that a later
//!   completed attempt of the same bytes replaces; only a `completed` row blocks a
//!   re-drop.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveTime};
use deadpool_postgres::Pool;
use futures_util::pin_mut;
use sha2::{Digest, Sha256};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{Json, ToSql, Type};
use tokio_postgres::{GenericClient, Row, Transaction};

use super::error::StoreError;
use crate::ingest::{FileRejection, ParsedFile};
use crate::model::{EventDate, SourceEvent};
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

/// Columns of the staging table, in `COPY` order. `file_ingestion_id`, timestamps
/// and dates are not staged: they come from the file row and `now()`.
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
];

const DATE_TYPES: &[Type] = &[
    Type::TEXT,
    Type::INT4,
    Type::DATE,
    Type::TIME,
    Type::TIME,
    Type::DATE,
];

/// Stores one parsed file inside `tx`: the `completed` file row, then every event
/// (insert or update) and its dates. `derived[i]` belongs to `file.events[i]`.
///
/// Fails with [`StoreError::AlreadyIngested`] when a completed row with the same
/// hash exists (the caller logs the file as skipped).
pub async fn insert_file(
    tx: &Transaction<'_>,
    file: &ParsedFile,
    derived: &[Derived],
) -> Result<FileOutcome, StoreError> {
    if derived.len() != file.events.len() {
        return Err(StoreError::Invalid(format!(
            "{} derived records for {} events",
            derived.len(),
            file.events.len()
        )));
    }
    let event_count = i32::try_from(file.events.len())
        .map_err(|_| StoreError::Invalid("too many events in one file".into()))?;
    let file_id = claim_file_row(tx, file, event_count).await?;

    tx.batch_execute(&staging_table_sql()).await?;
    copy_events(tx, file, derived).await?;

    let existing = tx
        .query(
            "SELECT i.id, f.filename, s.content_hash IS DISTINCT FROM i.content_hash AS changed
             FROM incoming_events i
             JOIN source_events s ON s.id = i.id
             JOIN file_ingestions f ON f.id = s.file_ingestion_id
             ORDER BY i.id",
            &[],
        )
        .await?;
    let updated = existing
        .iter()
        .map(|row| {
            Ok(UpdatedEvent {
                id: get(row, "id")?,
                previous_file: get(row, "filename")?,
                content_changed: get(row, "changed")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;

    if !updated.is_empty() {
        tx.execute(
            "DELETE FROM event_dates d USING incoming_events i WHERE d.event_id = i.id",
            &[],
        )
        .await?;
    }
    tx.execute(&upsert_events_sql(), &[&file_id]).await?;
    copy_dates(tx, file).await?;
    tx.batch_execute("DROP TABLE incoming_events").await?;

    Ok(FileOutcome {
        file_ingestion_id: file_id,
        inserted: file.events.len() - updated.len(),
        updated,
    })
}

/// [`insert_file`] in its own transaction, committed on success.
pub async fn ingest_file(
    pool: &Pool,
    file: &ParsedFile,
    derived: &[Derived],
) -> Result<FileOutcome, StoreError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let outcome = insert_file(&tx, file, derived).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Inserts the `completed` row, replacing a `failed` row of the same hash.
async fn claim_file_row(
    tx: &Transaction<'_>,
    file: &ParsedFile,
    event_count: i32,
) -> Result<i32, StoreError> {
    let row = tx
        .query_opt(
            "INSERT INTO file_ingestions
                 (filename, file_hash, source_code, event_count, status, file_metadata)
             VALUES ($1, $2, $3, $4, 'completed', $5)
             ON CONFLICT (file_hash) DO UPDATE SET
                 filename = EXCLUDED.filename,
                 source_code = EXCLUDED.source_code,
                 event_count = EXCLUDED.event_count,
                 status = 'completed',
                 error_message = NULL,
                 file_metadata = EXCLUDED.file_metadata,
                 ingested_at = now()
             WHERE file_ingestions.status = 'failed'
             RETURNING id",
            &[
                &file.file_name,
                &file.file_hash,
                &file.source_code,
                &event_count,
                &file.metadata,
            ],
        )
        .await?;
    match row {
        Some(row) => get(&row, "id"),
        None => {
            let file_name = is_completed(tx, &file.file_hash)
                .await?
                .unwrap_or_else(|| file.file_name.clone());
            Err(StoreError::AlreadyIngested {
                file_hash: file.file_hash.clone(),
                file_name,
            })
        }
    }
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
        "INSERT INTO source_events ({cols}, file_ingestion_id)
         SELECT {cols}, $1 FROM incoming_events
         ON CONFLICT (id) DO UPDATE SET {updates},
             file_ingestion_id = EXCLUDED.file_ingestion_id,
             updated_at = now()",
        cols = names.join(", "),
        updates = updates.join(", ")
    )
}

async fn copy_events(
    tx: &Transaction<'_>,
    file: &ParsedFile,
    derived: &[Derived],
) -> Result<(), StoreError> {
    let names: Vec<&str> = EVENT_COLUMNS.iter().map(|(n, _)| *n).collect();
    let types: Vec<Type> = EVENT_COLUMNS.iter().map(|(_, t)| t.clone()).collect();
    let sink = tx
        .copy_in(&format!(
            "COPY incoming_events ({}) FROM STDIN BINARY",
            names.join(", ")
        ))
        .await?;
    let writer = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(writer);
    for (e, d) in file.events.iter().zip(derived) {
        let hash = content_hash(e)?;
        let highlights = e.highlights.as_ref().map(Json);
        let categories = e.categories.as_ref().map(Json);
        let blocking_keys = Json(&d.blocking_keys);
        let row: [&(dyn ToSql + Sync); 32] = [
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
            &hash,
        ];
        writer.as_mut().write(&row).await?;
    }
    writer.finish().await?;
    Ok(())
}

async fn copy_dates(tx: &Transaction<'_>, file: &ParsedFile) -> Result<(), StoreError> {
    let sink = tx
        .copy_in(
            "COPY event_dates (event_id, position, date, start_time, end_time, end_date)
             FROM STDIN BINARY",
        )
        .await?;
    let writer = BinaryCopyInWriter::new(sink, DATE_TYPES);
    pin_mut!(writer);
    for e in &file.events {
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

/// SHA-256 (hex) of the event's JSON form; equal hash = identical listing.
pub fn content_hash(event: &SourceEvent) -> Result<String, StoreError> {
    let bytes = serde_json::to_vec(event).map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// Records a rejected file (own statement; call it outside the failed file's
/// transaction). A later completed attempt of the same hash replaces this row; an
/// existing completed row is left alone (returns `None`).
pub async fn record_failed_file(
    client: &impl GenericClient,
    file_name: &str,
    file_hash: &str,
    source_code: &str,
    error_message: &str,
) -> Result<Option<i32>, StoreError> {
    if file_hash.is_empty() {
        return Err(StoreError::Invalid(format!(
            "{file_name}: a failed file without a content hash cannot be recorded"
        )));
    }
    let row = client
        .query_opt(
            "INSERT INTO file_ingestions
                 (filename, file_hash, source_code, event_count, status, error_message)
             VALUES ($1, $2, $3, 0, 'failed', $4)
             ON CONFLICT (file_hash) DO UPDATE SET
                 filename = EXCLUDED.filename,
                 source_code = EXCLUDED.source_code,
                 error_message = EXCLUDED.error_message,
                 ingested_at = now()
             WHERE file_ingestions.status = 'failed'
             RETURNING id",
            &[&file_name, &file_hash, &source_code, &error_message],
        )
        .await?;
    row.map(|r| get(&r, "id")).transpose()
}

/// [`record_failed_file`] for an ingest rejection.
pub async fn record_rejection(
    client: &impl GenericClient,
    rejection: &FileRejection,
) -> Result<Option<i32>, StoreError> {
    record_failed_file(
        client,
        &rejection.file,
        &rejection.file_hash,
        &rejection.source_code,
        &rejection.message,
    )
    .await
}

/// The file name of the completed ingestion with this hash, if any.
pub async fn is_completed(
    client: &impl GenericClient,
    file_hash: &str,
) -> Result<Option<String>, StoreError> {
    let row = client
        .query_opt(
            "SELECT filename FROM file_ingestions WHERE file_hash = $1 AND status = 'completed'",
            &[&file_hash],
        )
        .await?;
    row.map(|r| get(&r, "filename")).transpose()
}

/// The `source_events` columns [`event_from_row`] reads.
const SELECT_EVENT_COLUMNS: &str =
    "id, source_code, source_type, title, short_description, description,
    highlights, location_name, location_city, location_district,
    location_street, location_street_no, location_zipcode,
    geo_latitude, geo_longitude, geo_confidence, geo_country, categories,
    is_family_event, is_child_focused, admission_free,
    registration_required, registration_contact, confidence_score,
    batch_index, extracted_at";

/// Every source event with its dates, in id (code-point) order: two queries, one
/// for the events and one for all dates, merged in memory.
pub async fn load_all_events(client: &impl GenericClient) -> Result<Vec<SourceEvent>, StoreError> {
    let rows = client
        .query(
            &format!("SELECT {SELECT_EVENT_COLUMNS} FROM source_events ORDER BY id"),
            &[],
        )
        .await?;
    let dates = client
        .query(
            "SELECT event_id, date, start_time, end_time, end_date
             FROM event_dates ORDER BY event_id, position",
            &[],
        )
        .await?;
    events_with_dates(&rows, &dates)
}

/// The source events with the given ids (unknown ids are skipped), with their dates,
/// in id (code-point) order. Review actions re-synthesize a canonical from its
/// members without loading the whole table.
pub async fn load_events_by_ids(
    client: &impl GenericClient,
    ids: &[String],
) -> Result<Vec<SourceEvent>, StoreError> {
    let rows = client
        .query(
            &format!(
                "SELECT {SELECT_EVENT_COLUMNS} FROM source_events WHERE id = ANY($1) ORDER BY id"
            ),
            &[&ids],
        )
        .await?;
    let dates = client
        .query(
            "SELECT event_id, date, start_time, end_time, end_date
             FROM event_dates WHERE event_id = ANY($1) ORDER BY event_id, position",
            &[&ids],
        )
        .await?;
    events_with_dates(&rows, &dates)
}

/// Builds events from their rows and attaches the date rows (in stored order).
fn events_with_dates(rows: &[Row], dates: &[Row]) -> Result<Vec<SourceEvent>, StoreError> {
    let mut events = rows
        .iter()
        .map(event_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let index: HashMap<String, usize> = events
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.clone(), i))
        .collect();
    for row in dates {
        let event_id: &str = get(row, "event_id")?;
        let i = *index
            .get(event_id)
            .ok_or_else(|| StoreError::Decode(format!("date row for unknown event {event_id}")))?;
        events[i].dates.push(EventDate {
            date: get::<NaiveDate>(row, "date")?,
            start_time: get::<Option<NaiveTime>>(row, "start_time")?,
            end_time: get::<Option<NaiveTime>>(row, "end_time")?,
            end_date: get::<Option<NaiveDate>>(row, "end_date")?,
        });
    }
    Ok(events)
}

fn event_from_row(row: &Row) -> Result<SourceEvent, StoreError> {
    let strings = |col: &str| -> Result<Option<Vec<String>>, StoreError> {
        Ok(get::<Option<Json<Vec<String>>>>(row, col)?.map(|j| j.0))
    };
    Ok(SourceEvent {
        id: get(row, "id")?,
        source_code: get(row, "source_code")?,
        source_type: get(row, "source_type")?,
        title: get(row, "title")?,
        short_description: get(row, "short_description")?,
        description: get(row, "description")?,
        highlights: strings("highlights")?,
        dates: Vec::new(),
        location_name: get(row, "location_name")?,
        location_city: get(row, "location_city")?,
        location_district: get(row, "location_district")?,
        location_street: get(row, "location_street")?,
        location_street_no: get(row, "location_street_no")?,
        location_zipcode: get(row, "location_zipcode")?,
        geo_latitude: get(row, "geo_latitude")?,
        geo_longitude: get(row, "geo_longitude")?,
        geo_confidence: get(row, "geo_confidence")?,
        geo_country: get(row, "geo_country")?,
        categories: strings("categories")?,
        is_family_event: get(row, "is_family_event")?,
        is_child_focused: get(row, "is_child_focused")?,
        admission_free: get(row, "admission_free")?,
        registration_required: get(row, "registration_required")?,
        registration_contact: get(row, "registration_contact")?,
        confidence_score: get(row, "confidence_score")?,
        batch_index: get(row, "batch_index")?,
        extracted_at: get(row, "extracted_at")?,
    })
}

/// Reads one column, turning a type or NULL mismatch into [`StoreError::Decode`]
/// naming the column (rows are outside data: never unwrap them).
pub(crate) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    column: &str,
) -> Result<T, StoreError> {
    row.try_get(column)
        .map_err(|e| StoreError::Decode(format!("column {column}: {e}")))
}

/// File figures since a moment (the dashboard's `files`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileCounts {
    pub total_files: i64,
    pub total_events: i64,
    pub completed: i64,
    pub errors: i64,
}

/// Files ingested since `since`, by outcome, with their events.
pub async fn file_counts(
    client: &impl GenericClient,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<FileCounts, StoreError> {
    let row = client
        .query_one(
            "SELECT count(*) AS total_files,
                    coalesce(sum(event_count), 0)::int8 AS total_events,
                    count(*) FILTER (WHERE status = 'completed') AS completed,
                    count(*) FILTER (WHERE status = 'failed') AS errors
             FROM file_ingestions WHERE ingested_at >= $1",
            &[&since],
        )
        .await?;
    Ok(FileCounts {
        total_files: get(&row, "total_files")?,
        total_events: get(&row, "total_events")?,
        completed: get(&row, "completed")?,
        errors: get(&row, "errors")?,
    })
}

/// One UTC day of the processing history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCounts {
    pub day: NaiveDate,
    pub files_processed: i64,
    pub events_ingested: i64,
    pub errors: i64,
}

/// One entry per UTC day with files since `since`, oldest first.
pub async fn daily_file_counts(
    client: &impl GenericClient,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<DayCounts>, StoreError> {
    let rows = client
        .query(
            "SELECT (ingested_at AT TIME ZONE 'UTC')::date AS day,
                    count(*) AS files_processed,
                    coalesce(sum(event_count), 0)::int8 AS events_ingested,
                    count(*) FILTER (WHERE status = 'failed') AS errors
             FROM file_ingestions WHERE ingested_at >= $1
             GROUP BY day ORDER BY day",
            &[&since],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(DayCounts {
                day: get(r, "day")?,
                files_processed: get(r, "files_processed")?,
                events_ingested: get(r, "events_ingested")?,
                errors: get(r, "errors")?,
            })
        })
        .collect()
}
