//! Stored matching configuration (storage spec §4): the single `config_settings`
//! row (`id = 1`) holding the runtime overrides as JSON and the API key as stored
//! (encrypted or `plain:`-prefixed; this module never interprets it).
//!
//! Merging (built-in defaults ← file ← stored overrides, `matching::config::layered`)
//! and key encryption belong to the configuration layer; this module only reads and
//! writes the row, so the next run loads exactly what the API wrote.
//!
//! Invariant: an API change ([`update_stored_config`]) reads the row, writes the new
//! one and its audit row in one transaction under the canonical-state lock, so the
//! audit's `before` is the row it replaced and a run never reads half a change.

use serde_json::{json, Value};
use tokio_postgres::GenericClient;

use super::error::StoreError;
use super::events::get;
use super::review::{insert_audit, AuditEntry};
use super::runs::lock_canonical_state;

pub use crate::model::StoredConfig;

/// The stored configuration row, if one was ever written.
pub async fn load_stored_config(
    client: &impl GenericClient,
) -> Result<Option<StoredConfig>, StoreError> {
    let row = client
        .query_opt(
            "SELECT config_json, encrypted_api_key, updated_at, updated_by
             FROM config_settings WHERE id = 1",
            &[],
        )
        .await?;
    row.map(|r| {
        Ok(StoredConfig {
            config_json: get(&r, "config_json")?,
            encrypted_api_key: get(&r, "encrypted_api_key")?,
            updated_at: get(&r, "updated_at")?,
            updated_by: get(&r, "updated_by")?,
        })
    })
    .transpose()
}

/// Writes (inserts or replaces) the configuration row.
pub async fn save_stored_config(
    client: &impl GenericClient,
    config_json: &serde_json::Value,
    encrypted_api_key: Option<&str>,
    updated_by: &str,
) -> Result<(), StoreError> {
    if updated_by.chars().count() > 100 {
        return Err(StoreError::Invalid(
            "updated_by is longer than 100 characters".into(),
        ));
    }
    client
        .execute(
            "INSERT INTO config_settings (id, config_json, encrypted_api_key, updated_at, updated_by)
             VALUES (1, $1, $2, now(), $3)
             ON CONFLICT (id) DO UPDATE SET
                 config_json = EXCLUDED.config_json,
                 encrypted_api_key = EXCLUDED.encrypted_api_key,
                 updated_at = now(),
                 updated_by = EXCLUDED.updated_by",
            &[config_json, &encrypted_api_key, &updated_by],
        )
        .await?;
    Ok(())
}

/// The row an API change writes, decided from the row it replaces.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigChange {
    /// The new overrides (never containing an API key).
    pub config_json: Value,
    /// The key as it is to be stored (already sealed), `None` for no key.
    pub encrypted_api_key: Option<String>,
}

/// Replaces the row by what `decide` makes of the current one (`None`: no row yet),
/// audited as `config_update` by `operator` (the details name the overrides before
/// and after and whether the key changed, never the key). `decide` refusing (e.g.
/// the merged config does not validate) stores nothing. Returns the stored row.
pub async fn update_stored_config<E: From<StoreError>>(
    client: &mut tokio_postgres::Client,
    operator: &str,
    decide: impl FnOnce(Option<&StoredConfig>) -> Result<ConfigChange, E>,
) -> Result<StoredConfig, E> {
    let tx = client.transaction().await.map_err(StoreError::from)?;
    lock_canonical_state(&tx).await?;
    let stored = load_stored_config(&tx).await?;
    let change = decide(stored.as_ref())?;
    save_stored_config(
        &tx,
        &change.config_json,
        change.encrypted_api_key.as_deref(),
        "api",
    )
    .await?;
    let before = stored
        .as_ref()
        .map(|s| s.config_json.clone())
        .unwrap_or_else(|| json!({}));
    let old_key = stored.and_then(|s| s.encrypted_api_key);
    let details = json!({
        "before": before,
        "after": change.config_json,
        "api_key_changed": change.encrypted_api_key != old_key,
        "operator": operator,
    });
    let entry = AuditEntry {
        action_type: "config_update",
        canonical_event_id: None,
        source_event_id: None,
        operator,
        details: &details,
    };
    insert_audit(&tx, &entry).await?;
    let saved = load_stored_config(&tx)
        .await?
        .ok_or_else(|| StoreError::Decode("config row missing after the update".into()))?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(saved)
}
