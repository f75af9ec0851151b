//! Writes the generated `JUnit` report for the import benchmark.
//!
//! Usage: `gen_junit FILE [CASES]` (default 100000). Prints `cases=<n> attempts=<n> bytes=<n>`.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool for the benchmarks: printing is its interface"
)]

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use qapms_benches::junit_gen::write_junit;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(file) = args.next().map(PathBuf::from) else {
        eprintln!("usage: gen_junit FILE [CASES]");
        return ExitCode::FAILURE;
    };
    let cases: u64 = args
        .next()
        .and_then(|c| c.to_str()?.parse().ok())
        .unwrap_or(100_000);
    let result = std::fs::File::create(&file).and_then(|f| {
        let mut out = BufWriter::new(f);
        let shape = write_junit(&mut out, cases)?;
        out.flush()?;
        Ok(shape)
    });
    match result {
        Ok(shape) => {
            let bytes = std::fs::metadata(&file).map_or(0, |m| m.len());
            println!(
                "cases={} attempts={} bytes={bytes}",
                shape.cases, shape.attempts
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot write {}: {e}", file.display());
            ExitCode::FAILURE
        }
    }
}
