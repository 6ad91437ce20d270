//! The review actions of storage-and-api.md §6 as transactions: split, merge,
//! dismiss (a queue item) and dismiss (a missed-duplicate pair).
//!
//! Each action: one transaction under the canonical-state advisory lock, so a run
//! and a review never interleave; the canonical rows change at once through the one
//! canonical writer ([`super::canonical`]), so the UI sees the result without
//! waiting for a run; one audit row records operator, before and after; the
//! constraints the action means (`matching::constraints`) are written in bulk and
//! point at that audit row. The caller triggers a re-match after the commit.
//!
//! Refusals that depend on the stored state (a missing canonical or member) are
//! [`ActionError::NotFound`], with the message the API answers.

use serde_json::{json, Value};
use tokio_postgres::Transaction;

use super::canonical::{self, CanonicalWrite, Rewrite};
use super::error::StoreError;
use super::review::{self, AuditEntry};
use super::runs::lock_canonical_state;
use crate::matching::config::FieldStrategies;
use crate::matching::constraints::{merge_rules, pair_dismiss_rules, reviewed_set, split_rules};
use crate::matching::pipeline::{LOW_CONFIDENCE, REVIEWED_CONFIDENCE};
use crate::matching::synthesis::synthesize;
use crate::model::CanonicalEvent;

/// Why a review action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// A canonical or link the request names does not exist (nothing was written).
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<tokio_postgres::Error> for ActionError {
    fn from(e: tokio_postgres::Error) -> Self {
        ActionError::Store(e.into())
    }
}

/// A split request (§6.1), validated by the caller (the target differs from the
/// original).
#[derive(Debug, Clone)]
pub struct Split<'a> {
    pub canonical_id: i32,
    pub source_id: &'a str,
    pub target_id: Option<i32>,
    pub operator: &'a str,
}

/// What a split did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitOutcome {
    pub new_canonical_id: Option<i32>,
    pub original_deleted: bool,
}

/// Detaches a source from its canonical, into the target or a new canonical.
pub async fn split(
    client: &mut deadpool_postgres::Object,
    req: &Split<'_>,
    strategies: &FieldStrategies,
) -> Result<SplitOutcome, ActionError> {
    let (cid, sid) = (req.canonical_id, req.source_id);
    let guard = client.transaction().await?;
    let tx: &Transaction<'_> = &guard;
    lock_canonical_state(tx).await?;
    let before = canonical::members(tx, cid).await?;
    if !before.iter().any(|m| m == sid) {
        return Err(ActionError::NotFound(format!(
            "Source {sid} not linked to canonical {cid}"
        )));
    }
    let target_before = match req.target_id {
        Some(tid) => {
            if !canonical::lock_canonical(tx, tid).await? {
                return Err(ActionError::NotFound(format!(
                    "Target canonical {tid} not found"
                )));
            }
            Some(canonical::members(tx, tid).await?)
        }
        None => None,
    };
    canonical::unlink_source(tx, cid, sid).await?;
    let remaining: Vec<String> = before.iter().filter(|m| *m != sid).cloned().collect();
    let original_deleted = remaining.is_empty();
    let mut writes = Vec::new();
    if original_deleted {
        canonical::delete_canonicals(tx, &[cid]).await?;
    } else {
        writes.push(resynthesized(tx, cid, &remaining, strategies, false).await?);
    }
    let moved = [sid.to_string()];
    let new_canonical_id = match (req.target_id, &target_before) {
        (Some(tid), Some(target_members)) => {
            let mut after = target_members.clone();
            if !after.iter().any(|m| m == sid) {
                after.push(sid.to_string());
                after.sort();
            }
            writes.push(resynthesized(tx, tid, &after, strategies, false).await?);
            None
        }
        _ => {
            let id = canonical::allocate_ids(tx, 1)
                .await?
                .pop()
                .ok_or_else(|| StoreError::Decode("sequence returned no id".into()))?;
            writes.push(resynthesized(tx, id, &moved, strategies, true).await?);
            Some(id)
        }
    };
    canonical::write_canonicals(tx, writes, Rewrite::Review).await?;
    let linked_to = new_canonical_id.or(req.target_id).unwrap_or(cid);
    canonical::link_sources(tx, &[linked_to], &moved).await?;

    let audit_canonical = if original_deleted {
        new_canonical_id.or(req.target_id)
    } else {
        Some(cid)
    };
    let mut details = json!({
        "target_canonical_id": req.target_id,
        "original_deleted": original_deleted,
        "before": {"members": before, "target_members": target_before},
        "after": {"original_members": remaining},
    });
    if let Some(id) = new_canonical_id {
        details["new_canonical_id"] = json!(id);
    }
    let audit_id = audit(
        tx,
        "split",
        audit_canonical,
        Some(sid),
        req.operator,
        &details,
    )
    .await?;
    let rules = split_rules(sid, &remaining, target_before.as_deref());
    review::write_pair_rules(tx, &rules, req.operator, audit_id).await?;
    guard.commit().await?;
    Ok(SplitOutcome {
        new_canonical_id,
        original_deleted,
    })
}

