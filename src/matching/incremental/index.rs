//! The blocking index kept between runs: block key → member slots, for the regular
//! keys and the title-day keys, and how a change moves the candidate pairs.
//!
//! A pair is a candidate while at least one block produces it (its *support*). A
//! block's pairs can depend on all of its members (an over-full block is split by
//! tokens, a title-day block over its size limit produces none), so a touched block
//! is recomputed whole, before and after the change: the difference in support is
//! exact, and untouched blocks are never read.
//!
//! Invariant: slots are indices into the caller's prepared listings; pairs are
//! `(lower slot, higher slot)`.

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::matching::candidates::{block_pairs, title_day_block_pairs};
use crate::matching::config::MatchingConfig;
use crate::matching::prepared::PreparedEvent;

/// A pair of slots, lower first.
pub(super) type SlotPair = (u32, u32);

/// The keys of one listing, hashed as the full run groups them (deduplicated).
#[derive(Debug, Clone, Default)]
pub(super) struct Keys {
    pub regular: Vec<u64>,
    pub title_day: Vec<u64>,
}

/// Keys whose blocks a change touches.
#[derive(Debug, Default)]
pub(super) struct TouchedBlocks {
    pub regular: FxHashSet<u64>,
    pub title_day: FxHashSet<u64>,
}

impl TouchedBlocks {
    pub fn add(&mut self, keys: &Keys) {
        self.regular.extend(keys.regular.iter().copied());
        self.title_day.extend(keys.title_day.iter().copied());
    }

    pub fn len(&self) -> usize {
        self.regular.len() + self.title_day.len()
    }
}

#[derive(Debug, Default)]
pub(super) struct BlockIndex {
    regular: FxHashMap<u64, Vec<u32>>,
    title_day: FxHashMap<u64, Vec<u32>>,
}

impl BlockIndex {
    /// Adds `sign` to `support` for every pair the touched blocks produce now.
    pub fn count_pairs(
        &self,
        touched: &TouchedBlocks,
        prepared: &[PreparedEvent],
        config: &MatchingConfig,
        sign: i32,
        support: &mut FxHashMap<SlotPair, i32>,
    ) {
        let max = config.blocking.max_block_size;
        let mut pairs: Vec<SlotPair> = touched
            .regular
            .par_iter()
            .flat_map_iter(|key| {
                let mut out = Vec::new();
                if let Some(members) = self.regular.get(key) {
                    block_pairs(members, prepared, max, &mut out);
                }
                out
            })
            .collect();
        if config.blocking.title_day_keys {
            let max = config.blocking.max_title_block_size;
            pairs.par_extend(touched.title_day.par_iter().flat_map_iter(|key| {
                let mut out = Vec::new();
                if let Some(members) = self.title_day.get(key) {
                    title_day_block_pairs(members, prepared, max, &mut out);
                }
                out
            }));
        }
        // Sorting first turns millions of map updates (a build) into one per pair.
        pairs.par_sort_unstable();
        support.reserve(pairs.len());
        for run in pairs.chunk_by(|x, y| x == y) {
            *support.entry(run[0]).or_default() += sign * run.len() as i32;
        }
    }

    pub fn insert(&mut self, slot: u32, keys: &Keys) {
        for (map, list) in [
            (&mut self.regular, &keys.regular),
            (&mut self.title_day, &keys.title_day),
        ] {
            for &k in list {
                map.entry(k).or_default().push(slot);
            }
        }
    }

    pub fn remove(&mut self, slot: u32, keys: &Keys) {
        for (map, list) in [
            (&mut self.regular, &keys.regular),
            (&mut self.title_day, &keys.title_day),
        ] {
            for k in list {
                if let Some(members) = map.get_mut(k) {
                    members.retain(|&m| m != slot);
                    if members.is_empty() {
                        map.remove(k);
                    }
                }
            }
        }
    }
}
