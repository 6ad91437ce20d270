//! Incremental persistence at the PostgreSQL level: a catalogue kept by
//! `load_changed_since` → `MatchState::apply` → `persist_diff` equals, after every
//! step, what `persist_run` of a full run over the same listings and constraints
//! stores in a fresh database (canonical events with their synthesized fields and
//! source links, compared by member set; decisions by pair). Also: groups and
//! decisions a diff does not name keep their rows, and the ingest mark covers files
//! by commit, not by id.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use deadpool_postgres::Pool;
use event_dedup::ingest::{parse_event_file, ParsedFile};
use event_dedup::matching::incremental::{Change, Diff, MatchState};
use event_dedup::matching::{run, MatchingConfig, PipelineResult, ReviewConstraints};
use event_dedup::model::{Decision, Trigger};
use event_dedup::preprocess::{derive, Derived, WordLists};
use event_dedup::store::test_support::fresh_database;
use event_dedup::store::{self, IngestMark, RunFigures, RunInfo, StoreError};

use common::catalogue::{
    catalogue, dev_files, full_run_catalogue, ingest_parsed, reprinted_bytes, Catalogue,
};

fn lists() -> &'static WordLists {
    static LISTS: std::sync::OnceLock<WordLists> = std::sync::OnceLock::new();
    LISTS.get_or_init(WordLists::bundled)
}

fn parse(name: &str, bytes: &[u8]) -> ParsedFile {
    parse_event_file(name, bytes).expect("dev file parses")
}

/// Another print of a file ([`reprinted_bytes`]), under another name.
fn reprinted(name: &str, bytes: &[u8]) -> ParsedFile {
    parse(&format!("reprint_{name}"), &reprinted_bytes(bytes))
}

async fn ingest(pool: &Pool, file: &ParsedFile) {
    ingest_parsed(pool, file, lists()).await;
}

/// The reference: every file so far into a fresh database, one full run persisted.
async fn full_catalogue(files: &[ParsedFile], constraints: &ReviewConstraints) -> Catalogue {
    full_run_catalogue(files, &MatchingConfig::default(), lists(), constraints).await
}

/// Run-row figures of the state after an apply.
fn figures(state: &MatchState, diff: &Diff) -> RunFigures {
    let decisions = state.decisions();
    let count = |d: Decision| decisions.iter().filter(|p| p.decision == d).count();
    RunFigures {
        events: state.listing_count(),
        candidate_pairs: decisions.len(),
        matches: count(Decision::Match),
        ambiguous: count(Decision::Ambiguous),
        flagged: state
            .groups()
            .iter()
            .filter(|g| g.canonical.needs_review)
            .count(),
        stats: serde_json::to_value(&diff.stats).expect("stats serialize"),
    }
}

/// Canonical (id, version) by member set, and decisions' run by pair.
type RowVersions = (
    BTreeMap<Vec<String>, (i32, i32)>,
    BTreeMap<(String, String), i64>,
);

/// Reads [`RowVersions`].
async fn row_versions(pool: &Pool) -> RowVersions {
    let client = pool.get().await.expect("connection");
    let canonicals = client
        .query(
            "SELECT c.id, c.version,
                    ARRAY(SELECT source_event_id::text FROM canonical_event_sources s
                          WHERE s.canonical_event_id = c.id
                          ORDER BY source_event_id) AS members
             FROM canonical_events c",
            &[],
        )
        .await
        .expect("canonicals read")
        .iter()
        .map(|r| (r.get("members"), (r.get("id"), r.get("version"))))
        .collect();
    let decisions = client
        .query(
            "SELECT source_event_id_a::text AS a, source_event_id_b::text AS b,
                    processing_run_id FROM match_decisions",
            &[],
        )
        .await
        .expect("decisions read")
        .iter()
        .map(|r| ((r.get("a"), r.get("b")), r.get("processing_run_id")))
        .collect();
    (canonicals, decisions)
}

/// The incremental side: a database, its state and the mark it has read up to.
struct Incremental {
    pool: Pool,
    state: MatchState,
    mark: IngestMark,
}

