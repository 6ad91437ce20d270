//! `event-dedup evaluate`: quality against labelled data.
//!
//! * `evaluate SET_DIR...` (no `--truth`): every labelled set at once (`truth.json` +
//!   `events/` each), one row per set plus mean and worst, pairwise on cluster
//!   membership and B-cubed, with the error classes counted. This table is the
//!   quality figure of the project: the worst set counts.
//! * `evaluate PATH... --truth FILE`: one set in depth, overall and per category, with
//!   the worst errors explained.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::config_args::{load_config, load_word_lists};
use super::input;
use super::sets::load_sets;
use super::MatchingArgs;
use crate::evaluation::{self, quality, report, GroundTruth};
use crate::matching::{self, ReviewConstraints};

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Labelled set directories, or (with `--truth`) event files or directories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Ground-truth file (`event-groundtruth/1`) of the events in PATH.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    #[command(flatten)]
    pub matching: MatchingArgs,
    /// How many false merges and false splits to list.
    #[arg(long, default_value_t = 10)]
    pub worst: usize,
    /// Print the evaluation as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &EvaluateArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(&args.matching)?;
    let lists = load_word_lists(&args.matching)?;
    let Some(truth_path) = &args.truth else {
        let sets = load_sets(&args.paths)?;
        let report = quality::measure(&sets, &config, &lists);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", quality::render(&report));
        }
        return Ok(ExitCode::SUCCESS);
    };
    let truth = GroundTruth::load(truth_path)?;
    let input = input::load(&args.paths)?;
    if input.files_used == 0 {
        eprintln!(
            "error: no usable input file among {} read",
            input.files_read
        );
        return Ok(ExitCode::FAILURE);
    }
    let result = matching::run(input.events, &config, &lists, &ReviewConstraints::default());
    let mut eval = evaluation::evaluate(&result, &truth, args.worst);
    // The run keeps no per-pair features; explain the listed errors the way
    // `/api/explain` does, so the learned model's contributions show.
    for e in eval
        .false_merges
        .iter_mut()
        .chain(eval.false_splits.iter_mut())
    {
        if let (Some(d), Some(a), Some(b)) = (
            e.decision.as_mut(),
            result.index_of(&e.id_a),
            result.index_of(&e.id_b),
        ) {
            let events = &result.events;
            d.contributions =
                matching::explain_pair(&events[a as usize], &events[b as usize], &config, &lists)
                    .contributions;
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&eval)?);
    } else {
        print!("{}", report::render(&eval));
    }
    Ok(ExitCode::SUCCESS)
}
