//! The state's listings in compact form. Every stage reads a listing's id, so it is
//! kept as is; the rest of the [`SourceEvent`] is only read to score a stored
//! listing's new pairs and to synthesize a re-clustered group, a few hundred
//! listings per drop, so it is kept encoded (postcard: one allocation of the field
//! bytes instead of a 500-byte struct and a dozen small strings) and decoded when an
//! apply needs it ([`Loaded`]).
//!
//! Invariant: `id(s)` is the id of slot `s`; `decode(s)` gives back exactly the
//! listing last stored in `s` (a removed slot decodes to an empty listing with its id).

use std::borrow::Cow;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::model::SourceEvent;

#[derive(Debug, Default)]
pub(super) struct Listings {
    ids: Vec<String>,
    /// The listing without its id, encoded; empty for a removed listing.
    rest: Vec<Box<[u8]>>,
}

fn encode(mut e: SourceEvent) -> Box<[u8]> {
    e.id = String::new();
    // Encoding plain data into memory cannot fail; an empty blob would decode as an
    // empty listing (caught by the equality property test).
    postcard::to_allocvec(&e)
        .map(Vec::into_boxed_slice)
        .unwrap_or_default()
}

impl Listings {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn id(&self, s: u32) -> &str {
        &self.ids[s as usize]
    }

    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// A new slot for `id`, empty until [`Listings::store`].
    pub fn push(&mut self, id: String) {
        self.ids.push(id);
        self.rest.push(Box::default());
    }

    pub fn reserve(&mut self, n: usize) {
        self.ids.reserve(n);
        self.rest.reserve(n);
    }

    /// Forgets what slot `s` held but its id.
    pub fn clear(&mut self, s: u32) {
        self.rest[s as usize] = Box::default();
    }

    /// Stores listings (each slot's id is already its own), encoding in parallel.
    pub fn store(&mut self, slots: &[u32], events: Vec<SourceEvent>) {
        let encoded: Vec<Box<[u8]>> = events.into_par_iter().map(encode).collect();
        for (&s, blob) in slots.iter().zip(encoded) {
            self.rest[s as usize] = blob;
        }
    }

    /// The listing of slot `s`.
    pub fn decode(&self, s: u32) -> SourceEvent {
        let blob = &self.rest[s as usize];
        let mut e: SourceEvent = if blob.is_empty() {
            SourceEvent::default()
        } else {
            // Only this state's own encoding is ever decoded.
            postcard::from_bytes(blob).unwrap_or_default()
        };
        e.id = self.ids[s as usize].clone();
        e
    }

    /// Bytes held (see `memory`): ids, blobs.
    pub fn heap_bytes(&self) -> (usize, usize) {
        let ids = self.ids.capacity() * std::mem::size_of::<String>()
            + self.ids.iter().map(String::capacity).sum::<usize>();
        let rest = self.rest.capacity() * std::mem::size_of::<Box<[u8]>>()
            + self.rest.iter().map(|b| b.len()).sum::<usize>();
        (ids, rest)
    }
}

/// What scoring reads of a listing besides its prepared form (geo point and
/// confidence, source, title for the test hook), kept by a build so that scoring
/// a million pairs does not decode two listings each (that doubled the build's
/// scoring time). Debug builds check every score made from it against the full
/// listing's.
#[derive(Debug, Clone, Default)]
pub(super) struct ScoringFields {
    title: String,
    source_code: String,
    source_type: String,
    geo: [Option<f64>; 3],
}

impl ScoringFields {
    pub fn of(e: &SourceEvent) -> Self {
        ScoringFields {
            title: e.title.clone(),
            source_code: e.source_code.clone(),
            source_type: e.source_type.clone(),
            geo: [e.geo_latitude, e.geo_longitude, e.geo_confidence],
        }
    }

