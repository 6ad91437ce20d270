//! `event-dedup train SET_DIR... [--database] --out config/model.json`: fits the
//! learned match model on labelled sets (and, with `--database`, on the reviewers'
//! splits and merges stored in PostgreSQL), reports leave-one-set-out quality and a
//! reliability table, and writes the model file.
//!
//! A deployment adapts the model to its own sources by training on the shipped sets
//! plus its reviewers' decisions and pointing `EVENT_DEDUP_MODEL_PATH` at the result.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;

use super::config_args::{load_config, load_word_lists};
use super::database::with_database;
use super::sets::load_sets;
use super::MatchingArgs;
use crate::evaluation::quality;
use crate::evaluation::training::{train, ReviewerPair, TrainOptions, TrainingReport};
use crate::model::SourceEvent;
use crate::store;

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Labelled set directories (each with truth.json and events/).
    pub sets: Vec<PathBuf>,
    /// Where the model goes.
    #[arg(long, default_value = "config/model.json")]
    pub out: PathBuf,
    /// Also learn from the review decisions in the database (EVENT_DEDUP_DATABASE_URL,
    /// or the embedded cluster): merges are positives, splits negatives.
    #[arg(long)]
    pub database: bool,
    /// L2 regularization strength.
    #[arg(long, default_value_t = TrainOptions::default().alpha)]
    pub alpha: f64,
    /// Pairwise precision every training set must reach at the chosen threshold.
    #[arg(long, default_value_t = TrainOptions::default().target_precision)]
    pub target_precision: f64,
    /// Skip the leave-one-set-out folds (faster; no held-out figures).
    #[arg(long)]
    pub no_folds: bool,
    /// Also write the whole report as JSON to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub matching: MatchingArgs,
}

pub fn run(args: &TrainArgs) -> anyhow::Result<ExitCode> {
    if args.sets.is_empty() && !args.database {
        bail!("nothing to learn from: name labelled set directories and/or --database");
    }
    if !(args.alpha.is_finite() && args.alpha >= 0.0) {
        bail!("--alpha must be a number ≥ 0, got {}", args.alpha);
    }
    if !(0.0..=1.0).contains(&args.target_precision) {
        bail!(
            "--target-precision must be between 0 and 1, got {}",
            args.target_precision
        );
    }
    let config = load_config(&args.matching)?;
    let lists = load_word_lists(&args.matching)?;
    let sets = load_sets(&args.sets)?;
    let reviewer = if args.database {
        reviewer_pairs()?
    } else {
        Vec::new()
    };
    if args.database && reviewer.is_empty() && sets.is_empty() {
        bail!("the database holds no review decision (split or merge) and no set was named");
    }
    let options = TrainOptions {
        alpha: args.alpha,
        target_precision: args.target_precision,
        folds: !args.no_folds,
    };
    let report = train(&sets, &reviewer, &config, &lists, options)?;
    let json = serde_json::to_string_pretty(&report.model)?;
    std::fs::write(&args.out, json + "\n")
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    print!("{}", render(&report, reviewer.len()));
    eprintln!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

/// Must-links as positives and cannot-links as negatives, with both events loaded.
fn reviewer_pairs() -> anyhow::Result<Vec<ReviewerPair>> {
    with_database(|pool| async move {
        let client = pool.get().await.context("cannot connect to the database")?;
        let constraints = store::load_constraints(&**client).await?;
        let mut ids: Vec<String> = Vec::new();
        for (a, b) in constraints.must_link.iter().chain(&constraints.cannot_link) {
            ids.push(a.clone());
            ids.push(b.clone());
        }
        ids.sort();
        ids.dedup();
        let events = store::load_events_by_ids(&**client, &ids).await?;
        let by_id: HashMap<&str, &SourceEvent> =
            events.iter().map(|e| (e.id.as_str(), e)).collect();
        let mut pairs = Vec::new();
        for (list, same) in [
            (&constraints.must_link, true),
            (&constraints.cannot_link, false),
        ] {
            for (a, b) in list {
                if let (Some(a), Some(b)) = (by_id.get(a.as_str()), by_id.get(b.as_str())) {
                    pairs.push(ReviewerPair {
                        a: (*a).clone(),
                        b: (*b).clone(),
                        same,
                    });
                }
            }
        }
        Ok(pairs)
    })
}

/// The report as text: folds, held-out mean and worst, reliability, the model.
pub fn render(r: &TrainingReport, reviewer_pairs: usize) -> String {
    let mut out = String::new();
    let m = &r.model;
    let _ = writeln!(
        out,
        "trained on {} pairs ({} same) from {} set(s) and {} reviewer pair(s); threshold high {:.2} low {:.2}",
        m.training.pairs,
        m.training.positives,
        m.training.sets.len(),
        reviewer_pairs,
        m.thresholds.high,
        m.thresholds.low
    );
    if let Some(held) = &r.held_out {
        let _ = writeln!(
            out,
            "\nleave one set out (each row: trained on the others, measured on this set)"
        );
        for f in &r.folds {
            let _ = writeln!(out, "  {} threshold {:.2}", f.held_out, f.thresholds.high);
        }
        out.push_str(&quality::render(held));
        let _ = writeln!(out, "\nreliability of held-out probabilities");
        let _ = writeln!(
            out,
            "  {:>9} {:>7} {:>10} {:>9}",
            "p", "pairs", "predicted", "observed"
        );
        for b in r.reliability.iter().filter(|b| b.pairs > 0) {
            let _ = writeln!(
                out,
                "  {:.1}–{:.1} {:>7} {:>10.3} {:>9.3}",
                b.lo, b.hi, b.pairs, b.mean_predicted, b.observed
            );
        }
    }
    let _ = writeln!(out, "\ncoefficients (log-odds per standard deviation)");
    let mut terms: Vec<(&String, f64)> = m
        .features
        .iter()
        .zip(m.coefficients.iter().copied())
        .collect();
    terms.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    for (name, c) in terms {
        let _ = writeln!(out, "  {name:<26} {c:+.3}");
    }
    out
}
