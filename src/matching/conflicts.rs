//! Conflicts: facts that say two listings are *not* the same event, whatever their
//! scores. The clustering refuses a merge that would put a conflicting pair into one
//! group, which stops chains (A~B, B~C, A≠C) from joining whole neighbourhoods through
//! one weak link.
//!
//! Each rule is hard or a strong negative, decided from counts on the seven labelled
//! sets (3,921 true pairs; see the README's quality section):
//!
//! | rule | true pairs it fires on | kind |
//! |---|---|---|
//! | same issue of one source, same source type | 0 | hard |
//! | same issue, different source type (article + calendar entry) | 0, but real papers do print both | strong negative |
//! | different sanitized municipality | 3 (a sanitizer can be wrong) | strong negative |
//! | listed days at least 2 days apart | 56 (wrong dates in print) | strong negative |
//! | trusted geocodes more than 15 km apart | 0 | strong negative |
//!
//! A hard conflict refuses the merge outright. A strong negative between two listings
//! that were never compared counts as a pair with match probability 0 in the average
//! link between the two groups, so it takes several confident pairs to outvote it; a
//! compared pair counts at its own score, since the model saw the same facts.
//!
//! Invariant: symmetric, and a function of the two events' facts only.

use chrono::NaiveDate;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::config::MatchingConfig;
use super::prepared::PreparedEvent;
use super::signals::geo::haversine_km;
use crate::model::SourceEvent;

/// Days apart from which two listings with no shared day conflict.
pub const CONFLICT_DAY_GAP: i64 = 2;
/// Kilometres apart from which two trusted geocodes conflict.
pub const CONFLICT_DISTANCE_KM: f64 = 15.0;

/// Why two listings cannot be one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Conflict {
    /// One issue of one source lists both, as the same kind of entry.
    SameIssue,
    /// One issue lists both, once as an article and once as a calendar entry.
    SameIssueOtherType,
    DifferentMunicipality,
    DistantDates,
    DistantPlaces,
}

impl Conflict {
    pub fn is_hard(self) -> bool {
        matches!(self, Conflict::SameIssue)
    }

    /// Shown in a flagged group's review reason.
    pub fn describe(self) -> &'static str {
        match self {
            Conflict::SameIssue => "one issue of a source lists both",
            Conflict::SameIssueOtherType => "one issue lists both (article and calendar entry)",
            Conflict::DifferentMunicipality => "different municipalities",
            Conflict::DistantDates => "dates at least 2 days apart",
            Conflict::DistantPlaces => "places more than 15 km apart",
        }
    }
}

/// What the conflict rules need of one event, kept small: a run holds one per event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFacts {
    /// Interned document (issue) id; [`UNKNOWN`] when unknown.
    document: u32,
    /// Interned municipality (town stem); [`UNKNOWN`] when unknown.
    city: u32,
    source_type: u32,
    /// Listed days, ascending (ranges expanded as in scoring).
    days: Box<[NaiveDate]>,
    /// Trusted coordinates (confident and inside the region).
    point: Option<(f32, f32)>,
}

impl EventFacts {
    /// Bytes held outside the struct (memory accounting).
    pub fn heap_bytes(&self) -> usize {
        self.days.len() * std::mem::size_of::<NaiveDate>()
    }
}

impl Default for EventFacts {
    /// Nothing known: conflicts with nothing.
    fn default() -> Self {
        EventFacts {
            document: UNKNOWN,
            city: UNKNOWN,
            source_type: UNKNOWN,
            days: Box::default(),
            point: None,
        }
    }
}

/// The interned id of an unknown value.
const UNKNOWN: u32 = u32::MAX;

/// Interns strings to small ids while facts are built.
#[derive(Default)]
pub struct Interner<'a> {
    ids: FxHashMap<&'a str, u32>,
}

impl<'a> Interner<'a> {
    fn id(&mut self, s: Option<&'a str>) -> u32 {
        match s {
            None => UNKNOWN,
            Some(s) => {
                let next = self.ids.len() as u32;
                *self.ids.entry(s).or_insert(next)
            }
        }
    }
}

/// Facts of every event of a run, in index order.
pub fn event_facts<'a>(
    events: &'a [SourceEvent],
    prepared: &'a [PreparedEvent],
    config: &MatchingConfig,
) -> Vec<EventFacts> {
    // The per-event part in parallel; interning (a shared table) after, in order.
    let mut facts: Vec<EventFacts> = events
        .par_iter()
        .zip(prepared)
        .map(|(e, p)| EventFacts {
            days: p.days.iter().map(|d| d.date).collect(),
            point: trusted_point(e, config),
            ..EventFacts::default()
        })
        .collect();
    let mut documents = Interner::default();
    let mut cities = Interner::default();
    let mut types = Interner::default();
    for ((f, e), p) in facts.iter_mut().zip(events).zip(prepared) {
        f.document = documents.id(p.document.as_deref());
        f.city = cities.id(p.city.as_deref());
        f.source_type = types.id(Some(e.source_type.as_str()));
    }
    facts
}

/// Builds facts one event at a time with interners that live as long as the caller
/// keeps them, so facts built at different times compare like facts of one run (the
/// incremental matcher keeps one across runs).
#[derive(Debug, Default)]
pub struct FactsBuilder {
    documents: FxHashMap<Box<str>, u32>,
    cities: FxHashMap<Box<str>, u32>,
    types: FxHashMap<Box<str>, u32>,
}

