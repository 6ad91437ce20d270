//! Id → slot, without a second copy of every id: the table holds only slots and
//! compares and re-hashes through the listings' own ids (a million ids are ~90 MiB
//! as map keys).
//!
//! Invariant: `ids[s]` is the id of slot `s` for every slot in the table (a removed
//! listing keeps its id), so the caller passes the same `ids` to every call.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

fn hash(id: &str) -> u64 {
    FxBuildHasher.hash_one(id)
}

#[derive(Debug, Default)]
pub(super) struct SlotIndex {
    table: HashTable<u32>,
}

impl SlotIndex {
    pub fn get(&self, id: &str, ids: &[String]) -> Option<u32> {
        self.table
            .find(hash(id), |&s| ids[s as usize] == id)
            .copied()
    }

    /// Adds slot `s`, whose id (`ids[s]`) is not in the table yet.
    pub fn insert(&mut self, s: u32, ids: &[String]) {
        let rehash = |&t: &u32| hash(&ids[t as usize]);
        self.table.insert_unique(hash(&ids[s as usize]), s, rehash);
    }

    pub fn reserve(&mut self, n: usize, ids: &[String]) {
        self.table.reserve(n, |&t| hash(&ids[t as usize]));
    }

    /// Bytes held (see `memory`).
    pub fn heap_bytes(&self) -> usize {
        self.table.capacity() * (1 + std::mem::size_of::<u32>())
    }
}
