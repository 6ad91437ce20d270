//! `event-dedup evaluate PATH... --truth FILE`: precision, recall and F1 of the
//! pipeline against labelled data, overall and per category, with the worst errors
//! explained.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::config_args::{load_config, load_word_lists};
use super::input;
use super::MatchingArgs;
use crate::evaluation::{self, report, GroundTruth};
use crate::matching::{self, ReviewConstraints};

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Event files or directories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Ground-truth file (`event-groundtruth/1`).
    #[arg(long)]
    pub truth: PathBuf,
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
    let truth = GroundTruth::load(&args.truth)?;
    let input = input::load(&args.paths)?;
    if input.files_used == 0 {
        eprintln!(
            "error: no usable input file among {} read",
            input.files_read
        );
        return Ok(ExitCode::FAILURE);
    }
    let result = matching::run(input.events, &config, &lists, &ReviewConstraints::default());
    let eval = evaluation::evaluate(&result, &truth, args.worst);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&eval)?);
    } else {
        print!("{}", report::render(&eval));
    }
    Ok(ExitCode::SUCCESS)
}
