//! Text normalization `normalize(text, synonyms?)` (`preprocessing.md` §2).
//!
//! The step order is part of the contract: stored keys of events ingested earlier were
//! built with it, so changing it requires re-normalizing every stored event.

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use super::synonyms::SynonymMap;

/// Whether step 6 deletes `c` (ASCII punctuation; hyphens survive: German compounds).
fn is_deleted(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | '!' | '?' | ',' | '.' | ':' | ';' | '(' | ')' | '[' | ']' | '{' | '}'
    )
}

/// Whitespace as Python's `str.split()` sees it: Unicode White_Space plus the
/// ASCII information separators, so runs of either collapse to one space.
pub fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Normalizes `text`: lower-case, NFC, transliterate umlauts/ß, collapse whitespace,
/// apply synonyms (when given), delete punctuation, trim.
///
/// Text of Latin-1 letters and common punctuation (nearly all listings) takes a
/// one-pass path with one allocation (the step-by-step path cost about a third of
/// preparing a run); anything else takes the spec's steps one by one. Both give the
/// same string (tests compare them character by character).
pub fn normalize(text: &str, synonyms: Option<&SynonymMap>) -> String {
    if text.is_empty() {
        return String::new();
    }
    let mut folded = String::with_capacity(text.len() + 8);
    if !fold_simple(text, &mut folded) {
        return normalize_stepwise(text, synonyms);
    }
    if let Some(map) = synonyms {
        if map.may_apply(&folded) {
            folded = map.apply(&folded);
        }
    }
    folded.retain(|c| !is_deleted(c));
    let trimmed = folded.trim_matches(is_space);
    if trimmed.len() != folded.len() {
        return trimmed.to_string();
    }
    folded
}

/// Steps 1–4 (lower-case, NFC, transliterate, collapse whitespace) in one pass into
/// `out`, for text whose every character is Latin-1 (U+0000–U+00FF), general
/// punctuation, a currency sign or whitespace: those are NFC already, lower-case one
/// by one without context (no final sigma, no dotted I) and never combine with a
/// neighbour. `false` (and `out` unspecified) at the first other character.
/// (Reading bytes instead of characters cost more: the result then needs UTF-8
/// validation.)
fn fold_simple(text: &str, out: &mut String) -> bool {
    let mut space_pending = false;
    for c in text.chars() {
        if is_space(c) {
            space_pending = !out.is_empty();
            continue;
        }
        if space_pending {
            out.push(' ');
            space_pending = false;
        }
        match c {
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            '\0'..='\u{7f}' => out.push(c),
            'ä' | 'Ä' => out.push_str("ae"),
            'ö' | 'Ö' => out.push_str("oe"),
            'ü' | 'Ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            // Latin-1 capitals sit 0x20 below their small letters (× is no letter).
            '\u{c0}'..='\u{de}' if c != '\u{d7}' => {
                out.push(char::from_u32(c as u32 + 0x20).unwrap_or(c));
            }
            // The rest of Latin-1, general punctuation (quotes, dashes) and currency
            // signs: no case, no decomposition, no combining.
            '\u{80}'..='\u{ff}' | '\u{2000}'..='\u{206f}' | '\u{20a0}'..='\u{20cf}' => out.push(c),
            _ => return false,
        }
    }
    true
}

/// The spec's steps one after the other, for any text.
fn normalize_stepwise(text: &str, synonyms: Option<&SynonymMap>) -> String {
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
    let stripped: String = collapsed.chars().filter(|&c| !is_deleted(c)).collect();
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

    /// Every character the one-pass path takes, alone and between others (umlauts,
    /// spaces, punctuation, a synonym), normalizes as the spec's steps do it; so do
    /// the characters next to that range that it must leave to the steps.
    #[test]
    fn the_one_pass_path_equals_the_spec_steps_for_every_character_it_takes() {
        let synonyms = WordLists::bundled().synonyms;
        let ranges = [
            0u32..0x250,
            0x300..0x370,
            0x390..0x3d0,
            0x1e9e..0x1e9f,
            0x2000..0x20d0,
            0x2100..0x2130,
        ];
        for c in ranges.into_iter().flatten().filter_map(char::from_u32) {
            for text in [
                format!("{c}"),
                format!("Ä{c}b"),
                format!(" x {c} "),
                format!("Fas{c}net ({c})"),
                format!("{c}\u{308}Ü{c}"),
                format!("ΣΑ{c} "),
            ] {
                for map in [None, Some(&synonyms)] {
                    assert_eq!(
                        normalize(&text, map),
                        normalize_stepwise(&text, map),
                        "{text:?} U+{:04X}",
                        c as u32
                    );
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn the_one_pass_path_equals_the_spec_steps(
            words in proptest::collection::vec(
                proptest::prop_oneof![
                    "[a-zA-ZäöüÄÖÜßéÉ0-9]{0,8}",
                    "[ \t\n\u{a0}\u{2009}\u{202f}.,:;!?()\"'„“–-]{1,3}",
                    "(Fasnet|FASENT|fasnets|Karneval|Hemdklunker|fasching)",
                    "[\u{308}\u{301}ΣİẞıÅ\u{212b}]",
                ],
                0..12,
            )
        ) {
            let text = words.concat();
            let synonyms = WordLists::bundled().synonyms;
            for map in [None, Some(&synonyms)] {
                proptest::prop_assert_eq!(
                    normalize(&text, map),
                    normalize_stepwise(&text, map),
                    "{:?}", text
                );
            }
        }
    }
}
