//! What an incremental apply takes in ([`Change`]) and gives back ([`Diff`]): the
//! shape a persistence layer needs to write only the difference.
//!
//! Invariant: applying a change and then persisting its diff leaves a catalogue equal
//! to a full re-match of the same listings, constraints and tie-breaker answers.

use serde::{Deserialize, Serialize};

use crate::matching::ReviewConstraints;
use crate::model::{AiNote, CanonicalEvent, Decision, PairDecision, SourceEvent};

/// One step of the catalogue's life.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// New listings and new versions of stored ones (an id's new version replaces
    /// the old: its old keys and pairs go). Within one change the last version of an
    /// id wins, as in ingest order.
    pub upserts: Vec<SourceEvent>,
    /// Ids of listings that leave the catalogue (unknown ids are ignored).
    pub removals: Vec<String>,
    /// The complete new review constraints, when reviewers changed them (split,
    /// merge, dismiss); `None` keeps the current ones.
    pub constraints: Option<ReviewConstraints>,
    /// New tie-breaker answers (they replace earlier answers on the same pair).
    pub answers: Vec<TieAnswer>,
}

/// The tie-breaker's answer on one pair, already mapped to its effect
/// (`matching.md` §5.4): it applies while the pair's scores leave it ambiguous.
#[derive(Debug, Clone, PartialEq)]
pub struct TieAnswer {
    pub id_a: String,
    pub id_b: String,
    pub verdict: Verdict,
    pub note: AiNote,
}

/// What an answer does to an ambiguous pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A confident `same` / `different`: the pair takes this decision.
    Resolved(Decision),
    /// The answer was below the confidence threshold: decision kept, tier noted.
    LowConfidence,
    /// The answer was neither `same` nor `different`.
    Unexpected,
}

/// One canonical group as persistence needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupOut {
    /// Member ids, sorted.
    pub members: Vec<String>,
    pub canonical: CanonicalEvent,
    /// Lower-case hex SHA-256 of the canonical event's JSON, as in a full run.
    pub content_hash: String,
}

/// The difference one apply made.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    /// Groups whose member set did not exist before.
    pub groups_created: Vec<GroupOut>,
    /// Groups with the same member set and new content.
    pub groups_updated: Vec<GroupOut>,
    /// Member sets (sorted ids) that are no longer a group.
    pub groups_removed: Vec<Vec<String>>,
    pub decisions_added: Vec<PairDecision>,
    pub decisions_changed: Vec<PairDecision>,
    /// `(id_a, id_b)` of pairs that are no longer candidates.
    pub decisions_removed: Vec<(String, String)>,
    /// Newly scored pairs left ambiguous with no tie-breaker answer yet: the only
    /// pairs worth asking about.
    pub questions: Vec<(String, String)>,
    pub stats: ApplyStats,
}

/// How much work an apply did, and where its time went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApplyStats {
    pub listings_changed: usize,
    pub blocks_touched: usize,
    pub pairs_scored: usize,
    pub components_reclustered: usize,
    pub listings_reclustered: usize,
    pub groups_synthesized: usize,
    /// Preprocessing and the blocking index.
    pub index_ms: f64,
    pub score_ms: f64,
    pub cluster_ms: f64,
    pub synthesis_ms: f64,
    pub total_ms: f64,
}