/// Moves every member of `donor` into `target` (§6.2); returns the target's new
/// member count.
pub async fn merge(
    client: &mut deadpool_postgres::Object,
    donor: i32,
    target: i32,
    operator: &str,
    strategies: &FieldStrategies,
) -> Result<usize, ActionError> {
    let guard = client.transaction().await?;
    let tx: &Transaction<'_> = &guard;
    lock_canonical_state(tx).await?;
    lock_existing(tx, donor, "Source canonical").await?;
    lock_existing(tx, target, "Target canonical").await?;
    let donor_members = canonical::members(tx, donor).await?;
    let target_members = canonical::members(tx, target).await?;
    // Links are unique per source: remove the donor's before re-linking to the target.
    canonical::delete_canonicals(tx, &[donor]).await?;
    let targets = vec![target; donor_members.len()];
    let moved = canonical::link_sources(tx, &targets, &donor_members).await?;
    let after = canonical::members(tx, target).await?;
    let write = resynthesized(tx, target, &after, strategies, false).await?;
    canonical::write_canonicals(tx, [write], Rewrite::Review).await?;
    let details = json!({
        "deleted_canonical_id": donor,
        "sources_moved": moved,
        "new_source_count": after.len(),
        "before": {"source_members": donor_members, "target_members": target_members},
        "after": {"members": after},
    });
    let audit_id = audit(tx, "merge", Some(target), None, operator, &details).await?;
    let rules = merge_rules(&donor_members, &target_members);
    review::write_pair_rules(tx, &rules, operator, audit_id).await?;
    guard.commit().await?;
    Ok(after.len())
}

/// Takes a group out of the review queue (§6.3): clears its flag, lifts a low
/// confidence to [`REVIEWED_CONFIDENCE`] and marks its member set reviewed.
pub async fn dismiss(
    client: &mut deadpool_postgres::Object,
    id: i32,
    reason: Option<&str>,
    operator: &str,
) -> Result<(), ActionError> {
    let guard = client.transaction().await?;
    let tx: &Transaction<'_> = &guard;
    lock_canonical_state(tx).await?;
    let Some(state) = canonical::lock_review_state(tx, id).await? else {
        return Err(ActionError::NotFound("Canonical event not found".into()));
    };
    let original = state.match_confidence;
    let member_ids = canonical::members(tx, id).await?;
    let new_confidence = match original {
        Some(c) if c < LOW_CONFIDENCE => Some(REVIEWED_CONFIDENCE),
        other => other,
    };
    canonical::mark_reviewed(tx, id, new_confidence).await?;
    let details: Value = json!({
        "reason": reason,
        "original_confidence": original,
        "before": {"needs_review": state.needs_review, "match_confidence": original},
        "after": {"needs_review": false, "match_confidence": new_confidence},
        "members": member_ids,
    });
    let audit_id = audit(tx, "review_dismiss", Some(id), None, operator, &details).await?;
    if let Some(set) = reviewed_set(&member_ids) {
        review::write_reviewed_set(tx, &set, operator, audit_id).await?;
    }
    guard.commit().await?;
    Ok(())
}

/// Declares two groups different events: cannot-links between every member of one
/// and every member of the other (the caller refuses `a == b`).
pub async fn dismiss_pair(
    client: &mut deadpool_postgres::Object,
    a: i32,
    b: i32,
    reason: Option<&str>,
    operator: &str,
) -> Result<(), ActionError> {
    let guard = client.transaction().await?;
    let tx: &Transaction<'_> = &guard;
    lock_canonical_state(tx).await?;
    for id in [a, b] {
        lock_existing(tx, id, "Canonical event").await?;
    }
    let members_a = canonical::members(tx, a).await?;
    let members_b = canonical::members(tx, b).await?;
    let details = json!({
        "other_canonical_id": b,
        "reason": reason,
        "members_a": members_a,
        "members_b": members_b,
    });
    let audit_id = audit(tx, "pair_dismiss", Some(a), None, operator, &details).await?;
    let rules = pair_dismiss_rules(&members_a, &members_b);
    review::write_pair_rules(tx, &rules, operator, audit_id).await?;
    guard.commit().await?;
    Ok(())
}

/// The canonical `id` re-synthesized over `members` from the stored source events,
/// as a review leaves it.
/// Locks canonical `id` for the action, or answers that `what {id}` does not exist.
async fn lock_existing(tx: &Transaction<'_>, id: i32, what: &str) -> Result<(), ActionError> {
    if canonical::lock_canonical(tx, id).await? {
        Ok(())
    } else {
        Err(ActionError::NotFound(format!("{what} {id} not found")))
    }
}

async fn resynthesized(
    tx: &Transaction<'_>,
    id: i32,
    members: &[String],
    strategies: &FieldStrategies,
    is_new: bool,
) -> Result<CanonicalWrite<'static>, StoreError> {
    let events = super::events::load_events_by_ids(tx, members).await?;
    if events.is_empty() {
        return Err(StoreError::Decode(
            "members of a canonical are missing".into(),
        ));
    }
    let refs: Vec<_> = events.iter().collect();
    let mut event: CanonicalEvent = synthesize(&refs, strategies);
    event.source_count = members.len();
    Ok(CanonicalWrite::reviewed(id, event, is_new))
}

async fn audit(
    tx: &Transaction<'_>,
    action_type: &str,
    canonical_event_id: Option<i32>,
    source_event_id: Option<&str>,
    operator: &str,
    details: &Value,
) -> Result<i64, StoreError> {
    review::insert_audit(
        tx,
        &AuditEntry {
            action_type,
            canonical_event_id,
            source_event_id,
            operator,
            details,
        },
    )
    .await
}
