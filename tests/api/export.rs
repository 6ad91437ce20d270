//! Export (HTTP and CLI) in the input format, and its round trips.

use serde_json::{json, Value};

use crate::helpers::{assert_error, fixture_dir, spawn_app, spawn_app_with};

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
