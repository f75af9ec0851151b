//! Times `results::import_junit` of one file into a fresh store, for `junit_compare.py`.
//!
//! Usage: `junit_import_timer FILE [STORE_URL]`. Without a URL the store is a new `SQLite`
//! file in a temporary directory (WAL, `synchronous=FULL`, as shipped). Give a
//! `postgres://…?schema=<fresh name>` URL to measure `PostgreSQL`. Prints one line:
//! `parse_ms=<float> import_ms=<float> tests=<n> attempts=<n> peak_rss_kb=<n>`. `parse_ms` is a
//! parse-only pass first (the streaming reader and the identity keys, nothing kept), which
//! shows how much of the import is the parse. `import_ms` covers parsing, identity
//! resolution, inserts and the commit; opening the store and migrating do not count.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool for the benchmarks: printing is its interface"
)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use qapms_core::results::{ImportOptions, JunitReader, import_junit, to_imported};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(file) = args.next().map(PathBuf::from) else {
        eprintln!("usage: junit_import_timer FILE [STORE_URL]");
        return ExitCode::FAILURE;
    };
    let url = args.next();
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        eprintln!("cannot start a runtime");
        return ExitCode::FAILURE;
    };
    let Ok(dir) = tempfile::tempdir() else {
        eprintln!("cannot create a temporary directory");
        return ExitCode::FAILURE;
    };
    let url = url.unwrap_or_else(|| format!("sqlite://{}/bench.db", dir.path().display()));
    let parse = match parse_only(&file) {
        Ok(elapsed) => elapsed,
        Err(e) => {
            eprintln!("parse failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = rt.block_on(async {
        let store = qapms_core::store::open(&url).await?;
        let start = Instant::now();
        let summary = import_junit(store.as_ref(), &[file], &ImportOptions::default()).await?;
        let elapsed = start.elapsed();
        store.close().await;
        Ok::<_, qapms_core::Error>((summary, elapsed))
    });
    match outcome {
        Ok((summary, elapsed)) => {
            println!(
                "parse_ms={:.1} import_ms={:.1} tests={} attempts={} peak_rss_kb={}",
                parse.as_secs_f64() * 1000.0,
                elapsed.as_secs_f64() * 1000.0,
                summary.tests,
                summary.attempts,
                peak_rss_kb()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("import failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Streams the file through the import's reader and identity keys, keeping nothing.
fn parse_only(file: &std::path::Path) -> Result<std::time::Duration, String> {
    let options = ImportOptions::default();
    let start = Instant::now();
    let handle = std::fs::File::open(file).map_err(|e| e.to_string())?;
    let mut reader = JunitReader::new(
        std::io::BufReader::with_capacity(256 << 10, handle),
        options.limits,
    );
    reader.header().map_err(|e| e.message)?;
    while let Some(case) = reader.next_case().map_err(|e| e.message)? {
        std::hint::black_box(to_imported(case, &options.links));
    }
    Ok(start.elapsed())
}

/// The process's peak resident set (Linux `VmHWM`), 0 where unknown.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
