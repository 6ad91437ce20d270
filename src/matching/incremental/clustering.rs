//! Re-clustering one connected component and synthesizing its groups, exactly as the
//! full run would for the same members.
//!
//! Why a component can be clustered alone: `agglomerate` only ever joins two groups
//! along an edge, and both the refusal checks (conflicts, average link, cannot-links)
//! and the tie order (weight, then indices) only look at the two groups' members. A
//! component's members get local indices in id order, and the full run's indices are
//! in id order too, so the edge order, the union-find's choices and even the order of
//! the float sums are the same.

use std::borrow::Cow;

use rustc_hash::FxHashMap;

use super::index::SlotPair;
use super::listings::{Listings, Loaded};
use super::pairs::Pairs;
use super::slot_pair;
use super::slots::SlotIndex;
use super::verdicts::Verdicts;
use crate::matching::cluster::{agglomerate, ConflictContext, Edge, Refusal};
use crate::matching::config::{ClusterMethod, MatchingConfig};
use crate::matching::conflicts::EventFacts;
use crate::matching::pipeline::{
    cluster_meta, finish, hash_canonical, link_score, ClusterFacts, ClusterMeta, ScoredPair,
};
use crate::matching::synthesis::synthesize;
use crate::model::{CanonicalEvent, Decision, DecisionRule, SourceEvent};

/// What clustering reads of the state.
pub(super) struct View<'a> {
    pub listings: &'a Listings,
    /// Every listing of the groups synthesized (or decoded from `listings`).
    pub loaded: &'a Loaded,
    pub facts: &'a [EventFacts],
    pub pairs: &'a Pairs,
    pub slot_of: &'a SlotIndex,
    pub verdicts: &'a Verdicts,
    pub config: &'a MatchingConfig,
}

/// One group of a component: member slots in id order, its quality fields and the
/// hash of its canonical event.
#[derive(Debug, Clone)]
pub(super) struct Group {
    pub members: Vec<u32>,
    pub meta: ClusterMeta,
    pub hash: [u8; 32],
}

/// A component after clustering, before synthesis.
pub(super) struct Clustered {
    /// Member slots in id order.
    pub members: Vec<u32>,
    /// Groups as slots in id order.
    pub groups: Vec<Vec<u32>>,
    /// Match edges the clustering refused, with the rule their pair now carries.
    pub dropped: Vec<(SlotPair, DecisionRule)>,
    /// Per cut member slot: the reason of the first refused edge that touched it.
    pub cut: FxHashMap<u32, String>,
}

/// Clusters the component of `members` (slots sorted by id).
pub(super) fn cluster_component(view: &View<'_>, members: Vec<u32>) -> Clustered {
    let local: FxHashMap<u32, u32> = members
        .iter()
        .enumerate()
        .map(|(i, &s)| (s, i as u32))
        .collect();
    let mut edges = Vec::new();
    for (i, &s) in members.iter().enumerate() {
        for (t, rec) in view.pairs.of(s) {
            let Some(&j) = local.get(&t) else { continue };
            let p = rec.eff();
            if (i as u32) < j && p.decision == Decision::Match && p.rule != DecisionRule::MustLink {
                edges.push(Edge {
                    a: i as u32,
                    b: j,
                    weight: p.combined,
                });
            }
        }
    }
    let named = |list: for<'v> fn(&'v Verdicts, &str) -> &'v [String]| {
        let mut out: Vec<(u32, u32)> = Vec::new();
        for (i, &s) in members.iter().enumerate() {
            for id in list(view.verdicts, view.listings.id(s)) {
                let j = view
                    .slot_of
                    .get(id, view.listings.ids())
                    .and_then(|t| local.get(&t).copied());
                if let Some(j) = j.filter(|&j| j > i as u32) {
                    out.push((i as u32, j));
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    };
    edges.extend(
        named(Verdicts::must_partners)
            .into_iter()
            .map(|(a, b)| Edge {
                a,
                b,
                weight: f64::INFINITY,
            }),
    );
    let cannot = named(Verdicts::cannot_partners);
    let facts: Vec<EventFacts> = members
        .iter()
        .map(|&s| view.facts[s as usize].clone())
        .collect();
    let score = |a: u32, b: u32| {
        let key = slot_pair(members[a as usize], members[b as usize]);
        view.pairs.get(key).map(|r| link_score(&r.eff()))
    };
    let context = ConflictContext {
        facts: &facts,
        score: &score,
        min_average_link: view.config.cluster.min_average_link,
    };
    let use_context = view.config.cluster.method == ClusterMethod::ConflictAware;
    let (groups, refused) = agglomerate(
        members.len(),
        &edges,
        &cannot,
        use_context.then_some(&context),
    );
    let mut cut = FxHashMap::default();
    let mut dropped = Vec::new();
    for (e, refusal) in refused.into_iter().filter(|(e, _)| e.weight.is_finite()) {
        let (a, b) = (members[e.a as usize], members[e.b as usize]);
        let rule = match refusal {
            Refusal::CannotLink => DecisionRule::CannotLinkSeparation,
            _ => {
                for x in [a, b] {
                    cut.entry(x).or_insert_with(|| refusal.describe());
                }
                DecisionRule::ClusterConflict
            }
        };
        dropped.push((slot_pair(a, b), rule));
    }
    let groups = groups
        .into_iter()
        .map(|g| g.into_iter().map(|i| members[i as usize]).collect())
        .collect();
    Clustered {
        members,
        groups,
        dropped,
        cut,
    }
}

/// Synthesizes one group (slots in id order) with its final pair decisions.
pub(super) fn synthesize_group(
    view: &View<'_>,
    members: Vec<u32>,
    cut: &FxHashMap<u32, String>,
) -> (Group, CanonicalEvent) {
    // The pairs inside, in id order (the confidence's sum is order-sensitive).
    let rank: FxHashMap<u32, usize> = members.iter().enumerate().map(|(i, &s)| (s, i)).collect();
    let mut inside: Vec<(usize, usize, ScoredPair)> = Vec::new();
    for (i, &s) in members.iter().enumerate() {
        for (t, rec) in view.pairs.of(s) {
            if let Some(&j) = rank.get(&t).filter(|&&j| j > i) {
                inside.push((i, j, rec.fin()));
            }
        }
    }
    inside.sort_unstable_by_key(|&(i, j, _)| (i, j));
    let mut facts = ClusterFacts::default();
    for (_, _, p) in &inside {
        facts.add(p);
    }
    let loaded: Vec<Cow<'_, SourceEvent>> = members
        .iter()
        .map(|&s| view.loaded.event(s, view.listings))
        .collect();
    let events: Vec<&SourceEvent> = loaded.iter().map(AsRef::as_ref).collect();
    let reviewed = !view.verdicts.reviewed.is_empty() && {
        let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
        view.verdicts.reviewed.contains(&ids)
    };
    let dates = || {
        events
            .iter()
            .flat_map(|e| e.dates.iter().map(|d| d.date))
            .collect()
    };
    let cut_reason = || members.iter().find_map(|m| cut.get(m).cloned());
    let meta = cluster_meta(&members, dates, &facts, reviewed, cut_reason, view.config);
    let strategies = &view.config.canonical.field_strategies;
    let canonical = finish(synthesize(&events, strategies), &meta);
    let hash = hash_canonical(&canonical);
    (
        Group {
            members,
            meta,
            hash,
        },
        canonical,
    )
}
