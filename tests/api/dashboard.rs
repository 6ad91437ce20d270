//! Dashboard figures, processing history and the run list.

use serde_json::json;

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn dashboard_stats_history_and_runs() {
    let app = spawn_app().await;
    let stats = app.get_json("/api/dashboard/stats").await;
    assert_eq!(stats["files"]["total_files"], json!(2));
    assert_eq!(stats["files"]["completed"], json!(2));
    assert_eq!(stats["files"]["errors"], json!(0));
    assert_eq!(stats["files"]["total_events"], json!(9));
    assert!(stats["matches"]["match"].as_i64().expect("match") >= 1);
    assert!(stats["matches"]["no_match"].is_number() && stats["matches"]["ambiguous"].is_number());
    assert!(stats["canonicals"]["total"].as_i64().expect("total") >= 5);

    let history = app
        .get_json("/api/dashboard/processing-history?days=7")
        .await;
    let days = history.as_array().expect("array");
    assert_eq!(days.len(), 1);
    assert_eq!(days[0]["files_processed"], json!(2));
    assert_eq!(days[0]["events_ingested"], json!(9));

    let runs = app.get_json("/api/runs").await;
    assert_eq!(runs.as_array().expect("array").len(), 1);
    assert_eq!(runs[0]["status"], json!("completed"));

    for bad in ["days=0", "days=366", "days=x"] {
        assert_error(app.get(&format!("/api/dashboard/stats?{bad}")).await, 422).await;
        assert_error(
            app.get(&format!("/api/dashboard/processing-history?{bad}"))
                .await,
            422,
        )
        .await;
    }
    assert_error(app.get("/api/runs?limit=0").await, 422).await;
}
