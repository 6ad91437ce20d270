//! The facts a learned match model sees about a candidate pair.
//!
//! Besides the four signal scores, the model gets the facts behind them (how many days
//! apart, how far apart in minutes and kilometres, how good the geocodes are, how much
//! the venue and title tokens overlap) and facts no signal carries (same source, same
//! issue of a source, same sanitized municipality). Each feature is a number in a small
//! fixed range, named in [`FEATURE_NAMES`]; a model file lists the names it was trained
//! on, so a model and a binary that disagree about features are caught at load time.
//!
//! Invariant: symmetric in the two events, and a pure function of the pair, the
//! prepared events and the config (never of the rest of the run).

use chrono::NaiveTime;

use crate::matching::config::MatchingConfig;
use crate::matching::prepared::{DayTimes, PreparedEvent, SourceKind};
use crate::matching::signals::PairSignals;
use crate::matching::similarity::{overlap, TokenizedText};
use crate::model::SourceEvent;

/// Number of features.
pub const N_FEATURES: usize = 24;

/// Feature names, in the order of [`Features::values`].
pub const FEATURE_NAMES: [&str; N_FEATURES] = [
    "date_score",
    "geo_score",
    "title_score",
    "description_score",
    "days_jaccard",
    "day_gap",
    "time_known",
    "time_diff_hours",
    "time_doors_open",
    "geo_trusted",
    "geo_km_log",
    "geo_outside_region",
    "geo_confidence_min",
    "venue_both",
    "venue_overlap",
    "title_overlap",
    "category_jaccard",
    "same_source",
    "same_issue",
    "same_issue_same_type",
    "cross_source_type",
    "description_length_ratio",
    "city_same",
    "city_differs",
];

/// Days apart beyond which the gap feature saturates.
const MAX_DAY_GAP: f64 = 3.0;
/// Hours apart beyond which the time difference saturates.
const MAX_TIME_DIFF_HOURS: f64 = 4.0;
/// The doors-open habit: a start printed this many minutes early (inclusive range).
const DOORS_OPEN_MINUTES: (i64, i64) = (45, 75);

/// One pair's feature values, in [`FEATURE_NAMES`] order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Features {
    pub values: [f64; N_FEATURES],
}

/// Computes the features of a scored pair (its signals as [`crate::matching::signals::pair_signals`]
/// gave them: the geometry is reused, not recomputed).
pub fn pair_features(
    a: (&SourceEvent, &PreparedEvent),
    b: (&SourceEvent, &PreparedEvent),
    signals: &PairSignals,
    config: &MatchingConfig,
) -> Features {
    let scores = &signals.scores;
    let (ea, pa) = a;
    let (eb, pb) = b;
    let days = day_facts(&pa.days, &pb.days);
    let time = first_shared_start_diff(&pa.days, &pb.days);
    let km = signals.geo.trusted_km;
    let outside = |e: &SourceEvent| match (e.geo_latitude, e.geo_longitude) {
        (Some(lat), Some(lon)) => !config.geo.region.contains(lat, lon),
        _ => false,
    };
    let confidence = |e: &SourceEvent| match (e.geo_latitude, e.geo_longitude) {
        (Some(_), Some(_)) => e.geo_confidence.unwrap_or(1.0),
        _ => 0.0,
    };
    let venue_both = pa.venue.is_some() && pb.venue.is_some();
    let venue_overlap = if venue_both {
        overlap(pa.tokens.venue(), pb.tokens.venue())
    } else {
        0.0
    };
    let same_issue = matches!((&pa.document, &pb.document), (Some(x), Some(y)) if x == y);
    let cross = matches!(
        (pa.source_kind, pb.source_kind),
        (SourceKind::Artikel, SourceKind::Terminliste)
            | (SourceKind::Terminliste, SourceKind::Artikel)
    );
    let (city_same, city_differs) = match (&pa.city, &pb.city) {
        (Some(x), Some(y)) => (x == y, x != y),
        _ => (false, false),
    };
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    Features {
        values: [
            scores.date,
            scores.geo,
            scores.title,
            scores.description,
            days.jaccard,
            days.gap.min(MAX_DAY_GAP) / MAX_DAY_GAP,
            flag(time.is_some()),
            time.map_or(0.0, |m| (m as f64 / 60.0).min(MAX_TIME_DIFF_HOURS)),
            flag(time.is_some_and(|m| (DOORS_OPEN_MINUTES.0..=DOORS_OPEN_MINUTES.1).contains(&m))),
            flag(km.is_some()),
            km.map_or(0.0, f64::ln_1p),
            flag(outside(ea) || outside(eb)),
            confidence(ea).min(confidence(eb)),
            flag(venue_both),
            venue_overlap,
            overlap(pa.tokens.title(), pb.tokens.title()),
            jaccard(&pa.categories, &pb.categories),
            flag(ea.source_code == eb.source_code),
            flag(same_issue),
            flag(same_issue && ea.source_type == eb.source_type),
            flag(cross),
            length_ratio(&pa.description, &pb.description),
            flag(city_same),
            flag(city_differs),
        ],
    }
}