    /// A listing with only these fields (scoring reads no other).
    fn event(&self) -> SourceEvent {
        let [geo_latitude, geo_longitude, geo_confidence] = self.geo;
        SourceEvent {
            title: self.title.clone(),
            source_code: self.source_code.clone(),
            source_type: self.source_type.clone(),
            geo_latitude,
            geo_longitude,
            geo_confidence,
            ..SourceEvent::default()
        }
    }
}

/// The listings one apply reads whole: its own new listings, then stored ones
/// decoded on demand. A build's listings are all stored already ([`Loaded::stored`]):
/// holding a million of them decoded at once is what made the build's peak, so each
/// is decoded where it is read and dropped after, and scoring reads its
/// [`ScoringFields`] instead.
#[derive(Debug, Default)]
pub(super) struct Loaded {
    at: FxHashMap<u32, u32>,
    events: Vec<SourceEvent>,
    /// Nothing is kept decoded: [`Loaded::load`] does nothing, [`Loaded::event`]
    /// decodes.
    stored_only: bool,
    /// Per slot, for [`Loaded::scoring_event`] (a build's, until it has scored).
    scoring: Vec<ScoringFields>,
}

impl Loaded {
    /// Starts with the change's listings, `events[i]` in slot `slots[i]`.
    pub fn new(slots: &[u32], events: Vec<SourceEvent>) -> Self {
        let at = slots
            .iter()
            .enumerate()
            .map(|(i, &s)| (s, i as u32))
            .collect();
        Loaded {
            at,
            events,
            ..Loaded::default()
        }
    }

    /// Every listing read from the store, one decode per read, scoring from
    /// `scoring[slot]` (a build).
    pub fn stored(scoring: Vec<ScoringFields>) -> Self {
        Loaded {
            stored_only: true,
            scoring,
            ..Loaded::default()
        }
    }

