//! Health, CORS, the JSON 404, and `/metrics`.

use serde_json::json;

use crate::helpers::{assert_error, spawn_app};

#[tokio::test]
async fn health_is_ok() {
    let app = spawn_app().await;
    assert_eq!(
        app.get_json("/health").await,
        json!({"status": "ok", "database": "up"})
    );
}

#[tokio::test]
async fn cors_allows_the_development_ui() {
    let app = spawn_app().await;
    let r = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/config"))
        .header("Origin", "http://localhost:5173")
        .header("Access-Control-Request-Method", "PATCH")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("sent");
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    let other = app
        .client
        .get(app.url("/health"))
        .header("Origin", "http://evil.example")
        .send()
        .await
        .expect("sent");
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn unknown_route_is_json_404() {
    let app = spawn_app().await;
    assert_error(app.get("/api/nope").await, 404).await;
    let wrong_method = app
        .client
        .delete(app.url("/api/config"))
        .send()
        .await
        .expect("sent");
    assert_error(wrong_method, 405).await;
}

#[tokio::test]
async fn metrics_are_served_in_prometheus_text_format() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    let canonicals = app.count("SELECT count(*) FROM canonical_events").await;
    assert!(
        text.contains(&format!(
            "event_dedup_stored{{what=\"canonical_events\"}} {canonicals}"
        )),
        "{text}"
    );
    for name in [
        "event_dedup_files_processed_total",
        "event_dedup_matching_run_duration_seconds",
        "event_dedup_db_errors_total",
        "event_dedup_ingest_queue_depth",
        "event_dedup_events_ingested_total",
    ] {
        assert!(text.contains(name), "{name} missing");
    }
}

/// `/metrics` serves the registry of the API's state, not a process global, so the
/// figures are exactly what was counted into it.
#[tokio::test]
async fn metrics_report_exactly_the_registry_the_state_carries() {
    let app = spawn_app().await;
    app.metrics
        .files
        .with_label_values(&["completed"])
        .inc_by(3);
    app.metrics.events_ingested.inc_by(9);
    let text = app.get("/metrics").await.text().await.expect("text body");
    for line in [
        "event_dedup_files_processed_total{status=\"completed\"} 3\n",
        "event_dedup_files_processed_total{status=\"failed\"} 0\n",
        "event_dedup_events_ingested_total 9\n",
        "event_dedup_matching_runs_total{outcome=\"completed\"} 0\n",
    ] {
        assert!(text.contains(line), "{line} missing in\n{text}");
    }
}
