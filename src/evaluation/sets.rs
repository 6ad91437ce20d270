//! A labelled data set: events plus their ground truth, under a name.
//!
//! Quality is measured on every labelled set at once and the worst set is the figure,
//! so sets travel together; each is checked on load so a truth file that names ids
//! its events do not have is refused instead of silently scoring as misses.

use std::collections::HashSet;

use super::truth::GroundTruth;
use crate::model::SourceEvent;

/// Events of one labelled set and their labels.
#[derive(Debug, Clone)]
pub struct LabelledSet {
    /// Shown in reports (the set's directory name).
    pub name: String,
    pub events: Vec<SourceEvent>,
    pub truth: GroundTruth,
}

/// Why a set cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SetError {
    #[error("labelled set {set}: the truth file names {count} event ids that no event file has (e.g. {example})")]
    UnknownIds {
        set: String,
        count: usize,
        example: String,
    },
    #[error("labelled set {set}: no event is labelled")]
    NothingLabelled { set: String },
    #[error("labelled set {set}: the truth has no duplicate pair, so there is nothing to learn or measure")]
    NoPairs { set: String },
}

impl LabelledSet {
    /// Checks that the truth fits the events: every labelled id exists, something is
    /// labelled, and there is at least one true pair.
    pub fn new(
        name: String,
        events: Vec<SourceEvent>,
        truth: GroundTruth,
    ) -> Result<Self, SetError> {
        let ids: HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
        let mut unknown: Vec<&str> = truth
            .event_to_true
            .keys()
            .map(String::as_str)
            .filter(|id| !ids.contains(id))
            .collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            return Err(SetError::UnknownIds {
                set: name,
                count: unknown.len(),
                example: unknown[0].to_string(),
            });
        }
        if truth.event_to_true.is_empty() {
            return Err(SetError::NothingLabelled { set: name });
        }
        if truth.same_pairs.is_empty() {
            return Err(SetError::NoPairs { set: name });
        }
        Ok(LabelledSet {
            name,
            events,
            truth,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str) -> SourceEvent {
        SourceEvent {
            id: id.into(),
            ..Default::default()
        }
    }

    fn truth(json: &str) -> GroundTruth {
        GroundTruth::parse(json, "t").unwrap()
    }

    #[test]
    fn truth_must_fit_the_events() {
        let ok = LabelledSet::new(
            "s".into(),
            vec![ev("a"), ev("b"), ev("c")],
            truth(r#"{"format":"event-groundtruth/1","event_to_true":{"a":"T1","b":"T1"}}"#),
        );
        assert!(ok.is_ok());
        let err = LabelledSet::new(
            "s".into(),
            vec![ev("a")],
            truth(r#"{"format":"event-groundtruth/1","event_to_true":{"a":"T1","zz":"T1"}}"#),
        )
        .unwrap_err();
        assert!(err.to_string().contains("zz"), "{err}");
        let err = LabelledSet::new(
            "s".into(),
            vec![ev("a"), ev("b")],
            truth(r#"{"format":"event-groundtruth/1","event_to_true":{"a":"T1","b":"T2"}}"#),
        )
        .unwrap_err();
        assert_eq!(err, SetError::NoPairs { set: "s".into() });
        let err = LabelledSet::new(
            "s".into(),
            vec![ev("a")],
            truth(r#"{"format":"event-groundtruth/1","event_to_true":{}}"#),
        )
        .unwrap_err();
        assert_eq!(err, SetError::NothingLabelled { set: "s".into() });
    }
}
