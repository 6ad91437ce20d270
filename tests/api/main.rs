//! REST API tests (issue #4): every endpoint against a real PostgreSQL database and a
//! real HTTP server, including review decisions surviving a pipeline re-run, config
//! validation, export round trips, auth refusals and a fuzz test for 5xx.

mod contract;
mod hardening;
mod helpers;
#[path = "../ui/seed.rs"]
mod seed;

use event_dedup::matching::config::ScoringMethod;
use event_dedup::matching::learned::MatchModel;
use event_dedup::matching::MatchingConfig;
use helpers::{
    assert_error, fixture_dir, spawn_app, spawn_app_matching, spawn_app_with, TestApp, OPERATOR,
};
use serde_json::{json, Value};

/// A canonical with at least two members and its member ids.
async fn multi_member(app: &TestApp) -> (i64, Vec<String>) {
    for c in app.canonicals().await {
        if c["source_count"].as_i64().unwrap_or(0) >= 2 {
            let id = c["id"].as_i64().expect("id");
            let detail = app.get_json(&format!("/api/canonical-events/{id}")).await;
            let members = detail["sources"]
                .as_array()
                .expect("sources")
                .iter()
                .map(|s| s["id"].as_str().expect("source id").to_string())
                .collect();
            return (id, members);
        }
    }
    panic!("the worked example has a multi-member canonical");
}

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
async fn list_paginates_filters_and_sorts() {
    let app = spawn_app().await;
    let all = app.canonicals().await;
    let total = all.len() as i64;
    assert!(total >= 5);

    let page = app.get_json("/api/canonical-events?size=2&page=2").await;
    assert_eq!(page["total"], json!(total));
    assert_eq!(page["size"], json!(2));
    assert_eq!(page["page"], json!(2));
    assert_eq!(page["pages"], json!((total + 1) / 2));
    assert_eq!(page["items"].as_array().expect("items").len(), 2);

    let past = app.get_json("/api/canonical-events?page=99").await;
    assert_eq!(past["items"], json!([]));
    assert_eq!(past["total"], json!(total));

    // City: exact, case-insensitive, repeatable (OR).
    let wk = app.get_json("/api/canonical-events?city=waldkirch").await;
    assert!(wk["total"].as_i64().expect("total") >= 1);
    for item in wk["items"].as_array().expect("items") {
        assert_eq!(item["location_city"], json!("Waldkirch"));
    }
    let both = app
        .get_json("/api/canonical-events?city=waldkirch&city=EMMENDINGEN")
        .await;
    assert!(both["total"].as_i64() > wk["total"].as_i64());
    let partial = app.get_json("/api/canonical-events?city=Waldkir").await;
    assert_eq!(partial["total"], json!(0));

    // q: substring, with LIKE wildcards taken literally.
    let q = app.get_json("/api/canonical-events?q=streuobst").await;
    assert!(q["total"].as_i64().expect("total") >= 1);
    let wild = app.get_json("/api/canonical-events?q=%25").await;
    assert_eq!(wild["total"], json!(0));
    let underscore = app.get_json("/api/canonical-events?q=_").await;
    assert_eq!(underscore["total"], json!(0));

    // Category: exact membership, AND over values.
    let fas = app
        .get_json("/api/canonical-events?category=fasnacht")
        .await;
    assert!(fas["total"].as_i64().expect("total") >= 1);
    let none = app
        .get_json("/api/canonical-events?category=fasnacht&category=no-such-category")
        .await;
    assert_eq!(none["total"], json!(0));
    let sub = app.get_json("/api/canonical-events?category=fasn").await;
    assert_eq!(sub["total"], json!(0));

    // Dates: overlap semantics.
    let feb15 = app
        .get_json("/api/canonical-events?date_from=2026-02-15&date_to=2026-02-15")
        .await;
    assert!(feb15["total"].as_i64().expect("total") >= 1);
    let far = app
        .get_json("/api/canonical-events?date_from=2030-01-01")
        .await;
    assert_eq!(far["total"], json!(0));

    // Sorting: source_count desc puts the biggest first; id breaks ties.
    let sorted = app
        .get_json("/api/canonical-events?sort_by=source_count&sort_dir=desc&size=100")
        .await;
    let counts: Vec<i64> = sorted["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["source_count"].as_i64().expect("count"))
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    for key in [
        "title",
        "city",
        "date",
        "categories",
        "confidence",
        "review",
        "bogus",
    ] {
        app.get_json(&format!("/api/canonical-events?sort_by={key}"))
            .await;
    }
    let min2 = app.get_json("/api/canonical-events?min_sources=2").await;
    assert!(min2["total"].as_i64().expect("total") >= 1);
    app.get_json("/api/canonical-events?review=false").await;
}

#[tokio::test]
async fn list_rejects_bad_parameters_with_422() {
    let app = spawn_app().await;
    for query in [
        "size=0",
        "size=10001",
        "page=0",
        "page=abc",
        "date_from=2026-13-01",
        "date_to=tomorrow",
        "review=maybe",
        "min_sources=0",
        "page=9223372036854775807&size=10000",
    ] {
        let body = assert_error(
            app.get(&format!("/api/canonical-events?{query}")).await,
            422,
        )
        .await;
        let detail = body["detail"].as_array().expect("problem list");
        assert!(detail[0]["loc"].is_array() && detail[0]["msg"].is_string());
    }
    let body = assert_error(app.get("/api/canonical-events?size=0&page=0").await, 422).await;
    assert_eq!(body["detail"].as_array().expect("list").len(), 2);
}

#[tokio::test]
async fn categories_and_cities_are_sorted_and_distinct() {
    let app = spawn_app().await;
    for path in [
        "/api/canonical-events/categories",
        "/api/canonical-events/cities",
    ] {
        let values: Vec<String> =
            serde_json::from_value(app.get_json(path).await).expect("strings");
        assert!(!values.is_empty());
        let mut sorted = values.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(values.len(), sorted.len());
    }
    let cities = app.get_json("/api/canonical-events/cities").await;
    assert!(cities
        .as_array()
        .expect("array")
        .contains(&json!("Waldkirch")));
}

#[tokio::test]
async fn detail_shows_sources_provenance_and_decisions() {
    let app = spawn_app().await;
    let (id, members) = multi_member(&app).await;
    let d = app.get_json(&format!("/api/canonical-events/{id}")).await;
    assert_eq!(d["source_count"].as_u64(), Some(members.len() as u64));
    assert!(d["field_provenance"]["title"].is_string());
    let decisions = d["match_decisions"].as_array().expect("decisions");
    assert!(!decisions.is_empty());
    for dec in decisions {
        assert!(members.contains(&dec["source_event_id_a"].as_str().expect("a").to_string()));
        assert!(dec["weights"]["title"].is_number());
        assert!(dec["rule"].is_string() && dec["tier"].is_string());
        assert!(dec["combined_score"].is_number());
        // The learned model explains itself feature by feature, and the contributions
        // add up to the stored match probability.
        let contributions = dec["contributions"].as_array().expect("contributions");
        assert_eq!(
            contributions.len(),
            event_dedup::matching::learned::N_FEATURES
        );
        let log_odds: f64 = contributions
            .iter()
            .map(|c| c["contribution"].as_f64().expect("number"))
            .sum();
        let p = 1.0 / (1.0 + (-(log_odds + MatchModel::bundled().intercept)).exp());
        let stored = dec["combined_score"].as_f64().expect("score");
        assert!((p - stored).abs() < 1e-9, "{p} vs {stored}");
    }
    let first = &d["sources"][0];
    assert!(first["dates"][0]["date"].is_string());
    assert!(first["source_code"].is_string());

    assert_error(app.get("/api/canonical-events/999999").await, 404).await;
    assert_error(app.get("/api/canonical-events/abc").await, 422).await;
    assert_error(app.get("/api/canonical-events/99999999999").await, 422).await;
}

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
    let app = helpers::spawn_app_configured(&fixture_dir("worked_example"), Vec::new()).await;
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
        .bearer_auth(helpers::TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_error(broken, 422).await;
    let huge = app
        .client
        .post(app.url("/api/review/split"))
        .bearer_auth(helpers::TOKEN)
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

/// Two single-member canonicals from different, unrelated events.
async fn two_singles(app: &TestApp) -> (i64, i64, String, String) {
    let singles: Vec<i64> = app
        .canonicals()
        .await
        .into_iter()
        .filter(|c| c["source_count"] == json!(1))
        .map(|c| c["id"].as_i64().expect("id"))
        .collect();
    assert!(singles.len() >= 2);
    let member = |id: i64| async move {
        let d = app.get_json(&format!("/api/canonical-events/{id}")).await;
        d["sources"][0]["id"].as_str().expect("id").to_string()
    };
    let (a, b) = (singles[0], singles[1]);
    (a, b, member(a).await, member(b).await)
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

#[tokio::test]
async fn config_get_hides_the_key_and_patch_validates_everything() {
    let app = spawn_app().await;
    let before = app.get_json("/api/config").await;
    assert_eq!(before["has_api_key"], json!(false));
    assert!(before["ai"].get("api_key").is_none());
    assert!(before["thresholds"]["high"].is_number());

    // Invalid: every problem listed, nothing stored, no re-match.
    let r = app
        .patch(
            "/api/config",
            &json!({"thresholds": {"low": 0.95, "high": 0.5}, "scoring": {"date": 3.0}}),
        )
        .await;
    let body = assert_error(r, 422).await;
    let text = body["detail"].to_string();
    assert!(text.contains("thresholds.low"), "{text}");
    assert!(text.contains("[\"body\",\"scoring\"]"), "{text}");
    let typed = app
        .patch("/api/config", &json!({"thresholds": {"high": "high"}}))
        .await;
    assert_error(typed, 422).await;
    let unknown = app
        .patch("/api/config", &json!({"no_such_section": {}}))
        .await;
    assert_error(unknown, 422).await;
    assert_error(app.patch("/api/config", &json!([1, 2])).await, 422).await;
    assert_eq!(app.get_json("/api/config").await, before);
    assert_eq!(app.rematch_count(), 0);
    {
        let client = app.pool.get().await.expect("connection");
        let stored = event_dedup::store::load_stored_config(&**client)
            .await
            .expect("load");
        assert!(stored.is_none());
    }

    // Valid: deep merge keeps the other keys; stored; re-match requested.
    let old_high = before["thresholds"]["high"].clone();
    let r = app
        .patch(
            "/api/config",
            &json!({"thresholds": {"low": 0.3}, "ai_api_key": "sk-test"}),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let after: Value = r.json().await.expect("json");
    assert_eq!(after["thresholds"]["low"], json!(0.3));
    assert_eq!(after["thresholds"]["high"], old_high);
    assert_eq!(after["has_api_key"], json!(true));
    assert!(after["updated_at"].is_string());
    assert!(!after.to_string().contains("sk-test"));
    assert_eq!(app.rematch_count(), 1);
    assert_eq!(app.get_json("/api/config").await, after);

    let r = app.patch("/api/config", &json!({"ai_api_key": ""})).await;
    let cleared: Value = r.json().await.expect("json");
    assert_eq!(cleared["has_api_key"], json!(false));
    assert_eq!(cleared["thresholds"]["low"], json!(0.3));
}

#[tokio::test]
async fn config_layers_defaults_file_and_stored_overrides() {
    let app = spawn_app().await;
    let file = app._config_dir.path().join("matching.toml");
    std::fs::write(&file, "[thresholds]\nhigh = 0.9\nlow = 0.4\n").expect("config file written");
    let from_file = app.get_json("/api/config").await;
    assert_eq!(from_file["thresholds"]["high"], json!(0.9));
    assert_eq!(from_file["thresholds"]["low"], json!(0.4));
    // A stored override beats the file; keys it does not name keep the file's value.
    let r = app
        .patch("/api/config", &json!({"thresholds": {"low": 0.35}}))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let merged = app.get_json("/api/config").await;
    assert_eq!(merged["thresholds"]["high"], json!(0.9));
    assert_eq!(merged["thresholds"]["low"], json!(0.35));
    // Validation sees the whole effective config: low above the file's high fails.
    let r = app
        .patch("/api/config", &json!({"thresholds": {"low": 0.95}}))
        .await;
    assert_error(r, 422).await;
    assert_eq!(app.get_json("/api/config").await, merged);
}

#[tokio::test]
async fn export_round_trips_as_an_input_file() {
    let app = spawn_app().await;
    let total = app.canonicals().await.len();
    let r = app
        .client
        .post(app.url("/api/export"))
        .json(&json!({}))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().expect("ascii"),
        "application/json"
    );
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(disposition.contains("_part_1.json"), "{disposition}");
    let bytes = r.bytes().await.expect("body");
    let text = std::str::from_utf8(&bytes).expect("utf8");
    assert!(text.contains("Großer"), "non-ASCII stays unescaped");
    let doc: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(doc["metadata"]["eventCount"], json!(total));
    assert_eq!(doc["metadata"]["totalParts"], json!(1));
    let first = &doc["events"][0];
    assert!(first["id"].as_str().expect("id").starts_with("canonical-"));
    assert_eq!(first["source_type"], json!("canonical"));
    assert!(!first["source_event_ids"]
        .as_array()
        .expect("ids")
        .is_empty());

    let parsed = event_dedup::ingest::parse_event_file("export_part_1.json", &bytes)
        .expect("an export is a valid input file");
    assert_eq!(parsed.events.len(), total);

    // Filters: nothing modified in the future.
    let none = app
        .client
        .post(app.url("/api/export"))
        .json(&json!({"modified_after": "2999-01-01T00:00:00"}))
        .send()
        .await
        .expect("sent");
    let doc: Value = none.json().await.expect("json");
    assert_eq!(doc["events"], json!([]));
    assert_eq!(doc["metadata"]["totalParts"], json!(1));
    // Empty body = no filters.
    let empty = app
        .client
        .post(app.url("/api/export"))
        .send()
        .await
        .expect("sent");
    assert_eq!(empty.status().as_u16(), 200);
    // A cleared form field ("") is no bound, like null: everything is exported.
    let blank = app
        .client
        .post(app.url("/api/export"))
        .json(&json!({"created_after": "", "modified_after": "  "}))
        .send()
        .await
        .expect("sent");
    assert_eq!(blank.status().as_u16(), 200);
    let blank: Value = blank.json().await.expect("json");
    assert!(!blank["events"].as_array().expect("events").is_empty());

    let bad = app
        .client
        .post(app.url("/api/export"))
        .json(&json!({"created_after": "yesterday"}))
        .send()
        .await
        .expect("sent");
    let body = assert_error(bad, 422).await;
    assert_eq!(
        body["detail"],
        json!([{"loc": ["body", "created_after"], "msg": "Invalid datetime format for created_after: 'yesterday'"}])
    );
    let broken = app
        .client
        .post(app.url("/api/export"))
        .body("{")
        .send()
        .await
        .expect("sent");
    assert_error(broken, 422).await;
    let huge = app
        .client
        .post(app.url("/api/export"))
        .body(vec![b' '; 100_000])
        .send()
        .await
        .expect("sent");
    assert_error(huge, 413).await;
}

#[tokio::test]
async fn large_export_is_a_zip_of_200_event_parts() {
    let app = spawn_app_with(&fixture_dir("dev/events")).await;
    let total = app.get_json("/api/canonical-events?size=1").await["total"]
        .as_u64()
        .expect("total") as usize;
    assert!(total > 200, "dev set has {total} canonicals");
    let r = app
        .client
        .post(app.url("/api/export"))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().expect("ascii"),
        "application/zip"
    );
    let bytes = r.bytes().await.expect("body");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("zip");
    let parts = archive.len();
    assert_eq!(parts, total.div_ceil(200));
    let mut seen = 0;
    for i in 0..parts {
        let mut file = archive.by_index(i).expect("entry");
        let name = file.name().to_string();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut data).expect("read");
        let parsed = event_dedup::ingest::parse_event_file(&name, &data).expect("valid input file");
        assert!(parsed.events.len() <= 200);
        seen += parsed.events.len();
    }
    assert_eq!(seen, total);
}

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

/// Random query strings and bodies never produce a 5xx.
#[test]
fn random_requests_never_cause_server_errors() {
    use proptest::prelude::*;

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let app = rt.block_on(spawn_app());
    // Routes and query keys come from the OpenAPI document, so every documented
    // route and parameter is fuzzed (and the document is what `configure` serves).
    let doc = rt.block_on(app.get_json("/api/openapi.json"));
    let (gets, posts, documented_keys) = fuzz_targets(&doc);
    assert!(gets.len() >= 10 && posts.len() >= 4, "{gets:?} {posts:?}");
    let mut key_list: Vec<String> = documented_keys.into_iter().collect();
    key_list.push("x".into());
    let keys = prop::sample::select(key_list);
    // Any Unicode text, NUL included (PostgreSQL text cannot hold NUL: a 500 once).
    let value = prop_oneof![
        "[ -~]{0,12}",
        "\\PC{0,6}\u{0}?\\PC{0,4}",
        any::<i64>().prop_map(|v| v.to_string()),
        Just("2026-02-15".to_string()),
    ];
    let query = prop::collection::vec((keys, value), 0..5);
    let body = prop_oneof![
        "[ -~]{0,40}",
        Just("{}".to_string()),
        Just("null".to_string()),
        Just("[]".to_string()),
        Just(r#"{"operator": "a\u0000b", "reason": "\u0000", "source_event_id": "\u0000", "canonical_event_id": 1, "source_canonical_id": 1, "target_canonical_id": 2, "ai": {"model": "\u0000"}}"#.to_string()),
        any::<(i64, i64)>().prop_map(|(a, b)| format!(
            "{{\"canonical_event_id\": {a}, \"source_event_id\": \"x\", \"source_canonical_id\": {a}, \"target_canonical_id\": {b}, \"created_after\": \"{a}\"}}"
        )),
    ];
    let config = ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let routes = gets.len() + posts.len();
    proptest!(config, |(route in 0usize..routes, query in query, body in body)| {
        let encoded: String = query
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let status = rt.block_on(async {
            let request = if route < gets.len() {
                app.client.get(app.url(&format!("{}?{encoded}", gets[route])))
            } else {
                let (method, path) = &posts[route - gets.len()];
                app.client
                    .request(method.clone(), app.url(path))
                    .bearer_auth(helpers::TOKEN)
                    .header("content-type", "application/json")
                    .body(body.clone())
            };
            request.send().await.expect("sent").status().as_u16()
        });
        prop_assert!(status < 500, "route {route} query {encoded} body {body} -> {status}");
    });
}

/// PostgreSQL text cannot hold NUL: every text input carrying one is a 422 naming
/// it, never a 500 from the database (found by schemathesis).
#[tokio::test]
async fn nul_characters_are_refused_with_422() {
    let app = spawn_app().await;
    for path in [
        "/api/canonical-events?q=a%00",
        "/api/canonical-events?city=x%00y",
        "/api/canonical-events?category=%00",
        "/api/audit-log?action_type=split%00",
        "/api/explain?a=%00&b=x",
    ] {
        let body = assert_error(app.get(path).await, 422).await;
        assert!(body.to_string().contains("NUL"), "{path}: {body}");
    }
    let (id, members) = multi_member(&app).await;
    let writes = [
        (
            "/api/review/split".to_string(),
            json!({"canonical_event_id": id, "source_event_id": "a\u{0}"}),
        ),
        (
            "/api/review/split".to_string(),
            json!({"canonical_event_id": id, "source_event_id": members[0], "operator": "\u{0}"}),
        ),
        (
            format!("/api/review/queue/{id}/dismiss"),
            json!({"reason": "no\u{0}"}),
        ),
    ];
    for (path, body) in writes {
        let body = assert_error(app.post(&path, &body).await, 422).await;
        assert!(body.to_string().contains("NUL"), "{path}: {body}");
    }
    let body = assert_error(
        app.patch("/api/config", &json!({"ai": {"model": "m\u{0}"}}))
            .await,
        422,
    )
    .await;
    assert_eq!(body["detail"][0]["loc"], json!(["body", "ai", "model"]));
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log").await,
        0,
        "nothing stored"
    );
}

/// GET paths, write (method, path) pairs and every documented query key, with path
/// parameters filled in with `1`.
fn fuzz_targets(
    doc: &Value,
) -> (
    Vec<String>,
    Vec<(reqwest::Method, String)>,
    std::collections::BTreeSet<String>,
) {
    let (mut gets, mut writes, mut keys) =
        (Vec::new(), Vec::new(), std::collections::BTreeSet::new());
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let concrete = path.replace("{id}", "1");
        for (method, op) in item.as_object().expect("path item") {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "query" {
                    keys.insert(p["name"].as_str().expect("name").to_string());
                }
            }
            match method.as_str() {
                "get" if path != "/metrics" => gets.push(concrete.clone()),
                "post" => writes.push((reqwest::Method::POST, concrete.clone())),
                "patch" => writes.push((reqwest::Method::PATCH, concrete.clone())),
                _ => {}
            }
        }
    }
    (gets, writes, keys)
}

