//! The stored runtime configuration row (`config_settings`, storage spec §4) as the
//! store reads it and the tie-breaker's key rule uses it.
//!
//! Invariant: plain data; the API key is kept exactly as stored (encrypted or
//! `plain:`-prefixed), never interpreted here.

use chrono::{DateTime, Utc};

/// The stored row.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredConfig {
    /// Matching configuration overrides, never containing an API key.
    pub config_json: serde_json::Value,
    /// Encrypted API key (`plain:` + key without an encryption key), if any.
    pub encrypted_api_key: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// `system` or `api`.
    pub updated_by: String,
}
