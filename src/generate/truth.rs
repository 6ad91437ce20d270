//! Ground truth in the dev set's `event-groundtruth/1` format.
//!
//! Invariants: `event_to_true` is sorted by event id and covers every listing;
//! `true_events` holds exactly the true events printed at least once, in id
//! order; `duplicate_pairs` is exactly the set of within-group pairs, each pair
//! sorted and the list sorted; `stats` is computed from the same data.

use super::templates::TrueEvent;
use super::world::World;
use chrono::NaiveDate;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// What the truth file keeps of a true event (compact; lives until the end).
pub struct TrueMeta {
    pub title: String,
    pub category: &'static str,
    pub kind: &'static str,
    pub family: &'static str,
    pub town: u32,
    pub venue: u32,
    pub dates: Vec<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub start_time: Option<(u32, u32)>,
    pub n_sources: u32,
}

impl TrueMeta {
    pub fn from_event(ev: &TrueEvent, n_sources: usize) -> Self {
        TrueMeta {
            title: ev.title.clone(),
            category: ev.category,
            kind: ev.kind,
            family: ev.family,
            town: ev.town as u32,
            venue: ev.venue as u32,
            dates: ev.dates.clone(),
            end_date: ev.end_date,
            start_time: ev.start,
            n_sources: n_sources as u32,
        }
    }
}

pub struct Truth {
    /// (event id, global true-event index), sorted by id after `finish`.
    pub ids: Vec<(String, u32)>,
    pub events: Vec<TrueMeta>,
    pub pairs: Vec<(u32, u32)>,
}

pub fn true_id(i: u32) -> String {
    format!("T{:06}", i + 1)
}

impl Truth {
    /// Sorts ids and derives the duplicate pairs (as positions into `ids`).
    pub fn finish(&mut self) {
        self.ids.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut groups: Vec<Vec<u32>> = vec![Vec::new(); self.events.len()];
        for (pos, (_, t)) in self.ids.iter().enumerate() {
            groups[*t as usize].push(pos as u32);
        }
        let mut pairs = Vec::new();
        for g in &groups {
            for (i, &a) in g.iter().enumerate() {
                for &b in &g[i + 1..] {
                    pairs.push((a, b));
                }
            }
        }
        pairs.sort_unstable();
        self.pairs = pairs;
    }

    pub fn group_sizes(&self) -> BTreeMap<u32, usize> {
        let mut sizes = BTreeMap::new();
        for e in &self.events {
            *sizes.entry(e.n_sources).or_insert(0) += 1;
        }
        sizes
    }
}

pub struct Header {
    pub seed: u64,
    pub events: usize,
    pub hard: bool,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub files: usize,
}

pub struct TruthDoc<'a> {
    pub header: Header,
    pub truth: &'a Truth,
    pub world: &'a World,
}

impl Serialize for TruthDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.truth;
        let h = &self.header;
        let mut m = s.serialize_map(Some(6))?;
        m.serialize_entry("format", "event-groundtruth/1")?;
        m.serialize_entry(
            "generator",
            &serde_json::json!({
                "seed": h.seed, "events": h.events, "hard": h.hard, "files": 0,
                "start": h.start.format("%Y-%m-%d").to_string(),
                "end": h.end.format("%Y-%m-%d").to_string(),
            }),
        )?;
        let sizes: serde_json::Map<String, serde_json::Value> = t
            .group_sizes()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into()))
            .collect();
        m.serialize_entry(
            "stats",
            &serde_json::json!({
                "source_events": t.ids.len(), "true_events": t.events.len(),
                "duplicate_pairs": t.pairs.len(), "files": h.files, "group_sizes": sizes,
            }),
        )?;
        m.serialize_entry("event_to_true", &EventToTrue(t))?;
        m.serialize_entry("true_events", &TrueEvents(t, self.world))?;
        m.serialize_entry("duplicate_pairs", &Pairs(t))?;
        m.end()
    }
}

struct EventToTrue<'a>(&'a Truth);

impl Serialize for EventToTrue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.ids.len()))?;
        for (id, t) in &self.0.ids {
            m.serialize_entry(id, &true_id(*t))?;
        }
        m.end()
    }
}

struct TrueEvents<'a>(&'a Truth, &'a World);

#[derive(Serialize)]
struct TrueOut<'a> {
    title: &'a str,
    category: &'a str,
    kind: &'a str,
    family: &'a str,
    city: &'a str,
    venue: &'a str,
    dates: Vec<String>,
    end_date: Option<String>,
    start_time: Option<String>,
    n_sources: u32,
}

impl Serialize for TrueEvents<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.events.len()))?;
        for (i, e) in self.0.events.iter().enumerate() {
            let town = &self.1.towns[e.town as usize];
            let out = TrueOut {
                title: &e.title,
                category: e.category,
                kind: e.kind,
                family: e.family,
                city: &town.official,
                venue: &town.venues[e.venue as usize].name,
                dates: e
                    .dates
                    .iter()
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .collect(),
                end_date: e.end_date.map(|d| d.format("%Y-%m-%d").to_string()),
                start_time: e.start_time.map(|(h, m)| format!("{h:02}:{m:02}")),
                n_sources: e.n_sources,
            };
            m.serialize_entry(&true_id(i as u32), &out)?;
        }
        m.end()
    }
}

struct Pairs<'a>(&'a Truth);

impl Serialize for Pairs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ids = &self.0.ids;
        let mut seq = s.serialize_seq(Some(self.0.pairs.len()))?;
        for &(a, b) in &self.0.pairs {
            seq.serialize_element(&[&ids[a as usize].0, &ids[b as usize].0])?;
        }
        seq.end()
    }
}
