//! Loading the word lists (prefixes, synonyms, city aliases) from TOML data files.
//!
//! The shipped defaults are compiled in (`config/*.toml` via `include_str!`) so the
//! binary works from any directory; a path given in the settings replaces one list.
//! A list that cannot be read or parsed is a start-up error naming the file.
//!
//! The learned match model travels with the word lists: like them it is data that
//! matching reads besides its config, loaded once at start-up, bundled by default,
//! and replaced by a file from the settings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::synonyms::SynonymGroup;
use super::{CityAliases, PrefixLists, SynonymMap};
use crate::matching::learned::MatchModel;

const BUNDLED_PREFIXES: &str = include_str!("../../config/prefixes.toml");
const BUNDLED_SYNONYMS: &str = include_str!("../../config/synonyms.toml");
const BUNDLED_CITY_ALIASES: &str = include_str!("../../config/city_aliases.toml");

/// Why a word list could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum WordListError {
    #[error("cannot read word list {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid word list {path}: {message}")]
    Parse { path: PathBuf, message: String },
}

/// All word lists preprocessing needs.
#[derive(Debug, Clone, PartialEq)]
pub struct WordLists {
    pub prefixes: PrefixLists,
    pub synonyms: SynonymMap,
    pub city_aliases: CityAliases,
    /// The learned match model; `None` when it could not be loaded and the settings
    /// allow falling back to the weighted sum.
    pub model: Option<Arc<MatchModel>>,
    /// SHA-256 of the three lists' texts as read, so a changed list is noticed
    /// across restarts ([`WordLists::fingerprint`]).
    texts_digest: [u8; 32],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SynonymFile {
    #[serde(default)]
    group: Vec<SynonymGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CityAliasFile {
    #[serde(default)]
    aliases: BTreeMap<String, String>,
}

impl WordLists {
    /// The shipped defaults. They are compiled in and covered by tests, so a parse
    /// failure here is a build defect, not an input problem.
    pub fn bundled() -> Self {
        match Self::load(None, None, None) {
            Ok(lists) => lists,
            Err(e) => unreachable!("bundled word lists are invalid: {e}"),
        }
    }

    /// Loads each list from its path, or the bundled default when `None`.
    pub fn load(
        prefixes: Option<&Path>,
        synonyms: Option<&Path>,
        city_aliases: Option<&Path>,
    ) -> Result<Self, WordListError> {
        let mut digest = Sha256::new();
        let prefixes: PrefixLists = parse(
            prefixes,
            BUNDLED_PREFIXES,
            "config/prefixes.toml",
            &mut digest,
        )?;
        let synonyms: SynonymFile = parse(
            synonyms,
            BUNDLED_SYNONYMS,
            "config/synonyms.toml",
            &mut digest,
        )?;
        let aliases: CityAliasFile = parse(
            city_aliases,
            BUNDLED_CITY_ALIASES,
            "config/city_aliases.toml",
            &mut digest,
        )?;
        Ok(WordLists {
            prefixes,
            synonyms: SynonymMap::from_groups(&synonyms.group),
            city_aliases: CityAliases::from_original(
                aliases
                    .aliases
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            ),
            model: Some(Arc::new(MatchModel::bundled())),
            texts_digest: digest.finalize().into(),
        })
    }

    /// Hex SHA-256 of what these lists and their model decide with: equal
    /// fingerprints score alike, so a stored catalogue made under another fingerprint
    /// needs a full re-match.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.texts_digest);
        match &self.model {
            Some(m) => h.update(serde_json::to_vec(&**m).unwrap_or_default()),
            None => h.update(b"no model"),
        }
        hex::encode(h.finalize())
    }

    /// The same lists with another model (`None`: the weighted sum is used).
    pub fn with_model(self, model: Option<MatchModel>) -> Self {
        WordLists {
            model: model.map(Arc::new),
            ..self
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    path: Option<&Path>,
    bundled: &str,
    bundled_name: &str,
    digest: &mut Sha256,
) -> Result<T, WordListError> {
    let (text, shown) = match path {
        Some(p) => (
            std::fs::read_to_string(p).map_err(|source| WordListError::Read {
                path: p.to_path_buf(),
                source,
            })?,
            p.to_path_buf(),
        ),
        None => (bundled.to_string(), PathBuf::from(bundled_name)),
    };
    // Length first, so the boundary between two texts cannot move unnoticed.
    digest.update((text.len() as u64).to_le_bytes());
    digest.update(text.as_bytes());
    toml::from_str(&text).map_err(|e| WordListError::Parse {
        path: shown,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_lists_load() {
        let lists = WordLists::bundled();
        assert_eq!(lists.prefixes.dash_prefixes.len(), 6);
        assert_eq!(lists.prefixes.colon_prefixes.len(), 11);
        assert_eq!(lists.prefixes.generic_prefixes.len(), 1);
        assert_eq!(lists.synonyms.variants_in_order().count(), 10);
    }

    #[test]
    fn a_file_replaces_the_bundled_list_and_errors_name_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("syn.toml");
        std::fs::write(&path, "[[group]]\ncanonical = \"x\"\nvariants = [\"yy\"]\n").unwrap();
        let lists = WordLists::load(None, Some(&path), None).unwrap();
        assert_eq!(lists.synonyms.apply("ayy"), "ax");

        std::fs::write(&path, "[[group]]\ncanonical = 3\n").unwrap();
        let err = WordLists::load(None, Some(&path), None).unwrap_err();
        assert!(err.to_string().contains("syn.toml"), "{err}");

        let missing = dir.path().join("missing.toml");
        let err = WordLists::load(Some(&missing), None, None).unwrap_err();
        assert!(err.to_string().contains("missing.toml"), "{err}");
    }
}
