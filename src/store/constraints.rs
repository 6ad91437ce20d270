//! Review constraints: reading the reviewers' stored decisions for a run, and the
//! primitive writes the review endpoints build on.
//!
//! A pair constraint is stored once, with its ids in code-point order
//! (`event_id_a < event_id_b`, enforced by a CHECK on `COLLATE "C"` columns); a
//! reviewed set stores its sorted member ids as a JSON array. Callers that write
//! constraints as part of a review action hold the canonical-state advisory lock
//! (`runs::lock_canonical_state`) in the same transaction.

use tokio_postgres::types::Json;
use tokio_postgres::GenericClient;

use super::error::StoreError;
use super::events::get;
use crate::matching::constraints::ReviewConstraints;

/// Kind of a pair constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairConstraint {
    MustLink,
    CannotLink,
}

impl PairConstraint {
    pub fn as_str(self) -> &'static str {
        match self {
            PairConstraint::MustLink => "must_link",
            PairConstraint::CannotLink => "cannot_link",
        }
    }
}

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
