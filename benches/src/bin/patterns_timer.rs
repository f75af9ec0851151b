//! Times `qapms_core::patterns::analyze` over a store filled by `gen_pattern_store`.
//!
//! Usage: `patterns_timer STORE_URL [REPEATS]` (default 3). The first pass persists everything
//! (every failure gets its cluster; the cold case), the next passes persist again (the steady
//! state: only changed assignments are written, alerts dedup) and one read-only pass follows
//! (what `qapms patterns report` does). Prints one line per pass:
//! `pass=<n> persist=<bool> ms=<float> attempts=<n> failures=<n> clusters=<n> flaky=<n>
//! reassigned=<n>` and then `peak_rss_kb=<n>`. Opening the store does not count.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool for the benchmarks: printing is its interface"
)]

use std::process::ExitCode;
use std::time::Instant;

use qapms_core::patterns::{AnalyzeOptions, analyze};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(url) = args.next() else {
        eprintln!("usage: patterns_timer STORE_URL [REPEATS]");
        return ExitCode::FAILURE;
    };
    let repeats: u32 = args.next().and_then(|v| v.parse().ok()).unwrap_or(3);
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        eprintln!("cannot start a runtime");
        return ExitCode::FAILURE;
    };
    let outcome = rt.block_on(async {
        let store = qapms_core::store::open(&url).await?;
        for pass in 0..=repeats {
            let persist = pass < repeats;
            let options = AnalyzeOptions {
                persist,
                ..AnalyzeOptions::default()
            };
            let start = Instant::now();
            let analysis = analyze(store.as_ref(), &options).await?;
            let elapsed = start.elapsed();
            println!(
                "pass={pass} persist={persist} ms={:.1} attempts={} failures={} clusters={} flaky={} reassigned={}",
                elapsed.as_secs_f64() * 1000.0,
                analysis.attempts,
                analysis.failures,
                analysis.clusters.len(),
                analysis.tests.iter().filter(|t| t.verdict == "flaky").count(),
                analysis.reassigned,
            );
        }
        store.close().await;
        Ok::<_, qapms_core::Error>(())
    });
    println!("peak_rss_kb={}", peak_rss_kb());
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("analysis failed: {e}");
            ExitCode::FAILURE
        }
    }
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
