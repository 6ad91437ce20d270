//! Finding a scored pair by its two event indices while clustering.
//!
//! The conflict-aware clustering looks up the score of every cross pair of two groups
//! it considers joining. A binary search over the whole pair list touches ~18 records
//! of 64 bytes spread over the list, one cache miss each; the pairs of one event are
//! few (about two per event) and adjacent in the list, which is sorted by `(a, b)`.
//! So this keeps, per event, where its pairs as first member start: a lookup reads
//! one offset and scans a handful of adjacent records.
//!
//! Invariant: built over a pair list sorted by `(a, b)` with `a < b < n`, and answers
//! exactly what a binary search over that list would.

/// Per event, the start of its pairs as first member in a `(a, b)`-sorted list.
pub struct PairLookup {
    /// `starts[x]..starts[x + 1]` are the positions of the pairs with `a == x`.
    starts: Vec<u32>,
}

impl PairLookup {
    /// Builds the offsets of `n` events from the pairs' first members, in list order.
    pub fn new(n: usize, first_members: impl Iterator<Item = u32>) -> Self {
        let mut starts = vec![0u32; n + 1];
        for a in first_members {
            if let Some(count) = starts.get_mut(a as usize + 1) {
                *count += 1;
            }
        }
        for x in 1..starts.len() {
            starts[x] += starts[x - 1];
        }
        PairLookup { starts }
    }

    /// The positions of the pairs whose first member is `a` (empty when out of range).
    pub fn range_of(&self, a: u32) -> std::ops::Range<usize> {
        match (self.starts.get(a as usize), self.starts.get(a as usize + 1)) {
            (Some(&from), Some(&to)) => from as usize..to as usize,
            _ => 0..0,
        }
    }

    /// Position of the pair `(a, b)`, `a < b`, given each position's second member.
    pub fn find(&self, a: u32, b: u32, second_member: impl Fn(usize) -> u32) -> Option<usize> {
        let range = self.range_of(a);
        let (mut lo, mut hi) = (range.start, range.end);
        // The run of one event is short: a binary search over it, in positions.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match second_member(mid).cmp(&b) {
                std::cmp::Ordering::Equal => return Some(mid),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn finds_exactly_what_a_binary_search_finds(
            raw in proptest::collection::vec((0u32..30, 0u32..30), 0..120),
            probes in proptest::collection::vec((0u32..32, 0u32..32), 0..60),
        ) {
            let n = 30;
            let mut pairs: Vec<(u32, u32)> = raw
                .into_iter()
                .filter(|(a, b)| a != b)
                .map(|(a, b)| (a.min(b), a.max(b)))
                .collect();
            pairs.sort_unstable();
            pairs.dedup();
            let lookup = PairLookup::new(n, pairs.iter().map(|p| p.0));
            let all = pairs.iter().flat_map(|&(a, b)| [(a, b), (b, a)]);
            for (a, b) in all.chain(probes) {
                let expected = pairs.binary_search(&(a, b)).ok();
                prop_assert_eq!(lookup.find(a, b, |i| pairs[i].1), expected);
            }
        }
    }

    #[test]
    fn an_event_without_pairs_and_an_index_out_of_range_find_nothing() {
        let pairs = [(0u32, 2u32), (0, 3), (2, 3)];
        let lookup = PairLookup::new(4, pairs.iter().map(|p| p.0));
        assert_eq!(lookup.range_of(0), 0..2);
        assert_eq!(lookup.range_of(1), 2..2);
        assert_eq!(lookup.range_of(2), 2..3);
        assert_eq!(lookup.find(1, 2, |i| pairs[i].1), None);
        assert_eq!(lookup.find(0, 3, |i| pairs[i].1), Some(1));
        assert_eq!(lookup.find(9, 3, |i| pairs[i].1), None);
    }
}
