//! Persisting a matching run: canonical events by diff, membership, pair decisions
//! and the run's history row, all in one transaction.
//!
//! Invariants:
//! * Canonical ids are stable. Each new cluster is matched to the stored canonical
//!   with the greatest member overlap (greedy over all (cluster, canonical) pairs by
//!   overlap, ties to the smallest stored id, then the earliest cluster; each stored
//!   canonical used at most once). A matched cluster keeps that id.
//! * A matched cluster whose content hash (synthesized fields and member ids) equals
//!   the stored one is not touched at all; a changed one is updated in place
//!   (`version + 1`, `updated_at = now()`, `created_at` kept); unmatched clusters are
//!   inserted; unmatched stored canonicals are deleted (their links cascade).
//! * Membership rows are rewritten only for changed clusters, and even there a
//!   member that stays keeps its row (and `added_at`). New clusters (fresh ids) and
//!   their links are copied straight into their tables after removed canonicals are
//!   deleted and changed ones pruned, so no member is linked twice.
//! * `match_decisions` always equals the last run's candidate pairs, written by diff:
//!   the run's decisions are bulk-copied into an unlogged temporary table, rows whose
//!   content changed or whose pair vanished are deleted, and changed or new pairs
//!   inserted. An unchanged decision keeps its row (its `processing_run_id` and
//!   `decided_at` are those of the run that last changed it), so a small file dropped
//!   onto a large catalogue rewrites only the decisions it touches (PERFORMANCE.md:
//!   diff ≈ 85× cheaper than clear-and-replace).
//! * Anything else that edits a canonical or its membership (review actions) must
//!   reset `content_hash` to `''` so the next run rewrites the row; membership is
//!   also compared directly, as a guard.
//! * The transaction first takes `pg_advisory_xact_lock(CANONICAL_LOCK_KEY)`; review
//!   writes take the same lock ([`lock_canonical_state`]), so a run and a review
//!   action never interleave.
//! * The plan ([`plan`]) and the writer of planned canonicals ([`write_planned`]) are
//!   shared with [`super::incremental`], which runs them on the canonicals an
//!   incremental diff names instead of all of them.
//! * Foreign keys of the large copies (new links, decisions into an empty table) may
//!   be checked in bulk ([`super::bulk_keys`]); the check runs before the commit.
//! * The run row's `finished_at` is stamped by the last statement before the commit
//!   (database clock), and `duration_ms` is `finished_at - started_at`, so the row
//!   agrees with itself and with the `run_completed` log record.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::{Client, GenericClient, Transaction};
use uuid::Uuid;

use super::bulk_keys::{KeyCheck, References};
use super::canonical::{self, CanonicalWrite, Rewrite};
use super::decisions;
use super::error::StoreError;
use super::events::get;
use crate::matching::pipeline::PipelineResult;
use crate::model::{CanonicalEvent, Trigger, UsageSummary};

/// Opens the read-only, repeatable-read transaction a matching run reads its input
/// in (config, events with their dates, review constraints): files keep committing
/// while a run loads, and reading events from one state but their dates from a later
/// one made runs fail ("date row for unknown event"). The snapshot is fixed by the
/// transaction's first statement.
pub async fn begin_run_snapshot(
    client: &mut deadpool_postgres::Object,
) -> Result<deadpool_postgres::Transaction<'_>, StoreError> {
    Ok(client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?)
}

/// Advisory lock key serializing run persistence and review writes
/// (ASCII "evdedup").
pub const CANONICAL_LOCK_KEY: i64 = 0x0065_7664_6564_7570;

/// Facts about a run that the pipeline result does not carry.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub run_id: Uuid,
    pub started_at: DateTime<Utc>,
    /// What started the run (stored as its text, see [`Trigger`]).
    pub trigger: Trigger,
    /// Completed files the run covers (for the dashboard).
    pub files_covered: i32,
    /// The LLM tie-breaker's figures, when it ran (stored in `processing_runs.ai_usage`).
    pub ai_usage: Option<UsageSummary>,
    /// What the run matched with (`matching::fingerprint`), when known.
    pub matching_fingerprint: Option<String>,
}

