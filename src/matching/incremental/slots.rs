//! Id → slot, without a second copy of every id: the table holds only slots and
//! compares and re-hashes through the listings' own ids (a million ids are ~90 MiB
//! as map keys).
//!
//! Invariant: `events[s].id` is the id of slot `s` for every slot in the table (a
//! removed listing keeps its id), so the caller passes the same `events` to every
//! call.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::model::SourceEvent;

fn hash(id: &str) -> u64 {
    FxBuildHasher.hash_one(id)
}

#[derive(Debug, Default)]
pub(super) struct SlotIndex {
    table: HashTable<u32>,
}

impl SlotIndex {
    pub fn get(&self, id: &str, events: &[SourceEvent]) -> Option<u32> {
        self.table
            .find(hash(id), |&s| events[s as usize].id == id)
            .copied()
    }

    /// Adds slot `s`, whose id (`events[s].id`) is not in the table yet.
    pub fn insert(&mut self, s: u32, events: &[SourceEvent]) {
        let rehash = |&t: &u32| hash(&events[t as usize].id);
        self.table
            .insert_unique(hash(&events[s as usize].id), s, rehash);
    }

    pub fn reserve(&mut self, n: usize, events: &[SourceEvent]) {
        self.table.reserve(n, |&t| hash(&events[t as usize].id));
    }

    /// Bytes held (see `memory`).
    pub fn heap_bytes(&self) -> usize {
        self.table.capacity() * (1 + std::mem::size_of::<u32>())
    }
}
