//! Clustering (`matching.md` §6): connected components of the match graph, with
//! review constraints applied, then coherence checks that flag (never split) suspicious
//! clusters.
//!
//! Components are built Kruskal-style: must-link edges first, then match edges by
//! descending combined score (ties by ids). An edge that would put two cannot-linked
//! events into one cluster is dropped, so exactly the weakest edges separating them go.
//! Without constraints this equals plain connected components.
//!
//! Conflict-aware (the default, `cluster.method`): connected components chain — one
//! wrong edge between a 5-source and a 2-source group makes 10 false pairs. So a merge
//! is also refused when the two groups hold a conflicting pair ([`super::conflicts`])
//! or when the mean score of their cross pairs is below `cluster.min_average_link`
//! (average linkage). Refused edges are reported so the pipeline can flag the groups
//! with the reason.

use std::collections::BTreeSet;

use rustc_hash::FxHashMap;

use super::config::ClusterConfig;
use super::conflicts::{conflict, Conflict, EventFacts};

/// Distinct dates above this flag a cluster (fixed constant of the spec).
pub const MAX_DISTINCT_DATES: usize = 3;

/// An edge of the clustering graph between event indices `a < b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    pub a: u32,
    pub b: u32,
    /// Combined score; `f64::INFINITY` for a must-link.
    pub weight: f64,
}

/// The result of clustering: member lists (sorted indices) and, per cluster, the
/// coherence verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub members: Vec<u32>,
    /// `Some(reason)` when flagged for review.
    pub flag: Option<String>,
}

struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
    /// Cannot-link partners of each root's component.
    forbidden: FxHashMap<u32, Vec<u32>>,
    /// Each component's members as a circular list (`next[x]` is the member after
    /// `x`): joining two components swaps two links, with no allocation.
    next: Vec<u32>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
            forbidden: FxHashMap::default(),
            next: (0..n as u32).collect(),
        }
    }

    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }

    /// The members of `root`'s component.
    fn component(&self, root: u32) -> Vec<u32> {
        let mut out = vec![root];
        let mut x = self.next[root as usize];
        while x != root {
            out.push(x);
            x = self.next[x as usize];
        }
        out
    }

    /// Whether a cannot-link separates the components of roots `ra` and `rb`.
    fn cannot_link(&mut self, ra: u32, rb: u32) -> bool {
        if self.forbidden.is_empty() {
            return false;
        }
        let partners = self.forbidden.get(&ra).cloned().unwrap_or_default();
        partners.iter().any(|&p| self.find(p) == rb)
    }

    fn union_roots(&mut self, ra: u32, rb: u32) {
        let (big, small) = if self.size[ra as usize] >= self.size[rb as usize] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
        if let Some(moved) = self.forbidden.remove(&small) {
            self.forbidden.entry(big).or_default().extend(moved);
        }
        self.next.swap(ra as usize, rb as usize);
    }
}

/// Why the clustering refused to join two groups along a match edge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Refusal {
    /// A reviewer's cannot-link separates them.
    CannotLink,
    /// A hard conflict between members, or a strong negative that the average link
    /// could not outvote.
    Conflict(Conflict),
    /// The mean match probability over the groups' compared pairs is too low.
    WeakLink(f64),
}

impl Refusal {
    /// The review reason of a group that was cut this way.
    pub fn describe(&self) -> String {
        match self {
            Refusal::CannotLink => "cut: a reviewer's cannot-link".into(),
            Refusal::Conflict(c) => format!("cut: {}", c.describe()),
            Refusal::WeakLink(avg) => {
                format!("cut: weak link to a neighbouring group (mean {avg:.2})")
            }
        }
    }
}

/// What conflict-aware clustering needs besides the edges.
pub struct ConflictContext<'a> {
    pub facts: &'a [EventFacts],
    /// The combined score (match probability) of a compared pair, `None` when the
    /// pair was not a candidate.
    pub score: &'a (dyn Fn(u32, u32) -> Option<f64> + Sync),
    /// Joining two groups needs at least this mean over their cross pairs.
    pub min_average_link: f64,
}

