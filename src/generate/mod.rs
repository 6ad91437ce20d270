//! Realistic, deterministic synthetic event data with ground truth, for demos,
//! evaluation and benchmarks (see `data/dev/README.md` for what is modelled).
//!
//! Pipeline: [`world`] builds towns, venues and sources scaled to the requested
//! size; the span is cut into fortnight chunks; per chunk [`plan`] draws true
//! events from [`templates`] (plus hard-negative families) and decides which
//! sources print them; [`writer`] renders the copies with each source's habits
//! ([`render`]) and writes one file per issue; finally [`truth`] is written.
//!
//! Invariants: output bytes are a pure function of [`GenerateOptions`] (every
//! chunk and issue has its own seed-derived ChaCha RNG; chunks run in parallel
//! but are merged in chunk order); memory is bounded by a few chunks of
//! listings plus the truth maps.

mod plan;
mod render;
mod templates;
mod truth;
mod world;
mod writer;

use anyhow::Context;
use chrono::{Duration, NaiveDate};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::path::Path;

#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// Target number of source listings (the files' events sum to about this).
    pub events: usize,
    pub seed: u64,
    /// 1.0 = realistic listings per town and day; higher packs more events into
    /// the same towns and days (a stress test for blocking).
    pub density: f64,
    /// Adds the extra hard-negative families `hn:same_venue_day`,
    /// `hn:district_twins` and `hn:vernissage`.
    pub hard: bool,
    pub start: NaiveDate,
    /// Pretty-print like the dev set (one-space indent); compact output is
    /// smaller and faster for huge sets.
    pub pretty: bool,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            events: 800,
            seed: 1,
            density: 1.0,
            hard: false,
            start: NaiveDate::from_ymd_opt(2026, 1, 19).unwrap_or_default(),
            pretty: true,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenerateSummary {
    pub files: usize,
    pub source_events: usize,
    pub true_events: usize,
    pub duplicate_pairs: usize,
    pub towns: usize,
    pub sources: usize,
    pub days: u32,
}

/// Geography and span for a requested size.
struct Scale {
    days: u32,
    towns: usize,
    sources: usize,
}

/// Listings per town per day in the dev set: 800 / (42 towns × 42 days).
const DEV_EVENTS: f64 = 800.0;
const DEV_DAYS: f64 = 42.0;
const MAX_DAYS: f64 = 728.0;

/// Grows span with √N (capped at two years) and towns with the rest, so that
/// listings per town per day stay at the dev level times `density`.
fn scale(opts: &GenerateOptions) -> Scale {
    let density = if opts.density.is_finite() && opts.density > 0.0 {
        opts.density
    } else {
        1.0
    };
    let n_eff = (opts.events as f64 / density).max(1.0);
    let ratio = (n_eff / DEV_EVENTS).max(1.0);
    let raw_days = (DEV_DAYS * ratio.sqrt()).min(MAX_DAYS);
    let chunk = plan::CHUNK_DAYS as f64;
    let days = ((raw_days / chunk).ceil() * chunk) as u32;
    let towns =
        (n_eff / DEV_EVENTS * world::BASE_TOWNS as f64 * DEV_DAYS / days as f64).round() as usize;
    let towns = towns.max(8);
    let sources = if towns <= world::BASE_TOWNS {
        9
    } else {
        (towns as f64 * 9.0 / world::BASE_TOWNS as f64).round() as usize
    };
    Scale {
        days,
        towns,
        sources,
    }
}

pub fn generate(opts: &GenerateOptions, out_dir: &Path) -> anyhow::Result<GenerateSummary> {
    let sc = scale(opts);
    let events_dir = out_dir.join("events");
    std::fs::create_dir_all(&events_dir)
        .with_context(|| format!("creating {}", events_dir.display()))?;
    let mut world_rng = ChaCha8Rng::seed_from_u64(writer::mix(opts.seed));
    let world = world::build(&mut world_rng, sc.towns, sc.sources);
    let planner = plan::Planner::new(&world, opts.hard)?;
    let n_chunks = (sc.days as usize) / plan::CHUNK_DAYS as usize;
    let wctx = writer::WriteCtx {
        world: &world,
        seed: opts.seed,
        pretty: opts.pretty,
        events_dir: &events_dir,
    };
    let mut truth = truth::Truth {
        ids: Vec::with_capacity(opts.events + opts.events / 10),
        events: Vec::with_capacity(opts.events * 3 / 4),
        pairs: Vec::new(),
    };
    let mut files = 0usize;
    let window = rayon::current_num_threads().max(1) * 2;
    let chunk_ids: Vec<usize> = (0..n_chunks).collect();
    for batch in chunk_ids.chunks(window) {
        let results: Vec<anyhow::Result<ChunkResult>> = batch
            .par_iter()
            .map(|&c| run_chunk(&planner, &wctx, opts, c, n_chunks))
            .collect();
        for r in results {
            let r = r?;
            let offset = truth.events.len() as u32;
            truth.events.extend(r.metas);
            truth
                .ids
                .extend(r.ids.into_iter().map(|(id, t)| (id, t + offset)));
            files += r.files;
        }
    }
    truth.finish();
    let summary = GenerateSummary {
        files,
        source_events: truth.ids.len(),
        true_events: truth.events.len(),
        duplicate_pairs: truth.pairs.len(),
        towns: world.towns.len(),
        sources: world.sources.len(),
        days: sc.days,
    };
    let doc = truth::TruthDoc {
        header: truth::Header {
            seed: opts.seed,
            events: opts.events,
            hard: opts.hard,
            start: opts.start,
            end: opts.start + Duration::days(sc.days as i64 - 1),
            files,
        },
        truth: &truth,
        world: &world,
    };
    writer::write_json(&out_dir.join("truth.json"), &doc, opts.pretty)?;
    Ok(summary)
}

struct ChunkResult {
    metas: Vec<truth::TrueMeta>,
    ids: Vec<(String, u32)>,
    files: usize,
}

/// Plans and writes one chunk; only true events that got a copy are kept.
fn run_chunk(
    planner: &plan::Planner,
    wctx: &writer::WriteCtx,
    opts: &GenerateOptions,
    chunk: usize,
    n_chunks: usize,
) -> anyhow::Result<ChunkResult> {
    let base = opts.events / n_chunks;
    let target = base + usize::from(chunk < opts.events % n_chunks);
    let start = writer::chunk_start(opts.start, chunk);
    let mut rng = ChaCha8Rng::seed_from_u64(writer::mix(
        opts.seed.wrapping_add(0x5EED) ^ writer::mix(chunk as u64),
    ));
    let plan = planner.plan(&mut rng, start, target);
    let written = writer::write_chunk(wctx, chunk, start, &plan)?;
    let metas = plan
        .events
        .iter()
        .zip(&plan.copies)
        .map(|(e, c)| truth::TrueMeta::from_event(e, c.len()))
        .collect();
    Ok(ChunkResult {
        metas,
        ids: written.ids,
        files: written.files,
    })
}
