//! Canonical synthesis (`matching.md` §7): one record per cluster, each field chosen
//! by its configured strategy, with the member it came from recorded as provenance.
//!
//! Invariant: members are visited in ascending id order, so every tie-break ("first")
//! is deterministic whatever order the events were loaded in.

use std::sync::Arc;

use crate::matching::config::{FieldStrategies, StringStrategy};
use crate::model::{CanonicalEvent, EventDate, FieldProvenance, SourceEvent};

/// Provenance value of fields merged from every member.
pub const UNION: &str = "union_all_sources";
/// `longest_non_generic` prefers values at least this long (shorter ones are generic
/// labels such as "Konzert").
pub const NON_GENERIC_MIN_CHARS: usize = 10;

/// Builds the canonical event of `members` (sorted by id, non-empty). Quality fields
/// other than `source_count` are left for the caller (they need pair decisions).
pub fn synthesize(members: &[&SourceEvent], strategies: &FieldStrategies) -> CanonicalEvent {
    // One shared id per member; provenance fields point at these.
    let ids: Vec<Arc<str>> = members.iter().map(|m| Arc::from(m.id.as_str())).collect();
    let union: Arc<str> = Arc::from(UNION);
    let id = |i: usize| ids.get(i).cloned().unwrap_or_default();
    let pick = |strategy: StringStrategy, get: &dyn Fn(&SourceEvent) -> Option<&str>| {
        let (value, i) = pick_string(members, strategy, get);
        (value, id(i))
    };
    let (title, title_src) = pick(strategies.title, &|e| Some(e.title.as_str()));
    let (short_description, sd_src) = pick(strategies.short_description, &|e| {
        e.short_description.as_deref()
    });
    let (description, d_src) = pick(strategies.description, &|e| e.description.as_deref());
    let (location_name, ln_src) = pick(strategies.location_name, &|e| e.location_name.as_deref());
    let (location_city, lc_src) = pick(strategies.location_city, &|e| e.location_city.as_deref());
    let (location_street, ls_src) = pick(strategies.location_street, &|e| {
        e.location_street.as_deref()
    });
    let (location_district, ld_src) = pick(StringStrategy::MostComplete, &|e| {
        e.location_district.as_deref()
    });
    let (location_zipcode, lz_src) = pick(StringStrategy::MostComplete, &|e| {
        e.location_zipcode.as_deref()
    });
    let (geo, geo_i) = highest_confidence(members);
    let (is_family_event, fam_i) = any_true(members, |e| e.is_family_event);
    let (is_child_focused, child_i) = any_true(members, |e| e.is_child_focused);
    let (admission_free, free_i) = any_true(members, |e| e.admission_free);
    let dates = union_dates(members);
    let (first_date, last_date) = date_bounds(&dates);
    CanonicalEvent {
        title: title.unwrap_or_default(),
        short_description,
        description,
        highlights: union_lists(
            members
                .iter()
                .map(|m| m.highlights.as_deref().unwrap_or(&[])),
        ),
        location_name,
        location_city,
        location_district,
        location_street,
        location_zipcode,
        geo_latitude: geo.map(|g| g.0),
        geo_longitude: geo.map(|g| g.1),
        geo_confidence: geo.map(|g| g.2),
        dates,
        first_date,
        last_date,
        categories: union_lists(
            members
                .iter()
                .map(|m| m.categories.as_deref().unwrap_or(&[])),
        ),
        is_family_event,
        is_child_focused,
        admission_free,
        field_provenance: FieldProvenance {
            title: title_src,
            short_description: sd_src,
            description: d_src,
            highlights: union.clone(),
            location_name: ln_src,
            location_city: lc_src,
            location_district: ld_src,
            location_street: ls_src,
            location_zipcode: lz_src,
            geo: id(geo_i),
            dates: union.clone(),
            categories: union,
            is_family_event: id(fam_i),
            is_child_focused: id(child_i),
            admission_free: id(free_i),
        },
        source_count: members.len(),
        match_confidence: None,
        needs_review: false,
        review_reason: None,
        ai_assisted: false,
        source_event_ids: members.iter().map(|m| m.id.clone()).collect(),
    }
}

