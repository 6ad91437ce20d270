//! Persisting an incremental run: the [`Diff`] of one [`MatchState::apply`] plus its
//! run row, in one transaction, touching only what the diff names.
//!
//! Invariants:
//! * Same result as [`super::persist_run`] of the equivalent full run: canonical ids
//!   follow the same stable-id rule ([`runs::plan`], greatest member overlap), applied
//!   to the stored canonicals that hold a member of a created, updated or removed
//!   group. Those are exactly the canonicals the full run's plan could change: a group
//!   outside the diff has the member set of one stored canonical, which therefore
//!   shares no member with any group in the diff. Ties between equal overlaps go to
//!   the group with the smallest member id, in both paths, so the same group gets
//!   the id.
//! * Canonical rows and source links are written through [`super::canonical`] by the
//!   same code as a full run (bulk, members that stay keep their links); decisions
//!   through [`decisions::write_decision_diff`] (bulk, unchanged content keeps its row).
//! * Unchanged groups and decisions are neither read nor written.
//! * The transaction takes the canonical-state lock first, like a full run and the
//!   review actions.
//!
//! [`MatchState::apply`]: crate::matching::incremental::MatchState::apply

use tokio_postgres::Client;

use super::bulk_keys::KeyCheck;
use super::decisions;
use super::error::StoreError;
use super::runs::{
    self, finish_run_row, insert_run_row, lock_canonical_state, write_planned, PersistSummary,
    RunFigures, RunInfo,
};
use crate::matching::incremental::{Diff, GroupOut};
use crate::model::PairDecision;

/// Persists `diff` with its run row in one transaction (see the module invariants).
/// `PersistSummary::canonical_ids` follows the diff's created and updated groups in
/// member-id order; `removed` counts stored canonicals deleted.
pub async fn persist_diff(
    client: &mut Client,
    diff: &Diff,
    figures: &RunFigures,
    run: &RunInfo,
) -> Result<PersistSummary, StoreError> {
    let mut groups: Vec<&GroupOut> = diff
        .groups_created
        .iter()
        .chain(&diff.groups_updated)
        .collect();
    groups.sort_by(|x, y| x.members.cmp(&y.members));
    let members: Vec<Vec<&str>> = groups
        .iter()
        .map(|g| g.members.iter().map(String::as_str).collect())
        .collect();
    let hashes: Vec<String> = groups.iter().map(|g| g.content_hash.clone()).collect();
    let named: Vec<&str> = members
        .iter()
        .flatten()
        .copied()
        .chain(diff.groups_removed.iter().flatten().map(String::as_str))
        .collect();

    let tx = client.transaction().await?;
    lock_canonical_state(&tx).await?;
    let stored = runs::load_stored_holding(&tx, &named).await?;
    let (plans, removed) = runs::plan(&members, &hashes, &stored);

    let run_row_id = insert_run_row(&tx, figures, run).await?;
    let mut keys = KeyCheck::new();
    let written = write_planned(&tx, &mut keys, &plans, &removed, &members, &hashes, |i| {
        groups[i].canonical.clone()
    })
    .await?;
    let upserts: Vec<PairDecision> = diff
        .decisions_added
        .iter()
        .chain(&diff.decisions_changed)
        .cloned()
        .collect();
    let decisions_written =
        decisions::write_decision_diff(&tx, &upserts, &diff.decisions_removed, run_row_id).await?;

    let summary = written.summary(run_row_id, removed.len(), decisions_written, &keys);
    keys.verify(&tx).await?;
    finish_run_row(&tx, &summary).await?;
    tx.commit().await?;
    Ok(summary)
}
