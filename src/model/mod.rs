//! Domain types shared by every stage of the pipeline.
//!
//! * [`source`]: a validated source listing as read from an event file.
//! * [`canonical`]: the synthesized event that represents one cluster of listings.
//! * [`decision`]: the explained outcome of comparing two listings.
//! * [`stored_config`]: the stored runtime configuration row.
//! * [`llm`]: what the LLM tie-breaker and the store exchange (usage, cached answers).
//! * [`run`]: why a matching run started and why it failed.
//!
//! Invariant: these types carry no behaviour that touches I/O; they are plain data
//! so the matching pipeline stays a pure function.

pub mod canonical;
pub mod decision;
pub mod llm;
pub mod run;
pub mod source;
pub mod stored_config;

pub use canonical::{CanonicalEvent, FieldProvenance};
pub use decision::{
    AiNote, Decision, DecisionRule, FeatureContribution, PairDecision, SignalScores, Tier, Weights,
};
pub use llm::UsageSummary;
pub use run::{RunError, Trigger};
pub use source::{EventDate, SourceEvent};
pub use stored_config::StoredConfig;
