//! Text normalization `normalize(text, synonyms?)` (`preprocessing.md` §2).
//!
//! The step order is part of the contract: stored keys of events ingested earlier were
//! built with it, so changing it requires re-normalizing every stored event.

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use super::synonyms::SynonymMap;

/// ASCII punctuation deleted in step 6. Hyphens survive (German compounds).
const DELETED: &[char] = &[
    '"', '\'', '!', '?', ',', '.', ':', ';', '(', ')', '[', ']', '{', '}',
];

/// Whitespace as Python's `str.split()` sees it: Unicode White_Space plus the
/// ASCII information separators, so runs of either collapse to one space.
pub fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Normalizes `text`: lower-case, NFC, transliterate umlauts/ß, collapse whitespace,
/// apply synonyms (when given), delete punctuation, trim.
pub fn normalize(text: &str, synonyms: Option<&SynonymMap>) -> String {
    if text.is_empty() {
        return String::new();
    }
    let lowered = text.to_lowercase();
    let mut translit = String::with_capacity(lowered.len() + 8);
    let mut push = |c: char| match c {
        'ä' | 'Ä' => translit.push_str("ae"),
        'ö' | 'Ö' => translit.push_str("oe"),
        'ü' | 'Ü' => translit.push_str("ue"),
        'ß' => translit.push_str("ss"),
        other => translit.push(other),
    };
    // Nearly all input is already NFC; composing it again is the costliest step.
    if is_nfc_quick(lowered.chars()) == IsNormalized::Yes {
        lowered.chars().for_each(&mut push);
    } else {
        lowered.nfc().for_each(&mut push);
    }
    let mut collapsed = collapse_whitespace(&translit);
    if let Some(map) = synonyms {
        collapsed = map.apply(&collapsed);
    }
    let stripped: String = collapsed.chars().filter(|c| !DELETED.contains(c)).collect();
    stripped.trim_matches(is_space).to_string()
}

/// Replaces every run of whitespace by one ASCII space and trims both ends.
pub fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for token in s.split(is_space).filter(|t| !t.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(token);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocess::WordLists;

    fn norm(s: &str) -> String {
        normalize(s, Some(&WordLists::bundled().synonyms))
    }

    #[test]
    fn spec_examples() {
        let cases = [
            ("CHECKER TOBI", "checker tobi"),
            ("Bürgerhäuser", "buergerhaeuser"),
            ("Straße", "strasse"),
            ("ẞTRASSENFEST", "sstrassenfest"),
            ("Mu\u{308}hle", "muehle"),
            ("  too   many\tspaces\n", "too many spaces"),
            ("List: item (one)", "list item one"),
            ("Kita-Gizig-Umzug", "kita-gizig-umzug"),
            ("Rock & Pop / Jazz – live", "rock & pop / jazz – live"),
            ("Café „Zum Löwen“", "café „zum loewen“"),
            (
                "Fasent-Eröffnung / Narrentaufe",
                "fastnacht-eroeffnung / narrentaufe",
            ),
            ("Konzert ( Open Air )", "konzert  open air"),
            ("Theaterabend:Der Krug", "theaterabendder krug"),
        ];
        for (input, want) in cases {
            assert_eq!(norm(input), want, "normalize({input:?})");
        }
    }

    #[test]
    fn empty_and_whitespace_only() {
        assert_eq!(norm(""), "");
        assert_eq!(norm(" \u{a0}\t "), "");
        assert_eq!(norm("?!"), "");
    }

    #[test]
    fn decomposed_capital_umlaut() {
        assert_eq!(norm("U\u{308}BER"), "ueber");
    }
}
