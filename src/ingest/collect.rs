//! Finding event files on disk and reading them (§1 "Which files").
//!
//! Invariants:
//! * a directory contributes only regular files directly inside it whose name ends
//!   in exactly `.json` and does not start with `.`; explicitly named files are
//!   taken as given;
//! * the result is sorted by path and free of duplicates, so runs are reproducible;
//! * reading never panics: an unreadable file becomes an `Io` rejection.

// `FileRejection` is large, but it is the rare path and the public contract
// returns it by value; boxing would only complicate every caller.
#![allow(clippy::result_large_err)]

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::document::{parse_event_file, ParsedFile};
use super::file_name::source_code_of;
use super::report::{FileId, FileRejection};

/// Expands `paths` (files or directories) into the event files to read.
pub fn collect_json_files(paths: &[PathBuf]) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        let meta = fs::metadata(path).map_err(|e| named(path, e))?;
        if meta.is_dir() {
            collect_dir(path, &mut out)?;
        } else {
            out.push(path.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn collect_dir(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir).map_err(|e| named(dir, e))? {
        let entry = entry.map_err(|e| named(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || !name.ends_with(".json") {
            continue;
        }
        let path = entry.path();
        // Follows symlinks: a link to a regular file counts as a regular file.
        if fs::metadata(&path).map(|m| m.is_file()).unwrap_or(false) {
            out.push(path);
        }
    }
    Ok(())
}

/// Same error kind, message prefixed with the path so the operator knows which.
fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Reads and parses each file, keeping input order within each result list.
pub fn read_event_files(paths: &[PathBuf]) -> (Vec<ParsedFile>, Vec<FileRejection>) {
    let mut parsed = Vec::with_capacity(paths.len());
    let mut rejected = Vec::new();
    for path in paths {
        match read_one(path) {
            Ok(file) => parsed.push(file),
            Err(rejection) => rejected.push(rejection),
        }
    }
    (parsed, rejected)
}

fn read_one(path: &Path) -> Result<ParsedFile, FileRejection> {
    let name = base_name(path);
    match fs::read(path) {
        Ok(bytes) => parse_event_file(&name, &bytes),
        Err(e) => {
            let source_code = source_code_of(&name);
            let id = FileId {
                name: &name,
                hash: "",
                source_code: &source_code,
            };
            Err(id.io(&named(path, e)))
        }
    }
}

/// The file name shown in reports; falls back to the whole path when the path has
/// no final component (e.g. `..`).
fn base_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::RejectionReason;

    #[test]
    fn collects_only_visible_json_files_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "b_1.json",
            "a_1.json",
            ".hidden.json",
            "c.JSON",
            "d.json.bak",
            "notes.txt",
        ] {
            fs::write(dir.path().join(name), "{}").unwrap();
        }
        fs::create_dir(dir.path().join("sub.json")).unwrap();
        let explicit = dir.path().join("notes.txt");
        let got = collect_json_files(&[
            dir.path().to_path_buf(),
            explicit.clone(),
            dir.path().join("a_1.json"),
        ])
        .unwrap();
        let names: Vec<String> = got.iter().map(|p| base_name(p)).collect();
        assert_eq!(names, ["a_1.json", "b_1.json", "notes.txt"]);
    }

    #[test]
    fn missing_path_names_it() {
        let err = collect_json_files(&[PathBuf::from("/definitely/not/here")]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("/definitely/not/here"), "{err}");
    }

    #[test]
    fn unreadable_file_becomes_io_rejection() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("ok_1.json");
        fs::write(&good, r#"{"events": []}"#).unwrap();
        let gone = dir.path().join("gone_1.json");
        let (parsed, rejected) = read_event_files(&[good, gone]);
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].file_name, "ok_1.json");
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].reason, RejectionReason::Io);
        assert_eq!(rejected[0].file, "gone_1.json");
        assert_eq!(rejected[0].source_code, "gone");
    }
}