/// Builds clusters. `edges` must hold match edges and must-links; `cannot` the
/// cannot-link pairs. Returns the clusters (sorted by smallest member) and the edges
/// that were dropped to honour cannot-links.
pub fn connected_clusters(
    n: usize,
    edges: &[Edge],
    cannot: &[(u32, u32)],
) -> (Vec<Vec<u32>>, Vec<Edge>) {
    let (clusters, dropped) = agglomerate(n, edges, cannot, None);
    (clusters, dropped.into_iter().map(|(e, _)| e).collect())
}

/// Constrained agglomerative clustering: edges in descending score order, each
/// joining two groups only when no cannot-link, no hard conflict and a high enough
/// average link allow it (`matching.md` §6 with the chain guard of the README).
/// Must-links (infinite weight) join regardless of conflicts: reviewers are absolute.
/// Without `context` this is plain connected components with cannot-links.
pub fn agglomerate(
    n: usize,
    edges: &[Edge],
    cannot: &[(u32, u32)],
    context: Option<&ConflictContext<'_>>,
) -> (Vec<Vec<u32>>, Vec<(Edge, Refusal)>) {
    let mut uf = UnionFind::new(n);
    for &(x, y) in cannot {
        uf.forbidden.entry(x).or_default().push(y);
        uf.forbidden.entry(y).or_default().push(x);
    }
    let mut ordered: Vec<&Edge> = edges.iter().collect();
    ordered.sort_by(|e, f| {
        f.weight
            .total_cmp(&e.weight)
            .then((e.a, e.b).cmp(&(f.a, f.b)))
    });
    let mut dropped = Vec::new();
    for e in ordered {
        let (ra, rb) = (uf.find(e.a), uf.find(e.b));
        if ra == rb {
            continue;
        }
        if uf.cannot_link(ra, rb) {
            dropped.push((*e, Refusal::CannotLink));
            continue;
        }
        if let Some(ctx) = context.filter(|_| e.weight.is_finite()) {
            // Two single listings: the only cross pair is this edge, whose score is
            // above any sensible minimum; only a hard conflict can refuse it.
            let singletons = uf.size[ra as usize] == 1 && uf.size[rb as usize] == 1;
            let refusal = if singletons && e.weight >= ctx.min_average_link {
                let (x, y) = (&ctx.facts[e.a as usize], &ctx.facts[e.b as usize]);
                conflict(x, y)
                    .filter(|c| c.is_hard())
                    .map(Refusal::Conflict)
            } else {
                link_refusal(&uf.component(ra), &uf.component(rb), ctx)
            };
            if let Some(refusal) = refusal {
                dropped.push((*e, refusal));
                continue;
            }
        }
        uf.union_roots(ra, rb);
    }
    // A cluster is opened at its smallest member and members arrive in ascending
    // order, so clusters come out sorted by smallest member with sorted members.
    let mut slot_of_root = vec![u32::MAX; n];
    let mut clusters: Vec<Vec<u32>> = Vec::new();
    for i in 0..n as u32 {
        let slot = &mut slot_of_root[uf.find(i) as usize];
        if *slot == u32::MAX {
            *slot = clusters.len() as u32;
            clusters.push(Vec::new());
        }
        clusters[*slot as usize].push(i);
    }
    (clusters, dropped)
}

/// Why two groups must not be joined, if they must not: a hard conflict between any
/// two members, or a mean over cross pairs (compared pairs at their score, strong
/// negatives at 0, others left out) below the minimum.
fn link_refusal(a: &[u32], b: &[u32], ctx: &ConflictContext<'_>) -> Option<Refusal> {
    let (mut sum, mut count) = (0.0f64, 0usize);
    let mut strongest: Option<Conflict> = None;
    for &x in a {
        for &y in b {
            let (lo, hi) = if x < y { (x, y) } else { (y, x) };
            let found = conflict(&ctx.facts[lo as usize], &ctx.facts[hi as usize]);
            if let Some(c) = found.filter(|c| c.is_hard()) {
                return Some(Refusal::Conflict(c));
            }
            // A compared pair counts at its score: the model (or a reviewer, or the
            // tie-breaker) already weighed the facts behind any conflict. Only pairs
            // that were never compared count a strong negative as 0.
            match ((ctx.score)(lo, hi), found) {
                (Some(p), _) => {
                    sum += p;
                    count += 1;
                }
                (None, Some(c)) => {
                    strongest = Some(strongest.map_or(c, |s| s.min(c)));
                    count += 1;
                }
                (None, None) => {}
            }
        }
    }
    let mean = if count == 0 { 1.0 } else { sum / count as f64 };
    if mean >= ctx.min_average_link {
        return None;
    }
    Some(strongest.map_or(Refusal::WeakLink(mean), Refusal::Conflict))
}

