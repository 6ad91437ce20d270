//! Matching configuration endpoints (storage-and-api.md §8).
//!
//! The effective config is built-in defaults ← the file at `matching_config_path`
//! (when present) ← the stored overrides (`config_settings.config_json`), merged as
//! JSON objects key by key. `PATCH` deep-merges the request into the stored overrides
//! and validates the *effective* result exactly like a file (serde type/unknown-key
//! errors and every `validate()` error); on any problem it answers 422 listing them
//! all and stores nothing. The API key is never returned (`has_api_key` only), never
//! part of `config_json` or the audit details, and stored as a Fernet token when
//! `EVENT_DEDUP_ENCRYPTION_KEY` is set (`plain:` + key and a warning otherwise).

use actix_web::{get, patch, web, HttpResponse};
use serde_json::{json, Map, Value};
use tokio_postgres::GenericClient;

use super::audit::insert_audit;
use super::auth::Operator;
use super::error::{ApiError, FieldProblem};
use super::state::ApiState;
use crate::matching::config::Severity;
use crate::matching::MatchingConfig;
use crate::store::{self, StoredConfig};
use crate::tiebreak::{secret, ApiKey};

/// Objects merge key by key, recursively; anything else replaces.
pub fn deep_merge(target: &mut Value, overlay: &Value) {
    match (target, overlay) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(existing) => deep_merge(existing, v),
                    None => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// The config file as JSON, or `None` when it does not exist.
fn file_layer(state: &ApiState) -> Result<Option<Value>, ApiError> {
    let path = &state.matching_config_path;
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ApiError::Unexpected(
                anyhow::Error::new(e).context(format!("reading {}", path.display())),
            ))
        }
    };
    let value: toml::Value = toml::from_str(&text).map_err(|e| {
        ApiError::Unexpected(anyhow::Error::new(e).context(format!("parsing {}", path.display())))
    })?;
    serde_json::to_value(value)
        .map(Some)
        .map_err(|e| ApiError::Unexpected(e.into()))
}

/// Defaults ← file ← overrides, validated. `Err` lists every problem (as 422 items).
pub fn build_config(
    file: Option<&Value>,
    overrides: &Value,
) -> Result<MatchingConfig, Vec<FieldProblem>> {
    let mut merged = serde_json::to_value(MatchingConfig::default())
        .map_err(|e| vec![FieldProblem::new(&["config"], e.to_string())])?;
    if let Some(file) = file {
        deep_merge(&mut merged, file);
    }
    deep_merge(&mut merged, overrides);
    let config: MatchingConfig = serde_json::from_value(merged)
        .map_err(|e| vec![FieldProblem::new(&["body"], e.to_string())])?;
    let problems: Vec<FieldProblem> = config
        .validate()
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| {
            let mut loc = vec!["body".to_string()];
            loc.extend(p.key.split('.').map(str::to_string));
            FieldProblem {
                loc,
                msg: format!("{}: {}", p.key, p.message),
            }
        })
        .collect();
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(problems)
    }
}

/// The effective config and the stored row it came from.
pub async fn effective_config(
    state: &ApiState,
    client: &impl GenericClient,
) -> Result<(MatchingConfig, Option<StoredConfig>), ApiError> {
    let stored = store::load_stored_config(client).await?;
    let overrides = stored
        .as_ref()
        .map(|s| s.config_json.clone())
        .unwrap_or_else(|| json!({}));
    let file = file_layer(state)?;
    let mut config = build_config(file.as_ref(), &overrides).map_err(|problems| {
        ApiError::unexpected(format!("stored matching config is invalid: {problems:?}"))
    })?;
    // What the next run uses: without a row, the environment key enables the
    // tie-breaker (the same rule as `TiebreakSettings::adjust_config`).
    if stored.is_none() && state.llm_env_key {
        config.ai.enabled = true;
    }
    Ok((config, stored))
}

fn response(config: &MatchingConfig, stored: Option<&StoredConfig>) -> Result<Value, ApiError> {
    let mut value = serde_json::to_value(config).map_err(|e| ApiError::Unexpected(e.into()))?;
    if let Some(ai) = value.get_mut("ai").and_then(Value::as_object_mut) {
        ai.remove("api_key");
    }
    if let Value::Object(map) = &mut value {
        map.insert(
            "has_api_key".into(),
            json!(stored.is_some_and(|s| s.encrypted_api_key.is_some())),
        );
        map.insert(
            "updated_at".into(),
            json!(stored.map(|s| s.updated_at.to_rfc3339())),
        );
    }
    Ok(value)
}

/// `GET /api/config`
#[utoipa::path(get, path = "/api/config", operation_id = "get_config", tag = "config",
    responses((status = 200, description = "The effective matching config (defaults, file, stored overrides); the API key only as `has_api_key`", body = Object)))]
