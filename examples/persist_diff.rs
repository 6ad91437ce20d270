//! PostgreSQL cost of an incremental run against a full one: generates
//! `stored + (drops + 3) × drop_size` listings, stores all but the held-back ones in
//! a throwaway cluster, persists a full run, builds a `MatchState`, then drops
//! `drops` files of `drop_size` held-back listings, each read with
//! `load_changed_since`, applied and written with `persist_diff`; three more drops
//! are handled as today (load everything, full run, `persist_run`). Prints p50 / p95
//! per stage in milliseconds.
//!
//! Usage (release build, quiet machine):
//! `cargo run --release --example persist_diff -- [stored] [drops] [drop_size]`
//! (defaults 100000 10 50).
//!
//! Measured 2026-12-03 (release, 2-core machine shared with other builds), 100,018
//! stored, 10 incremental + 3 full drops of 50: `load_changed_since` p50 22 ms /
//! p95 30 ms, `apply` 5 / 42 ms, `persist_diff` 24 / 37 ms; full path:
//! `load_all_events` 648 / 745 ms, `matching::run` 1106 / 1110 ms, `persist_run`
//! 1350 / 1430 ms.

use std::time::Instant;

use anyhow::{bail, Context};
use event_dedup::generate::{generate, GenerateOptions};
use event_dedup::ingest::{parse_event_file, ParsedFile};
use event_dedup::matching::incremental::{Change, MatchState};
use event_dedup::matching::{run, MatchingConfig, ReviewConstraints};
use event_dedup::model::{Decision, Trigger};
use event_dedup::preprocess::{derive, Derived, WordLists};
use event_dedup::store::test_support::fresh_database;
use event_dedup::store::{self, RunFigures, RunInfo};

const FULL_DROPS: usize = 3;