/// The document lists exactly what the service serves: each documented (method,
/// path) reaches a handler (never the JSON "Not found" of unknown paths, never 405),
/// and an undocumented method on a documented path is refused with 405.
#[tokio::test]
async fn openapi_document_matches_the_routes() {
    let app = spawn_app().await;
    let doc = app.get_json("/api/openapi.json").await;
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    let paths = doc["paths"].as_object().expect("paths");
    for expected in [
        "/health",
        "/metrics",
        "/api/openapi.json",
        "/api/canonical-events",
        "/api/canonical-events/{id}",
        "/api/canonical-events/categories",
        "/api/canonical-events/cities",
        "/api/review/queue",
        "/api/review/split",
        "/api/review/merge",
        "/api/review/queue/{id}/dismiss",
        "/api/audit-log",
        "/api/dashboard/stats",
        "/api/dashboard/processing-history",
        "/api/runs",
        "/api/config",
        "/api/export",
        "/api/explain",
    ] {
        assert!(paths.contains_key(expected), "{expected} is not documented");
    }
    let mut checked = 0;
    for (path, item) in paths {
        let concrete = path.replace("{id}", "999999");
        let documented: Vec<&str> = item
            .as_object()
            .expect("path item")
            .keys()
            .map(String::as_str)
            .collect();
        for method in ["get", "post", "patch", "put", "delete"] {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let response = app
                .client
                .request(m, app.url(&concrete))
                .bearer_auth(helpers::TOKEN)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .expect("sent");
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if documented.contains(&method) {
                checked += 1;
                assert_ne!(status, 405, "{method} {path} is documented but not routed");
                assert!(
                    !(status == 404 && body["detail"] == "Not found"),
                    "{method} {path} is documented but reaches no handler"
                );
                assert!(status < 500, "{method} {path} -> {status} {body}");
            } else {
                assert_eq!(status, 405, "{method} {path} is served but not documented");
            }
        }
    }
    assert!(checked >= 19, "only {checked} operations checked");
    // An undocumented path is the JSON 404, so the check above can fail.
    let unknown = app.get("/api/canonical-events/1/sources").await;
    assert_eq!(assert_error(unknown, 404).await["detail"], "Not found");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn export_command_writes_input_format_parts() {
    let app = spawn_app().await;
    let out = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_event-dedup"))
        .arg("export")
        .arg("--output-dir")
        .arg(out.path())
        .args(["--created-after", "2000-01-01T00:00:00"])
        .env("EVENT_DEDUP_DATABASE_URL", &app.database_url)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let files: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        name.starts_with("export_") && name.ends_with("_part_1.json"),
        "{name}"
    );
    let bytes = std::fs::read(&files[0]).unwrap();
    let parsed =
        event_dedup::ingest::parse_event_file(&name, &bytes).expect("export is a valid input file");
    let canonicals = app.count("SELECT count(*) FROM canonical_events").await;
    assert_eq!(parsed.events.len() as i64, canonicals);
    let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        doc["metadata"]["filters"]["created_after"],
        "2000-01-01T00:00:00"
    );
    // Every source event is accounted for exactly once across the exported events.
    let mut members: Vec<String> = doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| {
            e["source_event_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
        })
        .collect();
    members.sort();
    let total = members.len();
    members.dedup();
    assert_eq!(members.len(), total);
    assert_eq!(
        total as i64,
        app.count("SELECT count(*) FROM source_events").await
    );

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_event-dedup"))
        .args(["export", "--created-after", "yesterday"])
        .env("EVENT_DEDUP_DATABASE_URL", &app.database_url)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("Invalid datetime format for created_after")
    );
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

