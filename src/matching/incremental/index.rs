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
use rustc_hash::FxHashMap;

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

/// Keys whose blocks a change touches (distinct once sealed).
#[derive(Debug, Default)]
pub(super) struct TouchedBlocks {
    pub regular: Vec<u64>,
    pub title_day: Vec<u64>,
}

impl TouchedBlocks {
    pub fn add(&mut self, keys: &Keys) {
        self.regular.extend(keys.regular.iter().copied());
        self.title_day.extend(keys.title_day.iter().copied());
    }

    /// Drops repeated keys (a touched block is counted once).
    pub fn seal(&mut self) {
        for k in [&mut self.regular, &mut self.title_day] {
            k.par_sort_unstable();
            k.dedup();
        }
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
    /// Every pair the touched blocks produce now, sorted, with how many blocks produce
    /// it.
    pub fn count_pairs(
        &self,
        touched: &TouchedBlocks,
        prepared: &[PreparedEvent],
        config: &MatchingConfig,
    ) -> Vec<(SlotPair, u32)> {
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
        // Sorting turns millions of map updates (a build) into one run per pair.
        pairs.par_sort_unstable();
        pairs
            .chunk_by(|x, y| x == y)
            .map(|run| (run[0], run.len() as u32))
            .collect()
    }

    /// Adds many listings at once: `(key, slot)` entries grouped by sorting, so each
    /// block is looked up once (a build adds millions of entries).
    pub fn insert_many(&mut self, listings: &[(u32, &Keys)]) {
        for (map, pick) in [
            (
                &mut self.regular,
                (|k: &Keys| &k.regular) as fn(&Keys) -> &Vec<u64>,
            ),
            (&mut self.title_day, |k: &Keys| &k.title_day),
        ] {
            let mut entries: Vec<(u64, u32)> = listings
                .par_iter()
                .flat_map_iter(|&(slot, keys)| pick(keys).iter().map(move |&k| (k, slot)))
                .collect();
            entries.par_sort_unstable();
            let runs: Vec<&[(u64, u32)]> = entries.chunk_by(|x, y| x.0 == y.0).collect();
            map.reserve(runs.len());
            for run in runs {
                map.entry(run[0].0)
                    .or_default()
                    .extend(run.iter().map(|&(_, s)| s));
            }
        }
    }

    /// Bytes held (see `memory`).
    pub fn heap_bytes(&self) -> usize {
        [&self.regular, &self.title_day]
            .iter()
            .map(|m| {
                m.capacity() * (1 + std::mem::size_of::<(u64, Vec<u32>)>())
                    + m.values().map(|v| v.capacity() * 4).sum::<usize>()
            })
            .sum()
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