impl Incremental {
    /// Reads what changed since the mark (in a run snapshot), applies it with
    /// `constraints` when given, persists the diff and checks that rows outside the
    /// diff were not rewritten; returns the diff.
    async fn step(&mut self, constraints: Option<ReviewConstraints>) -> Diff {
        let before = row_versions(&self.pool).await;
        let mut client = self.pool.get().await.expect("connection");
        let tx = store::begin_run_snapshot(&mut client)
            .await
            .expect("snapshot");
        let changed = store::load_changed_since(&*tx, &self.mark)
            .await
            .expect("changes load");
        tx.commit().await.expect("snapshot ends");
        self.mark = changed.covers;
        let diff = self.state.apply(Change {
            upserts: changed.events,
            constraints,
            ..Change::default()
        });
        let figures = figures(&self.state, &diff);
        let summary = store::persist_diff(
            &mut client,
            &diff,
            &figures,
            &RunInfo::new(Trigger::Batch, 1),
        )
        .await
        .expect("diff persisted");
        assert_eq!(
            summary.created + summary.updated + summary.unchanged,
            diff.groups_created.len() + diff.groups_updated.len()
        );
        drop(client);
        let after = row_versions(&self.pool).await;
        untouched_rows_kept(&diff, &before, &after);
        diff
    }
}

/// Every canonical and decision the diff does not name has the same row as before.
fn untouched_rows_kept(diff: &Diff, before: &RowVersions, after: &RowVersions) {
    let named: BTreeSet<&Vec<String>> = diff
        .groups_created
        .iter()
        .chain(&diff.groups_updated)
        .map(|g| &g.members)
        .chain(&diff.groups_removed)
        .collect();
    for (members, row) in &before.0 {
        if !named.contains(members) {
            assert_eq!(after.0.get(members), Some(row), "untouched group rewritten");
        }
    }
    let pairs: BTreeSet<(String, String)> = diff
        .decisions_added
        .iter()
        .chain(&diff.decisions_changed)
        .map(|d| (d.id_a.clone(), d.id_b.clone()))
        .chain(diff.decisions_removed.iter().cloned())
        .collect();
    for (pair, run) in &before.1 {
        if !pairs.contains(pair) {
            assert_eq!(after.1.get(pair), Some(run), "untouched decision rewritten");
        }
    }
}

#[tokio::test]
async fn persisted_diffs_equal_a_full_run_after_every_step() {
    let dev = dev_files();
    let mut files: Vec<ParsedFile> = dev[..6].iter().map(|(n, b)| parse(n, b)).collect();
    let (pool, _) = fresh_database().await.expect("test database");
    for f in &files {
        ingest(&pool, f).await;
    }

    // The starting point: a full run, persisted as the service does today.
    let mut client = pool.get().await.expect("connection");
    let tx = store::begin_run_snapshot(&mut client)
        .await
        .expect("snapshot");
    let mark = store::ingest_mark(&*tx).await.expect("mark");
    let events = store::load_all_events(&*tx).await.expect("events load");
    tx.commit().await.expect("snapshot ends");
    let mut constraints = ReviewConstraints::default();
    let config = MatchingConfig::default();
    let result = run(events.clone(), &config, lists(), &constraints);
    store::persist_run(&mut client, &result, &RunInfo::new(Trigger::Batch, 1))
        .await
        .expect("full run persisted");
    drop(client);
    let (state, _) = MatchState::build(events, &config, lists(), &constraints);
    let mut inc = Incremental { pool, state, mark };
    assert_eq!(
        catalogue(&inc.pool).await,
        full_catalogue(&files, &constraints).await
    );

    let mut touched = Vec::new();
    // New listings: three more files.
    for (n, b) in &dev[6..9] {
        let f = parse(n, b);
        ingest(&inc.pool, &f).await;
        files.push(f);
    }
    touched.push(inc.step(None).await);
    assert_eq!(
        catalogue(&inc.pool).await,
        full_catalogue(&files, &constraints).await,
        "after new listings"
    );

    // Updated listings: two stored files printed again with edits.
    for (n, b) in [&dev[1], &dev[7]] {
        let f = reprinted(n, b);
        ingest(&inc.pool, &f).await;
        files.push(f);
    }
    touched.push(inc.step(None).await);
    assert_eq!(
        catalogue(&inc.pool).await,
        full_catalogue(&files, &constraints).await,
        "after updated listings"
    );

    // A split: the largest group's first member may not share a group with the rest.
    let groups = inc.state.groups();
    let largest = groups
        .iter()
        .max_by_key(|g| g.members.len())
        .expect("groups exist");
    assert!(largest.members.len() > 1, "the dev set has duplicates");
    for other in &largest.members[1..] {
        constraints
            .cannot_link
            .push((largest.members[0].clone(), other.clone()));
    }
    touched.push(inc.step(Some(constraints.clone())).await);
    assert_eq!(
        catalogue(&inc.pool).await,
        full_catalogue(&files, &constraints).await,
        "after a split"
    );

    // A merge: the two first singleton groups become one.
    let singles: Vec<String> = inc
        .state
        .groups()
        .into_iter()
        .filter(|g| g.members.len() == 1)
        .map(|g| g.members[0].clone())
        .take(2)
        .collect();
    assert_eq!(singles.len(), 2, "the dev set has singletons");
    constraints
        .must_link
        .push((singles[0].clone(), singles[1].clone()));
    touched.push(inc.step(Some(constraints.clone())).await);
    assert_eq!(
        catalogue(&inc.pool).await,
        full_catalogue(&files, &constraints).await,
        "after a merge"
    );

    // Nothing changed: an empty diff writes nothing.
    let quiet = inc.step(None).await;
    assert!(quiet.groups_created.is_empty() && quiet.decisions_added.is_empty());

    // The steps did real work of every kind.
    let sum = |f: fn(&Diff) -> usize| touched.iter().map(f).sum::<usize>();
    assert!(sum(|d| d.groups_created.len()) > 0);
    assert!(sum(|d| d.groups_removed.len()) > 0);
    assert!(sum(|d| d.decisions_added.len()) > 0);
    assert!(sum(|d| d.decisions_changed.len() + d.decisions_removed.len()) > 0);
}

