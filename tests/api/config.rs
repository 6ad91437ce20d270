//! The runtime matching configuration: read, validated patch, layering, the stored API key.

use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, TestApp};

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
    let app = crate::helpers::spawn_app_encrypted(enc.clone()).await;
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

/// Stored overrides that no longer validate (the config file changed under them):
/// `GET /api/config` answers with what the next run uses (the file's config, as the
/// matcher does) and names each problem instead of failing; a `PATCH` that keeps
/// the problem is refused with it, one that fixes it is stored.
#[tokio::test]
async fn invalid_stored_overrides_are_named_and_the_files_config_applies() {
    let app = spawn_app().await;
    let file = app._config_dir.path().join("matching.toml");
    std::fs::write(&file, "[thresholds]\nhigh = 0.9\nlow = 0.4\n").expect("config file");
    let r = app
        .patch("/api/config", &json!({"thresholds": {"low": 0.85}}))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(app
        .get_json("/api/config")
        .await
        .get("invalid_overrides")
        .is_none());

    // The file changes: the stored low (0.85) is now above the file's high (0.8).
    std::fs::write(&file, "[thresholds]\nhigh = 0.8\nlow = 0.4\n").expect("config file");
    let shown = app.get_json("/api/config").await;
    assert_eq!(
        shown["thresholds"]["low"],
        json!(0.4),
        "the file's config applies"
    );
    assert_eq!(shown["thresholds"]["high"], json!(0.8));
    let problems = shown["invalid_overrides"]
        .as_array()
        .expect("problems listed");
    assert!(
        problems
            .iter()
            .any(|p| p["loc"] == json!(["body", "thresholds", "low"])
                && p["msg"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("thresholds.low: "))),
        "{problems:?}"
    );

    // A change that keeps the bad override is refused naming it; a fix is stored.
    let r = app
        .patch("/api/config", &json!({"thresholds": {"high": 0.82}}))
        .await;
    let body = assert_error(r, 422).await;
    assert!(
        body["detail"].to_string().contains("thresholds.low"),
        "{body}"
    );
    let r = app
        .patch("/api/config", &json!({"thresholds": {"low": 0.5}}))
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let fixed = app.get_json("/api/config").await;
    assert_eq!(fixed["thresholds"]["low"], json!(0.5));
    assert!(fixed.get("invalid_overrides").is_none(), "{fixed}");
}
