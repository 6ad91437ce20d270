//! Candidate pairs from blocking keys (`matching.md` §2), with a guard against huge
//! blocks.
//!
//! Pairs are `(a, b)` indices into the id-sorted event list with `a < b`, so index
//! order equals code-point id order and the output is sorted and deduplicated.
//!
//! The guard: a block larger than `blocking.max_block_size` (a big town on a festival
//! weekend) would cost quadratic pairs. Such a block is split into sub-blocks keyed
//! by distinctive title and venue tokens (a token shared by more than half the size
//! limit is ignored as generic), so pairs per event stay bounded. Every split is
//! reported in the stats.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::num::NonZeroU64;

use rayon::prelude::*;

use super::config::MatchingConfig;
use super::prepared::{run_blocking_keys, PreparedEvent};
use super::similarity::TokenizedText;
use crate::model::SourceEvent;
use crate::preprocess::WordLists;

/// Tokens shorter than this are not distinctive enough to form a sub-block.
const MIN_SUBKEY_TOKEN_CHARS: usize = 4;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BlockingStats {
    pub keys: usize,
    pub largest_block: usize,
    pub blocks_split: usize,
    /// Pairs the split blocks would have produced without the guard.
    pub pairs_avoided_by_guard: u64,
    /// Pairs contributed by title-day keys (before deduplication with the others).
    pub title_day_pairs: usize,
}

/// Sorted, deduplicated candidate pairs and blocking statistics.
///
/// Keys are streamed as `(hash, event index)` and grouped by sorting, which needs a
/// fraction of the memory of a map from owned keys (a million events have millions of
/// keys). Distinct keys with equal 64-bit hashes would only add candidates, never lose
/// one. `FxHasher` is fixed-keyed (runs are deterministic) and several times faster
/// than SipHash on these short keys.
pub fn candidate_pairs(
    events: &[SourceEvent],
    prepared: &[PreparedEvent],
    lists: &WordLists,
    config: &MatchingConfig,
) -> (Vec<(u32, u32)>, BlockingStats) {
    let mut keyed: Vec<(u64, u32)> = events
        .par_iter()
        .enumerate()
        .flat_map_iter(|(idx, e)| {
            block_key_hashes(e, lists, config)
                .into_iter()
                .map(move |h| (h, idx as u32))
        })
        .collect();
    keyed.par_sort_unstable();
    keyed.dedup();
    let max_block_size = config.blocking.max_block_size;
    let (mut pairs, mut stats) = for_each_block(&keyed, |members, pairs, stats| {
        stats.keys += 1;
        stats.largest_block = stats.largest_block.max(members.len());
        let before = pairs.len();
        if block_pairs(members, prepared, max_block_size, pairs) {
            let n = members.len() as u64;
            stats.blocks_split += 1;
            stats.pairs_avoided_by_guard +=
                (n * (n - 1) / 2).saturating_sub((pairs.len() - before) as u64);
        }
    });
    if config.blocking.title_day_keys {
        let before = pairs.len();
        title_day_pairs(prepared, config.blocking.max_title_block_size, &mut pairs);
        stats.title_day_pairs = pairs.len() - before;
    }
    pairs.par_sort_unstable();
    pairs.dedup();
    (pairs, stats)
}

/// The hashes of an event's blocking keys, as blocks are grouped by.
pub(crate) fn block_key_hashes(
    e: &SourceEvent,
    lists: &WordLists,
    config: &MatchingConfig,
) -> Vec<u64> {
    run_blocking_keys(e, lists, config)
        .into_iter()
        .map(|k| {
            let mut h = rustc_hash::FxHasher::default();
            k.hash(&mut h);
            h.finish()
        })
        .collect()
}

/// The pairs of one block (indices into `prepared`): all of them, or those of the
/// sub-blocks of an over-full block. Returns whether the block was split.
pub(crate) fn block_pairs(
    members: &[u32],
    prepared: &[PreparedEvent],
    max_block_size: usize,
    out: &mut Vec<(u32, u32)>,
) -> bool {
    if max_block_size > 0 && members.len() > max_block_size {
        split_block(members, prepared, max_block_size, out);
        true
    } else {
        all_pairs(members, out);
        false
    }
}

