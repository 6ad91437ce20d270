//! The OpenAPI document against the served routes, and fuzzing from it: no 5xx, NUL refused with 422.

use serde_json::{json, Value};

use crate::helpers::{assert_error, multi_member, spawn_app};

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
                    .bearer_auth(crate::helpers::TOKEN)
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
                .bearer_auth(crate::helpers::TOKEN)
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
