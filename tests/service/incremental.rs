//! Incremental matching at the service level: after a sequence of drops (one file at
//! a time, a re-print of a file with changed listings, a restart in between) and
//! reviews (a split, a merge through the API), the
//! catalogue the running service stored equals what one full re-match of the same
//! files stores in a fresh database; and the service got there by incremental runs
//! only (no full re-match: the state was built empty at start and, after the restart,
//! rebuilt from the stored listings without a run).

use event_dedup::matching::MatchingConfig;
use event_dedup::preprocess::WordLists;

use super::common::catalogue::{catalogue, dev_files, full_run_catalogue, reprinted_bytes};
use super::helpers::{wait_until, TestApp, TestEnv, TIMEOUT};

/// Posts a review action; it must succeed.
async fn review(app: &TestApp, action: &str, body: serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/api/review/{action}", app.port))
        .json(&body)
        .send()
        .await
        .expect("review request");
    let status = response.status().as_u16();
    assert_eq!(
        status,
        200,
        "{action}: {}",
        response.text().await.unwrap_or_default()
    );
}

/// A canonical with several members and its largest member id.
async fn multi_member_group(env: &TestEnv) -> (i32, String) {
    let client = env.pool.get().await.expect("connection");
    let row = client
        .query_one(
            "SELECT canonical_event_id, max(source_event_id::text) FROM canonical_event_sources
             GROUP BY canonical_event_id HAVING count(*) > 1
             ORDER BY canonical_event_id LIMIT 1",
            &[],
        )
        .await
        .expect("a group of two or more");
    (row.get(0), row.get(1))
}

/// Two single-member canonicals.
async fn two_singletons(env: &TestEnv) -> (i32, i32) {
    let client = env.pool.get().await.expect("connection");
    let rows = client
        .query(
            "SELECT canonical_event_id FROM canonical_event_sources
             GROUP BY canonical_event_id HAVING count(*) = 1
             ORDER BY canonical_event_id LIMIT 2",
            &[],
        )
        .await
        .expect("singletons");
    (rows[0].get(0), rows[1].get(0))
}

#[actix_rt::test]
async fn drops_matched_incrementally_store_what_a_full_rematch_stores() {
    let env = TestEnv::new().await;
    let dev = dev_files();
    let (first, second) = dev[..14].split_at(8);
    let mut dropped: Vec<(String, Vec<u8>)> = Vec::new();

    let app = env.spawn().await;
    for (name, bytes) in first {
        env.drop_bytes(name, bytes);
        dropped.push((name.clone(), bytes.clone()));
        let n = dropped.len();
        wait_until("the file matched", TIMEOUT, || env.all_matched(n)).await;
    }
    app.stop().await;

    // After the restart the state is rebuilt from what is stored, without a run.
    let runs_before_restart = env.runs().await;
    let app = env.spawn().await;
    for (name, bytes) in second {
        env.drop_bytes(name, bytes);
        dropped.push((name.clone(), bytes.clone()));
        let n = dropped.len();
        wait_until("the file matched", TIMEOUT, || env.all_matched(n)).await;
    }
    // A re-print of an early file: same ids, changed titles and descriptions.
    let (name, bytes) = &first[1];
    let reprint = (format!("reprint_{name}"), reprinted_bytes(bytes));
    env.drop_bytes(&reprint.0, &reprint.1);
    dropped.push(reprint);
    let n = dropped.len();
    wait_until("the re-print matched", TIMEOUT, || env.all_matched(n)).await;

    // Reviews: split a listing off a multi-source group, merge two other groups.
    let runs = env.runs().await;
    let (group, member) = multi_member_group(&env).await;
    review(
        &app,
        "split",
        serde_json::json!({"canonical_event_id": group, "source_event_id": member}),
    )
    .await;
    wait_until("the split's run", TIMEOUT, || async {
        env.runs().await > runs
    })
    .await;
    let runs = env.runs().await;
    let (a, b) = two_singletons(&env).await;
    review(
        &app,
        "merge",
        serde_json::json!({"source_canonical_id": a, "target_canonical_id": b}),
    )
    .await;
    wait_until("the merge's run", TIMEOUT, || async {
        env.runs().await > runs
    })
    .await;
    app.stop().await;

    let runs = env.runs().await;
    assert!(
        runs >= runs_before_restart + second.len() as i64,
        "{runs} runs"
    );
    assert_eq!(
        env.count(
            "SELECT count(*) FROM processing_runs
             WHERE status = 'completed' AND stats->>'mode' IS DISTINCT FROM 'incremental'"
        )
        .await,
        0,
        "every run was incremental"
    );
    assert_eq!(
        env.count("SELECT count(*) FROM processing_runs WHERE matching_fingerprint IS NULL")
            .await,
        0,
        "every run records its fingerprint"
    );

    let files: Vec<_> = dropped
        .iter()
        .map(|(n, b)| event_dedup::ingest::parse_event_file(n, b).expect("dev file parses"))
        .collect();
    let config = MatchingConfig::load(&super::helpers::fixture("../../config/matching.toml"))
        .expect("the service's config");
    let constraints = {
        let client = env.pool.get().await.expect("connection");
        event_dedup::store::load_constraints(&**client)
            .await
            .expect("constraints")
    };
    assert!(!constraints.cannot_link.is_empty() && !constraints.must_link.is_empty());
    let expected = full_run_catalogue(&files, &config, &WordLists::bundled(), &constraints).await;
    let stored = catalogue(&env.pool).await;
    assert!(stored.canonicals.len() > 100, "a real catalogue");
    assert!(
        stored.canonicals.keys().any(|m| m.len() > 1),
        "with multi-source groups"
    );
    assert_eq!(stored.canonicals, expected.canonicals);
    assert_eq!(stored.links, expected.links);
    assert_eq!(stored.decisions, expected.decisions);
}

