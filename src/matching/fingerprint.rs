//! The matching fingerprint: one hash of everything that decides a pair's score and
//! a group's content besides the listings themselves (the binary's version, the
//! effective matching config, the word lists and the model).
//!
//! Why: the matcher keeps its state between runs and, at start-up, rebuilds it from
//! the stored listings instead of re-matching. That is only sound when the stored
//! catalogue was matched with the same fingerprint; a run row records it
//! (`processing_runs.matching_fingerprint`), and a differing one means a full
//! re-match.

use sha2::{Digest, Sha256};

use super::MatchingConfig;
use crate::preprocess::WordLists;

/// Hex SHA-256 of the binary's version, `config` (as JSON) and `lists`.
pub fn fingerprint(config: &MatchingConfig, lists: &WordLists) -> String {
    let mut h = Sha256::new();
    h.update(concat!(
        env!("CARGO_PKG_NAME"),
        " ",
        env!("CARGO_PKG_VERSION"),
        "\n"
    ));
    h.update(lists.fingerprint());
    h.update(b"\n");
    // A config always serializes (plain data); an error would only make every
    // fingerprint differ, which costs a full re-match, never a wrong catalogue.
    h.update(serde_json::to_vec(config).unwrap_or_default());
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_inputs_agree_and_a_changed_config_or_list_differs() {
        let lists = WordLists::bundled();
        let config = MatchingConfig::default();
        let base = fingerprint(&config, &lists);
        assert_eq!(base, fingerprint(&config.clone(), &WordLists::bundled()));

        let mut other = config.clone();
        other.thresholds.high += 0.01;
        assert_ne!(base, fingerprint(&other, &lists));

        let weighted = lists.clone().with_model(None);
        assert_ne!(base, fingerprint(&config, &weighted));
    }
}