/// Export → ingest the export into a fresh instance → the same canonical groups:
/// every exported canonical becomes one canonical there (at most a few that the
/// original kept apart with little margin meet again), carrying the original members
/// in `source_event_ids`.
#[tokio::test]
async fn export_round_trips_into_a_fresh_instance_with_the_same_groups() {
    let app = spawn_app_with(&fixture_dir("dev/events")).await;
    let response = app
        .client
        .post(app.url("/api/export"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let zip_bytes = response.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes.to_vec())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let mut out = std::fs::File::create(dir.path().join(entry.name())).unwrap();
        std::io::copy(&mut entry, &mut out).unwrap();
    }
    let fresh = spawn_app_with(dir.path()).await;

    let groups = |pool: deadpool_postgres::Pool| async move {
        let client = pool.get().await.unwrap();
        let rows = client
            .query(
                "SELECT array_agg(s.source_event_id ORDER BY s.source_event_id)
                 FROM canonical_event_sources s GROUP BY s.canonical_event_id",
                &[],
            )
            .await
            .unwrap();
        rows.iter()
            .map(|r| r.get::<_, Vec<String>>(0))
            .collect::<Vec<_>>()
    };
    // In the fresh instance each source event is an exported canonical
    // ("canonical-<id>"); its members are the original groups.
    let original = groups(app.pool.clone()).await;
    let fresh_groups = groups(fresh.pool.clone()).await;
    // Exported canonicals stay apart, except a few that the original kept apart with
    // little margin: a synthesized canonical (longest title, merged text) can score
    // higher against its neighbour than any of its members did, and groups the
    // clustering cut apart ("cut: …") meet again as single listings.
    let joined: usize = fresh_groups.iter().map(|g| g.len() - 1).sum();
    assert!(
        joined <= 3,
        "{joined} exported canonicals joined others: {:?}",
        fresh_groups
            .iter()
            .filter(|g| g.len() > 1)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        fresh_groups.len() + joined,
        original.len(),
        "every exported event is stored"
    );
    // The exported events carry the original groups: they must be exactly those.
    let mut carried: Vec<Vec<String>> = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
        for e in doc["events"].as_array().unwrap() {
            assert!(e["id"].as_str().unwrap().starts_with("canonical-"));
            let mut members: Vec<String> = e["source_event_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect();
            members.sort();
            carried.push(members);
        }
    }
    let mut original = original;
    original.sort();
    carried.sort();
    assert_eq!(carried, original);
}