/// Title tokens shorter than this (in bytes) are not distinctive enough for a
/// title-day key.
const MIN_TITLE_KEY_CHARS: usize = 5;
/// Title-day keys come from a listing's longest title word, and only from listings of
/// at most this many days.
const MAX_TITLE_KEY_DAYS: usize = 3;

/// Pairs of listings in one municipality, one day apart, whose longest title word is
/// the same. Each listing keys `(word, town, day)` and `(word, town, day + 1)` for its
/// listed days, so two listings one day apart meet on the later day. Blocks
/// larger than `max_block` are generic words and skipped.
fn title_day_pairs(prepared: &[PreparedEvent], max_block: usize, out: &mut Vec<(u32, u32)>) {
    let mut keyed: Vec<(u64, u32)> = prepared
        .par_iter()
        .enumerate()
        .flat_map_iter(|(idx, p)| {
            title_day_key_hashes(p)
                .into_iter()
                .map(move |h| (h, idx as u32))
        })
        .collect();
    keyed.par_sort_unstable();
    keyed.dedup();
    let (pairs, _) = for_each_block(&keyed, |members, pairs, _| {
        title_day_block_pairs(members, prepared, max_block, pairs);
    });
    out.extend(pairs);
}

/// Blocks per parallel segment of the sorted keys, on average: enough segments to
/// keep every thread busy, few enough that their buffers stay large.
const KEYS_PER_SEGMENT: usize = 1 << 14;

/// Calls `f(members, pairs, stats)` for every block of the sorted `(hash, index)` list,
/// on segments cut at block boundaries in parallel, and concatenates the segments'
/// pairs in key order and sums their stats. The loop over blocks was the sequential
/// part of blocking (a million events have millions of keys).
fn for_each_block<F>(keyed: &[(u64, u32)], f: F) -> (Vec<(u32, u32)>, BlockingStats)
where
    F: Fn(&[u32], &mut Vec<(u32, u32)>, &mut BlockingStats) + Sync,
{
    let mut bounds = vec![0];
    while let Some(&start) = bounds.last() {
        let mut end = (start + KEYS_PER_SEGMENT).min(keyed.len());
        while end < keyed.len() && keyed[end].0 == keyed[end - 1].0 {
            end += 1;
        }
        bounds.push(end);
        if end == keyed.len() {
            break;
        }
    }
    let segments: Vec<(Vec<(u32, u32)>, BlockingStats)> = bounds
        .par_windows(2)
        .map(|w| {
            let (mut pairs, mut stats) = (Vec::new(), BlockingStats::default());
            let mut members: Vec<u32> = Vec::new();
            for block in keyed[w[0]..w[1]].chunk_by(|x, y| x.0 == y.0) {
                members.clear();
                members.extend(block.iter().map(|&(_, idx)| idx));
                f(&members, &mut pairs, &mut stats);
            }
            (pairs, stats)
        })
        .collect();
    let mut pairs = Vec::with_capacity(segments.iter().map(|s| s.0.len()).sum());
    let mut stats = BlockingStats::default();
    for (p, s) in segments {
        pairs.extend(p);
        stats.keys += s.keys;
        stats.largest_block = stats.largest_block.max(s.largest_block);
        stats.blocks_split += s.blocks_split;
        stats.pairs_avoided_by_guard += s.pairs_avoided_by_guard;
    }
    (pairs, stats)
}

/// The title-day keys of one listing, hashed (see [`title_day_pairs`]).
pub(crate) fn title_day_key_hashes(p: &PreparedEvent) -> Vec<u64> {
    // A wrong date is a single-day listing's problem; ranges and series already
    // overlap their duplicates.
    if p.days.len() > MAX_TITLE_KEY_DAYS {
        return Vec::new();
    }
    let Some(word_key) = p.title_word_key else {
        return Vec::new();
    };
    let mut keys = Vec::with_capacity(p.days.len() * 2);
    for d in &p.days {
        for day in [Some(d.date), d.date.succ_opt()].into_iter().flatten() {
            let mut h = rustc_hash::FxHasher::default();
            (word_key, day).hash(&mut h);
            keys.push(h.finish());
        }
    }
    keys
}