#[tokio::test]
async fn a_removed_group_hands_its_id_to_the_group_taking_most_of_its_members() {
    let dev = dev_files();
    let (pool, _) = fresh_database().await.expect("test database");
    let files: Vec<ParsedFile> = dev.iter().map(|(n, b)| parse(n, b)).collect();
    for f in &files {
        ingest(&pool, f).await;
    }
    let mut client = pool.get().await.expect("connection");
    let events = store::load_all_events(&**client)
        .await
        .expect("events load");
    let config = MatchingConfig::default();
    let mut constraints = ReviewConstraints::default();
    let result = run(events.clone(), &config, lists(), &constraints);
    store::persist_run(&mut client, &result, &RunInfo::new(Trigger::Batch, 1))
        .await
        .expect("full run persisted");
    let (mut state, _) = MatchState::build(events, &config, lists(), &constraints);
    let (ids, _) = row_versions(&pool).await;
    let big = state
        .groups()
        .into_iter()
        .find(|g| g.members.len() >= 3)
        .expect("a group of three");
    let old_id = ids[&big.members].0;

    // Split off the first member: the rest keeps the id, the one leaving gets a new one.
    for other in &big.members[1..] {
        constraints
            .cannot_link
            .push((big.members[0].clone(), other.clone()));
    }
    let diff = state.apply(Change {
        constraints: Some(constraints),
        ..Change::default()
    });
    assert!(diff.groups_removed.contains(&big.members));
    let summary = store::persist_diff(
        &mut client,
        &diff,
        &figures(&state, &diff),
        &RunInfo::new(Trigger::Batch, 1),
    )
    .await
    .expect("diff persisted");
    assert!(summary.created >= 1);
    drop(client);
    let (after, _) = row_versions(&pool).await;
    // The group sharing most members with the removed one takes its id.
    let overlap = |m: &Vec<String>| m.iter().filter(|x| big.members.contains(x)).count();
    let mut heirs: Vec<Vec<String>> = state.groups().into_iter().map(|g| g.members).collect();
    heirs.sort_by_key(|m| std::cmp::Reverse(overlap(m)));
    assert!(overlap(&heirs[0]) >= 2 && overlap(&heirs[0]) > overlap(&heirs[1]));
    assert_eq!(after[&heirs[0]].0, old_id, "the larger part keeps the id");
    let alone = after
        .iter()
        .find(|(m, _)| m.contains(&big.members[0]))
        .expect("the split-off member has a group");
    assert_ne!(alone.1 .0, old_id);
}