impl RunInfo {
    pub fn new(trigger: Trigger, files_covered: i32) -> Self {
        RunInfo {
            run_id: Uuid::new_v4(),
            started_at: Utc::now(),
            trigger,
            files_covered,
            ai_usage: None,
            matching_fingerprint: None,
        }
    }
}

/// What persisting a run changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersistSummary {
    pub processing_run_id: i64,
    /// Canonical id of each cluster, in `result.canonical_events` order.
    pub canonical_ids: Vec<i32>,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub removed: usize,
    pub decisions_written: u64,
    /// Rows copied with their foreign keys checked in bulk ([`super::bulk_keys`]);
    /// 0 when every key was checked per row.
    pub bulk_checked_rows: usize,
}

/// Takes the transaction-level lock that serializes review writes and run
/// persistence; released at commit or rollback.
pub async fn lock_canonical_state(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CANONICAL_LOCK_KEY])
        .await?;
    Ok(())
}

/// How one new cluster relates to the stored state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Plan {
    Unchanged(i32),
    Changed(i32),
    New,
}

/// Persists `result` in one transaction (see the module invariants).
pub async fn persist_run(
    client: &mut Client,
    result: &PipelineResult,
    run: &RunInfo,
) -> Result<PersistSummary, StoreError> {
    let tx = client.transaction().await?;
    lock_canonical_state(&tx).await?;

    let stored = load_stored(&tx).await?;
    // The pipeline hashed every canonical's JSON while synthesizing it, so unchanged
    // clusters are recognised without materializing them.
    let hashes: Vec<String> = (0..result.canonical_count())
        .map(|i| result.content_hash(i))
        .collect();
    let members: Vec<Vec<&str>> = (0..result.canonical_count())
        .map(|i| result.member_ids(i).collect())
        .collect();
    let (plans, removed) = plan(&members, &hashes, &stored);

    let run_row_id = insert_run_row(&tx, &RunFigures::of_result(result)?, run).await?;
    let mut keys = KeyCheck::new();
    let written = write_planned(&tx, &mut keys, &plans, &removed, &members, &hashes, |i| {
        result.canonical(i)
    })
    .await?;

    let decisions_written = decisions::write_decisions(&tx, &mut keys, result, run_row_id).await?;
    let summary = written.summary(run_row_id, removed.len(), decisions_written, &keys);
    keys.verify(&tx).await?;
    finish_run_row(&tx, &summary).await?;
    tx.commit().await?;
    Ok(summary)
}

/// What [`write_planned`] did: the id of every planned cluster and how they split.
pub(super) struct Written {
    canonical_ids: Vec<i32>,
    created: usize,
    updated: usize,
    unchanged: usize,
}

impl Written {
    pub(super) fn summary(
        self,
        processing_run_id: i64,
        removed: usize,
        decisions_written: u64,
        keys: &KeyCheck,
    ) -> PersistSummary {
        PersistSummary {
            processing_run_id,
            canonical_ids: self.canonical_ids,
            created: self.created,
            updated: self.updated,
            unchanged: self.unchanged,
            removed,
            decisions_written,
            bulk_checked_rows: keys.bulk_rows(),
        }
    }
}

