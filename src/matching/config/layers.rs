//! The effective matching config, written once for the matcher and the API
//! (storage-and-api.md §4): built-in defaults ← the config file ← the stored runtime
//! overrides ← the environment-key rule of the LLM tie-breaker.
//!
//! * [`ConfigSource`] reads the file layer (defaults when an optional file is absent).
//! * [`with_overrides`] merges overrides onto the file's config (JSON objects key by
//!   key, everything else replaced) and validates the result as a whole, listing every
//!   problem: what `PATCH /api/config` checks before it stores anything.
//! * [`layered`] is what a run uses and `GET /api/config` shows: stored overrides that
//!   no longer validate (the file changed under them, or a newer binary validates
//!   more) are set aside, so matching goes on with the file's config, and their
//!   problems are returned for the log and the API to report.
//!
//! Invariant: the matcher and the API call these same functions, so the config a
//! reviewer sees is the config the next run uses.

use std::path::PathBuf;

use serde_json::Value;

use super::{ConfigError, ConfigProblem, MatchingConfig, Severity};

/// Where the file layer comes from.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    pub path: PathBuf,
    /// A missing file is an error only when the path was configured explicitly.
    pub required: bool,
}

impl ConfigSource {
    /// The file's config (or the built-in defaults when an optional file is absent).
    pub fn load_file(&self) -> Result<MatchingConfig, ConfigError> {
        if !self.required && !self.path.exists() {
            return Ok(MatchingConfig::default());
        }
        MatchingConfig::load(&self.path)
    }
}

/// The config of a run and what was wrong with the stored overrides, if anything.
#[derive(Debug, Clone, PartialEq)]
pub struct Layered {
    pub config: MatchingConfig,
    /// Problems of the stored overrides, which were then not applied (empty when
    /// they applied or none are stored).
    pub rejected_overrides: Vec<ConfigProblem>,
}

/// Defaults ← file ← `overrides` (when a config row is stored) ← the environment
/// key: without a stored row, a configured `EVENT_DEDUP_LLM_API_KEY` enables the
/// tie-breaker (storage spec §4). Invalid overrides are set aside (see the module doc).
pub fn layered(file: MatchingConfig, overrides: Option<&Value>, env_key: bool) -> Layered {
    let Some(overrides) = overrides else {
        let mut config = file;
        if env_key {
            config.ai.enabled = true;
        }
        return Layered {
            config,
            rejected_overrides: Vec::new(),
        };
    };
    match with_overrides(&file, overrides) {
        Ok(config) => Layered {
            config,
            rejected_overrides: Vec::new(),
        },
        Err(problems) => Layered {
            config: file,
            rejected_overrides: problems,
        },
    }
}

/// `file` ← `overrides`, validated as a whole. `Err` lists every error (a type or
/// unknown-key error has an empty `key`; its message names the key).
pub fn with_overrides(
    file: &MatchingConfig,
    overrides: &Value,
) -> Result<MatchingConfig, Vec<ConfigProblem>> {
    let problem = |message: String| ConfigProblem {
        key: String::new(),
        message,
        severity: Severity::Error,
    };
    let mut merged = serde_json::to_value(file).map_err(|e| vec![problem(e.to_string())])?;
    deep_merge(&mut merged, overrides);
    let config: MatchingConfig =
        serde_json::from_value(merged).map_err(|e| vec![problem(e.to_string())])?;
    let errors: Vec<ConfigProblem> = config
        .validate()
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(errors)
    }
}

/// Merges `patch` into `target`: objects key by key, recursively; anything else
/// (scalars, arrays, `null`) replaces. Used for the layers and for `PATCH` bodies.
pub fn deep_merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn file() -> MatchingConfig {
        MatchingConfig::from_toml_str("[thresholds]\nhigh = 0.9\nlow = 0.4\n", "file").unwrap()
    }

    #[test]
    fn deep_merge_keeps_unsent_keys_and_replaces_the_rest() {
        let mut base =
            json!({"title": {"primary_weight": 0.7, "x": {"a": 1}}, "list": [1, 2], "b": 3});
        deep_merge(
            &mut base,
            &json!({"title": {"primary_weight": 0.8}, "list": [3], "c": null}),
        );
        assert_eq!(
            base,
            json!({"title": {"primary_weight": 0.8, "x": {"a": 1}}, "list": [3], "b": 3, "c": null})
        );
    }

    #[test]
    fn overrides_apply_key_by_key_over_the_file() {
        assert_eq!(
            with_overrides(&MatchingConfig::default(), &json!({})),
            Ok(MatchingConfig::default()),
            "the defaults round-trip and validate"
        );
        let l = layered(file(), Some(&json!({"thresholds": {"low": 0.35}})), false);
        assert!(l.rejected_overrides.is_empty());
        assert_eq!(l.config.thresholds.low, 0.35);
        assert_eq!(l.config.thresholds.high, 0.9, "the file's key stays");
        assert_eq!(l.config.title, MatchingConfig::default().title);
    }

    #[test]
    fn bad_overrides_are_set_aside_with_every_problem_named() {
        // Valid alone, but low above the file's high; and a range error.
        let bad = json!({"thresholds": {"low": 0.95}, "scoring": {"date": 5.0}});
        let l = layered(file(), Some(&bad), false);
        assert_eq!(l.config, file(), "the run goes on with the file's config");
        assert!(
            l.rejected_overrides.len() >= 2,
            "{:?}",
            l.rejected_overrides
        );
        assert!(l
            .rejected_overrides
            .iter()
            .any(|p| p.key.starts_with("thresholds.")));
        assert!(l
            .rejected_overrides
            .iter()
            .any(|p| p.key.starts_with("scoring")));
        // A type error or unknown section names the key in its message.
        let l = layered(file(), Some(&json!({"no_such_section": {}})), false);
        assert_eq!(l.config, file());
        assert_eq!(l.rejected_overrides.len(), 1);
        assert!(l.rejected_overrides[0].message.contains("no_such_section"));
        assert_eq!(
            with_overrides(&file(), &json!({"thresholds": {"high": "high"}}))
                .unwrap_err()
                .len(),
            1
        );
    }

    #[test]
    fn the_environment_key_enables_the_tiebreaker_only_without_a_stored_row() {
        assert!(layered(file(), None, true).config.ai.enabled);
        assert!(!layered(file(), None, false).config.ai.enabled);
        assert!(!layered(file(), Some(&json!({})), true).config.ai.enabled);
        let on = json!({"ai": {"enabled": true}});
        assert!(layered(file(), Some(&on), false).config.ai.enabled);
    }

    #[test]
    fn an_optional_missing_file_is_the_defaults_and_a_required_one_an_error() {
        let source = ConfigSource {
            path: PathBuf::from("/nonexistent/matching.toml"),
            required: false,
        };
        assert_eq!(source.load_file().unwrap(), MatchingConfig::default());
        let required = ConfigSource {
            required: true,
            ..source
        };
        assert!(required.load_file().is_err());
    }
}