/// Applies a string strategy; returns the value and the index of the member it came
/// from (0, the first member, when none has a value). `longest_non_generic` yields
/// `Some("")` when every value is empty (the title must always have a value); the
/// others yield `None`.
fn pick_string(
    members: &[&SourceEvent],
    strategy: StringStrategy,
    get: &dyn Fn(&SourceEvent) -> Option<&str>,
) -> (Option<String>, usize) {
    let values: Vec<(&str, usize)> = members
        .iter()
        .enumerate()
        .filter_map(|(i, m)| get(m).filter(|v| !v.is_empty()).map(|v| (v, i)))
        .collect();
    let chosen = match strategy {
        StringStrategy::LongestNonGeneric => {
            let long: Vec<(&str, usize)> = values
                .iter()
                .copied()
                .filter(|(v, _)| v.chars().count() >= NON_GENERIC_MIN_CHARS)
                .collect();
            let pool = if long.is_empty() { &values } else { &long };
            match longest(pool) {
                Some(hit) => Some(hit),
                None => return (Some(String::new()), 0),
            }
        }
        StringStrategy::Longest | StringStrategy::MostComplete => longest(&values),
        StringStrategy::MostFrequent => most_frequent(&values),
    };
    match chosen {
        Some((v, i)) => (Some(v.to_string()), i),
        None => (None, 0),
    }
}

/// Longest value in characters; ties keep the first.
fn longest<'a>(values: &[(&'a str, usize)]) -> Option<(&'a str, usize)> {
    let mut best: Option<(&str, usize, usize)> = None;
    for &(v, id) in values {
        let len = v.chars().count();
        if best.is_none_or(|(_, _, l)| len > l) {
            best = Some((v, id, len));
        }
    }
    best.map(|(v, id, _)| (v, id))
}

/// Most frequent value by exact equality; ties keep the value seen first, and the
/// provenance is the first member carrying it.
fn most_frequent<'a>(values: &[(&'a str, usize)]) -> Option<(&'a str, usize)> {
    let mut counts: Vec<(&str, usize, usize)> = Vec::new();
    for &(v, id) in values {
        match counts.iter_mut().find(|(x, _, _)| *x == v) {
            Some(entry) => entry.2 += 1,
            None => counts.push((v, id, 1)),
        }
    }
    let mut best: Option<(&str, usize, usize)> = None;
    for c in counts {
        if best.is_none_or(|b| c.2 > b.2) {
            best = Some(c);
        }
    }
    best.map(|(v, id, _)| (v, id))
}

/// Concatenates lists in member order, dropping repeats.
fn union_lists<'a>(lists: impl Iterator<Item = &'a [String]>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for list in lists {
        for item in list {
            if !out.contains(item) {
                out.push(item.clone());
            }
        }
    }
    out
}

/// The member with latitude, longitude and confidence all present and the highest
/// confidence (ties: first), and its index (0 when none). Coordinates without a
/// confidence are never chosen.
fn highest_confidence(members: &[&SourceEvent]) -> (Option<(f64, f64, f64)>, usize) {
    let mut best: Option<((f64, f64, f64), usize)> = None;
    for (i, m) in members.iter().enumerate() {
        if let (Some(lat), Some(lon), Some(conf)) =
            (m.geo_latitude, m.geo_longitude, m.geo_confidence)
        {
            if best.is_none_or(|((_, _, c), _)| conf > c) {
                best = Some(((lat, lon, conf), i));
            }
        }
    }
    match best {
        Some((g, i)) => (Some(g), i),
        None => (None, 0),
    }
}

/// `true` if any member is `true` (never null), with the first such member's index.
fn any_true(members: &[&SourceEvent], get: impl Fn(&SourceEvent) -> Option<bool>) -> (bool, usize) {
    match members.iter().position(|m| get(m) == Some(true)) {
        Some(i) => (true, i),
        None => (false, 0),
    }
}

/// All date entries in member order, deduplicated by the full tuple.
fn union_dates(members: &[&SourceEvent]) -> Vec<EventDate> {
    let mut out: Vec<EventDate> = Vec::new();
    for m in members {
        for d in &m.dates {
            if !out.contains(d) {
                out.push(d.clone());
            }
        }
    }
    out
}