/// Carries out the [`plan`] of a run or of an incremental diff: deletes the
/// `removed` canonicals, updates changed clusters in place, inserts new ones with
/// ids drawn up front, and rewrites membership only for those (a member that stays
/// keeps its row). `canonical(i)` synthesizes cluster `i` when it is written, so a
/// large run never holds them all. New links may be key-checked in bulk (`keys`);
/// the caller verifies them before its commit.
pub(super) async fn write_planned(
    tx: &Transaction<'_>,
    keys: &mut KeyCheck,
    plans: &[Plan],
    removed: &[i32],
    members: &[Vec<&str>],
    hashes: &[String],
    canonical: impl Fn(usize) -> CanonicalEvent,
) -> Result<Written, StoreError> {
    let new_count = plans.iter().filter(|p| matches!(p, Plan::New)).count();
    let mut fresh_ids = canonical::allocate_ids(tx, new_count).await?.into_iter();
    let mut canonical_ids = Vec::with_capacity(plans.len());
    let (mut changed, mut created, mut unchanged) = (Vec::new(), Vec::new(), 0usize);
    for (i, p) in plans.iter().enumerate() {
        let id = match p {
            Plan::Unchanged(id) => {
                unchanged += 1;
                *id
            }
            Plan::Changed(id) => {
                changed.push(i);
                *id
            }
            Plan::New => {
                created.push(i);
                fresh_ids
                    .next()
                    .ok_or_else(|| StoreError::Decode("sequence returned too few ids".into()))?
            }
        };
        canonical_ids.push(id);
    }

    // Members leave removed and changed canonicals before any link is written: a
    // source belongs to one canonical, and new links are copied without a conflict
    // check.
    canonical::delete_canonicals(tx, removed).await?;
    let row = |i: usize, is_new: bool| CanonicalWrite {
        id: canonical_ids[i],
        event: canonical(i),
        content_hash: &hashes[i],
        is_new,
    };
    if !changed.is_empty() {
        let (cids, sids) = membership(members, &canonical_ids, &changed);
        let changed_ids: Vec<i32> = changed.iter().map(|&i| canonical_ids[i]).collect();
        canonical::prune_links(tx, &changed_ids, &cids, &sids).await?;
        let rows = changed.iter().copied().map(|i| row(i, false));
        canonical::write_canonicals(tx, rows, Rewrite::Run).await?;
        canonical::link_sources(tx, &cids, &sids).await?;
    }
    if !created.is_empty() {
        let (cids, sids) = membership(members, &canonical_ids, &created);
        let rows = created.iter().copied().map(|i| row(i, true));
        canonical::copy_new_canonicals(tx, rows).await?;
        let refs = |r: &mut References| {
            r.stored_sources(sids.iter().map(String::as_str))
                .own_canonicals(&cids);
        };
        let copy = canonical::copy_new_links(tx, &cids, &sids);
        keys.copy(tx, sids.len(), refs, copy).await?;
    }
    Ok(Written {
        canonical_ids,
        created: created.len(),
        updated: changed.len(),
        unchanged,
    })
}

/// Records a run whose pipeline or persistence failed (own statement, outside the
/// rolled-back transaction), so the dashboard shows the failure.
pub async fn record_failed_run(
    client: &impl GenericClient,
    run: &RunInfo,
    error: &str,
) -> Result<(), StoreError> {
    let duration_ms = (Utc::now() - run.started_at).num_milliseconds();
    client
        .execute(
            "INSERT INTO processing_runs
                 (run_id, started_at, finished_at, status, trigger, files_covered,
                  duration_ms, error)
             VALUES ($1, $2, now(), 'failed', $3, $4, $5, $6)
             ON CONFLICT (run_id) DO UPDATE SET status = 'failed', error = EXCLUDED.error,
                 finished_at = now(), duration_ms = EXCLUDED.duration_ms",
            &[
                &run.run_id,
                &run.started_at,
                &run.trigger.as_str(),
                &run.files_covered,
                &duration_ms,
                &error,
            ],
        )
        .await?;
    Ok(())
}

/// The most recent `limit` run rows, newest first (the dashboard's run list).
pub async fn recent_runs(
    client: &impl GenericClient,
    limit: i64,
) -> Result<Vec<tokio_postgres::Row>, StoreError> {
    Ok(client
        .query(
            "SELECT * FROM processing_runs ORDER BY started_at DESC, id DESC LIMIT $1",
            &[&limit],
        )
        .await?)
}

