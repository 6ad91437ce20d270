//! Review constraints: human decisions that every later re-match must respect.
//!
//! A split stores cannot-links, a merge must-links, a dismissal the reviewed member
//! set. The pipeline applies them (`cluster`), so a new file can never silently undo
//! a reviewer's work.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewConstraints {
    /// Pairs of source event ids that must end up in one cluster.
    pub must_link: Vec<(String, String)>,
    /// Pairs of source event ids that must never share a cluster.
    pub cannot_link: Vec<(String, String)>,
    /// Member sets (sorted ids) a reviewer dismissed from the review queue: while a
    /// cluster has exactly these members it is not flagged again.
    pub reviewed: Vec<Vec<String>>,
}

impl ReviewConstraints {
    pub fn is_empty(&self) -> bool {
        self.must_link.is_empty() && self.cannot_link.is_empty() && self.reviewed.is_empty()
    }
}