impl FactsBuilder {
    pub fn facts(
        &mut self,
        e: &SourceEvent,
        p: &PreparedEvent,
        config: &MatchingConfig,
    ) -> EventFacts {
        fn id(map: &mut FxHashMap<Box<str>, u32>, s: Option<&str>) -> u32 {
            let Some(s) = s else { return UNKNOWN };
            if let Some(&id) = map.get(s) {
                return id;
            }
            let next = map.len() as u32;
            map.insert(s.into(), next);
            next
        }
        EventFacts {
            document: id(&mut self.documents, p.document.as_deref()),
            city: id(&mut self.cities, p.city.as_deref()),
            source_type: id(&mut self.types, Some(e.source_type.as_str())),
            days: p.days.iter().map(|d| d.date).collect(),
            point: trusted_point(e, config),
        }
    }
}

fn trusted_point(e: &SourceEvent, config: &MatchingConfig) -> Option<(f32, f32)> {
    let (lat, lon) = (e.geo_latitude?, e.geo_longitude?);
    let confident = e
        .geo_confidence
        .is_none_or(|c| c >= config.geo.min_confidence);
    (confident && config.geo.region.contains(lat, lon)).then_some((lat as f32, lon as f32))
}

/// The strongest conflict between two events (hard first), if any.
pub fn conflict(a: &EventFacts, b: &EventFacts) -> Option<Conflict> {
    if a.document != UNKNOWN && a.document == b.document {
        return Some(if a.source_type == b.source_type {
            Conflict::SameIssue
        } else {
            Conflict::SameIssueOtherType
        });
    }
    if a.city != UNKNOWN && b.city != UNKNOWN && a.city != b.city {
        return Some(Conflict::DifferentMunicipality);
    }
    if let (Some(x), Some(y)) = (a.point, b.point) {
        let km = haversine_km(
            f64::from(x.0),
            f64::from(x.1),
            f64::from(y.0),
            f64::from(y.1),
        );
        if km > CONFLICT_DISTANCE_KM {
            return Some(Conflict::DistantPlaces);
        }
    }
    if min_day_gap(&a.days, &b.days).is_some_and(|g| g >= CONFLICT_DAY_GAP) {
        return Some(Conflict::DistantDates);
    }
    None
}

/// Smallest distance in days between the two sorted day lists (0 when one is shared);
/// `None` when either has no day.
fn min_day_gap(a: &[NaiveDate], b: &[NaiveDate]) -> Option<i64> {
    let (mut i, mut j) = (0, 0);
    let mut best: Option<i64> = None;
    while i < a.len() && j < b.len() {
        let gap = (a[i] - b[j]).num_days();
        let abs = gap.abs();
        best = Some(best.map_or(abs, |b| b.min(abs)));
        if abs == 0 {
            return Some(0);
        }
        if gap < 0 {
            i += 1;
        } else {
            j += 1;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn facts(document: u32, city: u32, source_type: u32, days: &[&str]) -> EventFacts {
        EventFacts {
            document,
            city,
            source_type,
            days: days.iter().map(|d| day(d)).collect(),
            point: None,
        }
    }

    #[test]
    fn rules_and_their_kinds() {
        let base = facts(1, 7, 0, &["2026-02-10"]);
        assert_eq!(
            conflict(&base, &facts(1, 7, 0, &["2026-02-10"])),
            Some(Conflict::SameIssue)
        );
        assert!(Conflict::SameIssue.is_hard());
        assert_eq!(
            conflict(&base, &facts(1, 7, 1, &["2026-02-10"])),
            Some(Conflict::SameIssueOtherType)
        );
        assert!(!Conflict::SameIssueOtherType.is_hard());
        assert_eq!(
            conflict(&base, &facts(2, 8, 0, &["2026-02-10"])),
            Some(Conflict::DifferentMunicipality)
        );
        assert_eq!(
            conflict(&base, &facts(2, u32::MAX, 0, &["2026-02-10"])),
            None
        );
        assert_eq!(
            conflict(&base, &facts(2, 7, 0, &["2026-02-12"])),
            Some(Conflict::DistantDates)
        );
        assert_eq!(conflict(&base, &facts(2, 7, 0, &["2026-02-11"])), None);
        assert_eq!(
            conflict(&base, &facts(u32::MAX, 7, 0, &["2026-02-10"])),
            None
        );
        let mut far = facts(2, 7, 0, &["2026-02-10"]);
        far.point = Some((48.0, 7.8));
        let mut near = base.clone();
        near.point = Some((48.2, 7.8));
        assert_eq!(conflict(&near, &far), Some(Conflict::DistantPlaces));
        assert_eq!(conflict(&far, &near), Some(Conflict::DistantPlaces));
    }

    #[test]
    fn day_gap_walks_both_lists() {
        let a = [day("2026-02-01"), day("2026-02-20")];
        let b = [day("2026-02-10"), day("2026-02-19")];
        assert_eq!(min_day_gap(&a, &b), Some(1));
        assert_eq!(min_day_gap(&a, &[]), None);
    }
}