/// Stored canonicals: content hash and member ids per id, and the owning canonical
/// per source id.
pub(super) struct Stored {
    hash: HashMap<i32, String>,
    owner: HashMap<String, i32>,
    /// Sorted member ids per canonical (loaded in id order).
    members: HashMap<i32, Vec<String>>,
}

async fn load_stored(tx: &Transaction<'_>) -> Result<Stored, StoreError> {
    let canonicals = tx
        .query("SELECT id, content_hash FROM canonical_events", &[])
        .await?;
    let links = tx
        .query(
            "SELECT canonical_event_id, source_event_id FROM canonical_event_sources
             ORDER BY source_event_id",
            &[],
        )
        .await?;
    stored_from_rows(&canonicals, &links)
}

/// [`Stored`] restricted to the canonicals that hold any of `sources` (all their
/// members, not only those named): what an incremental diff can touch. A canonical
/// holding none of them is neither read nor written.
pub(super) async fn load_stored_holding(
    tx: &Transaction<'_>,
    sources: &[&str],
) -> Result<Stored, StoreError> {
    let canonicals = tx
        .query(
            "SELECT c.id, c.content_hash FROM canonical_events c
             WHERE c.id IN (SELECT canonical_event_id FROM canonical_event_sources
                            WHERE source_event_id = ANY($1::text[]))",
            &[&sources],
        )
        .await?;
    let ids = canonicals
        .iter()
        .map(|r| get::<i32>(r, "id"))
        .collect::<Result<Vec<_>, _>>()?;
    let links = tx
        .query(
            "SELECT canonical_event_id, source_event_id FROM canonical_event_sources
             WHERE canonical_event_id = ANY($1) ORDER BY source_event_id",
            &[&ids],
        )
        .await?;
    stored_from_rows(&canonicals, &links)
}

fn stored_from_rows(
    canonicals: &[tokio_postgres::Row],
    links: &[tokio_postgres::Row],
) -> Result<Stored, StoreError> {
    let mut stored = Stored {
        hash: HashMap::new(),
        owner: HashMap::new(),
        members: HashMap::new(),
    };
    for row in canonicals {
        stored
            .hash
            .insert(get(row, "id")?, get(row, "content_hash")?);
    }
    for row in links {
        let source: String = get(row, "source_event_id")?;
        let canonical: i32 = get(row, "canonical_event_id")?;
        stored
            .members
            .entry(canonical)
            .or_default()
            .push(source.clone());
        stored.owner.insert(source, canonical);
    }
    Ok(stored)
}

/// Matches new clusters to stored canonicals; returns one plan per cluster and the
/// stored ids left without a cluster (sorted).
pub(super) fn plan(
    members: &[Vec<&str>],
    hashes: &[String],
    stored: &Stored,
) -> (Vec<Plan>, Vec<i32>) {
    // (overlap, stored id, cluster index) for every pair sharing a member.
    let mut candidates: Vec<(usize, i32, usize)> = Vec::new();
    for (ci, ids) in members.iter().enumerate() {
        let mut overlap: HashMap<i32, usize> = HashMap::new();
        for id in ids.iter() {
            if let Some(&sid) = stored.owner.get(*id) {
                *overlap.entry(sid).or_default() += 1;
            }
        }
        candidates.extend(overlap.into_iter().map(|(sid, n)| (n, sid, ci)));
    }
    // Ties go to the cluster with the smallest member id, not to the first in the
    // caller's order: a full run (clusters in output order) and an incremental one
    // (groups in member order) then hand a stored id to the same group.
    let first = |ci: usize| members[ci].first().copied();
    candidates.sort_by(|x, y| {
        y.0.cmp(&x.0)
            .then(x.1.cmp(&y.1))
            .then(first(x.2).cmp(&first(y.2)))
    });
    let mut assigned: Vec<Option<i32>> = vec![None; members.len()];
    let mut used: HashSet<i32> = HashSet::new();
    for (_, sid, ci) in candidates {
        if assigned[ci].is_none() && !used.contains(&sid) {
            assigned[ci] = Some(sid);
            used.insert(sid);
        }
    }
    // Unchanged needs both: the hash covers the synthesized content, the member
    // comparison guards against membership edited without resetting the hash.
    let plans = assigned
        .iter()
        .zip(hashes)
        .zip(members)
        .map(|((a, h), ids)| match a {
            Some(id)
                if stored.hash.get(id) == Some(h)
                    && stored
                        .members
                        .get(id)
                        .is_some_and(|m| m.iter().map(String::as_str).eq(ids.iter().copied())) =>
            {
                Plan::Unchanged(*id)
            }
            Some(id) => Plan::Changed(*id),
            None => Plan::New,
        })
        .collect();
    let mut removed: Vec<i32> = stored
        .hash
        .keys()
        .filter(|id| !used.contains(id))
        .copied()
        .collect();
    removed.sort_unstable();
    (plans, removed)
}

