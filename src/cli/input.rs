//! Loading event files for the offline commands: collect `*.json` paths, parse them
//! in parallel, and merge them the way the service does.
//!
//! * the same bytes under another name are skipped (content hash = identity);
//! * an event id seen in an earlier file is an *update* of that listing (a PDF
//!   re-extracted upstream): the later file, in path order, wins and both names are
//!   logged.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use anyhow::Context;
use rayon::prelude::*;
use serde::Serialize;

use crate::ingest::{
    collect_json_files, parse_event_file, FileRejection, ParsedFile, RejectionReason,
};
use crate::model::SourceEvent;

#[derive(Debug, Default)]
pub struct LoadedInput {
    pub events: Vec<SourceEvent>,
    pub files_read: usize,
    pub files_used: usize,
    pub duplicate_files: Vec<String>,
    pub updated_events: usize,
    pub rejected: Vec<FileRejection>,
}

/// A rejected file as listed in command output.
#[derive(Debug, Serialize)]
pub struct RejectedFile<'a> {
    pub file: &'a str,
    pub reason: RejectionReason,
    pub message: &'a str,
}

impl LoadedInput {
    pub fn rejected_summary(&self) -> Vec<RejectedFile<'_>> {
        self.rejected
            .iter()
            .map(|r| RejectedFile {
                file: &r.file,
                reason: r.reason,
                message: &r.message,
            })
            .collect()
    }
}

/// Files parsed in parallel at a time. Bounded so that parsed-but-not-yet-merged
/// events never hold a second copy of the whole input in memory.
const FILES_PER_CHUNK: usize = 512;

pub fn load(paths: &[PathBuf]) -> anyhow::Result<LoadedInput> {
    let files = collect_json_files(paths).context("cannot list input files")?;
    let total_bytes: u64 = files
        .iter()
        .filter_map(|p| p.metadata().ok())
        .map(|m| m.len())
        .sum();
    let mut input = LoadedInput {
        files_read: files.len(),
        ..Default::default()
    };
    let mut merger = Merger::default();
    let mut bytes_done = 0u64;
    for chunk in files.chunks(FILES_PER_CHUNK) {
        let parsed: Vec<(u64, Result<ParsedFile, FileRejection>)> = chunk
            .par_iter()
            .map(|path| (path.metadata().map_or(0, |m| m.len()), read_one(path)))
            .collect();
        if input.events.capacity() == 0 {
            // Size the event vector once from the first chunk's events per byte:
            // events are large and a growing vector would copy them repeatedly.
            let chunk_bytes: u64 = parsed.iter().map(|(b, _)| *b).sum();
            let chunk_events: usize = parsed
                .iter()
                .map(|(_, r)| r.as_ref().map_or(0, |f| f.events.len()))
                .sum();
            if chunk_bytes > 0 {
                let estimate =
                    (chunk_events as f64 * total_bytes as f64 / chunk_bytes as f64 * 1.05) as usize;
                input.events.reserve_exact(estimate.max(chunk_events));
            }
        }
        for (bytes, result) in parsed {
            bytes_done += bytes;
            merger.merge(&mut input, result);
        }
    }
    debug_assert!(bytes_done <= total_bytes || total_bytes == 0);
    Ok(input)
}

/// Merges parsed files in path order: skips repeated content, applies updates.
#[derive(Default)]
struct Merger {
    seen_hashes: HashSet<String>,
    /// Event id → (slot in `input.events`, file that delivered it).
    owner: HashMap<String, (usize, String)>,
}

impl Merger {
    fn merge(&mut self, input: &mut LoadedInput, result: Result<ParsedFile, FileRejection>) {
        let file = match result {
            Ok(file) => file,
            Err(rejection) => {
                tracing::warn!(file = %rejection.file, reason = ?rejection.reason, "{}", rejection.message);
                input.rejected.push(rejection);
                return;
            }
        };
        if !self.seen_hashes.insert(file.file_hash.clone()) {
            tracing::info!(file = %file.file_name, file_hash = %file.file_hash, "skipped: same content as an earlier file");
            input.duplicate_files.push(file.file_name);
            return;
        }
        for w in &file.warnings {
            tracing::warn!(file = %file.file_name, event_index = ?w.event_index, event_id = ?w.event_id, field = %w.field, "{}", w.problem);
        }
        input.files_used += 1;
        for event in file.events {
            match self.owner.get_mut(&event.id) {
                Some((slot, earlier)) => {
                    tracing::info!(event_id = %event.id, earlier_file = %earlier, file = %file.file_name, "event updated by a later file");
                    input.updated_events += 1;
                    *earlier = file.file_name.clone();
                    input.events[*slot] = event;
                }
                None => {
                    self.owner.insert(
                        event.id.clone(),
                        (input.events.len(), file.file_name.clone()),
                    );
                    input.events.push(event);
                }
            }
        }
    }
}

// A rejection is the bad-file path and is consumed at once; boxing it buys nothing.
#[allow(clippy::result_large_err)]
fn read_one(path: &std::path::Path) -> Result<ParsedFile, FileRejection> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match std::fs::read(path) {
        Ok(bytes) => parse_event_file(&name, &bytes),
        Err(e) => Err(FileRejection {
            file: name.clone(),
            file_hash: String::new(),
            source_code: crate::ingest::source_code_of(&name),
            reason: RejectionReason::Io,
            message: format!("cannot read {}: {e}", path.display()),
            details: Vec::new(),
        }),
    }
}
