//! `ApiState`: what every handler shares (pool, re-match trigger, tokens, config path,
//! the key that encrypts a stored LLM API key, word lists, metrics registry).
//!
//! Register it as `web::Data<ApiState>` next to [`super::configure`]. The state is
//! immutable; per-request data never lives here.

use std::path::PathBuf;
use std::sync::Arc;

use crate::metrics::Metrics;
use crate::preprocess::WordLists;
use crate::tiebreak::EncryptionKey;

/// Shared state of the REST API.
#[derive(Clone)]
pub struct ApiState {
    pub pool: deadpool_postgres::Pool,
    /// Called after a committed review or config change. The service wires it to the
    /// MatcherActor (which coalesces bursts); it must return at once.
    pub rematch: Arc<dyn Fn() + Send + Sync>,
    /// `(operator name, bearer token)`. Empty = no tokens: writes only from loopback.
    pub tokens: Vec<(String, String)>,
    /// The matching config file (defaults ← this file ← stored overrides). A missing
    /// file means "defaults only".
    pub matching_config_path: PathBuf,
    /// `EVENT_DEDUP_ENCRYPTION_KEY`: a stored LLM API key is a Fernet token with it,
    /// `plain:` + key without it (storage spec §4).
    pub encryption_key: Option<EncryptionKey>,
    /// `EVENT_DEDUP_LLM_API_KEY` is set: while no config row exists it enables the
    /// tie-breaker (storage spec §4), so `GET /api/config` reports it. The key itself
    /// is not kept here.
    pub llm_env_key: bool,
    /// The word lists and match model the worker matches with, so explanations are
    /// exactly what a run computes.
    pub lists: Arc<WordLists>,
    /// The registry `/metrics` serves: the process's ([`crate::metrics::shared`]) in
    /// the service, a fresh one in tests that assert exact values.
    pub metrics: Arc<Metrics>,
}

impl ApiState {
    /// A state with the deployment-specific parts at their defaults: no tokens
    /// (loopback-only writes), no encryption key, no environment LLM key, the
    /// process's metrics. The service ([`crate::startup::api_state`]) and the tests
    /// build on it.
    pub fn new(
        pool: deadpool_postgres::Pool,
        rematch: Arc<dyn Fn() + Send + Sync>,
        matching_config_path: PathBuf,
        lists: Arc<WordLists>,
    ) -> Self {
        ApiState {
            pool,
            rematch,
            tokens: Vec::new(),
            matching_config_path,
            encryption_key: None,
            llm_env_key: false,
            lists,
            metrics: crate::metrics::shared(),
        }
    }
}

impl std::fmt::Debug for ApiState {
    /// Never prints the tokens.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("tokens", &self.tokens.len())
            .field("matching_config_path", &self.matching_config_path)
            .finish_non_exhaustive()
    }
}
