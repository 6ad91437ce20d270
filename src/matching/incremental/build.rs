//! Building a [`MatchState`] (a full match) with the input streamed in chunks: each
//! chunk of listings is prepared, keyed, given its conflict facts and encoded, then
//! dropped, so only one chunk is ever held decoded. Once every listing is in, the
//! blocks are filled and the rest is an apply of everything whose listings are all
//! stored already: scoring and synthesis decode each listing where they read it.
//!
//! At a million listings the decoded input is about 1.5 GiB (the encoded form about
//! 0.4 GiB); holding all of it next to the prepared forms and the pair vectors was
//! the build's peak (issue 12).
//!
//! Invariant: the state equals what one apply of all listings (last version per id,
//! in the order first given) leaves: same slots, prepared forms, facts (interned in
//! the same order), blocks, pairs and clustering.

use std::time::Instant;

use rayon::prelude::*;

use super::index::{Keys, TouchedBlocks};
use super::listings::{Loaded, ScoringFields};
use super::{last_version_per_id, ms_since, prepare, support_delta, ApplyStats, Indexed};
use super::{MatchState, MatchingConfig, ReviewConstraints};
use crate::model::SourceEvent;
use crate::preprocess::WordLists;

/// Listings prepared at once by [`MatchState::build`]: enough to keep both cores
/// busy, small next to the state (about 50 MiB decoded).
const BUILD_CHUNK: usize = 1 << 15;

/// A state being built from listings given a chunk at a time
/// ([`MatchState::builder`]); [`StateBuilder::finish`] matches them.
pub struct StateBuilder {
    state: MatchState,
    /// Every slot given a listing, in the order first given.
    slots: Vec<u32>,
    /// Per slot: what scoring reads of its listing (dropped once scored).
    scoring: Vec<ScoringFields>,
    index_ms: f64,
    started: Instant,
}

impl MatchState {
    /// A builder for a state of about `expected` listings.
    pub fn builder(config: &MatchingConfig, lists: &WordLists, expected: usize) -> StateBuilder {
        let mut state = MatchState::new(config, lists);
        // Headroom: the first drops then append without moving every per-slot vector
        // (a doubling copies hundreds of MiB at a million listings).
        state.reserve_slots(expected + expected / 16);
        StateBuilder {
            state,
            slots: Vec::with_capacity(expected),
            scoring: Vec::with_capacity(expected),
            index_ms: 0.0,
            started: Instant::now(),
        }
    }

    /// A full match of `events` (ids unique; else the last version wins), taken in
    /// chunks of [`BUILD_CHUNK`]: each chunk's decoded listings are freed as soon as
    /// they are encoded.
    pub fn build(
        events: Vec<SourceEvent>,
        config: &MatchingConfig,
        lists: &WordLists,
        constraints: &ReviewConstraints,
    ) -> (Self, ApplyStats) {
        let events = last_version_per_id(events);
        let mut builder = MatchState::builder(config, lists, events.len());
        for chunk in in_chunks(events, BUILD_CHUNK) {
            builder.push(chunk);
        }
        builder.finish(constraints)
    }
}

impl StateBuilder {
    /// Adds listings: prepared, keyed and encoded now, matched by
    /// [`StateBuilder::finish`]. A listing whose id was given before replaces it
    /// (the last version wins, in the slot of the first).
    pub fn push(&mut self, events: Vec<SourceEvent>) {
        let t = Instant::now();
        let events = last_version_per_id(events);
        let state = &mut self.state;
        let prepared: Vec<_> = {
            let (config, lists) = (&state.config, &state.lists);
            events
                .par_iter()
                .map(|e| prepare(e, lists, config))
                .collect()
        };
        state.reserve_slots(events.len());
        let mut slots = Vec::with_capacity(events.len());
        for (e, (p, keys)) in events.iter().zip(prepared) {
            let s = state.slot_for(&e.id);
            let i = s as usize;
            if i == self.scoring.len() {
                self.scoring.push(ScoringFields::of(e));
            } else {
                self.scoring[i] = ScoringFields::of(e);
            }
            if !state.alive[i] {
                self.slots.push(s);
            }
            state.facts[i] = state.facts_builder.facts(e, &p, &state.config);
            state.prepared[i] = p;
            state.keys[i] = keys;
            state.alive[i] = true;
            slots.push(s);
        }
        state.listings.store(&slots, events);
        self.index_ms += ms_since(t);
    }

