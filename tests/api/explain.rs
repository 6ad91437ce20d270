//! `/api/explain` on two stored events.

use serde_json::json;

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn explain_scores_two_stored_events() {
    let app = spawn_app().await;
    let d = app
        .get_json("/api/explain?a=pdf-7c0d55e1-2-0&b=pdf-3fa91c02-1-1")
        .await;
    assert_eq!(d["id_a"], json!("pdf-3fa91c02-1-1"));
    assert_eq!(d["decision"], json!("match"));
    assert!(d["scores"]["title"].is_number() && d["weights"]["date"].is_number());
    let features: Vec<&str> = d["contributions"]
        .as_array()
        .expect("contributions")
        .iter()
        .map(|c| c["feature"].as_str().expect("name"))
        .collect();
    assert!(features.contains(&"title_score") && features.contains(&"same_issue"));
    assert_error(app.get("/api/explain?a=pdf-7c0d55e1-2-0&b=nope").await, 404).await;
    let body = assert_error(app.get("/api/explain").await, 422).await;
    assert_eq!(body["detail"].as_array().expect("list").len(), 2);
}
