//! File identity (§1): source code from the name, hash from the bytes.
//!
//! Invariants: the source code is the base name up to (not including) the first
//! `_`, or the whole name including `.json` when there is no `_`; the hash is the
//! lower-case hex SHA-256 of the raw bytes (64 characters), BOM included, because
//! it identifies the bytes on disk, not their meaning.

use sha2::{Digest, Sha256};

/// `wzo_14.02.2026_….json` → `wzo`; `events.json` → `events.json`.
pub fn source_code_of(file_name: &str) -> String {
    match file_name.split_once('_') {
        Some((code, _)) => code.to_string(),
        None => file_name.to_string(),
    }
}

/// True when the name follows no `<source>_…` convention, which the spec wants
/// logged because the resulting source code is fragile.
pub fn lacks_separator(file_name: &str) -> bool {
    !file_name.contains('_')
}

/// SHA-256 of the raw bytes, lower-case hex.
pub fn file_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_codes() {
        assert_eq!(
            source_code_of("wzo_14.02.2026_2026-02-14T07-12-05-331Z.json"),
            "wzo"
        );
        assert_eq!(source_code_of("events.json"), "events.json");
        assert_eq!(source_code_of("_x.json"), "");
        assert_eq!(source_code_of("a_b_c.json"), "a");
        assert!(lacks_separator("events.json"));
        assert!(!lacks_separator("a_b.json"));
    }

    #[test]
    fn hashes() {
        assert_eq!(
            file_hash(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let h = file_hash(b"{}");
        assert_eq!(h.len(), 64);
        assert!(h
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }
}