    /// Listings given so far (distinct ids).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no listing was given.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Matches everything given under `constraints`: the state and the build's
    /// stats (`index_ms` includes every [`StateBuilder::push`], `total_ms` the time
    /// since [`MatchState::builder`]).
    pub fn finish(self, constraints: &ReviewConstraints) -> (MatchState, ApplyStats) {
        let StateBuilder {
            mut state,
            slots,
            scoring,
            index_ms,
            started,
        } = self;
        let t = Instant::now();
        let mut touched = TouchedBlocks::default();
        for &s in &slots {
            touched.add(&state.keys[s as usize]);
        }
        touched.seal();
        {
            let inserted: Vec<(u32, &Keys)> = slots
                .iter()
                .map(|&s| (s, &state.keys[s as usize]))
                .collect();
            state.blocks.insert_many(&inserted);
        }
        let after = state
            .blocks
            .count_pairs(&touched, &state.prepared, &state.config);
        let stats = ApplyStats {
            listings_changed: slots.len(),
            blocks_touched: touched.len(),
            index_ms: index_ms + ms_since(t),
            ..ApplyStats::default()
        };
        drop(touched);
        let indexed = Indexed {
            upsert_slots: slots,
            replaced: Vec::new(),
            removed: Vec::new(),
            support: support_delta(Vec::new(), after),
            loaded: Loaded::stored(scoring),
        };
        // Everything is new: a diff would be the whole catalogue (see `groups`,
        // `decisions` for that).
        let diff = state.apply_indexed(
            indexed,
            Some(constraints.clone()),
            Vec::new(),
            false,
            stats,
            started,
        );
        (state, diff.stats)
    }
}

/// `events` in chunks of `n`, in order, the whole vector's buffer shrinking as they
/// are taken (it alone is about 0.5 GiB at a million listings).
fn in_chunks(mut events: Vec<SourceEvent>, n: usize) -> impl Iterator<Item = Vec<SourceEvent>> {
    // Taken from the end, so the buffer can shrink without moving what is left.
    events.reverse();
    std::iter::from_fn(move || {
        if events.is_empty() {
            return None;
        }
        let mut chunk = events.split_off(events.len().saturating_sub(n.max(1)));
        chunk.reverse();
        if events.len() <= events.capacity() / 2 {
            events.shrink_to_fit();
        }
        Some(chunk)
    })
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveTime};

    use super::*;
    use crate::model::EventDate;

    fn listing(id: &str) -> SourceEvent {
        SourceEvent {
            id: id.into(),
            title: format!("Konzert {id}"),
            ..SourceEvent::default()
        }
    }

    fn day(d: u32) -> EventDate {
        EventDate {
            date: NaiveDate::from_ymd_opt(2026, 7, 1 + d).unwrap_or_default(),
            start_time: NaiveTime::from_hms_opt(18, 0, 0),
            end_time: None,
            end_date: None,
        }
    }

    #[test]
    fn chunks_keep_order_and_every_listing() {
        let events: Vec<SourceEvent> = (0..10).map(|i| listing(&i.to_string())).collect();
        let chunks: Vec<Vec<SourceEvent>> = in_chunks(events.clone(), 4).collect();
        assert_eq!(
            chunks.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![4, 4, 2]
        );
        assert_eq!(chunks.concat(), events);
        assert_eq!(in_chunks(Vec::new(), 4).count(), 0);
    }

    #[test]
    fn a_chunked_build_equals_one_of_everything() {
        let config = MatchingConfig::default();
        let lists = WordLists::bundled();
        let constraints = ReviewConstraints::default();
        let mut events: Vec<SourceEvent> = (0..40)
            .map(|i| SourceEvent {
                title: format!("Sommerfest {}", i % 7),
                dates: vec![day(i % 7)],
                location_name: Some("Stadtpark".into()),
                location_city: Some("Lahr".into()),
                ..listing(&format!("e{i:02}"))
            })
            .collect();
        // A later version of e03 in a later chunk replaces the first.
        events.push(SourceEvent {
            title: "Sommerfest 5".into(),
            dates: vec![day(5)],
            ..listing("e03")
        });
        let (whole, _) = MatchState::build(events.clone(), &config, &lists, &constraints);
        let mut builder = MatchState::builder(&config, &lists, 0);
        for chunk in events.chunks(6) {
            builder.push(chunk.to_vec());
        }
        assert_eq!(builder.len(), 40, "a repeated id is one listing");
        let (chunked, stats) = builder.finish(&constraints);
        assert_eq!(stats.listings_changed, 40);
        assert_eq!(chunked.groups(), whole.groups());
        assert_eq!(chunked.decisions(), whole.decisions());
        assert!(
            chunked.groups().iter().any(|g| g.members.len() > 1),
            "the data has duplicates to match"
        );
    }
}
