//! CLI entry point: parse arguments, set up logging, hand over to the library.

use std::process::ExitCode;

use clap::Parser;
use event_dedup::cli::{self, Cli};

/// The pipeline allocates many small strings per event; mimalloc is markedly faster
/// than the system allocator for that pattern.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The service logs bunyan JSON on stdout, set up by `run` from its settings.
    if !matches!(cli.command, cli::Command::Run(_)) {
        event_dedup::telemetry::init_cli_logging(&cli.log_level);
    }
    cli::run(cli)
}