struct DayFacts {
    /// Shared days over all listed days.
    jaccard: f64,
    /// 0 when a day is shared, else the smallest distance in days.
    gap: f64,
}

/// One walk over both sorted day lists (ranges expand to 14 days, so no nested loop).
fn day_facts(a: &[DayTimes], b: &[DayTimes]) -> DayFacts {
    if a.is_empty() || b.is_empty() {
        return DayFacts {
            jaccard: 0.0,
            gap: MAX_DAY_GAP,
        };
    }
    let (mut i, mut j, mut shared) = (0, 0, 0usize);
    let mut gap = i64::MAX;
    while i < a.len() && j < b.len() {
        let d = (a[i].date - b[j].date).num_days();
        gap = gap.min(d.abs());
        match d.cmp(&0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - shared;
    DayFacts {
        jaccard: shared as f64 / union as f64,
        gap: gap as f64,
    }
}

/// Minutes between the first start times on the first shared day, when both have one.
fn first_shared_start_diff(a: &[DayTimes], b: &[DayTimes]) -> Option<i64> {
    let first = |d: &DayTimes| -> Option<NaiveTime> { d.starts.iter().flatten().next().copied() };
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].date.cmp(&b[j].date) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                return Some((first(&a[i])? - first(&b[j])?).num_minutes().abs());
            }
        }
    }
    None
}

/// Jaccard of two sorted, distinct lists; 0 when both are empty.
fn jaccard(a: &[String], b: &[String]) -> f64 {
    let shared = a.iter().filter(|x| b.binary_search(x).is_ok()).count();
    let union = a.len() + b.len() - shared;
    if union == 0 {
        0.0
    } else {
        shared as f64 / union as f64
    }
}

