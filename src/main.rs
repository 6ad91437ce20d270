//! CLI entry point: parse arguments, set up logging, hand over to the library.

use std::process::ExitCode;

use clap::Parser;
use event_dedup::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    event_dedup::telemetry::init_cli_logging(&cli.log_level);
    cli::run(cli)
}
