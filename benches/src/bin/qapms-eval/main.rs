//! `qapms-eval`: accuracy (and speed) evaluation of qapms's pattern detection against public
//! benchmarks with ground truth.
//!
//! Each mode is a subcommand in its own module; `main` only parses and dispatches, so adding a
//! mode is one enum variant and one match arm.

#![expect(
    clippy::print_stderr,
    reason = "a command-line evaluation tool: errors go to stderr; data goes through stdout locks"
)]

mod templates;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Templates(args) => templates::run(&args),
        Command::TemplatesBench(args) => templates::bench(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("qapms-eval: error: {message}");
            ExitCode::FAILURE
        }
    }
}
