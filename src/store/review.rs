//! Review records: the constraints reviewers' decisions leave for every later run,
//! the audit log, and the reads of the review queue and the audit page.
//!
//! A review action writes its audit row first ([`insert_audit`]) and then its
//! constraints in bulk ([`write_pair_rules`], [`write_reviewed_set`]), each carrying the
//! audit row's id: one statement per kind of write, never a round trip per pair.
//! What the constraints of an action are is decided by the pure functions of
//! `matching::constraints`; this module only stores them.
//!
//! A pair constraint is stored once, with its ids in code-point order
//! (`event_id_a < event_id_b`, enforced by a CHECK on `COLLATE "C"` columns); a
//! reviewed set stores its sorted member ids as a JSON array. Callers that write
//! constraints as part of a review action hold the canonical-state advisory lock
//! (`runs::lock_canonical_state`) in the same transaction.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::{GenericClient, Row};

use super::error::StoreError;
use super::events::get;
use crate::matching::constraints::{PairRule, ReviewConstraints};

pub use crate::matching::constraints::PairConstraint;

/// Every stored constraint, in insertion order.
pub async fn load_constraints(
    client: &impl GenericClient,
) -> Result<ReviewConstraints, StoreError> {
    let rows = client
        .query(
            "SELECT kind, event_id_a, event_id_b, member_ids
             FROM review_constraints ORDER BY id",
            &[],
        )
        .await?;
    let mut out = ReviewConstraints::default();
    for row in &rows {
        let kind: &str = get(row, "kind")?;
        let pair = || -> Result<(String, String), StoreError> {
            Ok((get(row, "event_id_a")?, get(row, "event_id_b")?))
        };
        match kind {
            "must_link" => out.must_link.push(pair()?),
            "cannot_link" => out.cannot_link.push(pair()?),
            "reviewed" => {
                let Json(mut members): Json<Vec<String>> = get(row, "member_ids")?;
                members.sort();
                out.reviewed.push(members);
            }
            other => {
                return Err(StoreError::Decode(format!(
                    "unknown review constraint kind {other:?}"
                )))
            }
        }
    }
    Ok(out)
}

/// Stores a pair constraint (ids in any order) unless the same one exists.
pub async fn add_pair_constraint(
    client: &impl GenericClient,
    kind: PairConstraint,
    x: &str,
    y: &str,
    created_by: &str,
) -> Result<(), StoreError> {
    if x == y {
        return Err(StoreError::Invalid(format!(
            "a constraint needs two different events, got {x:?} twice"
        )));
    }
    let (a, b) = if x < y { (x, y) } else { (y, x) };
    client
        .execute(
            "INSERT INTO review_constraints (kind, event_id_a, event_id_b, created_by)
             SELECT $1, $2, $3, $4
             WHERE NOT EXISTS (SELECT 1 FROM review_constraints
                               WHERE kind = $1 AND event_id_a = $2 AND event_id_b = $3)",
            &[&kind.as_str(), &a, &b, &created_by],
        )
        .await?;
    Ok(())
}

/// Stores a "reviewed" marker for a member set (sorted before storing).
pub async fn add_reviewed_set(
    client: &impl GenericClient,
    members: &[String],
    created_by: &str,
) -> Result<(), StoreError> {
    let mut sorted = members.to_vec();
    sorted.sort();
    sorted.dedup();
    client
        .execute(
            "INSERT INTO review_constraints (kind, member_ids, created_by)
             VALUES ('reviewed', $1, $2)",
            &[&Json(&sorted), &created_by],
        )
        .await?;
    Ok(())
}

/// Stores `rules` in one statement each for removal and insertion: first the
/// opposite constraint on each pair goes (the newer decision wins), then each rule is
/// inserted unless the same one exists, in the given order, linked to `audit_id`.
pub async fn write_pair_rules(
    client: &impl GenericClient,
    rules: &[PairRule],
    created_by: &str,
    audit_id: i64,
) -> Result<(), StoreError> {
    if rules.is_empty() {
        return Ok(());
    }
    let kinds: Vec<&str> = rules.iter().map(|r| r.kind.as_str()).collect();
    let opposites: Vec<&str> = rules.iter().map(|r| r.kind.opposite().as_str()).collect();
    let ids_a: Vec<&str> = rules.iter().map(|r| r.a.as_str()).collect();
    let ids_b: Vec<&str> = rules.iter().map(|r| r.b.as_str()).collect();
    client
        .execute(
            "DELETE FROM review_constraints r
             USING unnest($1::text[], $2::text[], $3::text[]) AS n(kind, a, b)
             WHERE r.kind = n.kind AND r.event_id_a = n.a AND r.event_id_b = n.b",
            &[&opposites, &ids_a, &ids_b],
        )
        .await?;
    client
        .execute(
            "INSERT INTO review_constraints (kind, event_id_a, event_id_b, created_by, audit_log_id)
             SELECT n.kind, n.a, n.b, $4, $5
             FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS n(kind, a, b, ord)
             WHERE NOT EXISTS (SELECT 1 FROM review_constraints r
                               WHERE r.kind = n.kind AND r.event_id_a = n.a
                                 AND r.event_id_b = n.b)
             ORDER BY n.ord",
            &[&kinds, &ids_a, &ids_b, &created_by, &audit_id],
        )
        .await?;
    Ok(())
}