/// Inputs of the coherence check for one cluster.
pub struct CoherenceInput<'a> {
    pub members: &'a [u32],
    /// Combined scores of the `match` edges inside the cluster.
    pub match_weights: &'a [f64],
    /// Whether any pair inside the cluster was decided `no_match`.
    pub has_no_match_inside: bool,
    /// All `date` values of all members' date entries.
    pub dates: BTreeSet<chrono::NaiveDate>,
}

/// The first failing check, in the spec's order, or `None` when coherent.
pub fn coherence_flag(input: &CoherenceInput<'_>, cfg: &ClusterConfig) -> Option<String> {
    if input.members.len() < 2 {
        return None;
    }
    if input.members.len() > cfg.max_cluster_size {
        return Some(format!(
            "size: {} members > {}",
            input.members.len(),
            cfg.max_cluster_size
        ));
    }
    if !input.match_weights.is_empty() {
        let mean = input.match_weights.iter().sum::<f64>() / input.match_weights.len() as f64;
        if mean < cfg.min_internal_similarity {
            return Some(format!(
                "internal_similarity: mean {mean:.3} < {}",
                cfg.min_internal_similarity
            ));
        }
    }
    if input.dates.len() > MAX_DISTINCT_DATES {
        return Some(format!(
            "date_spread: {} distinct dates > {MAX_DISTINCT_DATES}",
            input.dates.len()
        ));
    }
    if cfg.flag_no_match_inside && input.has_no_match_inside {
        return Some("no_match_inside: two members were decided no_match".to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn e(a: u32, b: u32, w: f64) -> Edge {
        Edge { a, b, weight: w }
    }

    #[test]
    fn components_are_transitive() {
        let (c, dropped) = connected_clusters(5, &[e(0, 1, 0.8), e(1, 2, 0.9)], &[]);
        assert_eq!(c, vec![vec![0, 1, 2], vec![3], vec![4]]);
        assert!(dropped.is_empty());
    }

    #[test]
    fn cannot_link_drops_the_weakest_separating_edge() {
        // 0-1 strong, 1-2 weak; 0 and 2 must stay apart → 1-2 is dropped.
        let (c, dropped) = connected_clusters(3, &[e(0, 1, 0.9), e(1, 2, 0.8)], &[(0, 2)]);
        assert_eq!(c, vec![vec![0, 1], vec![2]]);
        assert_eq!(dropped, vec![e(1, 2, 0.8)]);
    }

    fn facts(n: usize) -> Vec<EventFacts> {
        vec![EventFacts::default(); n]
    }

    #[test]
    fn a_weak_average_link_stops_a_chain() {
        // 0~1 and 1~2 are strong, but 0 and 2 were compared and are different: joining
        // {0,1} with 2 would average (0.95 + 0.05) / 2 = 0.5 < 0.6.
        let scores = |a: u32, b: u32| match (a, b) {
            (0, 1) => Some(0.99),
            (1, 2) => Some(0.95),
            (0, 2) => Some(0.05),
            _ => None,
        };
        let f = facts(3);
        let ctx = ConflictContext {
            facts: &f,
            score: &scores,
            min_average_link: 0.6,
        };
        let edges = [e(0, 1, 0.99), e(1, 2, 0.95)];
        let (c, dropped) = agglomerate(3, &edges, &[], Some(&ctx));
        assert_eq!(c, vec![vec![0, 1], vec![2]]);
        assert_eq!(dropped.len(), 1);
        assert!(matches!(dropped[0].1, Refusal::WeakLink(m) if (m - 0.5).abs() < 1e-12));
        assert!(dropped[0].1.describe().starts_with("cut: weak link"));
        // Plain connected components chain all three.
        let (c, _) = agglomerate(3, &edges, &[], None);
        assert_eq!(c, vec![vec![0, 1, 2]]);
    }

    #[test]
    fn conflicts_refuse_merges_but_must_links_are_absolute() {
        use crate::matching::conflicts::event_facts;
        use crate::matching::prepared::PreparedEvent;
        use crate::matching::MatchingConfig;
        use crate::model::SourceEvent;
        use crate::preprocess::WordLists;
        // 0 and 2 come from one issue of one source; 1 (another source) matches both.
        let ev = |id: &str| SourceEvent {
            id: id.into(),
            source_type: "terminliste".into(),
            ..Default::default()
        };
        let events = [ev("pdf-aa-0-1"), ev("pdf-bb-0-1"), ev("pdf-aa-0-2")];
        let (config, lists) = (MatchingConfig::default(), WordLists::bundled());
        let prepared: Vec<PreparedEvent> = events
            .iter()
            .map(|x| PreparedEvent::new(x, &lists, &config))
            .collect();
        let f = event_facts(&events, &prepared, &config);
        let scores = |_: u32, _: u32| Some(0.99);
        let ctx = ConflictContext {
            facts: &f,
            score: &scores,
            min_average_link: 0.5,
        };
        let edges = [e(0, 1, 0.99), e(1, 2, 0.98)];
        let (c, dropped) = agglomerate(3, &edges, &[], Some(&ctx));
        assert_eq!(c, vec![vec![0, 1], vec![2]]);
        assert_eq!(dropped[0].1, Refusal::Conflict(Conflict::SameIssue));
        // A reviewer's must-link overrides the conflict.
        let with_must = [e(0, 1, 0.99), e(1, 2, 0.98), e(0, 2, f64::INFINITY)];
        let (c, dropped) = agglomerate(3, &with_must, &[], Some(&ctx));
        assert_eq!(c, vec![vec![0, 1, 2]]);
        assert!(dropped.is_empty());
        // And a cannot-link still wins over a match edge.
        let (c, dropped) = agglomerate(3, &edges, &[(0, 1)], Some(&ctx));
        assert_eq!(c, vec![vec![0], vec![1, 2]]);
        assert_eq!(dropped[0].1, Refusal::CannotLink);
    }

    #[test]
    fn must_link_joins_regardless_of_score() {
        let (c, _) = connected_clusters(3, &[e(0, 2, f64::INFINITY)], &[]);
        assert_eq!(c, vec![vec![0, 2], vec![1]]);
    }

    #[test]
    fn coherence_checks_in_order() {
        let cfg = ClusterConfig::default();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let members: Vec<u32> = (0..16).collect();
        let input = CoherenceInput {
            members: &members,
            match_weights: &[0.8],
            has_no_match_inside: false,
            dates: BTreeSet::new(),
        };
        assert!(coherence_flag(&input, &cfg).unwrap().starts_with("size"));
        let two = [0, 1];
        let input = CoherenceInput {
            members: &two,
            match_weights: &[0.3],
            has_no_match_inside: false,
            dates: BTreeSet::new(),
        };
        assert!(coherence_flag(&input, &cfg)
            .unwrap()
            .starts_with("internal_similarity"));
        let dates: BTreeSet<_> = ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]
            .iter()
            .map(|s| d(s))
            .collect();
        let input = CoherenceInput {
            members: &two,
            match_weights: &[0.8],
            has_no_match_inside: true,
            dates: dates.clone(),
        };
        assert!(coherence_flag(&input, &cfg)
            .unwrap()
            .starts_with("date_spread"));
        let three: BTreeSet<_> = dates.into_iter().take(3).collect();
        let input = CoherenceInput {
            members: &two,
            match_weights: &[0.8],
            has_no_match_inside: true,
            dates: three,
        };
        assert_eq!(coherence_flag(&input, &cfg), None);
        let strict = ClusterConfig {
            flag_no_match_inside: true,
            ..cfg.clone()
        };
        assert!(coherence_flag(&input, &strict)
            .unwrap()
            .starts_with("no_match_inside"));
        let one = [0];
        let input = CoherenceInput {
            members: &one,
            match_weights: &[],
            has_no_match_inside: false,
            dates: BTreeSet::new(),
        };
        assert_eq!(coherence_flag(&input, &cfg), None);
    }
}
