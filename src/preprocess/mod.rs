//! Preprocessing: normalized text and blocking keys for each source event
//! (`preprocessing.md`).
//!
//! Runs once per event at ingestion; never changes the original fields. All word lists
//! are data ([`WordLists`], loaded from `config/*.toml`), so operators can extend them
//! without a rebuild.

pub mod blocking;
pub mod city;
pub mod normalize;
pub mod prefixes;
pub mod synonyms;
pub mod wordlists;

use serde::{Deserialize, Serialize};

use crate::model::SourceEvent;

pub use blocking::{blocking_keys, grid_cell, has_valid_geo};
pub use city::CityAliases;
pub use normalize::normalize;
pub use prefixes::{town_stem_of, PrefixLists};
pub use synonyms::SynonymMap;
pub use wordlists::{WordListError, WordLists};

/// The derived fields stored beside a source event (`preprocessing.md` §1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Derived {
    pub title_normalized: String,
    pub short_description_normalized: Option<String>,
    pub location_name_normalized: Option<String>,
    pub location_city_normalized: Option<String>,
    pub blocking_keys: Vec<String>,
}

/// Computes every derived field of one event with the given word lists.
///
/// Blocking keys use first days only (the spec's stored form); the matching pipeline
/// may expand date ranges itself when `date.expand_ranges` is on.
pub fn derive(event: &SourceEvent, lists: &WordLists) -> Derived {
    let mut derived = derive_text(event, lists);
    derived.blocking_keys = blocking_keys(event, derived.location_city_normalized.as_deref(), 0);
    derived
}

/// The normalized fields without blocking keys (the pipeline builds typed keys itself
/// and only storage needs the string form).
pub fn derive_text(event: &SourceEvent, lists: &WordLists) -> Derived {
    let title_normalized = normalize(lists.prefixes.strip(&event.title), Some(&lists.synonyms));
    let short_description_normalized =
        non_empty(event.short_description.as_deref()).map(|s| normalize(s, Some(&lists.synonyms)));
    let location_name_normalized =
        non_empty(event.location_name.as_deref()).map(|s| normalize(s, None));
    let location_city_normalized = lists
        .city_aliases
        .normalize_city(event.location_city.as_deref());
    let blocking_keys = blocking_keys(event, location_city_normalized.as_deref(), 0);
    Derived {
        title_normalized,
        short_description_normalized,
        location_name_normalized,
        location_city_normalized,
        blocking_keys,
    }
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}
