//! The audit log.

use serde_json::json;

use crate::helpers::{assert_error, spawn_app, two_singles};

#[tokio::test]
async fn audit_log_filters_and_orders_newest_first() {
    let app = spawn_app().await;
    let (donor, target, _, _) = two_singles(&app).await;
    app.post(
        "/api/review/merge",
        &json!({"source_canonical_id": donor, "target_canonical_id": target}),
    )
    .await;
    app.post(&format!("/api/review/queue/{target}/dismiss"), &json!({}))
        .await;
    let log = app.get_json("/api/audit-log").await;
    assert_eq!(log["total"], json!(2));
    assert_eq!(log["items"][0]["action_type"], json!("review_dismiss"));
    assert_eq!(log["items"][1]["action_type"], json!("merge"));
    assert!(log["items"][0]["created_at"]
        .as_str()
        .expect("ts")
        .contains('T'));
    let merges = app.get_json("/api/audit-log?action_type=merge").await;
    assert_eq!(merges["total"], json!(1));
    let other = app
        .get_json("/api/audit-log?canonical_event_id=999999")
        .await;
    assert_eq!(other["total"], json!(0));
    assert_error(app.get("/api/audit-log?canonical_event_id=x").await, 422).await;
    assert_error(app.get("/api/audit-log?size=0").await, 422).await;
}
