//! Which committed files (and review actions) no completed matching run covers yet:
//! the matcher asks at start-up, so files stored before a crash or during an outage
//! are matched without waiting for the next drop, and a review whose re-match a crash
//! cut off is matched in full.
//!
//! It also tells what the stored catalogue was matched with ([`last_fingerprint`]):
//! a catalogue matched under another config, word lists or model is stale.
//!
//! Invariant: a run covers every file committed before it started, so "a completed
//! file newer than the start of the last completed run" is exactly "uncovered".

use tokio_postgres::GenericClient;

use super::error::StoreError;

/// True when a completed file arrived, or a reviewer acted (an audit row), after the
/// start of the last completed run (or events exist but no run ever completed): the
/// stored catalogue is then not the matching of what is stored.
pub async fn needs_catch_up(client: &impl GenericClient) -> Result<bool, StoreError> {
    let row = client
        .query_one(
            "WITH last AS (
                 SELECT COALESCE(max(started_at), '-infinity'::timestamptz) AS t
                 FROM processing_runs WHERE status = 'completed')
             SELECT EXISTS (
                 SELECT 1 FROM file_ingestions f, last
                 WHERE f.status = 'completed' AND f.ingested_at > last.t)
                 OR EXISTS (SELECT 1 FROM audit_log a, last WHERE a.created_at > last.t)",
            &[],
        )
        .await?;
    row.try_get(0)
        .map_err(|e| StoreError::Decode(format!("catch-up check: {e}")))
}

/// What the stored catalogue was matched with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredFingerprint {
    /// No run ever completed.
    NoRun,
    /// The last completed run's fingerprint (`None`: written by an older binary).
    Last(Option<String>),
}

/// The matching fingerprint of the last completed run.
pub async fn last_fingerprint(
    client: &impl GenericClient,
) -> Result<StoredFingerprint, StoreError> {
    let row = client
        .query_opt(
            "SELECT matching_fingerprint FROM processing_runs
             WHERE status = 'completed' ORDER BY started_at DESC, id DESC LIMIT 1",
            &[],
        )
        .await?;
    match row {
        None => Ok(StoredFingerprint::NoRun),
        Some(row) => row
            .try_get(0)
            .map(StoredFingerprint::Last)
            .map_err(|e| StoreError::Decode(format!("matching fingerprint: {e}"))),
    }
}
