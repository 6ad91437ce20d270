//! Dialect synonyms (`preprocessing.md` §4): carnival vocabulary differs by valley.
//!
//! Invariant: pairs are applied longest variant first (stable among equal lengths), so
//! `fasnets` wins over `fasnet` and compounds normalize to one spelling.

use serde::Deserialize;

/// One synonym group as written in `config/synonyms.toml`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SynonymGroup {
    pub canonical: String,
    pub variants: Vec<String>,
}

/// Flattened `(variant → canonical)` pairs in application order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SynonymMap {
    pairs: Vec<(String, String)>,
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
        SynonymMap { pairs }
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
}
