//! Fills a store with generated test history for `patterns_timer`.
//!
//! Usage: `gen_pattern_store STORE_URL [RESULTS] [TESTS]` (defaults 1000000 and 10000), e.g.
//! `gen_pattern_store sqlite:///tmp/patterns.db`. Prints
//! `tests=<n> runs=<n> results=<n> failures=<n> ms=<float>`.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool for the benchmarks: printing is its interface"
)]

use std::process::ExitCode;
use std::time::Instant;

use qapms_benches::pattern_gen::generate;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(url) = args.next() else {
        eprintln!("usage: gen_pattern_store STORE_URL [RESULTS] [TESTS]");
        return ExitCode::FAILURE;
    };
    let results: u64 = args
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let tests: u64 = args.next().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        eprintln!("cannot start a runtime");
        return ExitCode::FAILURE;
    };
    let outcome = rt.block_on(async {
        let store = qapms_core::store::open(&url).await?;
        let start = Instant::now();
        let shape = generate(store.as_ref(), results, tests).await?;
        store.close().await;
        Ok::<_, qapms_core::Error>((shape, start.elapsed()))
    });
    match outcome {
        Ok((shape, elapsed)) => {
            println!(
                "tests={} runs={} results={} failures={} ms={:.1}",
                shape.tests,
                shape.runs,
                shape.results,
                shape.failures,
                elapsed.as_secs_f64() * 1000.0
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("generation failed: {e}");
            ExitCode::FAILURE
        }
    }
}
