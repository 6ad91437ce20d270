//! Problem reports: what went wrong (or looked odd) in a file, and where.
//!
//! Invariants (input-format.md §4, §6):
//! * every report names the file; event-level problems carry the event index, the
//!   event id when it is a readable string, the dotted field path and the reason;
//! * a validation report lists *every* failing field, never just the first, so an
//!   operator can fix a file in one round trip;
//! * [`RejectionReason`] serializes to the exact strings of the `.error.json` file.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One finding, either fatal (in [`FileRejection::details`]) or a warning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub event_index: Option<usize>,
    pub event_id: Option<String>,
    pub field: String,
    pub problem: String,
}

impl Problem {
    /// A finding about the file as a whole (top level, name, metadata).
    pub fn file_level(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Problem {
            event_index: None,
            event_id: None,
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// Why a file was rejected; mirrors the `reason` values of the dead-letter file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectionReason {
    InvalidJson,
    Validation,
    DuplicateId,
    Database,
    Io,
}

/// A whole file that must not be ingested (all-or-nothing, §4).
#[derive(Debug, Clone, thiserror::Error, Serialize)]
#[error("{message}")]
pub struct FileRejection {
    pub file: String,
    /// Empty when the bytes could not be read at all.
    pub file_hash: String,
    pub source_code: String,
    pub reason: RejectionReason,
    pub message: String,
    pub details: Vec<Problem>,
}

/// Identity of the file being reported on, shared by all rejection constructors.
#[derive(Debug, Clone)]
pub struct FileId<'a> {
    pub name: &'a str,
    pub hash: &'a str,
    pub source_code: &'a str,
}

impl FileId<'_> {
    fn reject(
        &self,
        reason: RejectionReason,
        message: String,
        details: Vec<Problem>,
    ) -> FileRejection {
        FileRejection {
            file: self.name.to_string(),
            file_hash: self.hash.to_string(),
            source_code: self.source_code.to_string(),
            reason,
            message,
            details,
        }
    }

    /// Unreadable bytes: not UTF-8 or not JSON. `detail` carries line/column.
    pub fn invalid_json(&self, detail: &str) -> FileRejection {
        let message = format!("Invalid JSON in {}: {detail}", self.name);
        let details = vec![Problem::file_level("", detail)];
        self.reject(RejectionReason::InvalidJson, message, details)
    }

    /// Structure, type, date or time problems; `problems` must not be empty.
    pub fn validation(&self, problems: Vec<Problem>) -> FileRejection {
        let message = format!(
            "Validation error for {}: {}",
            self.name,
            summarize(&problems)
        );
        self.reject(RejectionReason::Validation, message, problems)
    }

    /// Event ids repeated inside the file; one problem per repeated occurrence.
    pub fn duplicate_ids(&self, problems: Vec<Problem>) -> FileRejection {
        let listed: Vec<String> = problems.iter().map(|p| p.problem.clone()).collect();
        let message = format!("Duplicate event id in {}: {}", self.name, listed.join("; "));
        self.reject(RejectionReason::DuplicateId, message, problems)
    }

    /// The file could not be read from disk.
    pub fn io(&self, error: &std::io::Error) -> FileRejection {
        let message = format!("Cannot read {}: {error}", self.name);
        let details = vec![Problem::file_level("", error.to_string())];
        self.reject(RejectionReason::Io, message, details)
    }
}

/// `N problems: path: reason; path: reason` (every problem, in discovery order).
pub fn summarize(problems: &[Problem]) -> String {
    let noun = if problems.len() == 1 {
        "problem"
    } else {
        "problems"
    };
    let listed: Vec<String> = problems.iter().map(render).collect();
    format!("{} {noun}: {}", problems.len(), listed.join("; "))
}

fn render(p: &Problem) -> String {
    match (p.field.is_empty(), &p.event_id) {
        (true, _) => p.problem.clone(),
        (false, Some(id)) => format!("{}: {} (event id {id:?})", p.field, p.problem),
        (false, None) => format!("{}: {}", p.field, p.problem),
    }
}

/// Collects fatal problems and warnings while one file is validated.
#[derive(Debug, Default)]
pub struct Sink {
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

/// Where in one event a finding is, so problems get index, id and full path
/// without every helper threading them through.
pub struct EventScope<'s> {
    pub index: usize,
    pub id: Option<String>,
    pub sink: &'s mut Sink,
}

impl EventScope<'_> {
    /// Records a fatal problem at `events.<index>.<rel>` (`rel` may be empty).
    pub fn error(&mut self, rel: impl fmt::Display, problem: impl Into<String>) {
        let p = self.problem(rel, problem.into());
        self.sink.errors.push(p);
    }

    /// Records a non-fatal note at `events.<index>.<rel>`.
    pub fn warn(&mut self, rel: impl fmt::Display, problem: impl Into<String>) {
        let p = self.problem(rel, problem.into());
        self.sink.warnings.push(p);
    }

    /// Unwraps a checked value, recording the failure reason at `rel`. `rel` is
    /// only rendered on failure, so callers pass `format_args!` paths for free.
    pub fn take<T>(&mut self, rel: impl fmt::Display, checked: Result<T, String>) -> Option<T> {
        match checked {
            Ok(v) => Some(v),
            Err(reason) => {
                self.error(rel, reason);
                None
            }
        }
    }

    fn problem(&self, rel: impl fmt::Display, problem: String) -> Problem {
        let rel = rel.to_string();
        let field = if rel.is_empty() {
            format!("events.{}", self.index)
        } else {
            format!("events.{}.{rel}", self.index)
        };
        Problem {
            event_index: Some(self.index),
            event_id: self.id.clone(),
            field,
            problem,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> FileId<'static> {
        FileId {
            name: "wzo_x.json",
            hash: "ab",
            source_code: "wzo",
        }
    }

    #[test]
    fn validation_message_lists_every_problem() {
        let mut sink = Sink::default();
        let mut scope = EventScope {
            index: 3,
            id: Some("e-3".into()),
            sink: &mut sink,
        };
        scope.error("location.zipcode", "expected a string, got number 79341");
        scope.error("title", "expected a string, got null");
        let r = file().validation(sink.errors);
        assert_eq!(r.reason, RejectionReason::Validation);
        assert_eq!(
            r.message,
            "Validation error for wzo_x.json: 2 problems: \
             events.3.location.zipcode: expected a string, got number 79341 (event id \"e-3\"); \
             events.3.title: expected a string, got null (event id \"e-3\")"
        );
        assert_eq!(r.details[0].event_index, Some(3));
        assert_eq!(r.details[1].field, "events.3.title");
        assert_eq!(r.to_string(), r.message);
    }

    #[test]
    fn reason_serializes_snake_case() {
        let s = serde_json::to_string(&RejectionReason::DuplicateId).unwrap();
        assert_eq!(s, "\"duplicate_id\"");
        let s = serde_json::to_string(&RejectionReason::InvalidJson).unwrap();
        assert_eq!(s, "\"invalid_json\"");
    }

    #[test]
    fn take_records_failures_only() {
        let mut sink = Sink::default();
        let mut scope = EventScope {
            index: 0,
            id: None,
            sink: &mut sink,
        };
        assert_eq!(scope.take("a", Ok::<_, String>(1)), Some(1));
        assert_eq!(scope.take::<i32>("b", Err("bad".into())), None);
        assert_eq!(sink.errors.len(), 1);
        assert_eq!(sink.errors[0].field, "events.0.b");
        assert_eq!(sink.errors[0].event_id, None);
    }
}