/// Completed runs as (trigger, whether incremental), in order.
async fn run_kinds(env: &TestEnv) -> Vec<(String, bool)> {
    let client = env.pool.get().await.expect("connection");
    client
        .query(
            "SELECT trigger, stats->>'mode' = 'incremental' AS inc FROM processing_runs
             WHERE status = 'completed' ORDER BY id",
            &[],
        )
        .await
        .expect("runs")
        .iter()
        .map(|r| (r.get(0), r.get::<_, Option<bool>>(1).unwrap_or(false)))
        .collect()
}

/// A changed matching config changes every score: the run after a config PATCH is a
/// full re-match, and the next file's run is incremental again. A config file changed
/// while the service was stopped is noticed at start-up (another fingerprint than the
/// last run's): a full `startup` run, although every file is covered.
#[actix_rt::test]
async fn a_config_change_means_one_full_rematch_then_incremental_runs_again() {
    let env = TestEnv::new().await;
    let dev = dev_files();
    let app = env.spawn().await;
    for (i, (name, bytes)) in dev[..3].iter().enumerate() {
        env.drop_bytes(name, bytes);
        wait_until("the file matched", TIMEOUT, || env.all_matched(i + 1)).await;
    }
    assert!(run_kinds(&env).await.iter().all(|(_, inc)| *inc));

    let runs = run_kinds(&env).await.len();
    let patched = reqwest::Client::new()
        .patch(format!("http://127.0.0.1:{}/api/config", app.port))
        .json(&serde_json::json!({"thresholds": {"low": 0.3}}))
        .send()
        .await
        .expect("patch");
    assert_eq!(patched.status().as_u16(), 200);
    wait_until("the re-match after the config change", TIMEOUT, || async {
        run_kinds(&env).await.len() > runs
    })
    .await;
    assert_eq!(run_kinds(&env).await[runs], ("review".to_string(), false));

    let (name, bytes) = &dev[3];
    env.drop_bytes(name, bytes);
    wait_until("the next file matched", TIMEOUT, || env.all_matched(4)).await;
    assert_eq!(
        run_kinds(&env).await.last(),
        Some(&("file".to_string(), true))
    );
    app.stop().await;

    let runs = run_kinds(&env).await.len();
    let spec = super::helpers::fixture("config/spec.toml");
    let spec = spec.display().to_string();
    let app = env
        .spawn_with(&[("MATCHING_CONFIG_PATH", spec.as_str())])
        .await;
    wait_until("the start-up re-match", TIMEOUT, || async {
        run_kinds(&env).await.len() > runs
    })
    .await;
    assert_eq!(run_kinds(&env).await[runs], ("startup".to_string(), false));
    let (name, bytes) = &dev[4];
    env.drop_bytes(name, bytes);
    wait_until("a file after the start-up re-match", TIMEOUT, || {
        env.all_matched(5)
    })
    .await;
    assert_eq!(
        run_kinds(&env).await.last(),
        Some(&("file".to_string(), true))
    );
    app.stop().await;
}
