//! `event-dedup generate --events N --seed S --out DIR`: realistic synthetic event
//! files plus ground truth, deterministic per seed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use chrono::NaiveDate;
use clap::Args;

use crate::generate::{generate, GenerateOptions};

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of source listings to write.
    #[arg(long, default_value_t = 1000)]
    pub events: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output directory (gets `events/` and `truth.json`).
    #[arg(long)]
    pub out: PathBuf,
    /// Listings per town and day relative to realistic (e.g. 5 = five times denser: a
    /// stress test for blocking).
    #[arg(long, default_value_t = 1.0)]
    pub density: f64,
    /// Also the extra hard-negative families (same venue/day, district twins, vernissage).
    #[arg(long)]
    pub hard: bool,
    /// First event day.
    #[arg(long, default_value = "2026-01-19")]
    pub start: NaiveDate,
    /// Compact JSON instead of pretty-printed files (smaller and faster for huge sets).
    #[arg(long)]
    pub compact: bool,
}

pub fn run(args: &GenerateArgs) -> anyhow::Result<ExitCode> {
    if !(args.density.is_finite() && args.density > 0.0) {
        anyhow::bail!("--density must be a positive number, got {}", args.density);
    }
    let opts = GenerateOptions {
        events: args.events,
        seed: args.seed,
        density: args.density,
        hard: args.hard,
        start: args.start,
        pretty: !args.compact,
    };
    let started = Instant::now();
    let summary = generate(&opts, &args.out)?;
    eprintln!(
        "wrote {} listings of {} real events ({} duplicate pairs) in {} files from {} sources, {} towns, {} days into {} in {:.1} s",
        summary.source_events,
        summary.true_events,
        summary.duplicate_pairs,
        summary.files,
        summary.sources,
        summary.towns,
        summary.days,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
