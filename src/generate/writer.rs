//! Turns a planned chunk into event files: groups copies into source issues,
//! renders each copy, assigns ids and writes one JSON file per issue.
//!
//! Invariants: each issue gets its own RNG derived from (seed, chunk, source,
//! slot), so output bytes do not depend on thread scheduling; the 8-hex part of
//! event ids is a bijection of the global issue number, hence ids are unique
//! across the whole set; files are written one at a time (bounded memory).

use super::plan::{ChunkPlan, Placement, CHUNK_DAYS};
use super::render::{self, CopyCtx, Listing};
use super::world::{Archetype, World};
use anyhow::Context;
use chrono::{Duration, NaiveDate, NaiveDateTime};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::Path;

/// The listings a chunk produced, by local true-event index.
pub struct ChunkFiles {
    pub ids: Vec<(String, u32)>,
    pub files: usize,
}

#[derive(Serialize)]
struct FileOut<'a> {
    events: &'a [Listing],
    rejected: Vec<Rejected>,
    metadata: Metadata,
}

#[derive(Serialize)]
struct Rejected {
    title: &'static str,
    reason: &'static str,
}

#[derive(Serialize)]
struct Metadata {
    #[serde(rename = "processedAt")]
    processed_at: String,
    #[serde(rename = "sourceKey")]
    source_key: String,
    #[serde(rename = "sourceName")]
    source_name: String,
    #[serde(rename = "eventCount")]
    event_count: usize,
    #[serde(rename = "pageCount")]
    page_count: usize,
}

pub struct WriteCtx<'a> {
    pub world: &'a World,
    pub seed: u64,
    pub pretty: bool,
    pub events_dir: &'a Path,
}

/// SplitMix64 step: decorrelates derived seeds.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A bijection on u32 (xor-key, odd multiply, xorshift), so distinct issue
/// numbers always give distinct hex prefixes.
fn permute(x: u32, key: u32) -> u32 {
    let mut v = x ^ key;
    v = v.wrapping_mul(0x9E37_79B1);
    v ^= v >> 16;
    v = v.wrapping_mul(0x85EB_CA6B);
    v ^= v >> 13;
    v = v.wrapping_mul(0xC2B2_AE35);
    v ^ (v >> 16)
}

pub fn write_chunk(
    ctx: &WriteCtx,
    chunk: usize,
    start: NaiveDate,
    plan: &ChunkPlan,
) -> anyhow::Result<ChunkFiles> {
    let mut issues: BTreeMap<Placement, Vec<usize>> = BTreeMap::new();
    for (ev, copies) in plan.copies.iter().enumerate() {
        for c in copies {
            issues.entry(*c).or_default().push(ev);
        }
    }
    let mut out = ChunkFiles {
        ids: Vec::new(),
        files: 0,
    };
    for (copy, evs) in &issues {
        write_issue(ctx, chunk, start, *copy, evs, plan, &mut out)?;
    }
    Ok(out)
}

fn write_issue(
    ctx: &WriteCtx,
    chunk: usize,
    start: NaiveDate,
    copy: Placement,
    evs: &[usize],
    plan: &ChunkPlan,
    out: &mut ChunkFiles,
) -> anyhow::Result<()> {
    let source = &ctx.world.sources[copy.source];
    let issue_no = (chunk * ctx.world.sources.len() + copy.source) * 2 + copy.slot as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(mix(ctx.seed ^ mix(issue_no as u64 + 1)));
    let window_start = start + Duration::days(7 * copy.slot as i64);
    let issue_date = window_start - Duration::days(source.lead);
    let processed = processed_at(&mut rng, issue_date);
    let mut order: Vec<usize> = evs.to_vec();
    if matches!(
        source.archetype,
        Archetype::Calendar | Archetype::Carnival | Archetype::Culture
    ) {
        order.sort_by_key(|&e| (plan.events[e].dates[0], e));
    } else {
        use rand::seq::SliceRandom;
        order.shuffle(&mut rng);
    }
    let rctx = CopyCtx {
        world: ctx.world,
        source,
        window_start,
    };
    let hex = format!("{:08x}", permute(issue_no as u32, mix(ctx.seed) as u32));
    let batch_size = rng.gen_range(5..=12);
    let n = order.len();
    let mut listings = Vec::with_capacity(n);
    for (i, &e) in order.iter().enumerate() {
        let mut l = render::render(&mut rng, &rctx, &plan.events[e]);
        let (b, k) = ((i / batch_size) as u32, (i % batch_size) as u32);
        l.id = format!("pdf-{hex}-{b}-{k}");
        l.batch_index = b;
        l.event_index = k;
        let at = processed - Duration::milliseconds(((n - i) as i64) * 2000);
        l.extracted_at = iso_ms(at);
        out.ids.push((l.id.clone(), e as u32));
        listings.push(l);
    }
    let rejected = if rng.gen_bool(0.25) {
        vec![Rejected {
            title: "Anzeige",
            reason: "low_confidence",
        }]
    } else {
        Vec::new()
    };
    let processed_s = iso_ms(processed);
    let file = FileOut {
        events: &listings,
        rejected,
        metadata: Metadata {
            source_key: format!("{}_{}.pdf", source.code, issue_date.format("%d.%m.%Y")),
            source_name: source.name.clone(),
            event_count: n,
            page_count: (n / 4).max(1) + rng.gen_range(0..4),
            processed_at: processed_s.clone(),
        },
    };
    let name = format!(
        "{}_{}_{}.json",
        source.code,
        issue_date.format("%d.%m.%Y"),
        processed_s.replace([':', '.'], "-")
    );
    let path = ctx.events_dir.join(name);
    write_json(&path, &file, ctx.pretty)?;
    out.files += 1;
    Ok(())
}

fn processed_at(rng: &mut ChaCha8Rng, issue_date: NaiveDate) -> NaiveDateTime {
    let day = issue_date - Duration::days(1);
    let base = day.and_hms_opt(18, 0, 0).unwrap_or_default();
    base + Duration::milliseconds(rng.gen_range(0..5 * 3600 * 1000))
}

fn iso_ms(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Serializes like the dev set: one-space indentation when pretty.
pub fn write_json<T: Serialize>(path: &Path, value: &T, pretty: bool) -> anyhow::Result<()> {
    let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = BufWriter::with_capacity(64 * 1024, f);
    if pretty {
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b" ");
        let mut ser = serde_json::Serializer::with_formatter(&mut w, fmt);
        value
            .serialize(&mut ser)
            .with_context(|| format!("writing {}", path.display()))?;
    } else {
        serde_json::to_writer(&mut w, value)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    w.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Days a chunk covers; used by callers to place chunk starts.
pub fn chunk_start(first: NaiveDate, chunk: usize) -> NaiveDate {
    first + Duration::days(CHUNK_DAYS * chunk as i64)
}
