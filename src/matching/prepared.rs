//! Per-event data prepared once per run, so scoring a pair never re-normalizes,
//! re-tokenizes or re-sorts anything (that costs 2.7× per pair otherwise).
//!
//! Invariant: a `PreparedEvent` depends only on its source event, the word lists and
//! the matching config, never on the other events of the run.

use std::num::NonZeroU64;

use chrono::{NaiveDate, NaiveTime};

use super::candidates::title_word_key;
use super::config::{CityKey, DescriptionCompareOn, MatchingConfig, TitleCompareOn};
use super::similarity::{TokenHashes, TokenizedText};
use crate::model::SourceEvent;
use crate::preprocess::blocking::{entry_days, typed_blocking_keys, BlockingKey};
use crate::preprocess::city::{normalize_place, with_normalized_place};
use crate::preprocess::{normalize, town_stem_of, WordLists};

/// Days a range expands to when `date.expand_ranges` is on (spec §8.2).
pub const RANGE_EXPANSION_CAP_DAYS: u32 = 14;

/// One listed day with the start times given for it, in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct DayTimes {
    pub date: NaiveDate,
    /// Start time of every entry listing this day; the first is the spec's `start(d)`.
    pub starts: Vec<Option<NaiveTime>>,
}

/// Only what scoring needs: a run holds one per event.
#[derive(Debug, Clone)]
pub struct PreparedEvent {
    /// Title in the configured comparison form, tokenized.
    pub title: TokenizedText,
    /// Description text in the configured form; `None` when blank.
    pub description: Option<TokenizedText>,
    /// Lower-cased original venue name, tokenized (venue check of the geo score).
    pub venue: Option<TokenizedText>,
    /// The title's and the venue's distinct tokens hashed (the learned features'
    /// token overlaps).
    pub tokens: TokenHashes,
    /// Listed days sorted ascending (ranges expanded when configured).
    pub days: Vec<DayTimes>,
    /// Distinct categories, sorted.
    pub categories: Vec<String>,
    /// Whether the source type takes part in cross-source title blending.
    pub source_kind: SourceKind,
    /// The municipality as far as it is known: the derived city with district aliases
    /// applied, reduced to its town stem (`lahr schwarzwald` and `lahr` agree). `None`
    /// when blank, or when the printed city is only a district the alias table does not
    /// know (`city` = `district` = `Griesheim`, no sanitizer result).
    pub city: Option<Box<str>>,
    /// The source document (one issue of one source) the listing was extracted from,
    /// read from the id's `pdf-<hex>` part (`input-format.md` §3: the extractor derives
    /// it from the PDF). `None` when the id has another form.
    pub document: Option<Box<str>>,
    /// The word-and-town part of the title-day blocking keys
    /// ([`super::candidates::title_word_key`]).
    pub title_word_key: Option<NonZeroU64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Artikel,
    Terminliste,
    Other,
}

impl SourceKind {
    fn of(source_type: &str) -> Self {
        match source_type {
            "artikel" => SourceKind::Artikel,
            "terminliste" => SourceKind::Terminliste,
            _ => SourceKind::Other,
        }
    }
}

impl PreparedEvent {
    pub fn new(event: &SourceEvent, lists: &WordLists, config: &MatchingConfig) -> Self {
        let expand = expand_days(config);
        let title_text = match config.title.compare_on {
            TitleCompareOn::Normalized => {
                normalize(lists.prefixes.strip(&event.title), Some(&lists.synonyms))
            }
            TitleCompareOn::RawCasefold => caseless::default_case_fold_str(event.title.trim()),
        };
        let description = description_text(event)
            .map(|text| match config.description.compare_on {
                DescriptionCompareOn::Normalized => normalize(text, Some(&lists.synonyms)),
                DescriptionCompareOn::Raw => text.trim().to_string(),
            })
            .map(|t| TokenizedText::new(&t));
        let venue = event
            .location_name
            .as_deref()
            .filter(|n| !n.is_empty())
            .map(|n| TokenizedText::new(&n.to_lowercase()));
        let mut categories = event.categories.clone().unwrap_or_default();
        categories.sort();
        categories.dedup();
        let title = TokenizedText::new(&title_text);
        let city = municipality(event, lists);
        PreparedEvent {
            title_word_key: title_word_key(&title, city.as_deref()),
            tokens: TokenHashes::new(&title, venue.as_ref()),
            title,
            description,
            venue,
            days: day_times(event, expand),
            categories,
            source_kind: SourceKind::of(&event.source_type),
            city,
            document: document_of(&event.id).map(Box::from),
        }
    }
}