/// Storage spec §4: with `EVENT_DEDUP_ENCRYPTION_KEY` the stored key is a Fernet
/// token, without it `plain:` + key; the key is never in `config_json`, the audit
/// details or any response.
#[tokio::test]
async fn config_api_key_is_encrypted_at_rest_when_a_key_is_configured() {
    use event_dedup::tiebreak::{secret, ApiKey, EncryptionKey};
    const SECRET: &str = "sk-config-test-0815";
    async fn stored_key(app: &TestApp) -> (Option<String>, String) {
        let client = app.pool.get().await.expect("connection");
        let stored = event_dedup::store::load_stored_config(&**client)
            .await
            .expect("load")
            .expect("row");
        let audit: Vec<String> = client
            .query("SELECT details::text FROM audit_log", &[])
            .await
            .expect("audit")
            .iter()
            .map(|r| r.get(0))
            .collect();
        (
            stored.encrypted_api_key,
            format!("{} {}", stored.config_json, audit.join(" ")),
        )
    }

    let enc = EncryptionKey::generate();
    let app = helpers::spawn_app_encrypted(enc.clone()).await;
    let r = app
        .patch("/api/config", &json!({"ai_api_key": SECRET}))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(!r.text().await.expect("body").contains(SECRET));
    let (value, elsewhere) = stored_key(&app).await;
    let value = value.expect("a stored key");
    assert!(!value.starts_with("plain:") && !value.contains(SECRET));
    assert_eq!(secret::open(&value, Some(&enc)), Ok(ApiKey::new(SECRET)));
    assert!(!elsewhere.contains(SECRET), "{elsewhere}");

    let plain = spawn_app().await;
    let r = plain
        .patch("/api/config", &json!({"ai_api_key": SECRET}))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let (value, elsewhere) = stored_key(&plain).await;
    assert_eq!(value, Some(format!("plain:{SECRET}")));
    assert!(!elsewhere.contains(SECRET), "{elsewhere}");
    assert!(!plain
        .get_json("/api/config")
        .await
        .to_string()
        .contains(SECRET));
}