#[get("/api/config")]
pub async fn get(state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let client = state.pool.get().await?;
    let (config, stored) = effective_config(&state, &**client).await?;
    let mut body = response(&config, stored.as_ref())?;
    if stored.is_none() && state.llm_env_key {
        // The run will use EVENT_DEDUP_LLM_API_KEY (never shown, only its presence).
        body["has_api_key"] = json!(true);
    }
    Ok(HttpResponse::Ok().json(body))
}

/// `PATCH /api/config`
#[tracing::instrument(name = "Updating the matching config", skip_all, fields(operator = %op.0))]
#[utoipa::path(patch, path = "/api/config", operation_id = "patch_config", tag = "config",
    request_body(content = Object, description = "Any subset of the config sections (deep-merged), plus optional `ai_api_key`"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Stored, audited, and a re-match triggered; the new effective config", body = Object),
        (status = 401, description = "Missing or unknown token", body = crate::api::openapi::ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = crate::api::openapi::ErrorBody),
        (status = 403, description = "No tokens configured and the client is not on loopback", body = crate::api::openapi::ErrorBody),
        (status = 422, description = "Every validation problem, naming its key; nothing stored", body = crate::api::openapi::ErrorBody),
    ))]
#[patch("/api/config")]
pub async fn patch(
    state: web::Data<ApiState>,
    op: Operator,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    super::input::reject_nul_in_json(&body)?;
    let Value::Object(mut patch) = body else {
        return Err(ApiError::invalid(&["body"], "expected a JSON object"));
    };
    let api_key = match patch.remove("ai_api_key") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            return Err(ApiError::invalid(
                &["body", "ai_api_key"],
                "expected a string or null",
            ))
        }
    };
    // Every section is an object (as documented): an array or scalar in its place
    // would be stored and silently ignored when the config is built.
    let not_objects: Vec<FieldProblem> = patch
        .iter()
        .filter(|(_, v)| !v.is_object())
        .map(|(k, _)| FieldProblem::new(&["body", k], "expected an object (a config section)"))
        .collect();
    if !not_objects.is_empty() {
        return Err(ApiError::Validation(not_objects));
    }
    let file = file_layer(&state)?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    store::lock_canonical_state(&tx).await?;
    let stored = store::load_stored_config(&*tx).await?;
    let before = stored
        .as_ref()
        .map(|s| s.config_json.clone())
        .unwrap_or_else(|| Value::Object(Map::new()));
    let mut after = before.clone();
    deep_merge(&mut after, &Value::Object(patch));
    let config = build_config(file.as_ref(), &after).map_err(ApiError::Validation)?;

    let old_key = stored.as_ref().and_then(|s| s.encrypted_api_key.clone());
    let new_key = match api_key.as_deref() {
        None => old_key.clone(),
        Some(k) => match ApiKey::new(k) {
            None => None,
            // A Fernet token with EVENT_DEDUP_ENCRYPTION_KEY, else `plain:` (store §4).
            Some(key) => Some(
                secret::seal(&key, state.encryption_key.as_ref())
                    .map_err(|e| ApiError::unexpected(e.to_string()))?,
            ),
        },
    };
    store::save_stored_config(&*tx, &after, new_key.as_deref(), "api").await?;
    let details = json!({
        "before": before,
        "after": after,
        "api_key_changed": new_key != old_key,
        "operator": op.0,
    });
    insert_audit(&tx, "config_update", None, None, &op.0, &details).await?;
    let saved = store::load_stored_config(&*tx).await?;
    tx.commit().await?;
    (state.rematch)();
    Ok(HttpResponse::Ok().json(response(&config, saved.as_ref())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_merge_keeps_unsent_keys() {
        let mut base = json!({"title": {"primary_weight": 0.7, "x": {"a": 1}}, "list": [1, 2]});
        deep_merge(
            &mut base,
            &json!({"title": {"primary_weight": 0.8}, "list": [3]}),
        );
        assert_eq!(
            base,
            json!({"title": {"primary_weight": 0.8, "x": {"a": 1}}, "list": [3]})
        );
    }

    #[test]
    fn defaults_round_trip_and_validate() {
        assert!(build_config(None, &json!({})).is_ok());
    }

    #[test]
    fn every_range_problem_is_listed() {
        let problems = build_config(
            None,
            &json!({"thresholds": {"low": 0.9, "high": 0.5}, "scoring": {"date": 5.0}}),
        )
        .expect_err("invalid");
        assert!(problems.len() >= 2, "{problems:?}");
        assert!(problems.iter().any(|p| p.msg.starts_with("thresholds.")));
        assert!(problems.iter().any(|p| p.msg.starts_with("scoring")));
    }
}
