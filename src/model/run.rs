//! What a matching run is and how it can end, as the matcher, the persist and stats
//! actors and the store exchange it.
//!
//! * [`Trigger`]: why a run started, stored as text in `processing_runs.trigger` (the
//!   dashboard shows it); the text of each variant is part of the stored data.
//! * [`RunError`]: why a run failed, crossing actor mailboxes and stored in
//!   `processing_runs.error`.
//!
//! Invariant: plain data; the text forms never change, so rows written by older
//! binaries read the same.

use std::fmt;

use serde::{Serialize, Serializer};

/// Why a matching run started (the matcher decides, see `actors::matcher`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// Start-up catch-up: files committed after the last completed run, none new in
    /// this process.
    Startup,
    /// A review action, a config change or a manual re-match request (the API sends
    /// one kind of request for all three), no new files.
    Review,
    /// Exactly one new file.
    File,
    /// Several new files coalesced into one run.
    Batch,
}

impl Trigger {
    /// Every trigger, for tests and documentation.
    pub const ALL: [Trigger; 4] = [
        Trigger::Startup,
        Trigger::Review,
        Trigger::File,
        Trigger::Batch,
    ];

    /// The stored text (`processing_runs.trigger`).
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Startup => "startup",
            Trigger::Review => "review",
            Trigger::File => "file",
            Trigger::Batch => "batch",
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Trigger {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Why a matching run failed. The message is one line (it goes into one log field
/// and the `processing_runs.error` column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// The config file or the run's input could not be read.
    #[error("{0}")]
    Input(String),
    /// The pure pipeline panicked (on any thread) or its task failed.
    #[error("{0}")]
    Pipeline(String),
    /// The run's result could not be written.
    #[error("{0}")]
    Persist(String),
}

impl RunError {
    /// A failure to load the run's input, from any error's debug chain (one line).
    pub fn input(e: impl fmt::Debug) -> RunError {
        RunError::Input(one_line(e))
    }

    /// A failure to persist the result, from any error's debug chain (one line).
    pub fn persist(e: impl fmt::Debug) -> RunError {
        RunError::Persist(one_line(e))
    }
}

/// The `Debug` chain of an error on one line (multi-line chains break log fields).
fn one_line(e: impl fmt::Debug) -> String {
    format!("{e:?}").trim_end().replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_texts_are_the_historical_ones_and_round_trip() {
        let texts: Vec<&str> = Trigger::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(texts, ["startup", "review", "file", "batch"]);
        for t in Trigger::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
            assert_eq!(t.to_string(), t.as_str());
        }
    }

    /// An error whose debug chain spans lines, like `StoreError`'s.
    struct Chain;

    impl fmt::Debug for Chain {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("outer\n\nCaused by:\n    inner\n")
        }
    }

    #[test]
    fn run_errors_are_one_line() {
        assert_eq!(
            RunError::persist(Chain).to_string(),
            "outer  Caused by:     inner"
        );
        assert_eq!(
            RunError::input(Chain),
            RunError::Input("outer  Caused by:     inner".into())
        );
    }
}