/// (canonical id, source id) of every member of the given clusters.
fn membership(
    members: &[Vec<&str>],
    canonical_ids: &[i32],
    clusters: &[usize],
) -> (Vec<i32>, Vec<String>) {
    let mut cids = Vec::new();
    let mut sids = Vec::new();
    for &i in clusters {
        for id in &members[i] {
            cids.push(canonical_ids[i]);
            sids.push(id.to_string());
        }
    }
    (cids, sids)
}

/// The catalogue figures a run row records (`processing_runs`): a full run takes
/// them from its pipeline stats, an incremental one from its state.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFigures {
    pub events: usize,
    pub candidate_pairs: usize,
    pub matches: usize,
    pub ambiguous: usize,
    pub flagged: usize,
    /// Stored as `processing_runs.stats` (the run's own stats object).
    pub stats: serde_json::Value,
}

impl RunFigures {
    fn of_result(result: &PipelineResult) -> Result<Self, StoreError> {
        let s = &result.stats;
        Ok(RunFigures {
            events: s.events,
            candidate_pairs: s.candidate_pairs,
            matches: s.matches,
            ambiguous: s.ambiguous,
            flagged: s.flagged,
            stats: serde_json::to_value(s).map_err(|e| StoreError::Invalid(e.to_string()))?,
        })
    }
}

