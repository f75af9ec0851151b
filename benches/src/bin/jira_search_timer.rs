//! Times a full JQL search through the core Jira client against `jira_mock`.
//!
//! Usage: `jira_search_timer BASE_URL [--runs N]`. Each run fetches and parses every issue of
//! project BENCH with the fields a ticket needs (`TICKET_FIELDS`), then builds the `Ticket` for
//! each one, as sync does. Prints one line per run and a summary:
//! `issues=<n> median_ms=<f> issues_per_s=<f> cpu_ms_per_page=<f>`, where CPU is this
//! process's user+system time (from /proc) divided by the pages fetched.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool for the benchmarks: printing is its interface"
)]

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use futures::TryStreamExt as _;
use qapms_core::integrations::jira::{Jira, to_ticket};
use secrecy::SecretString;

#[derive(Parser)]
struct Args {
    base_url: String,
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

/// User plus system CPU time of this process, in milliseconds (Linux `/proc/self/stat`).
fn cpu_ms() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    (ticks(11) + ticks(12)) * 10.0
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    else {
        eprintln!("cannot start a runtime");
        return ExitCode::FAILURE;
    };
    let jira = match Jira::builder(args.base_url.clone())
        .basic_auth("bench@example.com", SecretString::from("bench-token"))
        .build()
    {
        Ok(j) => j,
        Err(e) => {
            eprintln!("cannot build the client: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Ok(site) = url::Url::parse(&args.base_url) else {
        eprintln!("bad base URL");
        return ExitCode::FAILURE;
    };
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    let mut count = 0;
    for run in 0..args.runs {
        let cpu_before = cpu_ms();
        let start = Instant::now();
        let result = rt.block_on(async {
            let issues: Vec<_> = jira
                .issues()
                .search("project = BENCH")
                .stream()
                .try_collect()
                .await?;
            let tickets = issues
                .into_iter()
                .map(|i| to_ticket(i, &site))
                .collect::<qapms_core::Result<Vec<_>>>()?;
            Ok::<_, qapms_core::Error>(tickets.len())
        });
        let elapsed = start.elapsed().as_secs_f64() * 1000.0;
        let used = cpu_ms() - cpu_before;
        match result {
            Ok(n) => {
                count = n;
                let pages = n.div_ceil(100).max(1) as f64;
                println!(
                    "run {run}: issues={n} ms={elapsed:.1} cpu_ms_per_page={:.3}",
                    used / pages
                );
                times.push(elapsed);
                cpu.push(used / pages);
            }
            Err(e) => {
                eprintln!("search failed: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    times.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "issues={count} median_ms={median:.1} issues_per_s={:.0} cpu_ms_per_page={:.3}",
        count as f64 / (median / 1000.0),
        cpu[cpu.len() / 2]
    );
    ExitCode::SUCCESS
}
