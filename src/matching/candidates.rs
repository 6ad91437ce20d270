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

use super::prepared::PreparedEvent;
use crate::preprocess::blocking::BlockingKey;

/// Tokens shorter than this are not distinctive enough to form a sub-block.
const MIN_SUBKEY_TOKEN_CHARS: usize = 4;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BlockingStats {
    pub keys: usize,
    pub largest_block: usize,
    pub blocks_split: usize,
    /// Pairs the split blocks would have produced without the guard.
    pub pairs_avoided_by_guard: u64,
}

/// Sorted, deduplicated candidate pairs and blocking statistics.
pub fn candidate_pairs(
    events: &[PreparedEvent],
    max_block_size: usize,
) -> (Vec<(u32, u32)>, BlockingStats) {
    let mut blocks: HashMap<&BlockingKey, Vec<u32>> = HashMap::new();
    for (idx, e) in events.iter().enumerate() {
        for key in &e.blocking_keys {
            let members = blocks.entry(key).or_default();
            // An event lists each key once, but guard against repeats anyway.
            if members.last() != Some(&(idx as u32)) {
                members.push(idx as u32);
            }
        }
    }
    let mut stats = BlockingStats {
        keys: blocks.len(),
        ..Default::default()
    };
    let mut pairs = Vec::new();
    for members in blocks.values() {
        stats.largest_block = stats.largest_block.max(members.len());
        if max_block_size > 0 && members.len() > max_block_size {
            let before = pairs.len();
            split_block(members, events, max_block_size, &mut pairs);
            let n = members.len() as u64;
            stats.blocks_split += 1;
            stats.pairs_avoided_by_guard +=
                (n * (n - 1) / 2).saturating_sub((pairs.len() - before) as u64);
        } else {
            all_pairs(members, &mut pairs);
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    (pairs, stats)
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
