//! The optional LLM tie-breaker (`matching.md` §5.4, storage-and-api.md §9): a second
//! opinion from a language model on the pairs the deterministic scorer left
//! ambiguous, asked between [`crate::matching::score`] and
//! [`crate::matching::ScoredRun::finish`].
//!
//! * [`client`] - chat-completions HTTP client (any OpenAI-compatible server).
//! * [`prompt`] - the system and user messages for one pair.
//! * [`cache`] - `pair_hash`, the answer cache's key.
//! * [`usage`] - cost and batch ids; the usage rows and per-run summary are
//!   `model::llm` types, stored by `store::llm` through `model::llm::LlmLedger`.
//! * [`resolve`] - selection, concurrency, retries, budget, result mapping.
//! * [`secret`] - the API key (never printed) and its Fernet storage form.
//!
//! This module decides *whether* the tie-breaker runs ([`TiebreakSettings::for_run`]):
//! only when `ai.enabled` and a non-empty key exists. The key comes from the stored
//! runtime config (`config_settings.encrypted_api_key`) when a config row exists, else
//! from `EVENT_DEDUP_LLM_API_KEY` (which then also enables it, storage spec §4). A key
//! that cannot be read is logged as an error and the run proceeds without the model.

pub mod cache;
pub mod client;
pub mod prompt;
pub mod resolve;
pub mod secret;
pub mod usage;

pub use client::{ChatClient, DEFAULT_BASE_URL};
pub use resolve::{
    answers_of, resolve, resolve_questions, unanswered_of, unanswered_questions, verdict_of,
    wants_answer, Question, RetryPolicy, Tiebreaker,
};
pub use secret::{ApiKey, EncryptionKey, SecretError};
pub use usage::UsageSummary;

use crate::matching::MatchingConfig;
use crate::model::StoredConfig;

/// The deployment's LLM settings (from the environment, storage spec §11).
#[derive(Clone, PartialEq)]
pub struct TiebreakSettings {
    /// Chat-completions base URL (`…/v1`); `/chat/completions` is appended.
    pub base_url: String,
    /// `EVENT_DEDUP_LLM_API_KEY`: used (and enables the tie-breaker) only while no
    /// stored config row exists.
    pub env_key: Option<ApiKey>,
    /// `EVENT_DEDUP_ENCRYPTION_KEY`: needed to read a Fernet-encrypted stored key.
    pub encryption_key: Option<EncryptionKey>,
    pub retry: RetryPolicy,
}

impl std::fmt::Debug for TiebreakSettings {
    /// Masks secrets a base URL may carry (`?api_key=…`); the keys mask themselves.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TiebreakSettings")
            .field("base_url", &crate::redact::redact_url(&self.base_url))
            .field("env_key", &self.env_key)
            .field("encryption_key", &self.encryption_key)
            .field("retry", &self.retry)
            .finish()
    }
}

impl Default for TiebreakSettings {
    fn default() -> Self {
        TiebreakSettings {
            base_url: DEFAULT_BASE_URL.to_string(),
            env_key: None,
            encryption_key: None,
            retry: RetryPolicy::default(),
        }
    }
}

impl TiebreakSettings {
    /// The API key of a run: the stored one when a config row exists, else the
    /// environment's.
    pub fn api_key(&self, stored: Option<&StoredConfig>) -> Result<Option<ApiKey>, SecretError> {
        match stored {
            Some(row) => match row.encrypted_api_key.as_deref() {
                Some(value) => secret::open(value, self.encryption_key.as_ref()),
                None => Ok(None),
            },
            None => Ok(self.env_key.clone()),
        }
    }

    /// The tie-breaker of a run, or `None` when it is off, has no key, or the key
    /// cannot be read (logged: the run goes on deterministically).
    pub fn for_run(
        &self,
        config: &MatchingConfig,
        stored: Option<&StoredConfig>,
    ) -> Option<Tiebreaker> {
        if !config.ai.enabled {
            return None;
        }
        let key = match self.api_key(stored) {
            Ok(Some(key)) => key,
            Ok(None) => {
                tracing::warn!(
                    "ai.enabled is set but no LLM API key is configured: tie-breaker skipped"
                );
                return None;
            }
            Err(e) => {
                tracing::error!(error = %e, "tiebreak_key_unreadable");
                return None;
            }
        };
        match ChatClient::new(&self.base_url, key) {
            Ok(client) => Some(Tiebreaker {
                client,
                retry: self.retry,
            }),
            Err(e) => {
                tracing::error!(error = %e, "tiebreak_client_unavailable");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: Option<&str>) -> StoredConfig {
        StoredConfig {
            config_json: serde_json::json!({}),
            encrypted_api_key: key.map(str::to_string),
            updated_at: chrono::Utc::now(),
            updated_by: "api".into(),
        }
    }

    #[test]
    fn the_env_key_applies_only_without_a_stored_row() {
        let settings = TiebreakSettings {
            env_key: ApiKey::new("env-key"),
            ..TiebreakSettings::default()
        };
        // The environment key rule is part of the one layering function.
        let layered = |stored: Option<&StoredConfig>| {
            let overrides = stored.map(|s| &s.config_json);
            crate::matching::config::layered(
                MatchingConfig::default(),
                overrides,
                settings.env_key.is_some(),
            )
            .config
        };
        let config = layered(None);
        assert!(config.ai.enabled);
        assert!(settings.for_run(&config, None).is_some());
        assert_eq!(settings.api_key(None).unwrap(), ApiKey::new("env-key"));

        let stored = row(None);
        let mut config = layered(Some(&stored));
        assert!(!config.ai.enabled);
        config.ai.enabled = true;
        assert!(settings.for_run(&config, Some(&stored)).is_none());
        let stored = row(Some("plain:db-key"));
        assert_eq!(
            settings.api_key(Some(&stored)).unwrap(),
            ApiKey::new("db-key")
        );
        let stored = row(Some("gAAAA-not-plain"));
        assert_eq!(
            settings.api_key(Some(&stored)),
            Err(SecretError::NoEncryptionKey)
        );
        assert!(settings.for_run(&config, Some(&stored)).is_none());
    }
}
