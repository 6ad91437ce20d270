//! The stored catalogue as tests compare it (canonical rows by member set, links,
//! decisions by pair; no ids, versions, runs or timestamps), and the reference it is
//! compared with: the same files stored in a fresh database and matched by one full
//! run. Shared by the PostgreSQL-level incremental tests and the service test.

use std::collections::{BTreeMap, BTreeSet};

use deadpool_postgres::Pool;
use event_dedup::ingest::ParsedFile;
use event_dedup::matching::{run, MatchingConfig, ReviewConstraints};
use event_dedup::model::Trigger;
use event_dedup::preprocess::{derive, Derived, WordLists};
use event_dedup::store::test_support::fresh_database;
use event_dedup::store::{self, RunInfo};
use serde_json::Value;

use super::dev_set;

/// The dev set's files, in name order.
pub fn dev_files() -> Vec<(String, Vec<u8>)> {
    let dir = dev_set().join("events");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dev events directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).expect("dev file reads");
            (n, bytes)
        })
        .collect()
}

/// Another print of a file: every third listing takes the title of the listing
/// after it and loses its description (new pairs, changed groups).
pub fn reprinted_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut doc: Value = serde_json::from_slice(bytes).expect("dev file is JSON");
    let events = doc["events"].as_array_mut().expect("events array");
    for i in (0..events.len().saturating_sub(1)).step_by(3) {
        let next_title = events[i + 1]["title"].clone();
        events[i]["title"] = next_title;
        events[i]["description"] = Value::Null;
    }
    serde_json::to_vec(&doc).expect("serializes")
}

/// Stores a parsed file as the ingest does.
pub async fn ingest_parsed(pool: &Pool, file: &ParsedFile, lists: &WordLists) {
    let derived: Vec<Derived> = file.events.iter().map(|e| derive(e, lists)).collect();
    store::ingest_file(pool, file, &derived)
        .await
        .expect("file stored");
}

/// The stored catalogue, independent of canonical ids and run bookkeeping.
#[derive(Debug, PartialEq)]
pub struct Catalogue {
    /// Member ids → the canonical row without id, version and timestamps.
    pub canonicals: BTreeMap<Vec<String>, Value>,
    /// (canonical's member set, source id) of every link.
    pub links: BTreeSet<(Vec<String>, String)>,
    /// (a, b) → the decision row without id, run and timestamp.
    pub decisions: BTreeMap<(String, String), Value>,
}

pub async fn catalogue(pool: &Pool) -> Catalogue {
    let client = pool.get().await.expect("connection");
    let rows = client
        .query(
            "SELECT to_jsonb(c) - 'id' - 'version' - 'created_at' - 'updated_at' AS row,
                    ARRAY(SELECT source_event_id::text FROM canonical_event_sources s
                          WHERE s.canonical_event_id = c.id
                          ORDER BY source_event_id) AS members
             FROM canonical_events c",
            &[],
        )
        .await
        .expect("canonicals read");
    let mut canonicals = BTreeMap::new();
    for r in &rows {
        let members: Vec<String> = r.get("members");
        assert!(!members.is_empty(), "a stored canonical without members");
        canonicals.insert(members, r.get::<_, Value>("row"));
    }
    assert_eq!(
        canonicals.len(),
        rows.len(),
        "two canonicals share a member set"
    );
    let links = canonicals
        .keys()
        .flat_map(|m| m.iter().map(move |s| (m.clone(), s.clone())))
        .collect();
    let rows = client
        .query(
            "SELECT source_event_id_a::text AS a, source_event_id_b::text AS b,
                    to_jsonb(d) - 'id' - 'processing_run_id' - 'decided_at' AS row
             FROM match_decisions d",
            &[],
        )
        .await
        .expect("decisions read");
    let decisions = rows
        .iter()
        .map(|r| ((r.get("a"), r.get("b")), r.get::<_, Value>("row")))
        .collect();
    Catalogue {
        canonicals,
        links,
        decisions,
    }
}

/// The reference: every file into a fresh database (in order), one full run
/// persisted, its catalogue read back.
pub async fn full_run_catalogue(
    files: &[ParsedFile],
    config: &MatchingConfig,
    lists: &WordLists,
    constraints: &ReviewConstraints,
) -> Catalogue {
    let (pool, _) = fresh_database().await.expect("reference database");
    for f in files {
        ingest_parsed(&pool, f, lists).await;
    }
    let mut client = pool.get().await.expect("connection");
    let events = store::load_all_events(&**client)
        .await
        .expect("events load");
    let result = run(events, config, lists, constraints);
    store::persist_run(&mut client, &result, &RunInfo::new(Trigger::Batch, 1))
        .await
        .expect("full run persisted");
    drop(client);
    catalogue(&pool).await
}
