//! Dialect synonyms (`preprocessing.md` §4): carnival vocabulary differs by valley.
//!
//! Invariant: pairs are applied longest variant first (stable among equal lengths), so
//! `fasnets` wins over `fasnet` and compounds normalize to one spelling.

use aho_corasick::AhoCorasick;
use serde::Deserialize;

/// One synonym group as written in `config/synonyms.toml`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SynonymGroup {
    pub canonical: String,
    pub variants: Vec<String>,
}

/// Flattened `(variant → canonical)` pairs in application order.
#[derive(Debug, Clone, Default)]
pub struct SynonymMap {
    pairs: Vec<(String, String)>,
    /// All variants in one automaton: one scan tells whether any occurs (most texts
    /// hold none), instead of one substring search per variant. `None` when there
    /// are no variants.
    any_variant: Option<AhoCorasick>,
}

impl PartialEq for SynonymMap {
    /// The automaton is derived from the pairs.
    fn eq(&self, other: &Self) -> bool {
        self.pairs == other.pairs
    }
}

impl SynonymMap {
    pub fn from_groups(groups: &[SynonymGroup]) -> Self {
        let mut pairs: Vec<(String, String)> = groups
            .iter()
            .flat_map(|g| g.variants.iter().map(|v| (v.clone(), g.canonical.clone())))
            .filter(|(v, _)| !v.is_empty())
            .collect();
        // Stable sort keeps config order among equal lengths.
        pairs.sort_by_key(|(v, _)| std::cmp::Reverse(v.chars().count()));
        // Building fails only past the automaton's size limits; without it every text
        // takes the per-variant path, which gives the same result.
        let any_variant = (!pairs.is_empty())
            .then(|| AhoCorasick::new(pairs.iter().map(|(v, _)| v)).ok())
            .flatten();
        SynonymMap { pairs, any_variant }
    }

    /// Whether [`Self::apply`] may change `text` (UTF-8): `false` only when no
    /// variant occurs.
    pub fn may_apply(&self, text: impl AsRef<[u8]>) -> bool {
        match &self.any_variant {
            Some(automaton) => automaton.is_match(text.as_ref()),
            None => !self.pairs.is_empty(),
        }
    }

    /// Replaces every occurrence of each variant (plain substring, left to right).
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (variant, canonical) in &self.pairs {
            if out.contains(variant.as_str()) {
                out = out.replace(variant.as_str(), canonical);
            }
        }
        out
    }

    pub fn variants_in_order(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().map(|(v, _)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use crate::preprocess::WordLists;

    #[test]
    fn application_order_matches_spec() {
        let lists = WordLists::bundled();
        let order: Vec<&str> = lists.synonyms.variants_in_order().collect();
        assert_eq!(
            order,
            [
                "hemdklunker",
                "hemdglunki",
                "hendglunki",
                "fasnacht",
                "fasching",
                "karneval",
                "fasnets",
                "fasent",
                "fasend",
                "fasnet"
            ]
        );
    }

    #[test]
    fn spec_examples() {
        let map = WordLists::bundled().synonyms;
        for (input, want) in [
            ("fasnet", "fastnacht"),
            ("fasching", "fastnacht"),
            ("karneval", "fastnacht"),
            ("hemdklunker", "hemdglunker"),
            ("fasnetsumzug", "fastnachtumzug"),
            ("fasnet hemdklunker", "fastnacht hemdglunker"),
            ("konzert im park", "konzert im park"),
            ("fastnacht", "fastnacht"),
        ] {
            assert_eq!(map.apply(input), want, "apply({input:?})");
        }
    }

    #[test]
    fn no_variant_found_means_apply_changes_nothing() {
        let map = WordLists::bundled().synonyms;
        for text in ["konzert im park", "fastnacht", "fas net", "karnevl", ""] {
            assert!(!map.may_apply(text), "{text:?}");
            assert_eq!(map.apply(text), text);
        }
        for text in ["fasnet", "der karneval", "hendglunkiumzug"] {
            assert!(map.may_apply(text), "{text:?}");
            assert_ne!(map.apply(text), text);
        }
        assert!(!crate::preprocess::SynonymMap::default().may_apply("fasnet"));
    }
}
