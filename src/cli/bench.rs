//! `event-dedup bench`: times the pipeline stage by stage on generated data of growing
//! size and reports throughput and peak memory.
//!
//! Each size runs in a child process (`bench-run`, hidden) so its peak resident memory
//! (`VmHWM`) is measured in isolation. Generated data is cached per size and seed under
//! `--data-dir`, since generating 1M listings is not what we measure.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use serde::{Deserialize, Serialize};

use super::bench_incremental as incremental;
use super::input;
use crate::generate::{generate, GenerateOptions};
use crate::matching::{self, MatchingConfig, ReviewConstraints};
use crate::preprocess::WordLists;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Event counts to measure.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1000,10000,100000,1000000"
    )]
    pub sizes: Vec<usize>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Density of the generated data (1 = realistic; higher stresses blocking).
    #[arg(long, default_value_t = 1.0)]
    pub density: f64,
    /// Where generated data sets are cached.
    #[arg(long, default_value = "target/bench-data")]
    pub data_dir: PathBuf,
    /// Write the report as JSON here too.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also report pairwise F1 against the generated truth (costs time and memory).
    #[arg(long)]
    pub evaluate: bool,
    /// Measure incremental applies instead: per size, hold back `drops` × `drop-size`
    /// listings, build the state on the rest, then apply them drop by drop.
    #[arg(long)]
    pub incremental: bool,
    #[command(flatten)]
    pub drops: DropArgs,
}

/// The drops of the incremental mode.
#[derive(Debug, Clone, Copy, Args)]
pub struct DropArgs {
    /// Drops applied per size.
    #[arg(long, default_value_t = 10)]
    pub drops: usize,
    /// Listings per drop.
    #[arg(long, default_value_t = 50)]
    pub drop_size: usize,
}

#[derive(Debug, Args)]
pub struct BenchRunArgs {
    pub dir: PathBuf,
    #[arg(long)]
    pub evaluate: bool,
    #[arg(long)]
    pub incremental: bool,
    #[command(flatten)]
    pub drops: DropArgs,
}

/// Figures of one size, produced by the child process.
#[derive(Debug, Serialize, Deserialize)]
pub struct BenchRow {
    pub events: usize,
    pub files: usize,
    pub parse_ms: f64,
    pub preprocess_ms: f64,
    pub blocking_ms: f64,
    pub scoring_ms: f64,
    pub clustering_ms: f64,
    pub synthesis_ms: f64,
    pub pipeline_ms: f64,
    pub candidate_pairs: usize,
    pub pairs_per_event: f64,
    pub blocks_split: usize,
    pub largest_block: usize,
    pub canonical_events: usize,
    pub peak_rss_mib: f64,
    /// Peak after loading the files, before the pipeline ran.
    pub load_peak_rss_mib: f64,
    pub f1: Option<f64>,
}

pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe().context("cannot locate own binary")?;
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; benchmark with `cargo run --release -- bench`");
    }
    if args.incremental {
        return incremental::run(args, &exe);
    }
    let mut rows = Vec::new();
    for &n in &args.sizes {
        let row: BenchRow = child_row(&exe, args, n, &[])?;
        eprintln!(
            "{n:>9} events: pipeline {:.0} ms, peak {:.0} MiB",
            row.pipeline_ms, row.peak_rss_mib
        );
        rows.push(row);
    }
    print_report(&render(&rows), &rows, args.json.as_deref())
}

