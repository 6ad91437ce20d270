//! Plans one chunk (a fortnight) of true events and decides which sources print
//! each of them: ordinary events plus the hard-negative families.
//!
//! Invariants: a chunk's plan depends only on (world, options, chunk index);
//! events are added until the chunk's listing target is reached, so the total
//! number of listings tracks `GenerateOptions::events` closely; within one
//! chunk no two true events share (town, date, title) unless a family wants it.

use super::templates::{self as tpl, Slot, TrueEvent};
use super::world::{VenueKind, World};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rand::distributions::{Distribution, WeightedIndex};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;

/// Days per chunk: two weekly issues or one fortnightly issue per source.
pub const CHUNK_DAYS: i64 = 14;

/// Group-size distribution of the dev set (sizes 1..=6).
const GROUP_SIZES: [f64; 6] = [0.6, 0.25, 0.1, 0.035, 0.01, 0.005];

/// One printed copy: which source and which of its issues in the chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Placement {
    pub source: usize,
    pub slot: u8,
}

pub struct ChunkPlan {
    pub events: Vec<TrueEvent>,
    pub copies: Vec<Vec<Placement>>,
}

pub struct Planner<'a> {
    pub world: &'a World,
    pub hard: bool,
    pub town_dist: WeightedIndex<f64>,
}

impl<'a> Planner<'a> {
    pub fn new(world: &'a World, hard: bool) -> anyhow::Result<Self> {
        let town_dist = WeightedIndex::new(world.towns.iter().map(|t| t.weight))
            .map_err(|e| anyhow::anyhow!("town weights: {e}"))?;
        Ok(Planner {
            world,
            hard,
            town_dist,
        })
    }

    pub fn plan(&self, rng: &mut ChaCha8Rng, start: NaiveDate, target: usize) -> ChunkPlan {
        let mut st = State {
            plan: ChunkPlan {
                events: Vec::new(),
                copies: Vec::new(),
            },
            listings: 0,
            seen: BTreeSet::new(),
        };
        let mut guard = 0usize;
        while st.listings < target && guard < target * 20 + 100 {
            guard += 1;
            let batch = self.family(rng, start);
            for ev in batch {
                self.admit(rng, &mut st, start, ev);
            }
        }
        st.plan
    }

    fn family(&self, rng: &mut ChaCha8Rng, start: NaiveDate) -> Vec<TrueEvent> {
        let weights: &[f64] = if self.hard {
            &[0.79, 0.03, 0.018, 0.025, 0.033, 0.03, 0.03, 0.03]
        } else {
            &[0.87, 0.03, 0.018, 0.025, 0.033, 0.0, 0.0, 0.0]
        };
        let r = WeightedIndex::new(weights)
            .map(|w| w.sample(rng))
            .unwrap_or(0);
        let fam = match r {
            1 => self.kino(rng, start),
            2 => self.two_talks(rng, start),
            3 => self.same_title_towns(rng, start),
            4 => self.weekly(rng, start),
            5 => self.district_twins(rng, start),
            6 => self.same_venue_day(rng, start),
            7 => self.vernissage(rng, start),
            _ => Vec::new(),
        };
        if fam.is_empty() {
            vec![self.single(rng, start)]
        } else {
            fam
        }
    }

    fn pick_town(&self, rng: &mut ChaCha8Rng) -> usize {
        self.town_dist.sample(rng)
    }

    fn pick_day(&self, rng: &mut ChaCha8Rng, start: NaiveDate) -> NaiveDate {
        let days: Vec<NaiveDate> = (0..CHUNK_DAYS).map(|i| start + Duration::days(i)).collect();
        let w: Vec<f64> = days
            .iter()
            .map(|d| match d.weekday() {
                Weekday::Mon => 0.7,
                Weekday::Tue => 0.8,
                Weekday::Wed | Weekday::Thu => 0.9,
                Weekday::Fri => 1.4,
                Weekday::Sat => 1.6,
                Weekday::Sun => 1.3,
            })
            .collect();
        let i = WeightedIndex::new(&w).map(|d| d.sample(rng)).unwrap_or(0);
        days[i]
    }