/// The word-and-town part of a listing's title-day keys, hashed: its longest title
/// word (ties: the first in order) with its municipality. `None` when no word is long
/// enough. Computed once per listing while it is prepared (the title is in cache
/// then; read back at blocking time it cost a cache miss per listing).
pub(crate) fn title_word_key(title: &TokenizedText, city: Option<&str>) -> Option<NonZeroU64> {
    let token = title
        .token_set()
        .filter(|t| t.len() >= MIN_TITLE_KEY_CHARS)
        .filter(|t| !t.bytes().all(|c| c.is_ascii_digit()))
        .max_by(|a, b| a.len().cmp(&b.len()).then(b.cmp(a)))?;
    // FxHasher: fixed keys (deterministic) and several times faster than SipHash on
    // these short keys; a collision only adds a pair.
    let mut h = rustc_hash::FxHasher::default();
    ("td", token, city).hash(&mut h);
    Some(NonZeroU64::new(h.finish()).unwrap_or(NonZeroU64::MIN))
}

/// The pairs of one title-day block (indices into `prepared`, each member once).
pub(crate) fn title_day_block_pairs(
    members: &[u32],
    prepared: &[PreparedEvent],
    max_block: usize,
    out: &mut Vec<(u32, u32)>,
) {
    if members.len() < 2 || members.len() > max_block {
        return;
    }
    for (i, &a) in members.iter().enumerate() {
        for &b in &members[i + 1..] {
            // Listings sharing a day already meet on their town or grid cell keys
            // whenever they can be the same event; these keys are for the date
            // printed a day off.
            if !share_a_day(&prepared[a as usize], &prepared[b as usize]) {
                out.push(if a < b { (a, b) } else { (b, a) });
            }
        }
    }
}

fn share_a_day(a: &PreparedEvent, b: &PreparedEvent) -> bool {
    a.days
        .iter()
        .any(|x| b.days.iter().any(|y| x.date == y.date))
}

fn all_pairs(members: &[u32], out: &mut Vec<(u32, u32)>) {
    for (i, &a) in members.iter().enumerate() {
        for &b in &members[i + 1..] {
            out.push(if a < b { (a, b) } else { (b, a) });
        }
    }
}

/// Pairs only events of an over-full block that share a distinctive token.
fn split_block(
    members: &[u32],
    events: &[PreparedEvent],
    max_block_size: usize,
    out: &mut Vec<(u32, u32)>,
) {
    let mut sub: HashMap<&str, Vec<u32>> = HashMap::new();
    for &m in members {
        let e = &events[m as usize];
        let venue_tokens = e.venue.iter().flat_map(|v| v.token_set());
        let mut tokens: Vec<&str> = e
            .title
            .token_set()
            .chain(venue_tokens)
            .filter(|t| t.chars().count() >= MIN_SUBKEY_TOKEN_CHARS)
            .collect();
        tokens.sort_unstable();
        tokens.dedup();
        for t in tokens {
            sub.entry(t).or_default().push(m);
        }
    }
    let generic = (max_block_size / 2).max(2);
    for group in sub.values().filter(|g| g.len() <= generic) {
        all_pairs(group, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cut_into_segments_give_the_pairs_and_stats_of_one_walk() {
        // Blocks of 1 to 4 members, many segments' worth, so segment bounds fall
        // inside blocks and must be moved to their ends.
        let mut keyed = Vec::new();
        let mut idx = 0u32;
        for key in 0..30_000u64 {
            for _ in 0..=(key % 4) {
                keyed.push((key, idx));
                idx += 1;
            }
        }
        let (pairs, stats) = for_each_block(&keyed, |members, pairs, stats| {
            stats.keys += 1;
            stats.largest_block = stats.largest_block.max(members.len());
            all_pairs(members, pairs);
        });
        let mut want = Vec::new();
        for block in keyed.chunk_by(|x, y| x.0 == y.0) {
            let members: Vec<u32> = block.iter().map(|b| b.1).collect();
            all_pairs(&members, &mut want);
        }
        assert!(keyed.len() > 4 * KEYS_PER_SEGMENT);
        assert_eq!(pairs, want);
        assert_eq!(stats.keys, 30_000);
        assert_eq!(stats.largest_block, 4);
        let (none, empty) = for_each_block(&[], |_, _, _| unreachable!());
        assert!(none.is_empty());
        assert_eq!(empty, BlockingStats::default());
    }
}