/// Titles of a list answer.
fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["title"].as_str().expect("title").to_string())
        .collect()
}

#[tokio::test]
async fn search_folds_umlauts_synonyms_and_word_order_like_the_matcher() {
    let app = spawn_app().await;
    // A dialect synonym: "Fasent" and "Fastnacht" fold to the same word as "Fasnet".
    for q in ["Fasent", "FASTNACHT", "fasching"] {
        let found = titles(&app.get_json(&format!("/api/canonical-events?q={q}")).await);
        assert!(!found.is_empty(), "q={q} finds the Fasnet parades");
        assert!(
            found.iter().all(|t| t.contains("Fasnet")),
            "q={q}: {found:?}"
        );
    }
    // ß = ss, any word order, city words count (the parade is in Waldkirch).
    let grosser = titles(&app.get_json("/api/canonical-events?q=grosser").await);
    assert!(grosser.iter().any(|t| t.contains("Großer")), "{grosser:?}");
    let reordered = titles(
        &app.get_json("/api/canonical-events?q=waldkirch%20umzug")
            .await,
    );
    assert!(
        reordered.iter().any(|t| t.contains("Fasnet")),
        "{reordered:?}"
    );
    let none = app
        .get_json("/api/canonical-events?q=umzug%20nirgendwo")
        .await;
    assert_eq!(none["total"], json!(0), "every word must match");
    // A stripped title prefix ("Vortrag:") still matches the raw title.
    let raw = titles(&app.get_json("/api/canonical-events?q=Vortrag").await);
    let stored = app
        .count("SELECT count(*) FROM canonical_events WHERE title ILIKE '%Vortrag%'")
        .await;
    assert_eq!(raw.len() as i64, stored);
}

