//! Times `config::load` (read, parse, validate, type) of one file, for `config_compare.py`.
//!
//! Usage: `config_load_timer FILE [RUNS]`. Loads the file RUNS times (default 50) after one
//! warm-up load and prints `median_ms=<float> runs=<n> errors=<n> lines=<n>`, one line, so a script
//! can parse it. An invalid file is timed too: collecting every error is the `validate` path.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool for the benchmarks: printing is its interface"
)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use qapms_benches::config_gen::bench_env;
use qapms_core::config::{self, LoadOptions};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(file) = args.next().map(PathBuf::from) else {
        eprintln!("usage: config_load_timer FILE [RUNS]");
        return ExitCode::FAILURE;
    };
    let runs: usize = args
        .next()
        .and_then(|r| r.to_str()?.parse().ok())
        .unwrap_or(50)
        .max(1);
    let opts = LoadOptions {
        path: Some(file.clone()),
        profile: None,
        cwd: std::env::current_dir().unwrap_or_default(),
        env: bench_env(),
    };
    let lines = std::fs::read_to_string(&file).map_or(0, |t| t.lines().count());
    // Warm-up: the schema is compiled once per process, as in a long-running server or LSP.
    let errors = match config::load(&opts) {
        Ok(_) => 0,
        Err(e) => e.errors().count(),
    };
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let result = config::load(&opts);
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(result.is_ok());
    }
    times.sort_by(f64::total_cmp);
    let median = if runs % 2 == 1 {
        times[runs / 2]
    } else {
        f64::midpoint(times[runs / 2 - 1], times[runs / 2])
    };
    println!("median_ms={median:.3} runs={runs} errors={errors} lines={lines}");
    ExitCode::SUCCESS
}