    fn slot(&self, town: usize, date: NaiveDate, venue: Option<usize>) -> Slot<'a> {
        Slot {
            world: self.world,
            town,
            date,
            venue,
        }
    }

    fn single(&self, rng: &mut ChaCha8Rng, start: NaiveDate) -> TrueEvent {
        let town = self.pick_town(rng);
        let date = self.pick_day(rng, start);
        let cats = tpl::category_weights(date);
        let i = WeightedIndex::new(cats.iter().map(|c| c.1))
            .map(|d| d.sample(rng))
            .unwrap_or(1);
        tpl::single(rng, &self.slot(town, date, None), cats[i].0)
    }

    fn kino(&self, rng: &mut ChaCha8Rng, start: NaiveDate) -> Vec<TrueEvent> {
        let town = self.pick_town(rng);
        let Some(&cinema) = self.world.towns[town].venues_of(VenueKind::Kino).first() else {
            return Vec::new();
        };
        let n = rng.gen_range(2..=4);
        let mut names = BTreeSet::new();
        let mut out = Vec::new();
        let first = rng.gen_range(0..CHUNK_DAYS - 4);
        for _ in 0..n {
            let name = tpl::film(rng);
            if !names.insert(name.clone()) {
                continue;
            }
            let d0 = start + Duration::days(first + rng.gen_range(0..3));
            let mut dates = vec![d0];
            for step in [1, 2, 3] {
                if rng.gen_bool(0.35) {
                    dates.push(d0 + Duration::days(step));
                }
            }
            out.push(tpl::kino(
                rng,
                &self.slot(town, d0, Some(cinema)),
                name,
                dates,
            ));
        }
        out
    }

    fn two_talks(&self, rng: &mut ChaCha8Rng, start: NaiveDate) -> Vec<TrueEvent> {
        let town = self.pick_town(rng);
        let t = &self.world.towns[town];
        let cands: Vec<usize> = (0..t.venues.len())
            .filter(|&i| {
                matches!(
                    t.venues[i].kind,
                    VenueKind::Buecherei | VenueKind::Pfarrheim | VenueKind::Kultur
                )
            })
            .collect();
        let Some(&venue) = cands.choose(rng) else {
            return Vec::new();
        };
        let date = start + Duration::days(rng.gen_range(0..CHUNK_DAYS));
        let topics: Vec<&str> = tpl::talk_topics()
            .choose_multiple(rng, 2)
            .copied()
            .collect();
        let times = if rng.gen_bool(0.5) {
            [(19, 0), (20, 30)]
        } else {
            [(18, 0), (19, 30)]
        };
        let slot = self.slot(town, date, Some(venue));
        topics
            .iter()
            .zip(times)
            .map(|(topic, at)| tpl::talk(rng, &slot, topic, at))
            .collect()
    }

    fn same_title_towns(&self, rng: &mut ChaCha8Rng, start: NaiveDate) -> Vec<TrueEvent> {
        let special: Vec<(NaiveDate, tpl::SameTitle)> = (0..CHUNK_DAYS)
            .map(|i| start + Duration::days(i))
            .filter_map(|d| tpl::special_same_title(d).map(|s| (d, s)))
            .collect();
        let (date, spec) = match special.choose(rng) {
            Some(&(d, s)) if rng.gen_bool(0.7) => (d, Some(s)),
            _ => {
                let d = start + Duration::days(rng.gen_range(0..CHUNK_DAYS));
                (d, tpl::generic_same_title(rng, d))
            }
        };
        let Some(spec) = spec else { return Vec::new() };
        let town = self.pick_town(rng);
        let mut towns = vec![town];
        let n = rng.gen_range(1..=3);
        towns.extend(self.world.neighbours[town].iter().take(n).copied());
        towns
            .into_iter()
            .map(|t| tpl::same_title(rng, &self.slot(t, date, None), spec))
            .collect()
    }

    fn weekly(&self, rng: &mut ChaCha8Rng, start: NaiveDate) -> Vec<TrueEvent> {
        let town = self.pick_town(rng);
        let series = (town * 7 + rng.gen_range(0..2)) % tpl::SERIES.len();
        let weekday = ((town * 3 + series) % 7) as i64;
        let offset = (weekday - start.weekday().num_days_from_monday() as i64).rem_euclid(7);
        let first = start + Duration::days(offset);
        let mut out = Vec::new();
        let venue = {
            let mut fixed = ChaCha8Rng::seed_from_u64((town * 31 + series) as u64);
            let probe = tpl::weekly(&mut fixed, &self.slot(town, first, None), series);
            probe.venue
        };
        for week in 0..2 {
            let d = first + Duration::days(7 * week);
            if rng.gen_bool(0.85) {
                out.push(tpl::weekly(rng, &self.slot(town, d, Some(venue)), series));
            }
        }
        out
    }

    fn district_twins(&self, rng: &mut ChaCha8Rng, start: NaiveDate) -> Vec<TrueEvent> {
        if !self.hard {
            return Vec::new();
        }
        let town = self.pick_town(rng);
        let t = &self.world.towns[town];
        let halls: Vec<usize> = (0..t.venues.len())
            .filter(|&i| t.venues[i].kind == VenueKind::Halle && t.venues[i].district.is_some())
            .collect();
        if halls.len() < 2 {
            return Vec::new();
        }
        let pair: Vec<usize> = halls.choose_multiple(rng, 2).copied().collect();
        let date = self.pick_day(rng, start);
        let carnival = tpl::in_season(date);
        let (title, kind) = if carnival {
            *[
                ("Kinderball", "kinderball"),
                ("Narrenball", "ball"),
                ("Zunftabend", "zunftabend"),
            ]
            .choose(rng)
            .unwrap_or(&("Kinderball", "kinderball"))
        } else {
            *[
                ("Seniorennachmittag", "freizeit"),
                ("Dorfputzete", "freizeit"),
                ("Kinderflohmarkt", "kinderflohmarkt"),
            ]
            .choose(rng)
            .unwrap_or(&("Dorfputzete", "freizeit"))
        };
        pair.into_iter()
            .map(|v| {
                let slot = self.slot(town, date, Some(v));
                let mut e = if carnival {
                    tpl::fasnacht(rng, &slot, Some(kind))
                } else {
                    let mut e = tpl::single(rng, &slot, "freizeit");
                    e.kind = kind;
                    e
                };
                let place = t.venues[v]
                    .district
                    .map(|d| t.districts[d].name.as_str())
                    .unwrap_or(t.short());
                e.title = title.to_string();
                e.headline = format!("{title} in {place}");
                e.short = None;
                e.dates = vec![date];
                e.family = "hn:district_twins";
                e
            })
            .collect()
    }

    fn same_venue_day(&self, rng: &mut ChaCha8Rng, start: NaiveDate) -> Vec<TrueEvent> {
        let town = self.pick_town(rng);
        let t = &self.world.towns[town];
        let halls = t.venues_of(VenueKind::Halle);
        let Some(&venue) = halls.choose(rng) else {
            return Vec::new();
        };
        let date = self.pick_day(rng, start);
        let slot = self.slot(town, date, Some(venue));
        let mut morning = tpl::single(rng, &slot, "kinder");
        let evening_cat = if tpl::in_season(date) {
            "fasnacht"
        } else {
            *["musik", "fest", "buehne"].choose(rng).unwrap_or(&"musik")
        };
        let mut evening = tpl::single(rng, &slot, evening_cat);
        morning.start = Some((10, 0));
        morning.dates = vec![date];
        evening.dates = vec![date];
        if evening.start.map(|s| s.0 < 17).unwrap_or(true) {
            evening.start = Some((19, 30));
        }
        morning.family = "hn:same_venue_day";
        evening.family = "hn:same_venue_day";
        vec![morning, evening]
    }

    fn vernissage(&self, rng: &mut ChaCha8Rng, start: NaiveDate) -> Vec<TrueEvent> {
        let town = self.pick_town(rng);
        let date = self.pick_day(rng, start);
        let mut show = tpl::ausstellung(rng, &self.slot(town, date, None));
        show.family = "hn:vernissage";
        let opening = tpl::vernissage(rng, &show);
        vec![show, opening]
    }

    /// Adds an event with its copies unless it would be indistinguishable from
    /// one already planned (same town, first date and title; district twins are
    /// told apart by venue) or nobody prints it.
    fn admit(&self, rng: &mut ChaCha8Rng, st: &mut State, start: NaiveDate, ev: TrueEvent) {
        let title = if ev.family == "hn:district_twins" {
            format!("{}@{}", ev.title, ev.venue)
        } else {
            ev.title.clone()
        };
        let key = (ev.town, ev.dates[0], title);
        if st.seen.contains(&key) {
            return;
        }
        let copies = self.copies(rng, start, &ev);
        if copies.is_empty() {
            return;
        }
        st.seen.insert(key);
        st.listings += copies.len();
        st.plan.events.push(ev);
        st.plan.copies.push(copies);
    }

    fn copies(&self, rng: &mut ChaCha8Rng, start: NaiveDate, ev: &TrueEvent) -> Vec<Placement> {
        let sources = &self.world.sources;
        let mut cands: Vec<usize> = self.world.town_sources[ev.town]
            .iter()
            .copied()
            .filter(|&s| sources[s].accepts(ev.category))
            .collect();
        let mut k = WeightedIndex::new(GROUP_SIZES)
            .map(|d| d.sample(rng) + 1)
            .unwrap_or(1);
        if ev.big && rng.gen_bool(0.35) {
            k += 1;
        }
        let first = (ev.dates[0] - start).num_days().clamp(0, CHUNK_DAYS - 1);
        let mut out = Vec::new();
        while out.len() < k && !cands.is_empty() {
            let w: Vec<f64> = cands.iter().map(|&s| sources[s].reach).collect();
            let i = WeightedIndex::new(&w).map(|d| d.sample(rng)).unwrap_or(0);
            let s = cands.swap_remove(i);
            let slot = if sources[s].period == 7 {
                (first / 7) as u8
            } else {
                0
            };
            out.push(Placement { source: s, slot });
        }
        if out.len() < k && ev.big {
            let repeat = out
                .iter()
                .find(|c| sources[c.source].period == 7 && c.slot == 1)
                .copied();
            if let Some(c) = repeat {
                out.push(Placement {
                    source: c.source,
                    slot: 0,
                });
            }
        }
        out
    }
}

struct State {
    plan: ChunkPlan,
    listings: usize,
    seen: BTreeSet<(usize, NaiveDate, String)>,
}