/// Shorter over longer description (in characters of the sorted form); 0 when one is missing.
fn length_ratio(a: &Option<TokenizedText>, b: &Option<TokenizedText>) -> f64 {
    match (a, b) {
        (Some(x), Some(y)) => {
            let (lx, ly) = (x.char_len() as f64, y.char_len() as f64);
            if lx.max(ly) == 0.0 {
                0.0
            } else {
                lx.min(ly) / lx.max(ly)
            }
        }
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::similarity::TokenHashes;
    use crate::model::EventDate;
    use crate::preprocess::WordLists;

    fn event(id: &str, day: &str, start: &str, source: &str) -> SourceEvent {
        SourceEvent {
            id: id.into(),
            source_code: source.into(),
            source_type: "terminliste".into(),
            title: "Jahreskonzert Musikverein".into(),
            location_city: Some("Kehl".into()),
            dates: vec![EventDate {
                date: chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap(),
                start_time: chrono::NaiveTime::parse_from_str(start, "%H:%M").ok(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn features(a: &SourceEvent, b: &SourceEvent) -> Features {
        let (config, lists) = (MatchingConfig::default(), WordLists::bundled());
        let pa = PreparedEvent::new(a, &lists, &config);
        let pb = PreparedEvent::new(b, &lists, &config);
        let signals = crate::matching::signals::pair_signals((a, &pa), (b, &pb), &config);
        pair_features((a, &pa), (b, &pb), &signals, &config)
    }

    fn value(f: &Features, name: &str) -> f64 {
        f.values[FEATURE_NAMES.iter().position(|n| *n == name).unwrap()]
    }

    /// The string form of the token overlap (what [`overlap`] over hashes must equal).
    fn token_overlap(a: &TokenizedText, b: &TokenizedText) -> f64 {
        if a.is_empty() || b.is_empty() {
            return 0.0;
        }
        if a.sorted_joined() == b.sorted_joined() {
            // Duplicates often print the very same title or venue.
            return 1.0;
        }
        let (mut x, mut y) = (a.token_set(), b.token_set());
        let (mut p, mut q) = (x.next(), y.next());
        let (mut nx, mut ny, mut shared) = (0usize, 0usize, 0usize);
        while let (Some(s), Some(t)) = (p, q) {
            match s.cmp(t) {
                std::cmp::Ordering::Less => {
                    nx += 1;
                    p = x.next();
                }
                std::cmp::Ordering::Greater => {
                    ny += 1;
                    q = y.next();
                }
                std::cmp::Ordering::Equal => {
                    nx += 1;
                    ny += 1;
                    shared += 1;
                    p = x.next();
                    q = y.next();
                }
            }
        }
        nx += usize::from(p.is_some()) + x.count();
        ny += usize::from(q.is_some()) + y.count();
        shared as f64 / nx.min(ny) as f64
    }

    fn hashed_overlap(a: &TokenizedText, b: &TokenizedText) -> f64 {
        let (x, y) = (TokenHashes::new(a, None), TokenHashes::new(b, None));
        overlap(x.title(), y.title())
    }

    proptest::proptest! {
        #[test]
        fn the_hashed_overlap_equals_the_string_walk(
            a in "[a-zäöü]{1,6}( [a-zäöü]{1,6}){0,6}",
            b in "[a-zäöü]{1,6}( [a-zäöü]{1,6}){0,6}",
        ) {
            let t = TokenizedText::new;
            proptest::prop_assert_eq!(hashed_overlap(&t(&a), &t(&b)), token_overlap(&t(&a), &t(&b)));
            let venue = TokenHashes::new(&t(&a), Some(&t(&b)));
            proptest::prop_assert_eq!(overlap(venue.venue(), venue.title()), token_overlap(&t(&b), &t(&a)));
        }
    }

    #[test]
    fn token_overlap_is_containment_of_distinct_tokens() {
        let t = TokenizedText::new;
        assert_eq!(token_overlap(&t("zug umzug zug"), &t("umzug zug")), 1.0);
        assert_eq!(token_overlap(&t("a b c d"), &t("b x")), 0.5);
        assert_eq!(token_overlap(&t("a b c d"), &t("e f")), 0.0);
        assert_eq!(token_overlap(&t("b"), &t("a b c")), 1.0);
        assert_eq!(token_overlap(&t(""), &t("a")), 0.0);
        assert_eq!(token_overlap(&t("c a"), &t("a c")), 1.0);
        for (x, y) in [
            ("zug umzug zug", "umzug zug"),
            ("a b c d", "b x"),
            ("", "a"),
            ("a b", ""),
        ] {
            assert_eq!(hashed_overlap(&t(x), &t(y)), token_overlap(&t(x), &t(y)));
        }
    }

    #[test]
    fn facts_behind_the_scores() {
        let a = event("pdf-aa-0-1", "2026-02-14", "19:00", "bzk");
        let b = event("pdf-bb-0-1", "2026-02-14", "20:00", "wzo");
        let f = features(&a, &b);
        assert_eq!(f, features(&b, &a), "symmetric");
        assert_eq!(value(&f, "time_diff_hours"), 1.0);
        assert_eq!(value(&f, "time_doors_open"), 1.0);
        assert_eq!(value(&f, "same_issue"), 0.0);
        assert_eq!(value(&f, "city_same"), 1.0);
        assert_eq!(value(&f, "title_overlap"), 1.0);
        let c = event("pdf-aa-0-2", "2026-02-15", "19:00", "bzk");
        let f = features(&a, &c);
        assert_eq!(value(&f, "same_issue"), 1.0);
        assert_eq!(value(&f, "same_issue_same_type"), 1.0);
        assert_eq!(value(&f, "same_source"), 1.0);
        assert!((value(&f, "day_gap") - 1.0 / MAX_DAY_GAP).abs() < 1e-12);
        assert_eq!(
            value(&f, "time_known"),
            0.0,
            "no shared day, no time comparison"
        );
    }
}
