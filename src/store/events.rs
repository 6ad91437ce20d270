//! Source events and file ingestions: writing one event file (a batch of one for
//! [`super::file_batch`]), recording a failed file, and loading events for a
//! matching run.
//!
//! Invariants:
//! * One transaction per file or batch of files ([`insert_file`] runs inside the
//!   caller's transaction; [`ingest_file`] opens and commits one). Either the file
//!   row, all of its events and all of their dates are stored, or nothing is.
//! * Writes are bulk ([`super::file_batch`]): binary `COPY` and set statements, never
//!   one round trip per row.
//! * An event id that already exists is an **update** of that listing: its fields,
//!   derived fields and dates are replaced, the id and `created_at` stay, and
//!   `file_ingestion_id` points at the newest file that delivered it.
//! * `file_hash` is unique. A failed attempt leaves a `failed` row that a later
//!   completed attempt of the same bytes replaces; only a `completed` row blocks a
//!   re-drop.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveTime};
use deadpool_postgres::Pool;
use futures_util::{pin_mut, TryStreamExt};
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::{GenericClient, Row, Transaction};

use super::error::StoreError;
pub use super::file_batch::{content_hash, insert_files, FileOutcome, PreparedFile, UpdatedEvent};
use crate::ingest::{FileRejection, ParsedFile};
use crate::model::{EventDate, SourceEvent};
use crate::preprocess::Derived;

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
    let prepared = PreparedFile::new(file.clone(), derived.to_vec())?;
    insert_files(tx, &[&prepared])
        .await?
        .into_iter()
        .next()
        .unwrap_or_else(|| Err(StoreError::Invalid("no outcome for the file".into())))
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

/// [`insert_files`] in its own transaction, committed on success (also when some
/// files were already ingested: they wrote nothing).
pub async fn ingest_files(
    pool: &Pool,
    files: &[&PreparedFile],
) -> Result<Vec<Result<FileOutcome, StoreError>>, StoreError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let outcomes = insert_files(&tx, files).await?;
    tx.commit().await?;
    Ok(outcomes)
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

/// [`is_completed`] for many hashes in one statement: hash → file name of each
/// completed ingestion among `file_hashes`.
pub async fn completed_files(
    client: &impl GenericClient,
    file_hashes: &[&str],
) -> Result<HashMap<String, String>, StoreError> {
    let rows = client
        .query(
            "SELECT file_hash, filename FROM file_ingestions
             WHERE file_hash = ANY($1) AND status = 'completed'",
            &[&file_hashes],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((get(r, "file_hash")?, get(r, "filename")?)))
        .collect()
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
    load_events(
        client,
        &format!("SELECT {SELECT_EVENT_COLUMNS} FROM source_events ORDER BY id"),
        "SELECT event_id, date, start_time, end_time, end_date
         FROM event_dates ORDER BY event_id, position",
        &[],
    )
    .await
}

/// How many source events are stored (a state build reserves room for them).
pub async fn count_events(client: &impl GenericClient) -> Result<usize, StoreError> {
    let row = client
        .query_one("SELECT count(*) AS n FROM source_events", &[])
        .await?;
    let n: i64 = get(&row, "n")?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// One page of [`load_all_events`]: at most `limit` source events with ids after
/// `after` (from the first when `None`), with their dates, in id (code-point) order.
/// The start-up state build pages through a million listings this way, inside one
/// repeatable-read snapshot, so the decoded listings of the whole table are never
/// held at once. An empty page is the end.
pub async fn load_events_page(
    client: &impl GenericClient,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<SourceEvent>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    // Range conditions on the primary key and the dates' (event_id, date) index:
    // a page reads only its own rows (no join over the whole table).
    let after_cond = |col: &str| format!("($1::text IS NULL OR {col} > $1)");
    let page_end = format!(
        "(SELECT max(id) FROM (SELECT id FROM source_events WHERE {} ORDER BY id LIMIT $2) AS page)",
        after_cond("id")
    );
    load_events(
        client,
        &format!(
            "SELECT {SELECT_EVENT_COLUMNS} FROM source_events WHERE {} ORDER BY id LIMIT $2",
            after_cond("id")
        ),
        &format!(
            "SELECT event_id, date, start_time, end_time, end_date FROM event_dates
             WHERE {} AND event_id <= {page_end} ORDER BY event_id, position",
            after_cond("event_id")
        ),
        &[&after, &limit],
    )
    .await
}

/// The source events with the given ids (unknown ids are skipped), with their dates,
/// in id (code-point) order. Review actions re-synthesize a canonical from its
/// members without loading the whole table.
pub async fn load_events_by_ids(
    client: &impl GenericClient,
    ids: &[String],
) -> Result<Vec<SourceEvent>, StoreError> {
    load_events(
        client,
        &format!("SELECT {SELECT_EVENT_COLUMNS} FROM source_events WHERE id = ANY($1) ORDER BY id"),
        "SELECT event_id, date, start_time, end_time, end_date
         FROM event_dates WHERE event_id = ANY($1) ORDER BY event_id, position",
        &[&ids],
    )
    .await
}

/// Runs the events query (ordered by id) and the dates query (ordered by event id
/// and position) with the same parameters, and attaches each date to its event.
/// Rows are decoded as they arrive rather than collected first, so decoding a
/// catalogue's listings overlaps the server's scan instead of following it; dates
/// find their event by binary search (ids in code-point order, `COLLATE "C"`).
async fn load_events(
    client: &impl GenericClient,
    events_sql: &str,
    dates_sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<SourceEvent>, StoreError> {
    let rows = client.query_raw(events_sql, params.iter().copied()).await?;
    pin_mut!(rows);
    let mut events = Vec::new();
    while let Some(row) = rows.try_next().await? {
        events.push(event_from_row(&row)?);
    }
    let dates = client.query_raw(dates_sql, params.iter().copied()).await?;
    pin_mut!(dates);
    while let Some(row) = dates.try_next().await? {
        let event_id: &str = get(&row, "event_id")?;
        let i = events
            .binary_search_by(|e| e.id.as_str().cmp(event_id))
            .map_err(|_| StoreError::Decode(format!("date row for unknown event {event_id}")))?;
        events[i].dates.push(EventDate {
            date: get::<NaiveDate>(&row, "date")?,
            start_time: get::<Option<NaiveTime>>(&row, "start_time")?,
            end_time: get::<Option<NaiveTime>>(&row, "end_time")?,
            end_date: get::<Option<NaiveDate>>(&row, "end_date")?,
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
