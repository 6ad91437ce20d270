//! The missed-duplicate queue: ambiguous pair decisions whose two source events sit
//! in different canonical groups. The matcher was unsure and kept them apart; a
//! reviewer merges the two groups or declares them different (cannot-link).
//!
//! Invariants: one entry per pair of groups (the strongest ambiguous pair between
//! them speaks for the others), strongest combined score first, ties by decision id;
//! a pair with a cannot-link constraint is never offered again.

use tokio_postgres::{GenericClient, Row};

use super::error::StoreError;
use super::events::get;

/// The strongest ambiguous cross-group decision per pair of groups.
const PAIRS: &str = "
    WITH crossing AS (
        SELECT d.id, d.combined_score,
               ma.canonical_event_id AS canonical_a, mb.canonical_event_id AS canonical_b,
               least(ma.canonical_event_id, mb.canonical_event_id) AS lo,
               greatest(ma.canonical_event_id, mb.canonical_event_id) AS hi
        FROM match_decisions d
        JOIN canonical_event_sources ma ON ma.source_event_id = d.source_event_id_a
        JOIN canonical_event_sources mb ON mb.source_event_id = d.source_event_id_b
        WHERE d.decision = 'ambiguous'
          AND ma.canonical_event_id <> mb.canonical_event_id
          AND NOT EXISTS (
              SELECT 1 FROM review_constraints r
              WHERE r.kind = 'cannot_link'
                AND r.event_id_a = d.source_event_id_a AND r.event_id_b = d.source_event_id_b)
    ), pairs AS (
        SELECT DISTINCT ON (lo, hi) id, combined_score, canonical_a, canonical_b
        FROM crossing ORDER BY lo, hi, combined_score DESC, id
    )";

/// One queue entry: the deciding pair's `match_decisions` row plus `canonical_a` /
/// `canonical_b`, the groups of `source_event_id_a` / `_b`.
pub async fn missed_duplicates(
    client: &impl GenericClient,
    limit: i64,
    offset: i64,
) -> Result<(i64, Vec<Row>), StoreError> {
    let total: i64 = get(
        &client
            .query_one(&format!("{PAIRS} SELECT count(*) AS n FROM pairs"), &[])
            .await?,
        "n",
    )?;
    let rows = client
        .query(
            &format!(
                "{PAIRS}
                 SELECT d.*, p.canonical_a, p.canonical_b FROM pairs p
                 JOIN match_decisions d ON d.id = p.id
                 ORDER BY p.combined_score DESC, p.id LIMIT $1 OFFSET $2"
            ),
            &[&limit, &offset],
        )
        .await?;
    Ok((total, rows))
}
