//! The missed-duplicate queue and its dismissal.

use serde_json::{json, Value};

use crate::helpers::{assert_error, fixture_dir, spawn_app_with, TestApp, OPERATOR};

/// The worked example plus one week of five dev-set sources (the browser tests' seed):
/// enough uncertain pairs that the matcher keeps some ambiguous ones apart.
async fn spawn_week() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    for rel in crate::seed::SEED {
        let from = fixture_dir(rel);
        let name = from.file_name().expect("file name");
        std::fs::copy(&from, dir.path().join(name)).expect("fixture copied");
    }
    spawn_app_with(dir.path()).await
}

/// The first entry of the missed-duplicate queue.
async fn missed_entry(app: &TestApp) -> Value {
    let page = app.get_json("/api/review/missed").await;
    match page["items"].as_array().and_then(|a| a.first()) {
        Some(first) => first.clone(),
        None => panic!("the seed has an ambiguous pair across groups: {page}"),
    }
}

#[tokio::test]
async fn missed_duplicates_list_ambiguous_pairs_across_groups() {
    let app = spawn_week().await;
    let entry = missed_entry(&app).await;
    let d = &entry["decision"];
    assert_eq!(d["decision"], json!("ambiguous"));
    for key in [
        "title_score",
        "date_score",
        "geo_score",
        "combined_score",
        "weights",
        "rule",
    ] {
        assert!(!d[key].is_null(), "{key} in {d}");
    }
    let (a, b) = (&entry["a"], &entry["b"]);
    assert_eq!(a["id"], d["source_event_id_a"]);
    assert_eq!(b["id"], d["source_event_id_b"]);
    assert_ne!(
        a["canonical"]["id"], b["canonical"]["id"],
        "different groups"
    );
    let ca = a["canonical"]["id"].as_i64().expect("id") as i32;
    assert_eq!(app.canonical_of(a["id"].as_str().expect("id")).await, ca);
    assert!(a["title"].is_string() && b["dates"].is_array());
    // Every listed pair crosses groups; one entry per pair of groups.
    let all = app.get_json("/api/review/missed?size=100").await;
    let mut seen = std::collections::BTreeSet::new();
    for e in all["items"].as_array().expect("items") {
        let (x, y) = (
            e["a"]["canonical"]["id"].as_i64().expect("id"),
            e["b"]["canonical"]["id"].as_i64().expect("id"),
        );
        assert_ne!(x, y);
        assert!(
            seen.insert((x.min(y), x.max(y))),
            "one entry per pair of groups"
        );
    }
    assert_eq!(all["total"], json!(seen.len()));
    assert_error(app.get("/api/review/missed?size=101").await, 422).await;
    assert_error(app.get("/api/review/missed?page=0").await, 422).await;
}

#[tokio::test]
async fn dismissing_a_missed_pair_keeps_the_groups_apart_for_good() {
    let app = spawn_week().await;
    let entry = missed_entry(&app).await;
    let before = app.get_json("/api/review/missed?size=100").await["total"]
        .as_i64()
        .expect("total");
    let ca = entry["a"]["canonical"]["id"].as_i64().expect("id");
    let cb = entry["b"]["canonical"]["id"].as_i64().expect("id");
    let body = json!({"canonical_a": ca, "canonical_b": cb, "reason": "Different venues"});
    let r = app.post("/api/review/missed/dismiss", &body).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(app.rematch_count(), 1);
    let after = app.get_json("/api/review/missed?size=100").await;
    assert_eq!(after["total"], json!(before - 1));
    let gone = |page: &Value| {
        !page["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|e| e["a"]["id"] == entry["a"]["id"] && e["b"]["id"] == entry["b"]["id"])
    };
    assert!(gone(&after));
    // Cannot-link between every member pair, and it survives a re-run.
    let members_a = app
        .members_with(entry["a"]["id"].as_str().expect("id"))
        .await;
    let members_b = app
        .members_with(entry["b"]["id"].as_str().expect("id"))
        .await;
    let links = app
        .count("SELECT count(*) FROM review_constraints WHERE kind = 'cannot_link'")
        .await;
    assert_eq!(links, (members_a.len() * members_b.len()) as i64);
    app.rerun().await;
    assert!(gone(&app.get_json("/api/review/missed?size=100").await));
    let a = app
        .canonical_of(entry["a"]["id"].as_str().expect("id"))
        .await;
    let b = app
        .canonical_of(entry["b"]["id"].as_str().expect("id"))
        .await;
    assert_ne!(a, b);
    let log = app
        .get_json("/api/audit-log?action_type=pair_dismiss")
        .await;
    assert_eq!(log["items"][0]["operator"], json!(OPERATOR));
    assert_eq!(
        log["items"][0]["details"]["reason"],
        json!("Different venues")
    );
    assert_eq!(log["items"][0]["details"]["other_canonical_id"], json!(cb));
    // Errors: same group, unknown group, bad body.
    let same = json!({"canonical_a": ca, "canonical_b": ca});
    assert_error(app.post("/api/review/missed/dismiss", &same).await, 409).await;
    let unknown = json!({"canonical_a": ca, "canonical_b": 999_999});
    assert_error(app.post("/api/review/missed/dismiss", &unknown).await, 404).await;
    assert_error(
        app.post("/api/review/missed/dismiss", &json!({})).await,
        422,
    )
    .await;
    let anonymous = app
        .client
        .post(app.url("/api/review/missed/dismiss"))
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status().as_u16(), 401);
}
