//! Issue 13: what hostile testing found. Stalled request bodies, a database outage,
//! the bearer scheme's case, writes through a reverse proxy.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use event_dedup::api::body_guard::BODY_READ_TIMEOUT;
use event_dedup::api::error::{RETRY_AFTER_SECS, UNAVAILABLE_DETAIL};
use event_dedup::api::ApiState;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{self, fixture_dir, spawn_app, TOKEN};

/// Open descriptors of this process (the server runs in it).
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// The port of a test app's server.
fn port_of(app: &crate::helpers::TestApp) -> u16 {
    app.address
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port")
}

/// Reads until the server closes the connection (or `deadline`); returns what came.
async fn read_until_closed(stream: &mut TcpStream, deadline: Instant) -> Option<String> {
    let mut response = Vec::new();
    let left = deadline.saturating_duration_since(Instant::now());
    let read = tokio::time::timeout(left, stream.read_to_end(&mut response)).await;
    match read {
        Ok(_) => Some(String::from_utf8_lossy(&response).into_owned()),
        Err(_) => None,
    }
}

/// Item 1: connections whose body stalls after complete headers get a 408 and are
/// closed within the body deadline, on routes that read the body and routes that
/// ignore it, while other clients are served.
#[tokio::test]
async fn stalled_request_bodies_are_answered_408_and_closed() {
    let app = spawn_app().await;
    let port = port_of(&app);
    let before = open_descriptors();
    let stalls = [
        // Content-Length promises 1000 bytes, 6 arrive.
        "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"a\":1",
        "POST /api/export HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"a\":1",
        // A chunk that never ends.
        "PATCH /api/config HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{\"thr",
        "GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc",
    ];
    const PER_KIND: usize = 25;
    let started = Instant::now();
    let mut streams = Vec::new();
    for stall in stalls {
        for _ in 0..PER_KIND {
            let mut s = TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            s.write_all(stall.as_bytes()).await.expect("send");
            streams.push(s);
        }
    }
    // Others are served meanwhile.
    let health = app.get("/health").await;
    assert_eq!(health.status().as_u16(), 200);

    // Every stalled connection is answered and closed within the bound (plus slack
    // for a loaded machine).
    let deadline = started + BODY_READ_TIMEOUT + Duration::from_secs(20);
    for (i, stream) in streams.iter_mut().enumerate() {
        let response = read_until_closed(stream, deadline)
            .await
            .unwrap_or_else(|| panic!("connection {i} still open after the deadline"));
        assert!(
            response.starts_with("HTTP/1.1 408"),
            "connection {i}: {response}"
        );
        let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let body: Value = serde_json::from_str(body).expect("JSON error body");
        assert!(body["detail"].is_string(), "{body}");
    }
    assert!(
        started.elapsed() >= BODY_READ_TIMEOUT - Duration::from_millis(100),
        "answered before the deadline: the body was not waited for"
    );
    drop(streams);
    // The server released its descriptors (ours are closed too).
    let deadline = Instant::now() + Duration::from_secs(10);
    while open_descriptors() > before + 10 {
        assert!(
            Instant::now() < deadline,
            "{} descriptors open, {before} before the stalled clients",
            open_descriptors()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.get("/health").await.status().as_u16(), 200);
}

/// Item 1: a second request on a kept-alive connection whose head stalls is not held
/// either (actix's head timeout covers only a connection's first request).
#[tokio::test]
async fn a_stalled_second_request_head_is_not_held() {
    let app = spawn_app().await;
    let port = port_of(&app);
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /heal")
        .await
        .expect("send");
    let deadline = Instant::now() + BODY_READ_TIMEOUT + Duration::from_secs(20);
    let response = read_until_closed(&mut s, deadline)
        .await
        .expect("the connection is closed");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

/// Item 1: a body that arrives in time still reaches the handler intact.
#[tokio::test]
async fn a_complete_body_still_reaches_the_handler() {
    let app = spawn_app().await;
    let r = app
        .patch("/api/config", &json!({"thresholds": {"low": 0.35}}))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        app.get_json("/api/config").await["thresholds"]["low"],
        json!(0.35)
    );
}

/// A server whose database is not there (a port nobody listens on).
async fn spawn_without_database() -> (String, tempfile::TempDir) {
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_port = closed.local_addr().expect("addr").port();
    drop(closed);
    let pool = event_dedup::store::build_pool(
        &format!("postgres://postgres@127.0.0.1:{dead_port}/gone"),
        2,
    )
    .expect("pool");
    let config_dir = tempfile::tempdir().expect("temp dir");
    let state = ApiState {
        tokens: vec![(helpers::OPERATOR.to_string(), TOKEN.to_string())],
        ..ApiState::new(
            pool,
            Arc::new(|| {}),
            config_dir.path().join("matching.toml"),
            Arc::new(helpers::lists().clone()),
        )
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = event_dedup::api::server::run_with_workers(listener, state, 1).expect("listen");
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}"), config_dir)
}

/// Item 2: with the database gone, API routes answer 503 with `Retry-After` and a
/// clear detail (not 500), and /metrics drops the stored figures.
#[tokio::test]
async fn a_database_outage_is_a_503_with_retry_after() {
    let (base, _config) = spawn_without_database().await;
    let client = reqwest::Client::new();
    let requests = [
        client.get(format!("{base}/api/canonical-events")),
        client.get(format!("{base}/api/canonical-events/1")),
        client.get(format!("{base}/api/review/queue")),
        client.get(format!("{base}/api/audit-log")),
        client.get(format!("{base}/api/dashboard/stats")),
        client.get(format!("{base}/api/runs")),
        client.get(format!("{base}/api/config")),
        client
            .patch(format!("{base}/api/config"))
            .bearer_auth(TOKEN)
            .json(&json!({"thresholds": {"low": 0.35}})),
        client
            .post(format!("{base}/api/review/queue/1/dismiss"))
            .bearer_auth(TOKEN)
            .json(&json!({})),
        client.post(format!("{base}/api/export")).json(&json!({})),
    ];
    for request in requests {
        let r = request.send().await.expect("sent");
        let what = format!("{} {}", r.url().path(), r.status());
        assert_eq!(r.status().as_u16(), 503, "{what}");
        assert_eq!(
            r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
            Some(RETRY_AFTER_SECS.to_string().as_str()),
            "{what}"
        );
        let body: Value = r.json().await.expect("JSON");
        assert_eq!(body["detail"], UNAVAILABLE_DETAIL, "{what}");
    }
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    assert!(!metrics.contains("event_dedup_stored{"), "{metrics}");
    assert!(
        metrics.contains("event_dedup_stored_scrape_error 1"),
        "{metrics}"
    );
}

/// Item 5: the bearer scheme name is case-insensitive (RFC 9110 §11.1).
#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = spawn_app().await;
    for scheme in ["bearer", "BEARER"] {
        let r = app
            .client
            .patch(app.url("/api/config"))
            .header("authorization", format!("{scheme} {TOKEN}"))
            .json(&json!({"thresholds": {"low": 0.35}}))
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status().as_u16(), 200, "{scheme}");
    }
}

