//! Matching configuration endpoints (storage-and-api.md §8).
//!
//! The effective config is [`crate::matching::config::layered`]: built-in defaults ←
//! the file at `matching_config_path` (when present) ← the stored overrides
//! (`config_settings.config_json`) ← the environment-key rule, exactly what the next
//! run uses. Stored overrides that no longer validate (the file changed under them)
//! are set aside, as in a run, and `GET` lists their problems under
//! `invalid_overrides` (`{loc, msg}` like a 422) instead of failing, so a reviewer can
//! see and fix them. `PATCH` deep-merges the request into the stored overrides and
//! validates the *effective* result ([`crate::matching::config::with_overrides`]:
//! serde type/unknown-key errors and every `validate()` error); on any problem it
//! answers 422 listing them all and stores nothing. The API key is never returned
//! (`has_api_key` only), never part of `config_json` or the audit details, and stored
//! as a Fernet token when `EVENT_DEDUP_ENCRYPTION_KEY` is set (`plain:` + key and a
//! warning otherwise). The row, its audit entry and the lock live in
//! [`crate::store::config`].

use actix_web::{get, patch, web, HttpResponse};
use serde_json::{json, Map, Value};
use tokio_postgres::GenericClient;

use super::auth::Operator;
use super::error::{ApiError, FieldProblem};
use super::state::ApiState;
use crate::matching::config::{
    deep_merge, layered, with_overrides, ConfigProblem, ConfigSource, Layered,
};
use crate::matching::MatchingConfig;
use crate::store::config::{update_stored_config, ConfigChange};
use crate::store::{self, StoredConfig};
use crate::tiebreak::{secret, ApiKey};

/// The file layer: the file at `matching_config_path`, the built-in defaults when it
/// does not exist. A file that cannot be read or is invalid is a server error (the
/// worker refuses it as well).
fn file_layer(state: &ApiState) -> Result<MatchingConfig, ApiError> {
    ConfigSource {
        path: state.matching_config_path.clone(),
        required: false,
    }
    .load_file()
    .map_err(|e| ApiError::Unexpected(e.into()))
}

/// Config problems as 422 items: a key's problem at `["body", …key]`, a type or
/// unknown-key error (no key) at `["body"]`.
fn field_problems(problems: &[ConfigProblem]) -> Vec<FieldProblem> {
    problems
        .iter()
        .map(|p| {
            if p.key.is_empty() {
                return FieldProblem::new(&["body"], p.message.clone());
            }
            let mut loc = vec!["body".to_string()];
            loc.extend(p.key.split('.').map(str::to_string));
            FieldProblem {
                loc,
                msg: format!("{}: {}", p.key, p.message),
            }
        })
        .collect()
}

/// The effective config (with the problems of stored overrides it set aside) and
/// the stored row it came from.
async fn layered_config(
    state: &ApiState,
    client: &impl GenericClient,
) -> Result<(Layered, Option<StoredConfig>), ApiError> {
    let stored = store::load_stored_config(client).await?;
    let file = file_layer(state)?;
    let layers = layered(
        file,
        stored.as_ref().map(|s| &s.config_json),
        state.llm_env_key,
    );
    if !layers.rejected_overrides.is_empty() {
        tracing::warn!(problems = ?layers.rejected_overrides, "stored matching configuration is invalid; the file's applies");
    }
    Ok((layers, stored))
}

/// The effective config (what the next run uses) and the stored row it came from.
pub async fn effective_config(
    state: &ApiState,
    client: &impl GenericClient,
) -> Result<(MatchingConfig, Option<StoredConfig>), ApiError> {
    let (layers, stored) = layered_config(state, client).await?;
    Ok((layers.config, stored))
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
    let (layers, stored) = layered_config(&state, &**client).await?;
    let mut body = response(&layers.config, stored.as_ref())?;
    if stored.is_none() && state.llm_env_key {
        // The run will use EVENT_DEDUP_LLM_API_KEY (never shown, only its presence).
        body["has_api_key"] = json!(true);
    }
    if !layers.rejected_overrides.is_empty() {
        body["invalid_overrides"] = json!(field_problems(&layers.rejected_overrides));
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
    let mut effective = None;
    let saved = update_stored_config(
        &mut client,
        &op.0,
        |stored| -> Result<ConfigChange, ApiError> {
            let mut after = stored
                .map(|s| s.config_json.clone())
                .unwrap_or_else(|| Value::Object(Map::new()));
            deep_merge(&mut after, &Value::Object(patch));
            let config = with_overrides(&file, &after)
                .map_err(|problems| ApiError::Validation(field_problems(&problems)))?;
            let old_key = stored.and_then(|s| s.encrypted_api_key.clone());
            let encrypted_api_key = match api_key.as_deref() {
                None => old_key,
                Some(k) => match ApiKey::new(k) {
                    None => None,
                    // A Fernet token with EVENT_DEDUP_ENCRYPTION_KEY, else `plain:` (store §4).
                    Some(key) => Some(
                        secret::seal(&key, state.encryption_key.as_ref())
                            .map_err(|e| ApiError::unexpected(e.to_string()))?,
                    ),
                },
            };
            effective = Some(config);
            Ok(ConfigChange {
                config_json: after,
                encrypted_api_key,
            })
        },
    )
    .await?;
    (state.rematch)();
    let config = effective.ok_or_else(|| ApiError::unexpected("config update without a config"))?;
    Ok(HttpResponse::Ok().json(response(&config, Some(&saved))?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::config::Severity;

    #[test]
    fn problems_map_to_422_items_naming_their_key() {
        let problems = [
            ConfigProblem {
                key: "thresholds.low".into(),
                message: "must be below thresholds.high".into(),
                severity: Severity::Error,
            },
            ConfigProblem {
                key: String::new(),
                message: "unknown field `no_such_section`".into(),
                severity: Severity::Error,
            },
        ];
        assert_eq!(
            field_problems(&problems),
            vec![
                FieldProblem {
                    loc: vec!["body".into(), "thresholds".into(), "low".into()],
                    msg: "thresholds.low: must be below thresholds.high".into(),
                },
                FieldProblem::new(&["body"], "unknown field `no_such_section`"),
            ]
        );
    }
}
