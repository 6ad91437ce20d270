//! Command-line surfaces. `main.rs` only parses arguments and calls [`run`]; every
//! command lives in its own module so it can be called from tests.

pub mod api;
pub mod bench;
mod bench_incremental;
pub mod config_args;
pub mod database;
pub mod dedup;
pub mod evaluate;
pub mod export;
pub mod generate;
pub mod input;
pub mod migrate;
pub mod run;
pub mod sets;
pub mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// event-dedup: one clean, de-duplicated catalogue of events from many sources.
#[derive(Debug, Parser)]
#[command(name = "event-dedup", version, about, arg_required_else_help = true)]
pub struct Cli {
    /// Log level for the offline commands (error, warn, info, debug).
    #[arg(
        long,
        global = true,
        default_value = "warn",
        env = "EVENT_DEDUP_LOG_LEVEL"
    )]
    pub log_level: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// De-duplicate event files offline (no database) and write canonical events as JSON.
    Dedup(dedup::DedupArgs),
    /// Run the pipeline on labelled data and report precision, recall and F1.
    Evaluate(evaluate::EvaluateArgs),
    /// Fit the learned match model on labelled sets (and reviewers' decisions).
    Train(train::TrainArgs),
    /// Write realistic synthetic event files plus ground truth.
    Generate(generate::GenerateArgs),
    /// Time the pipeline stage by stage on generated data of growing size.
    Bench(bench::BenchArgs),
    /// Run the service: watch the event directory, ingest, match, persist.
    Run(run::RunArgs),
    /// Write canonical events as input-format part files (200 events each).
    Export(export::ExportArgs),
    /// Serve only the REST API (needs EVENT_DEDUP_DATABASE_URL; the worker runs `run`).
    Api(api::ApiArgs),
    /// Apply the database schema migrations and exit.
    Migrate(migrate::MigrateArgs),
    /// One benchmark measurement in its own process (used by `bench`).
    #[command(hide = true)]
    BenchRun(bench::BenchRunArgs),
}

/// Matching config and word-list options shared by the offline commands.
#[derive(Debug, Args, Clone)]
pub struct MatchingArgs {
    /// Matching config file (TOML). Default: config/matching.toml when present, else
    /// the built-in defaults (which equal the shipped file).
    #[arg(long, env = "EVENT_DEDUP_MATCHING_CONFIG_PATH")]
    pub config: Option<PathBuf>,
    /// Override one config key, e.g. `--set title.compare_on=raw_casefold`
    /// (repeatable; the value is a TOML literal, bare words are strings).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Prefix lists (TOML). Default: the bundled list.
    #[arg(long, env = "EVENT_DEDUP_PREFIXES_CONFIG_PATH")]
    pub prefixes: Option<PathBuf>,
    /// Dialect synonym groups (TOML). Default: the bundled list.
    #[arg(long, env = "EVENT_DEDUP_SYNONYMS_PATH")]
    pub synonyms: Option<PathBuf>,
    /// City alias table (TOML). Default: the bundled table.
    #[arg(long, env = "EVENT_DEDUP_CITY_ALIASES_PATH")]
    pub city_aliases: Option<PathBuf>,
    /// Learned match model (JSON, from `event-dedup train`). Default: the bundled model.
    #[arg(long, env = "EVENT_DEDUP_MODEL_PATH")]
    pub model: Option<PathBuf>,
}

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Dedup(args) => dedup::run(&args),
        Command::Evaluate(args) => evaluate::run(&args),
        Command::Train(args) => train::run(&args),
        Command::Generate(args) => generate::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::BenchRun(args) => bench::run_child(&args),
        Command::Run(args) => run::run(&args),
        Command::Api(args) => api::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Migrate(args) => migrate::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
