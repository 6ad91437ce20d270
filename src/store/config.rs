//! Stored matching configuration (storage spec §4): the single `config_settings`
//! row (`id = 1`) holding the runtime overrides as JSON and the API key as stored
//! (encrypted or `plain:`-prefixed; this module never interprets it).
//!
//! Merging (built-in defaults ← file ← stored overrides) and key encryption belong to
//! the configuration layer; this module only reads and writes the row, so the next
//! run loads exactly what the API wrote.

use tokio_postgres::GenericClient;

use super::error::StoreError;
use super::events::get;

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