fn expand_days(config: &MatchingConfig) -> u32 {
    if config.date.expand_ranges {
        RANGE_EXPANSION_CAP_DAYS
    } else {
        0
    }
}

/// The keys a run blocks on for `event` (ranges expanded and town stems used when
/// configured). Computed on demand: the pipeline streams them and storage renders them.
pub fn run_blocking_keys(
    event: &SourceEvent,
    lists: &WordLists,
    config: &MatchingConfig,
) -> Vec<BlockingKey> {
    let city = lists
        .city_aliases
        .normalize_city(event.location_city.as_deref());
    let key_city = match config.blocking.city_key {
        CityKey::Normalized => city.as_deref(),
        CityKey::Stem => city.as_deref().map(town_stem_of),
    };
    typed_blocking_keys(event, key_city, expand_days(config))
}

/// [`run_blocking_keys`] in their stored string form.
pub fn stored_blocking_keys(
    event: &SourceEvent,
    lists: &WordLists,
    config: &MatchingConfig,
) -> Vec<String> {
    run_blocking_keys(event, lists, config)
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// See [`PreparedEvent::city`].
fn municipality(event: &SourceEvent, lists: &WordLists) -> Option<Box<str>> {
    let city = event.location_city.as_deref()?;
    // The normalized name is borrowed from the per-thread memo, which a nested
    // lookup (the district's) must not reach while it is borrowed.
    let (stem, known) = with_normalized_place(city, |printed| {
        if printed.is_empty() {
            return None;
        }
        Some(match lists.city_aliases.municipality_of(printed) {
            Some(m) => (Box::from(town_stem_of(m)), true),
            None => (Box::from(town_stem_of(printed)), false),
        })
    })?;
    if known {
        return Some(stem);
    }
    let unknown_district = event.location_district.as_deref().is_some_and(|d| {
        let district = normalize_place(d);
        with_normalized_place(city, |printed| district == printed)
    });
    (!unknown_district).then_some(stem)
}

/// The document part of an id of the extractor's form `pdf-<hex>-<batch>-<index>`.
pub fn document_of(id: &str) -> Option<&str> {
    let mut parts = id.splitn(3, '-');
    let (kind, hex) = (parts.next()?, parts.next()?);
    let rest = parts.next()?;
    let well_formed = !kind.is_empty()
        && !hex.is_empty()
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && !rest.is_empty();
    well_formed.then(|| &id[..kind.len() + 1 + hex.len()])
}

/// First non-blank of `description`, `short_description`.
fn description_text(event: &SourceEvent) -> Option<&str> {
    [
        event.description.as_deref(),
        event.short_description.as_deref(),
    ]
    .into_iter()
    .flatten()
    .find(|s| !s.trim().is_empty())
}

fn day_times(event: &SourceEvent, expand: u32) -> Vec<DayTimes> {
    let mut days: Vec<DayTimes> = Vec::new();
    for entry in &event.dates {
        for day in entry_days(entry, expand) {
            match days.iter_mut().find(|d| d.date == day) {
                Some(d) => d.starts.push(entry.start_time),
                None => days.push(DayTimes {
                    date: day,
                    starts: vec![entry.start_time],
                }),
            }
        }
    }
    days.sort_by_key(|d| d.date);
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_the_extractors_pdf_part_of_the_id() {
        assert_eq!(document_of("pdf-3fa91c02-1-0"), Some("pdf-3fa91c02"));
        assert_eq!(document_of("pdf-3fa91c02"), None);
        assert_eq!(document_of("pdf-xyz-1-0"), None);
        assert_eq!(document_of("listing-17"), None);
    }

    #[test]
    fn the_municipality_folds_districts_and_spellings_but_not_unknown_districts() {
        let (lists, config) = (WordLists::bundled(), MatchingConfig::default());
        let city = |city: &str, district: Option<&str>| {
            let e = SourceEvent {
                id: "x".into(),
                location_city: Some(city.into()),
                location_district: district.map(str::to_string),
                ..Default::default()
            };
            PreparedEvent::new(&e, &lists, &config)
                .city
                .map(String::from)
        };
        assert_eq!(city("Lahr/Schw.", None).as_deref(), Some("lahr"));
        assert_eq!(city("Lahr/Schwarzwald", None).as_deref(), Some("lahr"));
        assert_eq!(
            city("Kollnau", Some("Kollnau")).as_deref(),
            Some("waldkirch")
        );
        // A district printed as the city that the alias table does not know.
        assert_eq!(city("Griesheim", Some("Griesheim")), None);
        assert_eq!(city("Griesheim", None).as_deref(), Some("griesheim"));
    }
}