#[tokio::test]
async fn synonym_categories_filter_together() {
    let app = spawn_app().await;
    let fasnacht = app
        .get_json("/api/canonical-events?category=fasnacht")
        .await;
    assert!(fasnacht["total"].as_i64().expect("total") >= 1);
    for spelling in ["fasching", "karneval", "Fasnet"] {
        let other = app
            .get_json(&format!("/api/canonical-events?category={spelling}"))
            .await;
        assert_eq!(other["total"], fasnacht["total"], "category={spelling}");
    }
    // Still AND over chips: a synonym plus an unknown category finds nothing.
    let none = app
        .get_json("/api/canonical-events?category=fasching&category=no-such")
        .await;
    assert_eq!(none["total"], json!(0));
}

#[tokio::test]
async fn titles_sort_in_german_order() {
    let app = spawn_app().await;
    let client = app.pool.get().await.expect("connection");
    client
        .execute(
            "UPDATE canonical_events SET title = 'Ökumenischer Abend'
             WHERE id = (SELECT min(id) FROM canonical_events)",
            &[],
        )
        .await
        .expect("rename");
    let sorted = titles(
        &app.get_json("/api/canonical-events?sort_by=title&size=100")
            .await,
    );
    let at = sorted
        .iter()
        .position(|t| t.starts_with("Ökumen"))
        .expect("renamed title listed");
    // DIN 5007: "Ö" sorts as "O" (byte order would put it after "Z").
    let initial = |t: &String| t.chars().next().expect("non-empty").to_ascii_uppercase();
    assert!(at + 1 < sorted.len(), "not last: {sorted:?}");
    assert!(initial(&sorted[at + 1]) >= 'O', "{sorted:?}");
    if at > 0 {
        assert!(initial(&sorted[at - 1]) <= 'O', "{sorted:?}");
    }
    let summary = &app.canonicals().await[0];
    assert!(summary.get("first_date").is_some() && summary.get("last_date").is_some());
}

/// The worked example plus one week of five dev-set sources (the browser tests' seed):
/// enough uncertain pairs that the matcher keeps some ambiguous ones apart.
async fn spawn_week() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    for rel in seed::SEED {
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
