//! Review actions (split, merge, dismiss) and their surviving a pipeline re-run.

use event_dedup::matching::config::ScoringMethod;
use event_dedup::matching::MatchingConfig;
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, multi_member, spawn_app, spawn_app_matching, two_singles, OPERATOR,
};

#[tokio::test]
async fn split_sticks_after_a_rerun() {
    let app = spawn_app().await;
    let (id, members) = multi_member(&app).await;
    let moved = members[0].clone();
    let r = app
        .post(
            "/api/review/split",
            &json!({"canonical_event_id": id, "source_event_id": moved}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["original_canonical_id"], json!(id));
    let new_id = body["new_canonical_id"].as_i64().expect("new canonical");
    assert_eq!(app.rematch_count(), 1);

    // Immediately visible.
    let new = app
        .get_json(&format!("/api/canonical-events/{new_id}"))
        .await;
    assert_eq!(new["source_count"], json!(1));
    assert_eq!(new["sources"][0]["id"], json!(moved));
    assert_eq!(app.members_with(&moved).await, vec![moved.clone()]);
    let original = app.get_json(&format!("/api/canonical-events/{id}")).await;
    assert_eq!(
        original["source_count"].as_u64(),
        Some(members.len() as u64 - 1)
    );
    assert_eq!(original["needs_review"], json!(false));

    // Audited with the token's name.
    let log = app.get_json("/api/audit-log?action_type=split").await;
    assert_eq!(log["total"], json!(1));
    let entry = &log["items"][0];
    assert_eq!(entry["operator"], json!(OPERATOR));
    assert_eq!(entry["source_event_id"], json!(moved));
    assert_eq!(entry["details"]["new_canonical_id"], json!(new_id));

    // Survives a full re-run.
    app.rerun().await;
    let after = app.members_with(&moved).await;
    for other in &members[1..] {
        assert!(!after.contains(other), "{moved} rejoined {other}");
    }
}

#[tokio::test]
async fn split_errors() {
    let app = spawn_app().await;
    let (id, members) = multi_member(&app).await;
    let r = app
        .post(
            "/api/review/split",
            &json!({"canonical_event_id": id, "source_event_id": "no-such-event"}),
        )
        .await;
    let body = assert_error(r, 404).await;
    assert_eq!(
        body["detail"],
        json!(format!("Source no-such-event not linked to canonical {id}"))
    );
    let same =
        json!({"canonical_event_id": id, "source_event_id": members[0], "target_canonical_id": id});
    assert_error(app.post("/api/review/split", &same).await, 409).await;
    let missing = json!({"canonical_event_id": id, "source_event_id": members[0], "target_canonical_id": 999999});
    assert_error(app.post("/api/review/split", &missing).await, 404).await;
    assert_error(
        app.post("/api/review/split", &json!({"canonical_event_id": "x"}))
            .await,
        422,
    )
    .await;
    let broken = app
        .client
        .post(app.url("/api/review/split"))
        .bearer_auth(crate::helpers::TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_error(broken, 422).await;
    let huge = app
        .client
        .post(app.url("/api/review/split"))
        .bearer_auth(crate::helpers::TOKEN)
        .header("content-type", "application/json")
        .body(format!("{{\"x\": \"{}\"}}", "a".repeat(100_000)))
        .send()
        .await
        .expect("sent");
    assert_error(huge, 413).await;
    // Nothing changed, nothing re-matched.
    assert_eq!(app.members_with(&members[0]).await, members);
    assert_eq!(app.rematch_count(), 0);
}

#[tokio::test]
async fn split_into_a_target_sticks_after_a_rerun() {
    let app = spawn_app().await;
    let (id, members) = multi_member(&app).await;
    let target = app
        .canonicals()
        .await
        .into_iter()
        .map(|c| c["id"].as_i64().expect("id"))
        .find(|&c| c != id)
        .expect("another canonical");
    let r = app
        .post(
            "/api/review/split",
            &json!({"canonical_event_id": id, "source_event_id": members[0], "target_canonical_id": target}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(app.canonical_of(&members[0]).await as i64, target);
    app.rerun().await;
    let after = app.members_with(&members[0]).await;
    assert!(after.len() >= 2);
    for other in &members[1..] {
        assert!(!after.contains(other));
    }
}

#[tokio::test]
async fn merge_sticks_after_a_rerun() {
    let app = spawn_app().await;
    let (donor, target, donor_src, target_src) = two_singles(&app).await;
    let r = app
        .post(
            "/api/review/merge",
            &json!({"source_canonical_id": donor, "target_canonical_id": target}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        body,
        json!({"surviving_canonical_id": target, "deleted_canonical_id": donor, "new_source_count": 2})
    );
    assert_error(
        app.get(&format!("/api/canonical-events/{donor}")).await,
        404,
    )
    .await;
    assert_eq!(app.rematch_count(), 1);
    let log = app
        .get_json(&format!("/api/audit-log?canonical_event_id={target}"))
        .await;
    assert_eq!(log["items"][0]["action_type"], json!("merge"));

    app.rerun().await;
    let mut expected = vec![donor_src.clone(), target_src.clone()];
    expected.sort();
    assert_eq!(app.members_with(&donor_src).await, expected);

    // A later split of the same pair wins over the merge.
    let id = app.canonical_of(&donor_src).await;
    let r = app
        .post(
            "/api/review/split",
            &json!({"canonical_event_id": id, "source_event_id": donor_src}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    app.rerun().await;
    assert_eq!(app.members_with(&donor_src).await, vec![donor_src.clone()]);
}

#[tokio::test]
async fn merge_errors() {
    let app = spawn_app().await;
    let (a, _, _, _) = two_singles(&app).await;
    let body = assert_error(
        app.post(
            "/api/review/merge",
            &json!({"source_canonical_id": a, "target_canonical_id": a}),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(
        body["detail"],
        json!("Cannot merge a canonical event with itself")
    );
    let body = assert_error(
        app.post(
            "/api/review/merge",
            &json!({"source_canonical_id": 999999, "target_canonical_id": a}),
        )
        .await,
        404,
    )
    .await;
    assert_eq!(body["detail"], json!("Source canonical 999999 not found"));
    assert_error(
        app.post(
            "/api/review/merge",
            &json!({"source_canonical_id": a, "target_canonical_id": 999999}),
        )
        .await,
        404,
    )
    .await;
    assert_error(app.post("/api/review/merge", &json!({})).await, 422).await;
    assert_eq!(app.rematch_count(), 0);
}

#[tokio::test]
async fn dismissed_event_leaves_the_queue_for_good() {
    // The learned model is confident about every group of the worked example; under
    // the spec's weighted sum its carnival parade pair is in the queue (low confidence).
    let mut config = MatchingConfig::default();
    config.model.method = ScoringMethod::WeightedSum;
    let app = spawn_app_matching(config).await;
    let queue = app.get_json("/api/review/queue").await;
    let first = &queue["items"][0];
    assert!(first["id"].is_number(), "queue {queue}");
    let merged = first["id"].as_i64().expect("id");
    let detail = app
        .get_json(&format!("/api/canonical-events/{merged}"))
        .await;
    let donor_src = detail["sources"][0]["id"].as_str().expect("id").to_string();
    let r = app
        .post(
            &format!("/api/review/queue/{merged}/dismiss"),
            &json!({"reason": "checked by hand"}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.json::<Value>().await.expect("json"),
        json!({"status": "dismissed"})
    );
    let in_queue = |q: &Value| {
        q["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["id"] == json!(merged))
    };
    assert!(!in_queue(&app.get_json("/api/review/queue").await));
    app.rerun().await;
    let merged_after = app.canonical_of(&donor_src).await as i64;
    let q = app.get_json("/api/review/queue").await;
    assert!(
        !q["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["id"] == json!(merged_after)),
        "{q}"
    );
    let log = app
        .get_json("/api/audit-log?action_type=review_dismiss")
        .await;
    assert_eq!(
        log["items"][0]["details"]["reason"],
        json!("checked by hand")
    );

    assert_error(
        app.post("/api/review/queue/999999/dismiss", &json!({}))
            .await,
        404,
    )
    .await;
    assert_error(app.get("/api/review/queue?size=101").await, 422).await;
    assert_error(app.get("/api/review/queue?min_sources=0").await, 422).await;
}
