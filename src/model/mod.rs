//! Domain types shared by every stage of the pipeline.
//!
//! * [`source`]: a validated source listing as read from an event file.
//! * [`canonical`]: the synthesized event that represents one cluster of listings.
//! * [`decision`]: the explained outcome of comparing two listings.
//!
//! Invariant: these types carry no behaviour that touches I/O; they are plain data
//! so the matching pipeline stays a pure function.

pub mod canonical;
pub mod decision;
pub mod source;

pub use canonical::{CanonicalEvent, FieldProvenance};
pub use decision::{
    AiNote, Decision, DecisionRule, FeatureContribution, PairDecision, SignalScores, Tier, Weights,
};
pub use source::{EventDate, SourceEvent};
