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

pub fn load(paths: &[PathBuf]) -> anyhow::Result<LoadedInput> {
    let files = collect_json_files(paths).context("cannot list input files")?;
    let parsed: Vec<(PathBuf, Result<ParsedFile, FileRejection>)> = files
        .into_par_iter()
        .map(|path| {
            let r = read_one(&path);
            (path, r)
        })
        .collect();
    let mut input = LoadedInput {
        files_read: parsed.len(),
        ..Default::default()
    };
    let mut seen_hashes: HashSet<String> = HashSet::new();
    let mut owner: HashMap<String, (usize, String)> = HashMap::new();
    for (path, result) in parsed {
        let file = match result {
            Ok(file) => file,
            Err(rejection) => {
                tracing::warn!(file = %path.display(), reason = ?rejection.reason, "{}", rejection.message);
                input.rejected.push(rejection);
                continue;
            }
        };
        if !seen_hashes.insert(file.file_hash.clone()) {
            tracing::info!(file = %file.file_name, file_hash = %file.file_hash, "skipped: same content as an earlier file");
            input.duplicate_files.push(file.file_name);
            continue;
        }
        for w in &file.warnings {
            tracing::warn!(file = %file.file_name, event_index = ?w.event_index, event_id = ?w.event_id, field = %w.field, "{}", w.problem);
        }
        input.files_used += 1;
        for event in file.events {
            match owner.get(&event.id) {
                Some((slot, earlier)) => {
                    tracing::info!(event_id = %event.id, earlier_file = %earlier, file = %file.file_name, "event updated by a later file");
                    input.updated_events += 1;
                    let slot = *slot;
                    owner.insert(event.id.clone(), (slot, file.file_name.clone()));
                    input.events[slot] = event;
                }
                None => {
                    owner.insert(
                        event.id.clone(),
                        (input.events.len(), file.file_name.clone()),
                    );
                    input.events.push(event);
                }
            }
        }
    }
    Ok(input)
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