/// Prints a report's table and writes its rows as JSON when asked to.
pub(super) fn print_report<T: serde::Serialize>(
    table: &str,
    rows: &[T],
    json: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    println!("{table}");
    if let Some(path) = json {
        std::fs::write(path, serde_json::to_string_pretty(rows)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the child for size `n` (data generated first if needed) and reads its row.
pub(super) fn child_row<T: serde::de::DeserializeOwned>(
    exe: &Path,
    args: &BenchArgs,
    n: usize,
    extra: &[String],
) -> anyhow::Result<T> {
    let dir = ensure_data(&args.data_dir, n, args.seed, args.density)?;
    let mut cmd = Command::new(exe);
    cmd.arg("bench-run").arg(&dir).args(extra);
    if args.evaluate {
        cmd.arg("--evaluate");
    }
    let out = cmd
        .output()
        .with_context(|| format!("cannot run bench child for {n} events"))?;
    if !out.status.success() {
        bail!(
            "bench child for {n} events failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).context("bench child printed no report")
}

fn ensure_data(root: &Path, n: usize, seed: u64, density: f64) -> anyhow::Result<PathBuf> {
    let dir = root.join(format!("n{n}-s{seed}-d{density}"));
    if dir.join("truth.json").is_file() {
        return Ok(dir);
    }
    let started = Instant::now();
    let opts = GenerateOptions {
        events: n,
        seed,
        density,
        pretty: n < 100_000,
        ..GenerateOptions::default()
    };
    generate(&opts, &dir)?;
    eprintln!(
        "generated {n} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(dir)
}

/// The child side: load, run, print one JSON row.
pub fn run_child(args: &BenchRunArgs) -> anyhow::Result<ExitCode> {
    if args.incremental {
        return incremental::run_child(&args.dir, args.drops);
    }
    let config = MatchingConfig::default();
    let lists = WordLists::bundled();
    let started = Instant::now();
    let loaded = input::load(&[args.dir.join("events")])?;
    let parse_ms = started.elapsed().as_secs_f64() * 1000.0;
    let load_peak_rss_mib = peak_rss_mib();
    let files = loaded.files_used;
    let result = matching::run(
        loaded.events,
        &config,
        &lists,
        &ReviewConstraints::default(),
    );
    let f1 = if args.evaluate {
        let truth = crate::evaluation::GroundTruth::load(&args.dir.join("truth.json"))?;
        Some(crate::evaluation::evaluate(&result, &truth, 0).clusters.f1)
    } else {
        None
    };
    let t = &result.stats.timings;
    let row = BenchRow {
        events: result.stats.events,
        files,
        parse_ms,
        preprocess_ms: t.preprocess_ms,
        blocking_ms: t.blocking_ms,
        scoring_ms: t.scoring_ms,
        clustering_ms: t.clustering_ms,
        synthesis_ms: t.synthesis_ms,
        pipeline_ms: t.total_ms,
        candidate_pairs: result.stats.candidate_pairs,
        pairs_per_event: result.stats.candidate_pairs as f64 / result.stats.events.max(1) as f64,
        blocks_split: result.stats.blocking.blocks_split,
        largest_block: result.stats.blocking.largest_block,
        canonical_events: result.stats.canonical_events,
        peak_rss_mib: peak_rss_mib(),
        load_peak_rss_mib,
        f1,
    };
    println!("{}", serde_json::to_string(&row)?);
    Ok(ExitCode::SUCCESS)
}

/// Peak resident set size of this process (Linux `VmHWM`), 0 when unknown.
pub(super) fn peak_rss_mib() -> f64 {
    status_mib("VmHWM:")
}

/// Resident memory now (after a phase's transients are freed: its steady size).
pub(super) fn rss_mib() -> f64 {
    status_mib("VmRSS:")
}

/// A kB field of `/proc/self/status` in MiB (0 where there is none).
fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn render(rows: &[BenchRow]) -> String {
    let mut out = String::from(
        "| events | parse ms | preprocess | blocking | scoring | clustering | synthesis | pipeline ms | events/s (pipeline) | events/s (parse+pipeline) | pairs/event | largest block | blocks split | peak MiB (after load) | F1 |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let eps = |ms: f64| {
            if ms > 0.0 {
                r.events as f64 / (ms / 1000.0)
            } else {
                0.0
            }
        };
        out.push_str(&format!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {} | {} | {:.0} ({:.0}) | {} |\n",
            r.events,
            r.parse_ms,
            r.preprocess_ms,
            r.blocking_ms,
            r.scoring_ms,
            r.clustering_ms,
            r.synthesis_ms,
            r.pipeline_ms,
            eps(r.pipeline_ms),
            eps(r.parse_ms + r.pipeline_ms),
            r.pairs_per_event,
            r.largest_block,
            r.blocks_split,
            r.peak_rss_mib,
            r.load_peak_rss_mib,
            r.f1.map_or("-".to_string(), |f| format!("{f:.3}")),
        ));
    }
    out
}
