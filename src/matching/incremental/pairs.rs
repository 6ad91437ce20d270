//! The state's candidate pairs: one compact record per pair in a slab, reached through
//! each slot's adjacency list (partner slot, record index). A million listings hold
//! millions of pairs, so a record keeps the scored pair once and only the few bytes the
//! verdicts and the clustering change of it, and there is no hash map keyed by pair:
//! a lookup scans the shorter of the two adjacency lists (a block is capped, so they
//! are short).
//!
//! Invariant: a pair is live exactly while both of its slots list it; a removed
//! record's index is reused by the next insert and is never reachable before that.

use crate::matching::ScoredPair;
use crate::model::{AiNote, Decision, DecisionRule, Tier};

use super::index::SlotPair;

/// What verdicts and the clustering change of a scored pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Outcome {
    pub decision: Decision,
    pub tier: Tier,
    pub rule: DecisionRule,
}

impl Outcome {
    pub fn of(p: &ScoredPair) -> Self {
        Outcome {
            decision: p.decision,
            tier: p.tier,
            rule: p.rule,
        }
    }

    fn on(self, raw: &ScoredPair) -> ScoredPair {
        ScoredPair {
            decision: self.decision,
            tier: self.tier,
            rule: self.rule,
            ..*raw
        }
    }
}

/// A candidate pair and its decisions.
#[derive(Debug, Clone)]
pub(super) struct PairRec {
    /// As scored; `a`, `b` are slots, `a`'s id first.
    pub raw: ScoredPair,
    /// How many blocks produce the pair (it is a candidate while > 0).
    pub support: u32,
    /// After review constraints and the tie-breaker: what the clustering sees.
    pub eff: Outcome,
    /// After the clustering (a refused match edge becomes ambiguous): what is stored.
    pub fin: Outcome,
    /// Boxed: few pairs have one, and an inline note would triple every record.
    pub ai: Option<Box<AiNote>>,
}

impl PairRec {
    /// A newly scored pair with no verdict yet.
    pub fn new(raw: ScoredPair, support: u32) -> Self {
        let o = Outcome::of(&raw);
        PairRec {
            raw,
            support,
            eff: o,
            fin: o,
            ai: None,
        }
    }

    pub fn eff(&self) -> ScoredPair {
        self.eff.on(&self.raw)
    }

    pub fn fin(&self) -> ScoredPair {
        self.fin.on(&self.raw)
    }
}

/// Every live candidate pair (see the module documentation).
#[derive(Debug, Default)]
pub(super) struct Pairs {
    recs: Vec<PairRec>,
    free: Vec<u32>,
    /// Per slot: `(partner slot, record index)`.
    adj: Vec<Vec<(u32, u32)>>,
    live: usize,
}

impl Pairs {
    /// Makes room for slots up to `n`.
    pub fn grow_to(&mut self, n: usize) {
        if self.adj.len() < n {
            self.adj.resize_with(n, Vec::new);
        }
    }

    pub fn len(&self) -> usize {
        self.live
    }

    fn index(&self, (a, b): SlotPair) -> Option<u32> {
        let (x, y) = match (self.adj.get(a as usize), self.adj.get(b as usize)) {
            (Some(x), Some(y)) if x.len() <= y.len() => (x, b),
            (Some(_), Some(y)) => (y, a),
            _ => return None,
        };
        x.iter().find(|&&(t, _)| t == y).map(|&(_, i)| i)
    }

    pub fn get(&self, key: SlotPair) -> Option<&PairRec> {
        self.index(key).map(|i| &self.recs[i as usize])
    }

    pub fn get_mut(&mut self, key: SlotPair) -> Option<&mut PairRec> {
        self.index(key).map(|i| &mut self.recs[i as usize])
    }

    /// Adds a pair that is not live (the caller checked).
    pub fn insert(&mut self, (a, b): SlotPair, rec: PairRec) {
        self.grow_to(a.max(b) as usize + 1);
        let i = match self.free.pop() {
            Some(i) => {
                self.recs[i as usize] = rec;
                i
            }
            None => {
                self.recs.push(rec);
                (self.recs.len() - 1) as u32
            }
        };
        self.adj[a as usize].push((b, i));
        self.adj[b as usize].push((a, i));
        self.live += 1;
    }

    /// Removes a live pair; its record stays readable until the index is reused.
    pub fn remove(&mut self, (a, b): SlotPair) {
        let Some(i) = self.index((a, b)) else {
            return;
        };
        self.adj[a as usize].retain(|&(t, _)| t != b);
        self.adj[b as usize].retain(|&(t, _)| t != a);
        self.free.push(i);
        self.live -= 1;
    }

    /// The clustering's verdicts on the pairs of `s` forgotten (it re-clusters `s`).
    pub fn reset_fin(&mut self, s: u32) {
        let Some(list) = self.adj.get(s as usize) else {
            return;
        };
        for &(_, i) in list {
            let rec = &mut self.recs[i as usize];
            rec.fin = rec.eff;
        }
    }