    /// What scoring reads of slot `s`: the loaded listing, else its scoring fields,
    /// else the decoded listing. The second is `true` when it is only the fields.
    pub fn scoring_event<'a>(
        &'a self,
        s: u32,
        listings: &Listings,
    ) -> (Cow<'a, SourceEvent>, bool) {
        match self.scoring.get(s as usize) {
            Some(f) if !self.at.contains_key(&s) => (Cow::Owned(f.event()), true),
            _ => (self.event(s, listings), false),
        }
    }

    /// Scoring is done: its fields go.
    pub fn scored(&mut self) {
        self.scoring = Vec::new();
    }

    /// Decodes those of `slots` not loaded yet (in parallel).
    pub fn load(&mut self, slots: impl Iterator<Item = u32>, listings: &Listings) {
        if self.stored_only {
            return;
        }
        let mut missing: Vec<u32> = slots.filter(|s| !self.at.contains_key(s)).collect();
        missing.sort_unstable();
        missing.dedup();
        let decoded: Vec<SourceEvent> = missing.par_iter().map(|&s| listings.decode(s)).collect();
        for (s, e) in missing.into_iter().zip(decoded) {
            self.at.insert(s, self.events.len() as u32);
            self.events.push(e);
        }
    }

    /// The listing of slot `s`: the loaded one, else decoded from `listings`.
    pub fn event<'a>(&'a self, s: u32, listings: &Listings) -> Cow<'a, SourceEvent> {
        match self.at.get(&s) {
            Some(&i) => Cow::Borrowed(&self.events[i as usize]),
            None => Cow::Owned(listings.decode(s)),
        }
    }

    /// The change's own listings back, to be stored (none when they are stored
    /// already).
    pub fn into_new(mut self, n: usize) -> Vec<SourceEvent> {
        self.events.truncate(n);
        self.events
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveTime};

    use super::*;
    use crate::model::EventDate;

    fn full() -> SourceEvent {
        let day = NaiveDate::from_ymd_opt(2026, 2, 12).unwrap_or_default();
        SourceEvent {
            id: "pdf-ab12-0-3".into(),
            source_code: "bz".into(),
            source_type: "artikel".into(),
            title: "Fasent im Städtle".into(),
            short_description: Some(String::new()),
            description: Some("Umzug, danach Party – ab 14 Uhr".into()),
            highlights: Some(vec!["Guggemusik".into(), "".into()]),
            dates: vec![EventDate {
                date: day,
                start_time: NaiveTime::from_hms_opt(14, 11, 0),
                end_time: None,
                end_date: day.succ_opt(),
            }],
            location_name: Some("Marktplatz".into()),
            location_city: Some("Lahr".into()),
            location_district: None,
            location_street: Some("Hauptstraße".into()),
            location_street_no: Some("7a".into()),
            location_zipcode: Some("77933".into()),
            geo_latitude: Some(48.339_812_345_678_9),
            geo_longitude: Some(-7.873_1e-3),
            geo_confidence: Some(0.1 + 0.2),
            geo_country: Some("DE".into()),
            categories: Some(vec!["fasnacht".into()]),
            is_family_event: Some(true),
            is_child_focused: Some(false),
            admission_free: None,
            registration_required: Some(false),
            registration_contact: None,
            confidence_score: Some(f64::MIN_POSITIVE),
            batch_index: Some(-3),
            extracted_at: Some("2026-01-30T10:00:00Z".into()),
        }
    }

    #[test]
    fn a_stored_listing_decodes_to_exactly_what_was_stored() {
        let mut l = Listings::default();
        l.push("pdf-ab12-0-3".into());
        l.push("x".into());
        let x = SourceEvent {
            id: "x".into(),
            ..SourceEvent::default()
        };
        l.store(&[0, 1], vec![full(), x.clone()]);
        assert_eq!(l.decode(0), full());
        assert_eq!(l.decode(1), x);
        assert_eq!(l.id(0), "pdf-ab12-0-3");
        l.clear(0);
        assert_eq!(
            l.decode(0),
            SourceEvent {
                id: "pdf-ab12-0-3".into(),
                ..SourceEvent::default()
            },
            "a removed listing keeps only its id"
        );
    }

    #[test]
    fn loaded_holds_new_listings_and_decodes_stored_ones_once() {
        let mut l = Listings::default();
        for id in ["a", "b", "c"] {
            l.push(id.into());
        }
        l.store(&[0], vec![full()]);
        let new = SourceEvent {
            id: "c".into(),
            title: "neu".into(),
            ..SourceEvent::default()
        };
        let mut loaded = Loaded::new(&[2], vec![new.clone()]);
        loaded.load([0, 2, 0].into_iter(), &l);
        assert_eq!(loaded.event(0, &l).title, "Fasent im Städtle");
        assert_eq!(
            loaded.event(2, &l).as_ref(),
            &new,
            "a new listing is not replaced by a decode"
        );
        assert_eq!(loaded.into_new(1), vec![new]);
    }

    #[test]
    fn a_stored_only_load_keeps_nothing_and_decodes_each_read() {
        let mut l = Listings::default();
        l.push("pdf-ab12-0-3".into());
        l.store(&[0], vec![full()]);
        let mut loaded = Loaded::stored(vec![ScoringFields::of(&full())]);
        loaded.load([0].into_iter(), &l);
        assert!(loaded.events.is_empty(), "nothing is kept decoded");
        assert!(matches!(loaded.event(0, &l), Cow::Owned(_)));
        assert_eq!(loaded.event(0, &l).as_ref(), &full());
        let (fields, only_fields) = loaded.scoring_event(0, &l);
        assert!(only_fields);
        assert_eq!(
            (
                fields.title.as_str(),
                fields.geo_confidence,
                fields.description.as_deref()
            ),
            ("Fasent im Städtle", full().geo_confidence, None)
        );
        loaded.scored();
        assert_eq!(loaded.scoring_event(0, &l), (Cow::Owned(full()), false));
        assert!(loaded.into_new(0).is_empty());
    }
}
