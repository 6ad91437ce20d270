//! `event-dedup bench --incremental`: what a file-triggered run costs on a stored
//! catalogue. Per size, a child process holds back `drops × drop-size` listings spread
//! over the whole data set, times a full run over everything for comparison, builds a
//! [`MatchState`] on the rest, then applies the held-back listings drop by drop and
//! reports p50 / p95 of the apply time and of its stages. The apply's work must grow
//! with the drop's blocks, not with the catalogue: the rows show it side by side.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::bail;
use serde::{Deserialize, Serialize};

use super::bench::{child_row, peak_rss_mib, rss_mib, BenchArgs, DropArgs};
use super::input;
use crate::matching::incremental::{ApplyStats, Change, MatchState, StateMemory};
use crate::matching::{self, MatchingConfig, ReviewConstraints};
use crate::preprocess::WordLists;

/// p50 and p95 of one measure over the drops.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Spread {
    pub p50: f64,
    pub p95: f64,
}

impl Spread {
    /// Nearest-rank percentiles.
    fn of(mut values: Vec<f64>) -> Self {
        if values.is_empty() {
            return Spread::default();
        }
        values.sort_by(f64::total_cmp);
        let rank =
            |p: f64| values[((p * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
        Spread {
            p50: rank(0.5),
            p95: rank(0.95),
        }
    }
}

/// Figures of one size, produced by the child process.
#[derive(Debug, Serialize, Deserialize)]
pub struct IncrementalRow {
    /// Listings stored before the drops.
    pub stored: usize,
    pub drops: usize,
    pub drop_size: usize,
    /// A full run over stored and dropped listings, for comparison.
    pub full_run_ms: f64,
    /// Building the state on the stored listings (a full match).
    pub build_ms: f64,
    /// The build's stage times and work.
    pub build: ApplyStats,
    pub apply_ms: Spread,
    pub index_ms: Spread,
    pub score_ms: Spread,
    pub cluster_ms: Spread,
    pub synthesis_ms: Spread,
    pub blocks_touched: Spread,
    pub pairs_scored: Spread,
    pub listings_reclustered: Spread,
    pub groups_written: Spread,
    /// Peak resident memory while the state was built and the drops applied.
    pub peak_rss_mib: f64,
    /// Peak once the listings were loaded (parsed input, before the build).
    pub load_peak_rss_mib: f64,
    /// Peak once the state was built (the build's transient, input included).
    pub build_peak_rss_mib: f64,
    /// Resident right after the build (the state and the allocator's retained
    /// memory; the input is gone).
    pub built_rss_mib: f64,
    /// The state's own memory after the drops, per structure (an estimate).
    pub state: StateMemory,
}

pub fn run(args: &BenchArgs, exe: &Path) -> anyhow::Result<ExitCode> {
    let DropArgs { drops, drop_size } = args.drops;
    let extra = [
        "--incremental".to_string(),
        "--drops".to_string(),
        drops.to_string(),
        "--drop-size".to_string(),
        drop_size.to_string(),
    ];
    let mut rows = Vec::new();
    for &n in &args.sizes {
        let row: IncrementalRow = child_row(exe, args, n, &extra)?;
        let b = &row.build;
        eprintln!(
            "{:>9} stored: apply p50 {:.1} ms, full run {:.0} ms, build {:.0} ms \
             (index {:.0}, score {:.0}, cluster {:.0}, synthesis {:.0})",
            row.stored,
            row.apply_ms.p50,
            row.full_run_ms,
            row.build_ms,
            b.index_ms,
            b.score_ms,
            b.cluster_ms,
            b.synthesis_ms
        );
        let m = &row.state;
        eprintln!(
            "{:>9} stored: state {:.0} MiB (ids {:.0}, events {:.0}, prepared {:.0}, facts {:.0}, \
             keys {:.0}, slot_of {:.0}, pairs {:.0} for {} pairs, adjacency {:.0}, \
             blocks {:.0}, components {:.0}), peak RSS {:.0} MiB (after load {:.0}, \
             build {:.0}; resident after the build {:.0})",
            row.stored,
            m.total_mib,
            m.ids_mib,
            m.events_mib,
            m.prepared_mib,
            m.facts_mib,
            m.keys_mib,
            m.slot_of_mib,
            m.pairs_mib,
            m.pair_count,
            m.adjacency_mib,
            m.blocks_mib,
            m.components_mib,
            row.peak_rss_mib,
            row.load_peak_rss_mib,
            row.build_peak_rss_mib,
            row.built_rss_mib
        );
        rows.push(row);
    }
    super::bench::print_report(&render(&rows), &rows, args.json.as_deref())
}

/// The child side: load, hold back the drops, build, apply, then time a full run.
pub fn run_child(dir: &Path, drops: DropArgs) -> anyhow::Result<ExitCode> {
    let config = MatchingConfig::default();
    let lists = WordLists::bundled();
    let constraints = ReviewConstraints::default();
    let events = input::load(&[dir.join("events")])?.events;
    let load_peak_rss_mib = peak_rss_mib();
    let held = drops.drops * drops.drop_size;
    if held == 0 || held >= events.len() {
        bail!(
            "{} drops of {} listings need more than {} listings",
            drops.drops,
            drops.drop_size,
            events.len()
        );
    }
    // Spread over the data set: a drop touches blocks anywhere in the catalogue.
    let stride = events.len() / held;
    let (mut dropped, mut stored) = (Vec::with_capacity(held), Vec::new());
    for (i, e) in events.into_iter().enumerate() {
        if i % stride == 0 && dropped.len() < held {
            dropped.push(e);
        } else {
            stored.push(e);
        }
    }

    let t = Instant::now();
    let stored_count = stored.len();
    let (mut state, build) = MatchState::build(stored, &config, &lists, &constraints);
    let build_ms = t.elapsed().as_secs_f64() * 1000.0;
    let (build_peak_rss_mib, built_rss_mib) = (peak_rss_mib(), rss_mib());

    let mut stats: Vec<(ApplyStats, usize)> = Vec::new();
    let mut dropped = dropped.into_iter();
    for _ in 0..drops.drops {
        let upserts: Vec<_> = dropped.by_ref().take(drops.drop_size).collect();
        let diff = state.apply(Change {
            upserts,
            ..Change::default()
        });
        let written = diff.groups_created.len() + diff.groups_updated.len();
        stats.push((diff.stats, written));
    }
    // The state's peak, before the full run's own is added.
    let peak_rss_mib = peak_rss_mib();
    let memory = state.memory();
    drop(state);
    let all = input::load(&[dir.join("events")])?.events;
    let t = Instant::now();
    drop(matching::run(all, &config, &lists, &constraints));
    let full_run_ms = t.elapsed().as_secs_f64() * 1000.0;

    let spread =
        |f: &dyn Fn(&ApplyStats) -> f64| Spread::of(stats.iter().map(|(s, _)| f(s)).collect());
    let row = IncrementalRow {
        stored: stored_count,
        drops: drops.drops,
        drop_size: drops.drop_size,
        full_run_ms,
        build_ms,
        build,
        apply_ms: spread(&|s| s.total_ms),
        index_ms: spread(&|s| s.index_ms),
        score_ms: spread(&|s| s.score_ms),
        cluster_ms: spread(&|s| s.cluster_ms),
        synthesis_ms: spread(&|s| s.synthesis_ms),
        blocks_touched: spread(&|s| s.blocks_touched as f64),
        pairs_scored: spread(&|s| s.pairs_scored as f64),
        listings_reclustered: spread(&|s| s.listings_reclustered as f64),
        groups_written: Spread::of(stats.iter().map(|&(_, w)| w as f64).collect()),
        peak_rss_mib,
        load_peak_rss_mib,
        build_peak_rss_mib,
        built_rss_mib,
        state: memory,
    };
    println!("{}", serde_json::to_string(&row)?);
    Ok(ExitCode::SUCCESS)
}

fn render(rows: &[IncrementalRow]) -> String {
    let mut out = String::from(
        "| stored | drops × size | full run ms | build ms | apply ms p50 / p95 | index | score | cluster | synthesis | blocks touched | pairs scored | listings re-clustered | groups written | state MiB | peak MiB (load / build / all) | resident after build MiB |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let s = |x: &Spread| format!("{:.1} / {:.1}", x.p50, x.p95);
    let n = |x: &Spread| format!("{:.0} / {:.0}", x.p50, x.p95);
    for r in rows {
        out.push_str(&format!(
            "| {} | {} × {} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {:.0} / {:.0} / {:.0} | {:.0} |\n",
            r.stored,
            r.drops,
            r.drop_size,
            r.full_run_ms,
            r.build_ms,
            s(&r.apply_ms),
            s(&r.index_ms),
            s(&r.score_ms),
            s(&r.cluster_ms),
            s(&r.synthesis_ms),
            n(&r.blocks_touched),
            n(&r.pairs_scored),
            n(&r.listings_reclustered),
            n(&r.groups_written),
            r.state.total_mib,
            r.load_peak_rss_mib,
            r.build_peak_rss_mib,
            r.peak_rss_mib,
            r.built_rss_mib,
        ));
    }
    out
}
