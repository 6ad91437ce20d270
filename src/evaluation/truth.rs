//! The ground-truth file (`event-groundtruth/1`, see `shared/data/dev/README.md`).
//!
//! `event_to_true` maps every source event to its real-world event; two events are
//! duplicates iff they map to the same id. `duplicate_pairs` is redundant with it and
//! is checked for consistency on load rather than trusted.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum TruthError {
    #[error("cannot read truth file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid truth file {path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Debug, Deserialize)]
struct TruthFile {
    format: String,
    event_to_true: BTreeMap<String, String>,
    #[serde(default)]
    duplicate_pairs: Vec<(String, String)>,
}

/// Labels of a data set.
#[derive(Debug, Clone)]
pub struct GroundTruth {
    pub event_to_true: HashMap<String, String>,
    /// All true duplicate pairs, canonical order `a < b`.
    pub same_pairs: BTreeSet<(String, String)>,
}

impl GroundTruth {
    pub fn load(path: &Path) -> Result<Self, TruthError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TruthError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::parse(&text, &shown)
    }

    pub fn parse(text: &str, shown: &str) -> Result<Self, TruthError> {
        let invalid = |message: String| TruthError::Invalid {
            path: shown.to_string(),
            message,
        };
        let file: TruthFile = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if file.format != "event-groundtruth/1" {
            return Err(invalid(format!(
                "unsupported format {:?}, expected \"event-groundtruth/1\"",
                file.format
            )));
        }
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (event, truth) in &file.event_to_true {
            groups.entry(truth).or_default().push(event);
        }
        let mut same_pairs = BTreeSet::new();
        for members in groups.values() {
            for (i, a) in members.iter().enumerate() {
                for b in &members[i + 1..] {
                    same_pairs.insert(ordered(a, b));
                }
            }
        }
        let listed: BTreeSet<(String, String)> = file
            .duplicate_pairs
            .iter()
            .map(|(a, b)| ordered(a, b))
            .collect();
        if !file.duplicate_pairs.is_empty() && listed != same_pairs {
            return Err(invalid(format!(
                "duplicate_pairs ({}) disagree with event_to_true ({} pairs)",
                listed.len(),
                same_pairs.len()
            )));
        }
        Ok(GroundTruth {
            event_to_true: file.event_to_true.into_iter().collect(),
            same_pairs,
        })
    }

    /// Whether two labelled events describe the same real-world event (`None` when
    /// either is unlabelled).
    pub fn same(&self, a: &str, b: &str) -> Option<bool> {
        Some(self.event_to_true.get(a)? == self.event_to_true.get(b)?)
    }
}

pub fn ordered(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_come_from_groups_and_are_checked() {
        let t = GroundTruth::parse(
            r#"{"format":"event-groundtruth/1","event_to_true":{"b":"T1","a":"T1","c":"T2","d":"T1"},"duplicate_pairs":[["a","b"],["a","d"],["b","d"]]}"#,
            "t",
        )
        .unwrap();
        assert_eq!(t.same_pairs.len(), 3);
        assert_eq!(t.same("a", "d"), Some(true));
        assert_eq!(t.same("a", "c"), Some(false));
        assert_eq!(t.same("a", "zz"), None);
        let err = GroundTruth::parse(
            r#"{"format":"event-groundtruth/1","event_to_true":{"a":"T1","b":"T1"},"duplicate_pairs":[["a","c"]]}"#,
            "t",
        )
        .unwrap_err();
        assert!(err.to_string().contains("disagree"));
        assert!(GroundTruth::parse(r#"{"format":"x","event_to_true":{}}"#, "t").is_err());
    }
}