fn date_bounds(dates: &[EventDate]) -> (Option<chrono::NaiveDate>, Option<chrono::NaiveDate>) {
    let all = dates
        .iter()
        .flat_map(|d| std::iter::once(d.date).chain(d.end_date));
    (all.clone().min(), all.max())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn ev(id: &str) -> SourceEvent {
        SourceEvent {
            id: id.into(),
            ..Default::default()
        }
    }

    #[test]
    fn longest_non_generic_prefers_long_values() {
        let mut a = ev("a");
        a.title = "Konzert".into();
        let mut b = ev("b");
        b.title = "Jazzkonzert im Park".into();
        let mut c = ev("c");
        c.title = "Jazz im Park!".into();
        let canon = synthesize(&[&a, &b, &c], &FieldStrategies::default());
        assert_eq!(
            (canon.title.as_str(), &*canon.field_provenance.title),
            ("Jazzkonzert im Park", "b")
        );
        // Only short values: the longest of them, ties → first.
        a.title = "Kino".into();
        b.title = "Film".into();
        let canon = synthesize(&[&a, &b], &FieldStrategies::default());
        assert_eq!(
            (canon.title.as_str(), &*canon.field_provenance.title),
            ("Kino", "a")
        );
        // All empty → "" from the first member.
        a.title = String::new();
        b.title = String::new();
        let canon = synthesize(&[&a, &b], &FieldStrategies::default());
        assert_eq!(
            (canon.title.as_str(), &*canon.field_provenance.title),
            ("", "a")
        );
    }

    #[test]
    fn most_frequent_city_and_tie_breaks() {
        let mut a = ev("a");
        a.location_city = Some("Lahr".into());
        let mut b = ev("b");
        b.location_city = Some("Lahr/Schwarzwald".into());
        let mut c = ev("c");
        c.location_city = Some("Lahr/Schwarzwald".into());
        let canon = synthesize(&[&a, &b, &c], &FieldStrategies::default());
        assert_eq!(canon.location_city.as_deref(), Some("Lahr/Schwarzwald"));
        assert_eq!(&*canon.field_provenance.location_city, "b");
        let canon = synthesize(&[&a, &b], &FieldStrategies::default());
        assert_eq!(canon.location_city.as_deref(), Some("Lahr"));
    }

    #[test]
    fn geo_needs_confidence_and_booleans_never_null() {
        let mut a = ev("a");
        a.geo_latitude = Some(48.0);
        a.geo_longitude = Some(7.8);
        let mut b = ev("b");
        (b.geo_latitude, b.geo_longitude, b.geo_confidence) = (Some(48.1), Some(7.9), Some(0.5));
        b.admission_free = Some(false);
        let canon = synthesize(&[&a, &b], &FieldStrategies::default());
        assert_eq!(
            (canon.geo_latitude, &*canon.field_provenance.geo),
            (Some(48.1), "b")
        );
        assert!(!canon.admission_free);
        assert_eq!(&*canon.field_provenance.admission_free, "a");
        let canon = synthesize(&[&a], &FieldStrategies::default());
        assert_eq!(canon.geo_latitude, None);
    }

    #[test]
    fn dates_union_and_bounds_include_end_date() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let mut a = ev("a");
        a.dates = vec![EventDate {
            date: d("2026-02-28"),
            end_date: Some(d("2026-03-01")),
            ..Default::default()
        }];
        let mut b = ev("b");
        b.dates = vec![
            a.dates[0].clone(),
            EventDate {
                date: d("2026-02-27"),
                ..Default::default()
            },
        ];
        let canon = synthesize(&[&a, &b], &FieldStrategies::default());
        assert_eq!(canon.dates.len(), 2);
        assert_eq!(
            (canon.first_date, canon.last_date),
            (Some(d("2026-02-27")), Some(d("2026-03-01")))
        );
        assert_eq!(&*canon.field_provenance.dates, UNION);
        let empty = synthesize(&[&ev("z")], &FieldStrategies::default());
        assert_eq!((empty.first_date, empty.last_date), (None, None));
    }

    #[test]
    fn lists_union_in_member_order() {
        let mut a = ev("a");
        a.categories = Some(vec!["markt".into(), "fest".into()]);
        let mut b = ev("b");
        b.categories = Some(vec!["fest".into(), "kinder".into()]);
        let canon = synthesize(&[&a, &b], &FieldStrategies::default());
        assert_eq!(canon.categories, ["markt", "fest", "kinder"]);
        assert!(canon.highlights.is_empty());
    }

    #[test]
    fn configured_strategy_is_honoured() {
        let mut a = ev("a");
        a.short_description = Some("kurz".into());
        let mut b = ev("b");
        b.short_description = Some("viel länger als kurz".into());
        let mut c = ev("c");
        c.short_description = Some("kurz".into());
        let s = FieldStrategies {
            short_description: StringStrategy::MostFrequent,
            ..Default::default()
        };
        assert_eq!(
            synthesize(&[&a, &b, &c], &s).short_description.as_deref(),
            Some("kurz")
        );
        assert_eq!(
            synthesize(&[&a, &b, &c], &FieldStrategies::default())
                .short_description
                .as_deref(),
            Some("viel länger als kurz")
        );
    }
}
