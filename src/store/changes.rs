//! What changed since a run read its input: the listings whose files committed after
//! an [`IngestMark`], read in the caller's (repeatable-read) snapshot.
//!
//! An ingest mark is the PostgreSQL snapshot (`pg_current_snapshot()`) a run read its
//! input in. A listing is covered by the mark exactly when the transaction that last
//! wrote its file row is visible in that snapshot: this holds whatever order files
//! commit in (file ids are drawn at insert, not at commit, so "ids above the last
//! one seen" would miss a file that committed late).
//!
//! Invariants:
//! * A file row, its listings and their dates are written by one transaction
//!   ([`super::events`]), and a listing's `file_ingestion_id` names the newest file
//!   that delivered it; so the listings of files not visible in the mark are exactly
//!   the new and updated listings since it.
//! * No false negatives: a file committed after the mark is always returned. A file
//!   row frozen more than 2^32 transactions ago can be returned again (its 32-bit
//!   `xmin` is widened within the current epoch); re-applying an unchanged listing is
//!   harmless.

use tokio_postgres::GenericClient;

use super::error::StoreError;
use super::events::{get, load_events_by_ids};
use crate::model::SourceEvent;

/// The snapshot a run read its input in (`pg_snapshot` text form). Held by the
/// matcher between runs; meaningful only to the database cluster that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestMark(String);

impl IngestMark {
    /// The mark's text (for logs, or to keep it across a restart).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A mark from its text; checked when it is used.
    pub fn from_text(text: impl Into<String>) -> Self {
        IngestMark(text.into())
    }
}

/// The mark of the caller's snapshot: call it inside the transaction the run reads
/// its input in ([`super::begin_run_snapshot`]), so it covers exactly what was read.
pub async fn ingest_mark(client: &impl GenericClient) -> Result<IngestMark, StoreError> {
    let row = client
        .query_one("SELECT pg_current_snapshot()::text AS mark", &[])
        .await?;
    Ok(IngestMark(get(&row, "mark")?))
}

/// The listings of a run's input that changed since a mark.
#[derive(Debug, Clone)]
pub struct ChangedListings {
    /// New and updated listings with their dates, in id (code-point) order.
    pub events: Vec<SourceEvent>,
    /// The mark these listings bring the caller up to (its own snapshot).
    pub covers: IngestMark,
}

/// The listings whose files committed after `since` and are visible in the caller's
/// snapshot, with the mark of that snapshot. Call it inside the run's repeatable-read
/// transaction ([`super::begin_run_snapshot`]) so the listings, their dates and the
/// mark are one state (the listings are read by a second statement). A malformed
/// mark is [`StoreError::Invalid`]. Reads the file table and, through its index, only
/// the changed listings.
pub async fn load_changed_since(
    client: &impl GenericClient,
    since: &IngestMark,
) -> Result<ChangedListings, StoreError> {
    let (ids, covers) = changed_ids_since(client, since).await?;
    let events = load_events_by_ids(client, &ids).await?;
    Ok(ChangedListings { events, covers })
}

/// The ids (in code-point order) of the listings [`load_changed_since`] would load,
/// with the mark of the caller's snapshot, without loading them: a caller that
/// finds the change too large for an incremental run loads every listing instead,
/// in the same snapshot, rather than these first and all of them after.
pub async fn changed_ids_since(
    client: &impl GenericClient,
    since: &IngestMark,
) -> Result<(Vec<String>, IngestMark), StoreError> {
    // The mark and the file ids come from one statement, so they agree even outside
    // a repeatable-read transaction. `xmin` is a 32-bit xid: widened to xid8 by
    // walking back from the snapshot's xmax (a live row's xmin is less than 2^31 old).
    let row = client
        .query_one(
            "WITH now AS (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS x),
                  since AS (SELECT $1::text::pg_snapshot AS s)
             SELECT pg_current_snapshot()::text AS mark, ARRAY(
                 SELECT f.id FROM file_ingestions f, now, since
                 WHERE f.status = 'completed'
                   AND NOT pg_visible_in_snapshot(
                       (now.x - (now.x - f.xmin::text::bigint) % 4294967296)::text::xid8,
                       since.s)) AS files",
            &[&since.as_str()],
        )
        .await
        .map_err(|e| invalid_mark(e, since))?;
    let covers = IngestMark(get(&row, "mark")?);
    let files: Vec<i32> = get(&row, "files")?;
    // A separate statement with the file ids as a parameter: the planner then uses
    // the index on `file_ingestion_id` (with the visibility test inline it cannot
    // estimate the few files and scans every listing).
    let ids: Vec<String> = if files.is_empty() {
        Vec::new()
    } else {
        client
            .query(
                "SELECT id::text AS id FROM source_events
                 WHERE file_ingestion_id = ANY($1) ORDER BY id",
                &[&files],
            )
            .await?
            .iter()
            .map(|r| get(r, "id"))
            .collect::<Result<_, _>>()?
    };
    Ok((ids, covers))
}

/// A mark PostgreSQL cannot parse is the caller's error, not a database fault.
fn invalid_mark(e: tokio_postgres::Error, since: &IngestMark) -> StoreError {
    let bad_text = e
        .as_db_error()
        .is_some_and(|d| d.code() == &tokio_postgres::error::SqlState::INVALID_TEXT_REPRESENTATION);
    if bad_text {
        StoreError::Invalid(format!("not an ingest mark: {:?}", since.as_str()))
    } else {
        e.into()
    }
}