fn arg(n: usize, default: usize) -> anyhow::Result<usize> {
    match std::env::args().nth(n) {
        Some(a) => a.parse().with_context(|| format!("argument {n}: {a:?}")),
        None => Ok(default),
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Nearest-rank p50 and p95.
fn spread(mut v: Vec<f64>) -> String {
    v.sort_by(f64::total_cmp);
    let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    format!("p50 {:>9.1}  p95 {:>9.1}", rank(0.5), rank(0.95))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (stored_n, drops, size) = (arg(1, 100_000)?, arg(2, 10)?, arg(3, 50)?);
    let held = (drops + FULL_DROPS) * size;
    let dir = std::env::temp_dir().join(format!("persist-diff-bench-{}", std::process::id()));
    let opts = GenerateOptions {
        events: stored_n + held,
        pretty: false,
        ..GenerateOptions::default()
    };
    generate(&opts, &dir)?;
    let mut files = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(dir.join("events"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    names.sort();
    for path in names {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = std::fs::read(&path)?;
        files.push(parse_event_file(&name, &bytes).map_err(|r| anyhow::anyhow!("{r:?}"))?);
    }
    std::fs::remove_dir_all(&dir)?;
    let total: usize = files.iter().map(|f| f.events.len()).sum();
    if held >= total {
        bail!("{total} generated listings cannot hold back {held}");
    }
    // Held back evenly over the set: a drop touches blocks anywhere.
    let stride = total / held;
    let (mut pool, mut i) = (Vec::new(), 0usize);
    for f in &mut files {
        let events = std::mem::take(&mut f.events);
        for e in events {
            if i % stride == 0 && pool.len() < held {
                pool.push(e);
            } else {
                f.events.push(e);
            }
            i += 1;
        }
    }
    let template = files[0].clone();
    let drop_files: Vec<ParsedFile> = pool
        .chunks(size)
        .enumerate()
        .map(|(k, chunk)| ParsedFile {
            file_name: format!("{}_drop{k}.json", template.source_code),
            file_hash: format!("bench-drop-{k}"),
            events: chunk.to_vec(),
            ..template.clone()
        })
        .collect();

    let lists = WordLists::bundled();
    let config = MatchingConfig::default();
    let constraints = ReviewConstraints::default();
    let (pool, _) = fresh_database().await?;
    let ingest = |f: &ParsedFile| {
        let derived: Vec<Derived> = f.events.iter().map(|e| derive(e, &lists)).collect();
        let pool = pool.clone();
        let f = f.clone();
        async move { store::ingest_file(&pool, &f, &derived).await }
    };
    let t = Instant::now();
    for f in &files {
        ingest(f).await?;
    }
    eprintln!("stored {} listings in {:.0} ms", total - held, ms(t));

    let mut client = pool.get().await?;
    let tx = store::begin_run_snapshot(&mut client).await?;
    let mut mark = store::ingest_mark(&*tx).await?;
    let events = store::load_all_events(&*tx).await?;
    tx.commit().await?;
    let result = run(events.clone(), &config, &lists, &constraints);
    let t = Instant::now();
    store::persist_run(&mut client, &result, &RunInfo::new(Trigger::Batch, 1)).await?;
    eprintln!("first persist_run (everything new) {:.0} ms", ms(t));
    drop(result);
    let (mut state, _) = MatchState::build(events, &config, &lists, &constraints);

    let (mut load, mut apply, mut persist) = (Vec::new(), Vec::new(), Vec::new());
    for f in &drop_files[..drops] {
        ingest(f).await?;
        let t = Instant::now();
        let tx = store::begin_run_snapshot(&mut client).await?;
        let changed = store::load_changed_since(&*tx, &mark).await?;
        tx.commit().await?;
        load.push(ms(t));
        mark = changed.covers;
        let t = Instant::now();
        let diff = state.apply(Change {
            upserts: changed.events,
            ..Change::default()
        });
        apply.push(ms(t));
        // Figures the owner keeps as counters; counted here outside the timing.
        let decisions = state.decisions();
        let count = |d: Decision| decisions.iter().filter(|p| p.decision == d).count();
        let figures = RunFigures {
            events: state.listing_count(),
            candidate_pairs: decisions.len(),
            matches: count(Decision::Match),
            ambiguous: count(Decision::Ambiguous),
            flagged: 0,
            stats: serde_json::to_value(&diff.stats)?,
        };
        let t = Instant::now();
        store::persist_diff(
            &mut client,
            &diff,
            &figures,
            &RunInfo::new(Trigger::Batch, 1),
        )
        .await?;
        persist.push(ms(t));
    }
    let (mut full_load, mut full_run, mut full_persist) = (Vec::new(), Vec::new(), Vec::new());
    for f in &drop_files[drops..] {
        ingest(f).await?;
        let t = Instant::now();
        let tx = store::begin_run_snapshot(&mut client).await?;
        let events = store::load_all_events(&*tx).await?;
        tx.commit().await?;
        full_load.push(ms(t));
        let t = Instant::now();
        let result = run(events, &config, &lists, &constraints);
        full_run.push(ms(t));
        let t = Instant::now();
        let s = store::persist_run(&mut client, &result, &RunInfo::new(Trigger::Batch, 1)).await?;
        full_persist.push(ms(t));
        // After the incremental drops the store must already agree with a full run:
        // only the drop's groups change.
        eprintln!(
            "full drop: {} created, {} updated, {} removed, {} unchanged",
            s.created, s.updated, s.removed, s.unchanged
        );
    }
    println!("{} stored, {size}-listing drops (ms)", total - held);
    println!("incremental ({drops} drops)");
    println!("  load_changed_since  {}", spread(load));
    println!("  MatchState::apply   {}", spread(apply));
    println!("  persist_diff        {}", spread(persist));
    println!("full ({FULL_DROPS} drops)");
    println!("  load_all_events     {}", spread(full_load));
    println!("  matching::run       {}", spread(full_run));
    println!("  persist_run         {}", spread(full_persist));
    Ok(())
}
