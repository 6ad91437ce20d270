//! Ingestion: read and validate event files (input-format.md).
//!
//! A file is accepted whole or rejected whole: [`parse_event_file`] returns either
//! every event of the file as [`SourceEvent`](crate::model::SourceEvent)s plus
//! non-fatal warnings, or one [`FileRejection`] whose details list every problem
//! found, with event index, event id, field path and reason. Nothing here touches
//! a database; idempotency and dead-lettering build on the hash and the rejection.
//!
//! Layout: [`json`] (borrowed JSON tree), [`lenient`] (field type checks),
//! [`dates`], [`event`] (one event object), [`document`] (one file),
//! [`file_name`] (identity), [`report`] (problems), [`collect`] (files on disk).

pub mod collect;
pub mod dates;
pub mod document;
pub mod event;
pub mod file_name;
pub mod json;
pub mod lenient;
pub mod report;

pub use collect::{collect_json_files, read_event_files};
pub use document::{parse_event_file, ParsedFile};
pub use file_name::{file_hash, source_code_of};
pub use report::{FileRejection, Problem, RejectionReason};