/// One full run over every stored listing, persisted.
async fn persist_full_run(
    pool: &Pool,
    constraints: &ReviewConstraints,
) -> (PipelineResult, store::PersistSummary) {
    let mut client = pool.get().await.expect("connection");
    let events = store::load_all_events(&**client)
        .await
        .expect("events load");
    let result = run(events, &MatchingConfig::default(), lists(), constraints);
    let summary = store::persist_run(&mut client, &result, &RunInfo::new(Trigger::Batch, 1))
        .await
        .expect("full run persisted");
    (result, summary)
}

/// A full run onto an empty catalogue copies its canonicals, links and decisions
/// straight into their tables; a full run onto a stored catalogue writes decisions by
/// diff. Both store the same catalogue for the same listings, and the second run
/// keeps the ids (and decision rows) of what did not change.
#[tokio::test]
async fn a_run_onto_an_empty_catalogue_stores_what_a_run_by_diff_stores() {
    let files: Vec<ParsedFile> = dev_files().iter().map(|(n, b)| parse(n, b)).collect();
    let (first, rest) = files.split_at(files.len() / 2);
    let constraints = ReviewConstraints::default();
    let (pool, _) = fresh_database().await.expect("test database");
    for f in first {
        ingest(&pool, f).await;
    }
    let (early, fresh) = persist_full_run(&pool, &constraints).await;
    assert_eq!(fresh.created, early.canonical_count());
    assert_eq!(fresh.decisions_written, early.pairs.len() as u64);
    let (ids_before, runs_before) = row_versions(&pool).await;
    assert!(
        runs_before.values().all(|&r| r == fresh.processing_run_id),
        "every copied decision names its run"
    );

    for f in rest {
        ingest(&pool, f).await;
    }
    let (late, second) = persist_full_run(&pool, &constraints).await;
    assert_eq!(
        second.created + second.updated + second.unchanged,
        late.canonical_count()
    );
    assert!(second.unchanged > 0 && second.created > 0);
    assert_eq!(
        catalogue(&pool).await,
        full_catalogue(&files, &constraints).await
    );

    let (ids_after, runs_after) = row_versions(&pool).await;
    let kept = ids_after
        .iter()
        .filter(|(members, row)| ids_before.get(*members) == Some(row))
        .count();
    assert_eq!(
        kept, second.unchanged,
        "unchanged groups keep id and version"
    );
    let untouched = runs_after
        .values()
        .filter(|&&r| r == fresh.processing_run_id)
        .count();
    assert!(
        untouched > 0,
        "decisions the new files do not touch keep their rows"
    );
    assert_eq!(
        untouched as u64 + second.decisions_written,
        late.pairs.len() as u64
    );
}

#[tokio::test]
async fn changes_since_a_mark_follow_commits_not_file_ids() {
    let dev = dev_files();
    let (pool, _) = fresh_database().await.expect("test database");
    let first = parse(&dev[0].0, &dev[0].1);
    ingest(&pool, &first).await;

    // A file whose transaction began (and drew its file id) before the mark but
    // committed after it.
    let late = parse(&dev[1].0, &dev[1].1);
    let derived: Vec<Derived> = late.events.iter().map(|e| derive(e, lists())).collect();
    let mut writer = pool.get().await.expect("connection");
    let late_tx = writer.transaction().await.expect("transaction");
    store::insert_file(&late_tx, &late, &derived)
        .await
        .expect("late file written");

    let reader = pool.get().await.expect("connection");
    let mark = store::ingest_mark(&**reader).await.expect("mark");
    let early = parse(&dev[2].0, &dev[2].1);
    ingest(&pool, &early).await;
    late_tx.commit().await.expect("late file commits");

    let changed = store::load_changed_since(&**reader, &mark)
        .await
        .expect("changes load");
    let got: BTreeSet<String> = changed.events.iter().map(|e| e.id.clone()).collect();
    let want: BTreeSet<String> = late
        .events
        .iter()
        .chain(&early.events)
        .map(|e| e.id.clone())
        .collect();
    assert_eq!(got, want);
    assert!(changed.events.iter().any(|e| !e.dates.is_empty()));

    // Up to date: nothing changed since the new mark.
    let again = store::load_changed_since(&**reader, &changed.covers)
        .await
        .expect("changes load");
    assert!(again.events.is_empty());

    let err = store::load_changed_since(&**reader, &IngestMark::from_text("yesterday"))
        .await
        .expect_err("a malformed mark is refused");
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
}
