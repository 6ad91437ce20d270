//! Write authorization: bearer tokens, and loopback-only writes without tokens.

use serde_json::json;

use crate::helpers::{assert_error, fixture_dir, multi_member, spawn_app};

#[tokio::test]
async fn writes_need_a_valid_token() {
    let app = spawn_app().await;
    let (id, members) = multi_member(&app).await;
    let body = json!({"canonical_event_id": id, "source_event_id": members[0]});
    let none = app
        .client
        .post(app.url("/api/review/split"))
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_error(none, 401).await;
    let wrong = app
        .client
        .post(app.url("/api/review/split"))
        .bearer_auth("wrong")
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_error(wrong, 401).await;
    let patch = app
        .client
        .patch(app.url("/api/config"))
        .json(&json!({}))
        .send()
        .await
        .expect("sent");
    assert_error(patch, 401).await;
    let dismiss = app
        .client
        .post(app.url(&format!("/api/review/queue/{id}/dismiss")))
        .send()
        .await
        .expect("sent");
    assert_error(dismiss, 401).await;
    assert_eq!(app.rematch_count(), 0);
    assert_eq!(app.members_with(&members[0]).await, members);
}

#[tokio::test]
async fn without_tokens_loopback_writes_are_accepted() {
    let app =
        crate::helpers::spawn_app_configured(&fixture_dir("worked_example"), Vec::new()).await;
    let (id, _) = multi_member(&app).await;
    let r = app
        .client
        .post(app.url(&format!("/api/review/queue/{id}/dismiss")))
        .json(&json!({"operator": "reviewer-on-localhost"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status().as_u16(), 200);
    let log = app.get_json("/api/audit-log").await;
    assert_eq!(log["items"][0]["operator"], json!("reviewer-on-localhost"));
    assert_eq!(app.rematch_count(), 1);
}
