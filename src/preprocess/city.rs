//! City normalization and district aliases `normalize_city(city)` (`preprocessing.md` §5).
//!
//! Lookup is exact on the whole normalized string, so `Emmendingen-Wasser` is not an
//! alias of `Wasser`: aliases must never rewrite a city they were not written for.

use std::collections::HashMap;

use super::normalize::normalize;

/// Normalized district → normalized municipality.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CityAliases {
    map: HashMap<String, String>,
}

impl CityAliases {
    /// Builds the table from original spellings, normalizing keys and values.
    pub fn from_original<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let map = entries
            .into_iter()
            .map(|(k, v)| (normalize(k, None), normalize(v, None)))
            .filter(|(k, _)| !k.is_empty())
            .collect();
        CityAliases { map }
    }

    /// `None` for a missing or empty city (no city blocking key).
    pub fn normalize_city(&self, city: Option<&str>) -> Option<String> {
        let normalized = normalize(city.unwrap_or(""), None);
        if normalized.is_empty() {
            return None;
        }
        Some(self.map.get(&normalized).cloned().unwrap_or(normalized))
    }

    /// The municipality of an already normalized district name, if it is one.
    pub fn municipality_of(&self, normalized: &str) -> Option<&str> {
        self.map.get(normalized).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use crate::preprocess::WordLists;

    #[test]
    fn spec_examples() {
        let aliases = WordLists::bundled().city_aliases;
        for (input, want) in [
            (Some("Kollnau"), Some("waldkirch")),
            (Some("WALDKIRCH"), Some("waldkirch")),
            (Some("Wasser"), Some("emmendingen")),
            (Some("Emmendingen-Wasser"), Some("emmendingen-wasser")),
            (Some("Gutach (Breisgau)"), Some("gutach breisgau")),
            (Some("Bleibach"), Some("gutach im breisgau")),
            (Some(""), None),
            (Some("  "), None),
            (None, None),
        ] {
            assert_eq!(aliases.normalize_city(input).as_deref(), want, "{input:?}");
        }
        assert_eq!(aliases.len(), 91);
    }
}
