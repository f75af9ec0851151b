//! `qapms-eval`: scores qapms's pattern detection against public benchmarks with ground truth.
//!
//! Each subcommand takes any directory or file in the benchmark's own format, runs ONE fixed
//! configuration over it (no tuning per dataset) and prints per-item lines and a summary line.
//! Each mode lives in its own module; `main` only parses and dispatches.
//! - `templates DATASET_DIR [--predictions DIR]`: Loghub layout, grouping and parsing accuracy;
//! - `templates-bench FILE`: template mining speed (lines/s, per-line p50/p99);
//! - `anomaly DATASET_DIR [--predictions DIR]`: NAB layout, NAB score for three profiles;
//! - `flaky FILE.csv [--first N]`: attempt histories, a verdict per test.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool for the benchmarks: printing is its interface"
)]

mod anomaly;
mod flaky;
mod templates;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Evaluate qapms pattern detection on datasets with ground truth.
#[derive(Debug, Parser)]
#[command(name = "qapms-eval", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Template mining: grouping and parsing accuracy on Loghub-format systems.
    Templates(templates::TemplatesArgs),
    /// Template mining speed: mine the lines of one file, report lines/s and per-line p50/p99.
    TemplatesBench(templates::BenchArgs),
    /// NAB score of the anomaly detector over a directory in NAB layout.
    Anomaly {
        /// Directory with `data/<category>/<series>.csv`, `labels/combined_windows.json` and
        /// `config/profiles.json`.
        dataset_dir: PathBuf,
        /// Also write NAB results files (`timestamp,value,anomaly_score,label`) here.
        #[arg(long)]
        predictions: Option<PathBuf>,
    },
    /// Flakiness verdicts for attempt histories (`test,run_index,outcome`).
    Flaky {
        /// CSV file with columns `test,run_index,outcome` (pass, fail or error).
        file: PathBuf,
        /// Use only the first N runs of each test.
        #[arg(long)]
        first: Option<usize>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Templates(args) => templates::run(&args),
        Command::TemplatesBench(args) => templates::bench(&args),
        Command::Anomaly {
            dataset_dir,
            predictions,
        } => anomaly::run(&dataset_dir, predictions.as_deref()),
        Command::Flaky { file, first } => flaky::run(&file, first),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("qapms-eval: error: {message}");
            ExitCode::FAILURE
        }
    }
}
