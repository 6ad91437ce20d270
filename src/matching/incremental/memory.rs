//! Where a [`MatchState`]'s memory goes: an estimate per structure (struct sizes
//! plus the heap they own, hash tables at their capacity), for the benchmark report.
//! Allocator overhead and fragmentation are not in it: the process's peak RSS is.
//!
//! Invariant: read-only; costs one pass over the state (a benchmark, not a request).

use std::mem::size_of;

use serde::{Deserialize, Serialize};

use super::{Component, Keys, MatchState};
use crate::matching::prepared::{DayTimes, PreparedEvent};
use crate::matching::similarity::TokenizedText;

/// Estimated MiB per structure of a state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StateMemory {
    /// Listing ids.
    pub ids_mib: f64,
    /// Source listings without their ids, encoded (synthesis and scoring decode them).
    pub events_mib: f64,
    /// Prepared listings (scoring).
    pub prepared_mib: f64,
    /// Conflict facts (clustering).
    pub facts_mib: f64,
    /// Each listing's block keys (to leave its blocks).
    pub keys_mib: f64,
    /// Id → slot.
    pub slot_of_mib: f64,
    /// Pair records.
    pub pairs_mib: f64,
    /// Per-slot adjacency lists of the pairs.
    pub adjacency_mib: f64,
    /// Block key → members.
    pub blocks_mib: f64,
    /// Components, groups and the slot → component table.
    pub components_mib: f64,
    pub total_mib: f64,
    /// Candidate pairs held.
    pub pair_count: usize,
}

const MIB: f64 = 1024.0 * 1024.0;

fn text(t: &Option<TokenizedText>) -> usize {
    t.as_ref().map_or(0, |t| t.sorted_joined().len())
}

fn prepared_bytes(p: &PreparedEvent) -> usize {
    size_of::<PreparedEvent>()
        + p.title.sorted_joined().len()
        + text(&p.description)
        + text(&p.venue)
        + p.days.capacity() * size_of::<DayTimes>()
        + p.days
            .iter()
            .map(|d| d.starts.capacity() * 8)
            .sum::<usize>()
        + p.categories.capacity() * size_of::<String>()
        + p.categories.iter().map(String::capacity).sum::<usize>()
        + p.city.as_ref().map_or(0, |c| c.len())
        + p.document.as_ref().map_or(0, |c| c.len())
}

impl MatchState {
    /// The estimate (see the module documentation).
    pub fn memory(&self) -> StateMemory {
        let (ids, events) = self.listings.heap_bytes();
        let prepared: usize = self.prepared.iter().map(prepared_bytes).sum::<usize>()
            + (self.prepared.capacity() - self.prepared.len()) * size_of::<PreparedEvent>();
        let facts = self.facts.capacity() * size_of::<super::EventFacts>()
            + self.facts.iter().map(|f| f.heap_bytes()).sum::<usize>();
        let keys = self.keys.capacity() * size_of::<Keys>()
            + self
                .keys
                .iter()
                .map(|k| (k.regular.capacity() + k.title_day.capacity()) * 8)
                .sum::<usize>();
        let slot_of = self.slot_of.heap_bytes();
        let (pairs, adjacency) = self.pairs.heap_bytes();
        let blocks = self.blocks.heap_bytes();
        let components = self.component_of.capacity() * 4
            + self.alive.capacity()
            + self.components.capacity() * (1 + size_of::<(u32, Component)>())
            + self
                .components
                .values()
                .flat_map(|c| &c.groups)
                .map(|g| size_of::<super::Group>() + g.members.capacity() * 4)
                .sum::<usize>();
        let parts = [
            ids, events, prepared, facts, keys, slot_of, pairs, adjacency, blocks, components,
        ];
        let mib = |b: usize| b as f64 / MIB;
        StateMemory {
            ids_mib: mib(ids),
            events_mib: mib(events),
            prepared_mib: mib(prepared),
            facts_mib: mib(facts),
            keys_mib: mib(keys),
            slot_of_mib: mib(slot_of),
            pairs_mib: mib(pairs),
            adjacency_mib: mib(adjacency),
            blocks_mib: mib(blocks),
            components_mib: mib(components),
            total_mib: mib(parts.iter().sum()),
            pair_count: self.pairs.len(),
        }
    }
}
