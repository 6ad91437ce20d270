//! The CPU half of ingesting a batch of ready files, kept off the async threads:
//! read and hash every file ([`read_all`]); then parse, validate, derive and
//! content-hash the ones not stored yet ([`prepare_all`]). Each step runs over the
//! whole batch in parallel (rayon) inside `spawn_blocking`.
//!
//! Invariants:
//! * results come back one per input, in input (ready) order;
//! * nothing here writes or logs: the ingest decides and reports per file, in the
//!   file's own span.

use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;

use super::ingest::FileSignature;
use crate::ingest::RejectionReason;
use crate::ingest::{file_hash, parse_event_file, FileRejection, ParsedFile, Problem};
use crate::preprocess::{derive, WordLists};
use crate::store::{PreparedFile, StoreError};

/// One file as read from disk.
#[derive(Debug)]
pub enum ReadFile {
    /// Gone before it could be read.
    Vanished,
    /// Present but unreadable (permissions, I/O).
    Unreadable(std::io::Error),
    Read {
        /// The signature just before reading.
        before: FileSignature,
        bytes: Vec<u8>,
        hash: String,
    },
}

/// Reads and hashes every path; `None` when the blocking pool is gone (shutdown).
pub async fn read_all(paths: Vec<PathBuf>) -> Option<Vec<ReadFile>> {
    tokio::task::spawn_blocking(move || paths.par_iter().map(|p| read_one(p)).collect())
        .await
        .ok()
}

fn read_one(path: &std::path::Path) -> ReadFile {
    let before = match std::fs::metadata(path) {
        Ok(m) => FileSignature::of(&m),
        Err(_) => return ReadFile::Vanished,
    };
    match std::fs::read(path) {
        Ok(bytes) => ReadFile::Read {
            before,
            hash: file_hash(&bytes),
            bytes,
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ReadFile::Vanished,
        Err(e) => ReadFile::Unreadable(e),
    }
}

/// A file to parse: its base name and bytes (handed back with the result, the
/// dead-letter needs them).
pub type Unparsed = (String, Vec<u8>);

/// A parsed file ready for the store, or why it cannot be stored (boxed: a
/// rejection is large and rare).
pub type Prepared = Result<PreparedFile, Box<FileRejection>>;

/// Parses, validates, derives and content-hashes every file; `None` when the
/// blocking pool is gone (shutdown).
pub async fn prepare_all(
    lists: Arc<WordLists>,
    files: Vec<Unparsed>,
) -> Option<Vec<(Vec<u8>, Prepared)>> {
    tokio::task::spawn_blocking(move || {
        files
            .into_par_iter()
            .map(|(name, bytes)| {
                let prepared = prepare_one(&lists, &name, &bytes);
                (bytes, prepared)
            })
            .collect()
    })
    .await
    .ok()
}

fn prepare_one(lists: &WordLists, name: &str, bytes: &[u8]) -> Prepared {
    let parsed = parse_event_file(name, bytes).map_err(Box::new)?;
    let derived = parsed.events.iter().map(|e| derive(e, lists)).collect();
    let (file, hash, source) = (
        parsed.file_name.clone(),
        parsed.file_hash.clone(),
        parsed.source_code.clone(),
    );
    PreparedFile::new(parsed, derived)
        .map_err(|e| Box::new(store_rejection(&file, &hash, &source, &e)))
}

/// The store refused a file's data (a constraint, a value too large, an id twice):
/// a property of the file, so it is dead-lettered with the database's words.
pub fn store_rejection(
    file: &str,
    file_hash: &str,
    source_code: &str,
    e: &StoreError,
) -> FileRejection {
    let detail = format!("{e:?}").trim_end().replace('\n', " ");
    FileRejection {
        file: file.to_string(),
        file_hash: file_hash.to_string(),
        source_code: source_code.to_string(),
        reason: RejectionReason::Database,
        message: format!("Database rejected {file}: {detail}"),
        details: vec![Problem::file_level("", detail)],
    }
}

/// [`store_rejection`] for a parsed file.
pub fn parsed_rejection(parsed: &ParsedFile, e: &StoreError) -> FileRejection {
    store_rejection(&parsed.file_name, &parsed.file_hash, &parsed.source_code, e)
}
