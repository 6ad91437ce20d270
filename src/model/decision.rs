//! The explained outcome of comparing two source events.
//!
//! Invariant: `id_a < id_b` in code-point order, and every decision carries the four
//! signal scores, the weights used, the combined score and the rule that decided, so a
//! match can be explained later without re-running anything.

use serde::{Deserialize, Serialize};

/// Verdict for a candidate pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Match,
    NoMatch,
    Ambiguous,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Match => "match",
            Decision::NoMatch => "no_match",
            Decision::Ambiguous => "ambiguous",
        }
    }
}

/// Who decided: the deterministic scorer or (optionally) the LLM tie-breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Deterministic,
    Ai,
    AiLowConfidence,
    AiUnexpected,
}

impl Tier {
    pub fn is_ai(self) -> bool {
        !matches!(self, Tier::Deterministic)
    }
}

/// Which rule produced the verdict (`matching.md` §5.3, plus review constraints and
/// the LLM). Which weight set was used is recorded separately (`weight_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionRule {
    /// combined ≥ high.
    ThresholdHigh,
    /// combined ≤ low.
    ThresholdLow,
    /// low < combined < high.
    Between,
    /// combined ≥ high but the title score was below the veto.
    TitleVeto,
    /// A reviewer merged the two events' groups (must-link).
    MustLink,
    /// A reviewer split the two events apart (cannot-link).
    CannotLink,
    /// A match edge dropped because it would join two cannot-linked events.
    CannotLinkSeparation,
    /// A match edge the clustering refused: it would join groups with conflicting
    /// members or too weak a link between them (the groups are flagged).
    ClusterConflict,
    /// The LLM tie-breaker decided.
    Llm,
}

impl DecisionRule {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionRule::ThresholdHigh => "threshold_high",
            DecisionRule::ThresholdLow => "threshold_low",
            DecisionRule::Between => "between",
            DecisionRule::TitleVeto => "title_veto",
            DecisionRule::MustLink => "review_constraint:must_link",
            DecisionRule::CannotLink => "review_constraint:cannot_link",
            DecisionRule::CannotLinkSeparation => "review_constraint:cannot_link_separation",
            DecisionRule::ClusterConflict => "cluster_conflict",
            DecisionRule::Llm => "llm",
        }
    }
}

/// The four signal scores, each in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct SignalScores {
    pub date: f64,
    pub geo: f64,
    pub title: f64,
    pub description: f64,
}

/// One weight set (per signal). Also used for category overrides.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    pub date: f64,
    pub geo: f64,
    pub title: f64,
    pub description: f64,
}

impl Weights {
    pub fn sum(&self) -> f64 {
        self.date + self.geo + self.title + self.description
    }
}

/// A fully explained pair decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairDecision {
    pub id_a: String,
    pub id_b: String,
    pub scores: SignalScores,
    pub combined: f64,
    pub decision: Decision,
    pub tier: Tier,
    pub weights: Weights,
    /// `None` for the default weights, else the category whose override was used.
    pub weight_source: Option<String>,
    pub rule: DecisionRule,
    /// The model's answer, when the LLM tie-breaker answered for this pair (any `ai*`
    /// tier): the explanation of an AI decision is the model's own reasoning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai: Option<AiNote>,
    /// With the learned model: each feature's share of `combined` (then the match
    /// probability), largest effect first. `None` under the weighted sum, whose
    /// explanation is `scores` × `weights`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contributions: Option<Vec<FeatureContribution>>,
}

/// One feature's share of a learned decision, in log-odds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeatureContribution {
    pub feature: String,
    /// The pair's raw feature value.
    pub value: f64,
    /// Log-odds added to (positive) or taken from (negative) the match probability,
    /// relative to an average candidate pair.
    pub contribution: f64,
}

/// What the LLM tie-breaker said about a pair (`matching.md` §5.4). Kept next to the
/// decision because "the model decided" is not an explanation without the why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AiNote {
    /// The decision text as answered (`same`, `different`, or anything else for
    /// `ai_unexpected`).
    pub answer: String,
    /// The model's confidence in [0, 1].
    pub confidence: f64,
    pub reasoning: String,
    /// The model that answered (a cached answer names the model it came from).
    pub model: String,
}