    /// Partner slots of `s`.
    pub fn partners(&self, s: u32) -> impl Iterator<Item = u32> + '_ {
        self.of(s).map(|(t, _)| t)
    }

    /// Partner slots of `s` with the pair's record.
    pub fn of(&self, s: u32) -> impl Iterator<Item = (u32, &PairRec)> + '_ {
        self.adj
            .get(s as usize)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|&(t, i)| (t, &self.recs[i as usize]))
    }

    /// Every live pair once.
    pub fn values(&self) -> impl Iterator<Item = &PairRec> + '_ {
        self.adj.iter().enumerate().flat_map(move |(s, list)| {
            list.iter()
                .filter(move |&&(t, _)| (s as u32) < t)
                .map(|&(_, i)| &self.recs[i as usize])
        })
    }

    /// Adds many pairs that are not live, none twice: records in bulk, then the
    /// adjacency lists sized once (a build inserts millions).
    pub fn extend(&mut self, new: Vec<(SlotPair, PairRec)>) {
        let Some(top) = new.iter().map(|&((a, b), _)| a.max(b)).max() else {
            return;
        };
        self.grow_to(top as usize + 1);
        let mut degree = vec![0u32; self.adj.len()];
        for &((a, b), _) in &new {
            degree[a as usize] += 1;
            degree[b as usize] += 1;
        }
        for (list, d) in self.adj.iter_mut().zip(degree) {
            list.reserve_exact(d as usize);
        }
        // A build's slab is sized once, with headroom for the drops after it, instead
        // of doubling (a doubled slab is a third larger than a million pairs need);
        // smaller extends grow as usual (amortized).
        let records = new.len().saturating_sub(self.free.len());
        if records >= self.recs.len() {
            self.recs.reserve_exact(records + records / 16);
        } else {
            self.recs.reserve(records);
        }
        for (key, rec) in new {
            self.insert(key, rec);
        }
    }

    /// Bytes held (see `memory`).
    pub fn heap_bytes(&self) -> (usize, usize) {
        let recs = self.recs.capacity() * std::mem::size_of::<PairRec>()
            + self.free.capacity() * 4
            + self
                .recs
                .iter()
                .filter_map(|r| r.ai.as_ref())
                .map(|n| {
                    std::mem::size_of::<AiNote>()
                        + n.answer.capacity()
                        + n.reasoning.capacity()
                        + n.model.capacity()
                })
                .sum::<usize>();
        let adj = self.adj.capacity() * std::mem::size_of::<Vec<(u32, u32)>>()
            + self.adj.iter().map(|l| l.capacity() * 8).sum::<usize>();
        (recs, adj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SignalScores;

    fn scored(a: u32, b: u32, combined: f64) -> ScoredPair {
        ScoredPair {
            a,
            b,
            scores: SignalScores {
                date: 1.0,
                geo: 0.5,
                title: 0.25,
                description: 0.0,
            },
            combined,
            decision: Decision::Ambiguous,
            tier: Tier::Deterministic,
            rule: DecisionRule::Between,
            weight_set: 0,
            geo_ignored: false,
        }
    }

    fn live(p: &Pairs) -> Vec<(u32, u32, f64)> {
        let mut out: Vec<_> = p
            .values()
            .map(|r| (r.raw.a.min(r.raw.b), r.raw.a.max(r.raw.b), r.raw.combined))
            .collect();
        out.sort_by(|x, y| x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal));
        out
    }

    #[test]
    fn a_pair_is_found_from_either_end_and_a_freed_record_is_reused() {
        let mut p = Pairs::default();
        p.extend(vec![
            ((0, 1), PairRec::new(scored(0, 1, 0.1), 1)),
            ((0, 2), PairRec::new(scored(2, 0, 0.2), 2)),
            ((1, 2), PairRec::new(scored(1, 2, 0.3), 1)),
        ]);
        assert_eq!(p.len(), 3);
        assert_eq!(p.get((0, 2)).map(|r| r.support), Some(2));
        assert_eq!(p.get((2, 0)).map(|r| r.raw.combined), Some(0.2));
        assert!(p.get((1, 3)).is_none(), "an unknown slot has no pairs");
        p.remove((0, 1));
        assert!(p.get((0, 1)).is_none());
        assert_eq!(p.len(), 2);
        assert_eq!(p.partners(0).collect::<Vec<_>>(), vec![2]);
        // The freed record is taken by the next pair; the others keep theirs.
        p.insert((3, 4), PairRec::new(scored(3, 4, 0.4), 1));
        assert_eq!(p.recs.len(), 3, "no new record while one is free");
        assert_eq!(
            live(&p),
            vec![(0, 2, 0.2), (1, 2, 0.3), (3, 4, 0.4)],
            "every live pair once"
        );
    }

    #[test]
    fn outcomes_change_only_the_verdict_fields() {
        let mut r = PairRec::new(scored(0, 1, 0.7), 1);
        r.eff = Outcome {
            decision: Decision::Match,
            tier: Tier::Ai,
            rule: DecisionRule::Llm,
        };
        r.fin = Outcome {
            decision: Decision::Ambiguous,
            ..r.eff
        };
        let (eff, fin) = (r.eff(), r.fin());
        assert_eq!(
            (eff.decision, eff.tier, eff.rule),
            (Decision::Match, Tier::Ai, DecisionRule::Llm)
        );
        assert_eq!(fin.decision, Decision::Ambiguous);
        assert_eq!(fin.tier, Tier::Ai);
        assert_eq!(
            (eff.combined, eff.scores, eff.a, eff.b),
            (0.7, r.raw.scores, 0, 1)
        );
        let mut pairs = Pairs::default();
        pairs.insert((0, 1), r);
        pairs.reset_fin(1);
        assert_eq!(
            pairs.get((0, 1)).map(|r| r.fin().decision),
            Some(Decision::Match)
        );
    }
}