pub(super) async fn insert_run_row(
    tx: &Transaction<'_>,
    s: &RunFigures,
    run: &RunInfo,
) -> Result<i64, StoreError> {
    let as_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let as_i32 = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let stats = &s.stats;
    let ai_usage = run
        .ai_usage
        .as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    let row = tx
        .query_one(
            "INSERT INTO processing_runs
                 (run_id, started_at, status, trigger, files_covered, total_events,
                  candidate_pairs, matches, ambiguous, flagged, stats, ai_usage,
                  matching_fingerprint)
             VALUES ($1, $2, 'running', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             RETURNING id",
            &[
                &run.run_id,
                &run.started_at,
                &run.trigger.as_str(),
                &run.files_covered,
                &as_i32(s.events),
                &as_i64(s.candidate_pairs),
                &as_i64(s.matches),
                &as_i64(s.ambiguous),
                &as_i32(s.flagged),
                stats,
                &ai_usage,
                &run.matching_fingerprint,
            ],
        )
        .await?;
    get(&row, "id")
}

pub(super) async fn finish_run_row(
    tx: &Transaction<'_>,
    summary: &PersistSummary,
) -> Result<(), StoreError> {
    let as_i32 = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    // `now()` is the transaction's start, before the persistence work: the run would
    // look finished before it wrote anything. `clock_timestamp()` is this statement's
    // time, the last before the commit; `duration_ms` is derived from the same value
    // so the two always agree.
    tx.execute(
        "UPDATE processing_runs SET status = 'completed', finished_at = t.at,
             canonicals_created = $2, canonicals_updated = $3, canonicals_unchanged = $4,
             canonicals_removed = $5,
             duration_ms = round(extract(epoch FROM t.at - started_at) * 1000)::bigint
         FROM (SELECT clock_timestamp() AS at) AS t
         WHERE id = $1",
        &[
            &summary.processing_run_id,
            &as_i32(summary.created),
            &as_i32(summary.updated),
            &as_i32(summary.unchanged),
            &as_i32(summary.removed),
        ],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    fn strs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }

    use super::*;

    fn stored(groups: &[(i32, &[&str])]) -> Stored {
        let mut s = Stored {
            hash: HashMap::new(),
            owner: HashMap::new(),
            members: HashMap::new(),
        };
        for (id, members) in groups {
            s.hash.insert(*id, format!("h{id}"));
            s.members.insert(*id, ids(members));
            for m in *members {
                s.owner.insert(m.to_string(), *id);
            }
        }
        s
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_tie_goes_to_the_group_with_the_smallest_member_whatever_the_order() {
        // Stored {a, b} splits into {a} and {b}: equal overlap 1 each.
        let s = stored(&[(7, &["a", "b"])]);
        let (a, b) = (ids(&["a"]), ids(&["b"]));
        let hashes = vec!["x".to_string(), "y".to_string()];
        let (forward, _) = plan(&[strs(&a), strs(&b)], &hashes, &s);
        let (backward, _) = plan(&[strs(&b), strs(&a)], &hashes, &s);
        assert!(matches!(forward[..], [Plan::Changed(7), Plan::New]));
        assert!(matches!(backward[..], [Plan::New, Plan::Changed(7)]));
    }

    #[test]
    fn greatest_overlap_wins_and_the_loser_is_removed() {
        let s = stored(&[(1, &["a"]), (2, &["b", "c"])]);
        let cluster = ids(&["a", "b", "c"]);
        let (plans, removed) = plan(
            &[cluster.iter().map(String::as_str).collect()],
            &["new".into()],
            &s,
        );
        assert_eq!(plans, vec![Plan::Changed(2)]);
        assert_eq!(removed, vec![1]);
    }

    #[test]
    fn ties_go_to_the_smallest_id() {
        let s = stored(&[(7, &["b"]), (3, &["a"])]);
        let cluster = ids(&["a", "b"]);
        let (plans, removed) = plan(
            &[cluster.iter().map(String::as_str).collect()],
            &["new".into()],
            &s,
        );
        assert_eq!(plans, vec![Plan::Changed(3)]);
        assert_eq!(removed, vec![7]);
    }

    #[test]
    fn each_stored_canonical_is_used_once() {
        let s = stored(&[(1, &["a", "b"])]);
        let (x, y) = (ids(&["a"]), ids(&["b"]));
        let (plans, removed) = plan(&[strs(&x), strs(&y)], &["h1".into(), "h9".into()], &s);
        // Equal overlap: the earlier cluster keeps the id; it lost a member, so it
        // is rewritten even though its hash happens to match.
        assert_eq!(plans, vec![Plan::Changed(1), Plan::New]);
        assert!(removed.is_empty());
    }

    #[test]
    fn unchanged_needs_an_equal_hash() {
        let s = stored(&[(4, &["a"])]);
        let a = ids(&["a"]);
        assert_eq!(
            plan(&[strs(&a)], &["h4".into()], &s).0,
            vec![Plan::Unchanged(4)]
        );
        assert_eq!(
            plan(&[strs(&a)], &["other".into()], &s).0,
            vec![Plan::Changed(4)]
        );
        // Same hash but stored membership differs (edited behind the run's back).
        let mut edited = stored(&[(4, &["a"])]);
        edited.members.insert(4, ids(&["a", "x"]));
        assert_eq!(
            plan(&[strs(&a)], &["h4".into()], &edited).0,
            vec![Plan::Changed(4)]
        );
    }
}