/// Stores a "reviewed" marker for an already sorted member set, linked to `audit_id`.
pub async fn write_reviewed_set(
    client: &impl GenericClient,
    members: &[String],
    created_by: &str,
    audit_id: i64,
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO review_constraints (kind, member_ids, created_by, audit_log_id)
             VALUES ('reviewed', $1, $2, $3)",
            &[&Json(members), &created_by, &audit_id],
        )
        .await?;
    Ok(())
}

/// One audit row to write: the action, what it touched, who, and before/after.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub action_type: &'a str,
    pub canonical_event_id: Option<i32>,
    pub source_event_id: Option<&'a str>,
    pub operator: &'a str,
    pub details: &'a Value,
}

/// Inserts an audit row and returns its id. Callers write it inside the transaction
/// of the action it records, so the row exists exactly when the action committed.
pub async fn insert_audit(
    client: &impl GenericClient,
    entry: &AuditEntry<'_>,
) -> Result<i64, StoreError> {
    let row = client
        .query_one(
            "INSERT INTO audit_log (action_type, canonical_event_id, source_event_id, operator, details)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                &entry.action_type,
                &entry.canonical_event_id,
                &entry.source_event_id,
                &entry.operator,
                entry.details,
            ],
        )
        .await?;
    get(&row, "id")
}

/// A stored audit row.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    pub id: i64,
    pub action_type: String,
    pub canonical_event_id: Option<i32>,
    pub source_event_id: Option<String>,
    pub operator: String,
    pub details: Option<Value>,
    pub created_at: DateTime<Utc>,
}

/// One page of audit rows (newest first) with the total, optionally filtered by
/// canonical and action type.
pub async fn audit_page(
    client: &impl GenericClient,
    canonical_event_id: Option<i32>,
    action_type: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(i64, Vec<AuditRow>), StoreError> {
    let filter = "WHERE ($1::int4 IS NULL OR canonical_event_id = $1)
                    AND ($2::text IS NULL OR action_type = $2)";
    let (total, rows) = counted_page(
        client,
        "*",
        &format!("FROM audit_log {filter}"),
        "ORDER BY created_at DESC, id DESC",
        &[&canonical_event_id, &action_type, &limit, &offset],
    )
    .await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(AuditRow {
                id: get(r, "id")?,
                action_type: get(r, "action_type")?,
                canonical_event_id: get(r, "canonical_event_id")?,
                source_event_id: get(r, "source_event_id")?,
                operator: get(r, "operator")?,
                details: get(r, "details")?,
                created_at: get(r, "created_at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((total, items))
}

/// One page of the review queue ([`super::catalogue::SUMMARY_COLUMNS`] rows) and its
/// total: flagged groups, and multi-source groups whose confidence is below
/// `low_confidence`, with at least `min_sources` members; flagged first, then the
/// least confident.
pub async fn review_queue(
    client: &impl GenericClient,
    low_confidence: f64,
    min_sources: i32,
    limit: i64,
    offset: i64,
) -> Result<(i64, Vec<Row>), StoreError> {
    use super::catalogue::SUMMARY_COLUMNS;
    let filter = "WHERE (c.needs_review OR (c.match_confidence IS NOT NULL
                         AND c.match_confidence < $1 AND c.source_count > 1))
                    AND c.source_count >= $2";
    counted_page(
        client,
        SUMMARY_COLUMNS,
        &format!("FROM canonical_events c {filter}"),
        "ORDER BY c.needs_review DESC, coalesce(c.match_confidence, 0) ASC, c.id ASC",
        &[&low_confidence, &min_sources, &limit, &offset],
    )
    .await
}

/// One page of `SELECT columns from_where order` and the total row count of
/// `from_where`. `params` are the filter's parameters followed by the limit and the
/// offset (the last two placeholders); the count binds the filter's only.
async fn counted_page(
    client: &impl GenericClient,
    columns: &str,
    from_where: &str,
    order: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<(i64, Vec<Row>), StoreError> {
    let n = params.len();
    let filter_params = params.get(..n.saturating_sub(2)).unwrap_or_default();
    let total: i64 = get(
        &client
            .query_one(
                &format!("SELECT count(*) AS total {from_where}"),
                filter_params,
            )
            .await?,
        "total",
    )?;
    let rows = client
        .query(
            &format!(
                "SELECT {columns} {from_where} {order} LIMIT ${} OFFSET ${n}",
                n.saturating_sub(1)
            ),
            params,
        )
        .await?;
    Ok((total, rows))
}