/// Item 7: without tokens, a write that came through a (local) reverse proxy is
/// refused, naming the variable to set; reads are not affected.
#[tokio::test]
async fn without_tokens_writes_through_a_proxy_are_refused() {
    let app = helpers::spawn_app_configured(&fixture_dir("worked_example"), Vec::new()).await;
    for header in ["x-forwarded-for", "forwarded"] {
        let r = app
            .client
            .patch(app.url("/api/config"))
            .header(header, "for=203.0.113.7")
            .json(&json!({"thresholds": {"low": 0.35}}))
            .send()
            .await
            .expect("sent");
        let body = helpers::assert_error(r, 403).await;
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("EVENT_DEDUP_API_TOKENS")),
            "{body}"
        );
        let read = app
            .client
            .get(app.url("/api/config"))
            .header(header, "for=203.0.113.7")
            .send()
            .await
            .expect("sent");
        assert_eq!(read.status().as_u16(), 200);
    }
    assert_eq!(app.rematch_count(), 0);
}

/// Item 4 (found by schemathesis): a config section that is not an object was stored
/// and ignored; it is a 422 naming the section, like the schema says.
#[tokio::test]
async fn a_config_section_must_be_an_object() {
    let app = spawn_app().await;
    let before = app.get_json("/api/config").await;
    let r = app
        .patch("/api/config", &json!({"geo": [], "title": 1}))
        .await;
    let body = helpers::assert_error(r, 422).await;
    let locs: Vec<Value> = body["detail"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| p["loc"].clone())
        .collect();
    assert_eq!(locs, vec![json!(["body", "geo"]), json!(["body", "title"])]);
    assert_eq!(app.get_json("/api/config").await, before);
    assert_eq!(app.rematch_count(), 0);
}

/// Item 4: the errors actix-http answers by itself (malformed request, headers too
/// large, head too slow) have the JSON error shape too.
#[tokio::test]
async fn framework_errors_have_the_json_shape() {
    let app = spawn_app().await;
    let port = port_of(&app);
    // More header fields than actix parses (96).
    let huge = format!(
        "GET /health HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..120)
            .map(|i| format!("X-H{i}: v\r\n"))
            .collect::<String>()
    );
    let cases = [
        (
            "400",
            "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n".to_string(),
        ),
        ("400", "NOT AN HTTP REQUEST\r\n\r\n".to_string()),
        ("431", huge),
        ("408", "GET /health HTTP/1.1\r\nHost".to_string()),
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    for (status, request) in cases {
        let mut s = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        // The server may answer (and close) before it has read everything.
        let _ = s.write_all(request.as_bytes()).await;
        let response = read_until_closed(&mut s, deadline)
            .await
            .expect("answered and closed");
        assert!(
            response.starts_with(&format!("HTTP/1.1 {status} ")),
            "{status}: {response}"
        );
        let (head, body) = response.split_once("\r\n\r\n").expect("head and body");
        assert!(head.contains("content-type: application/json"), "{head}");
        let body: Value = serde_json::from_str(body).expect("JSON body");
        assert!(body["detail"].is_string(), "{body}");
    }
}
