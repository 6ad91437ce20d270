//! Prefix stripping `strip_prefix(title)` (`preprocessing.md` §3).
//!
//! Invariant: matching is per character and case-insensitive without building a
//! lower-cased copy, so the number of characters removed always equals the length of
//! `prefix + separator` in the original title (lower-casing can change lengths, e.g. `İ`).

use serde::Deserialize;

/// The three prefix lists with their separators, in the order they are tried.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PrefixLists {
    pub dash_separators: Vec<String>,
    pub colon_separators: Vec<String>,
    pub dash_prefixes: Vec<String>,
    pub colon_prefixes: Vec<String>,
    pub generic_prefixes: Vec<String>,
}

impl PrefixLists {
    /// Removes the first matching prefix (with its separator) and trims the rest.
    pub fn strip<'a>(&self, title: &'a str) -> &'a str {
        let lists: [(&[String], &[String]); 3] = [
            (&self.dash_prefixes, &self.dash_separators),
            (&self.colon_prefixes, &self.colon_separators),
            (&self.generic_prefixes, &self.dash_separators),
        ];
        for (prefixes, separators) in lists {
            for prefix in prefixes {
                let Some(after_prefix) = strip_ci(title, prefix) else {
                    continue;
                };
                for sep in separators {
                    if let Some(rest) = strip_ci(after_prefix, sep) {
                        return rest.trim_matches(super::normalize::is_space);
                    }
                }
            }
        }
        title
    }
}

/// The leading name part of a normalized town: `kehl am rhein` → `kehl`,
/// `lahr/schwarzwald` → `lahr`, `haslach i k` → `haslach`, `renchen-ulm` → `renchen`.
/// German place names add qualifiers after the base name (am/im/an der, `/Region`,
/// district after a hyphen), and sources print them inconsistently.
pub fn town_stem_of(normalized_town: &str) -> &str {
    normalized_town
        .split(|c: char| super::normalize::is_space(c) || c == '/' || c == '-')
        .find(|s| !s.is_empty())
        .unwrap_or("")
}

/// Returns the remainder of `title` after `prefix` when it starts with it, comparing
/// character by character case-insensitively.
fn strip_ci<'a>(title: &'a str, prefix: &str) -> Option<&'a str> {
    let mut rest = title.char_indices();
    for want in prefix.chars() {
        let (_, got) = rest.next()?;
        if !same_ignoring_case(got, want) {
            return None;
        }
    }
    Some(match rest.next() {
        Some((idx, _)) => &title[idx..],
        None => "",
    })
}

fn same_ignoring_case(a: char, b: char) -> bool {
    // Every title is tried against every prefix, mostly failing at the first
    // character: two ASCII characters need no case tables. (One ASCII character
    // alone does: the Kelvin sign lower-cases to `k`.)
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(&b);
    }
    a == b || a.to_lowercase().eq(b.to_lowercase())
}

#[cfg(test)]
mod tests {
    use crate::preprocess::WordLists;

    #[test]
    fn spec_table() {
        let lists = WordLists::bundled();
        let cases = [
            (
                "Narrenzunft Bergteufel - Großer Fasnetsumzug",
                "Großer Fasnetsumzug",
                "grosser fastnachtumzug",
            ),
            (
                "Vortrag: Streuobstwiesen im Elztal",
                "Streuobstwiesen im Elztal",
                "streuobstwiesen im elztal",
            ),
            (
                "Vortrag:  Bienen im Winter",
                "Bienen im Winter",
                "bienen im winter",
            ),
            (
                "KOMMUNALES KINO – Die Schatzinsel (1950)",
                "Die Schatzinsel (1950)",
                "die schatzinsel 1950",
            ),
            (
                "Kolping Kids -- Basteln für Fasching",
                "Basteln für Fasching",
                "basteln fuer fastnacht",
            ),
            (
                "Tag der offenen Tür - Feuerwehr Denzlingen",
                "Feuerwehr Denzlingen",
                "feuerwehr denzlingen",
            ),
            (
                "Tag der offenen Tür: Feuerwehr Denzlingen",
                "Tag der offenen Tür: Feuerwehr Denzlingen",
                "tag der offenen tuer feuerwehr denzlingen",
            ),
            (
                "SkF Waldkirch: Café International",
                "Café International",
                "café international",
            ),
            (
                "Theaterabend:Der zerbrochne Krug",
                "Theaterabend:Der zerbrochne Krug",
                "theaterabendder zerbrochne krug",
            ),
        ];
        for (title, stripped, normalized) in cases {
            assert_eq!(lists.prefixes.strip(title), stripped, "strip({title:?})");
            assert_eq!(
                crate::preprocess::normalize(lists.prefixes.strip(title), Some(&lists.synonyms)),
                normalized
            );
        }
    }

    #[test]
    fn town_stems() {
        use super::town_stem_of;
        assert_eq!(town_stem_of("kehl am rhein"), "kehl");
        assert_eq!(town_stem_of("lahr/schwarzwald"), "lahr");
        assert_eq!(town_stem_of("renchen-ulm"), "renchen");
        assert_eq!(town_stem_of("freiburg im breisgau"), "freiburg");
        assert_eq!(town_stem_of(""), "");
    }

    #[test]
    fn only_one_prefix_is_removed() {
        let lists = WordLists::bundled();
        assert_eq!(
            lists.prefixes.strip("Vortrag: Vortrag: Bienen"),
            "Vortrag: Bienen"
        );
    }

    #[test]
    fn title_equal_to_prefix_or_shorter() {
        let lists = WordLists::bundled();
        assert_eq!(lists.prefixes.strip("Vortrag"), "Vortrag");
        assert_eq!(lists.prefixes.strip("Vortrag: "), "");
        assert_eq!(lists.prefixes.strip(""), "");
    }

    #[test]
    fn length_changing_lowercase_does_not_panic() {
        let lists = WordLists::bundled();
        assert_eq!(lists.prefixes.strip("İİİ: x"), "İİİ: x");
    }

    #[test]
    fn the_ascii_shortcut_agrees_with_the_case_tables() {
        use super::same_ignoring_case;
        let chars = (0u32..0x250)
            .chain(0x2126..0x212c)
            .filter_map(char::from_u32)
            .collect::<Vec<_>>();
        for &a in &chars {
            for &b in &chars {
                let tables = a == b || a.to_lowercase().eq(b.to_lowercase());
                assert_eq!(same_ignoring_case(a, b), tables, "{a:?} {b:?}");
            }
        }
        // The Kelvin sign is not ASCII, but is `k` to the case tables.
        assert_eq!(lists_strip("\u{212a}olping Kids - Basteln"), "Basteln");
    }

    fn lists_strip(title: &str) -> String {
        WordLists::bundled().prefixes.strip(title).to_string()
    }
}
