//! `event-dedup dedup PATH... [--config FILE] [--output FILE]`: the whole pipeline
//! offline, writing `{"canonical_events": [...], "stats": {...}}`.
//!
//! Everything but `stats.timings` is byte-identical for the same events, whatever the
//! order of files or events. Exit code 1 when no input file is usable.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use super::config_args::{load_config, load_word_lists};
use super::input::{self, RejectedFile};
use super::MatchingArgs;
use crate::matching::{self, PipelineResult, PipelineStats, ReviewConstraints};

#[derive(Debug, Args)]
pub struct DedupArgs {
    /// Event files or directories (every `*.json` directly inside).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub matching: MatchingArgs,
    /// Write the JSON here instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Also include every pair decision with its explanation.
    #[arg(long)]
    pub decisions: bool,
}

#[derive(Serialize)]
struct Output<'a> {
    canonical_events: Canonicals<'a>,
    stats: OutputStats<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decisions: Option<Vec<crate::model::PairDecision>>,
    rejected_files: Vec<RejectedFile<'a>>,
}

#[derive(Serialize)]
struct OutputStats<'a> {
    files_read: usize,
    files_used: usize,
    files_rejected: usize,
    files_duplicate_content: usize,
    events_updated_by_later_files: usize,
    #[serde(flatten)]
    pipeline: &'a PipelineStats,
}

/// Serializes canonical events one at a time, so a large run never holds them all.
struct Canonicals<'a>(&'a PipelineResult);

impl Serialize for Canonicals<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.0.canonical_count()))?;
        for i in 0..self.0.canonical_count() {
            seq.serialize_element(&self.0.canonical(i))?;
        }
        seq.end()
    }
}

pub fn run(args: &DedupArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(&args.matching)?;
    let lists = load_word_lists(&args.matching)?;
    let input = input::load(&args.paths)?;
    if input.files_used == 0 {
        for r in &input.rejected {
            eprintln!("rejected {}: {}", r.file, r.message);
        }
        eprintln!(
            "error: no usable input file among {} read",
            input.files_read
        );
        return Ok(ExitCode::FAILURE);
    }
    let events = input.events.clone();
    let result = matching::run(events, &config, &lists, &ReviewConstraints::default());
    let output = Output {
        canonical_events: Canonicals(&result),
        stats: OutputStats {
            files_read: input.files_read,
            files_used: input.files_used,
            files_rejected: input.rejected.len(),
            files_duplicate_content: input.duplicate_files.len(),
            events_updated_by_later_files: input.updated_events,
            pipeline: &result.stats,
        },
        decisions: args
            .decisions
            .then(|| result.pairs.iter().map(|p| result.explain(p)).collect()),
        rejected_files: input.rejected_summary(),
    };
    match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut w = std::io::BufWriter::new(file);
            serde_json::to_writer_pretty(&mut w, &output)?;
            w.write_all(b"\n")?;
            w.flush()?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            serde_json::to_writer_pretty(&mut w, &output)?;
            w.write_all(b"\n")?;
            w.flush()?;
        }
    }
    for r in &input.rejected {
        eprintln!("rejected {}: {}", r.file, r.message);
    }
    Ok(ExitCode::SUCCESS)
}
