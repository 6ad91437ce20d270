//! City normalization and district aliases `normalize_city(city)` (`preprocessing.md` §5).
//!
//! Lookup is exact on the whole normalized string, so `Emmendingen-Wasser` is not an
//! alias of `Wasser`: aliases must never rewrite a city they were not written for.

use std::cell::RefCell;

use rustc_hash::FxHashMap;

use super::normalize::normalize;

/// Distinct place names a thread remembers before it starts over (a region has a few
/// hundred towns and districts; the bound only guards against unusual input).
const PLACE_MEMO_CAPACITY: usize = 4096;

thread_local! {
    static NORMALIZED_PLACES: RefCell<FxHashMap<Box<str>, Box<str>>> =
        RefCell::new(FxHashMap::default());
}

/// `normalize(name, None)`, remembered per thread. A run normalizes every listing's
/// town (for the municipality and for the blocking key), a million times over the same
/// few hundred names; normalizing costs about a hundred times a lookup. Pure: the memo
/// can only return what `normalize` would.
pub fn normalize_place(name: &str) -> String {
    with_normalized_place(name, str::to_string)
}

/// Calls `f` with [`normalize_place`]`(name)` borrowed from the memo, for callers that
/// keep only a part of it (no copy of the whole name per listing). `f` must not
/// normalize a place itself: the memo is borrowed while it runs.
pub fn with_normalized_place<R>(name: &str, f: impl FnOnce(&str) -> R) -> R {
    NORMALIZED_PLACES.with(|memo| {
        let mut memo = memo.borrow_mut();
        if let Some(hit) = memo.get(name) {
            return f(hit);
        }
        let normalized = normalize(name, None);
        if memo.len() >= PLACE_MEMO_CAPACITY {
            memo.clear();
        }
        memo.insert(name.into(), normalized.as_str().into());
        f(&normalized)
    })
}

/// Normalized district → normalized municipality.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CityAliases {
    map: FxHashMap<String, String>,
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
        let normalized = normalize_place(city.unwrap_or(""));
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
    use super::*;
    use crate::preprocess::WordLists;

    #[test]
    fn the_place_memo_answers_what_normalize_answers_past_its_capacity() {
        for round in 0..2 {
            for i in 0..PLACE_MEMO_CAPACITY + 10 {
                let name = format!("Groß-Ort {i} (Baden)");
                assert_eq!(
                    normalize_place(&name),
                    normalize(&name, None),
                    "{round} {i}"
                );
            }
        }
        assert!(NORMALIZED_PLACES.with(|m| m.borrow().len()) <= PLACE_MEMO_CAPACITY);
    }

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
            // Again: the second answer comes from the memo and must be the same.
            assert_eq!(aliases.normalize_city(input).as_deref(), want, "{input:?}");
        }
        assert_eq!(aliases.len(), 91);
    }
}
