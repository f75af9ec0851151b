//! Times a full Jira sync through `qapms_core::sync` against `jira_mock`.
//!
//! Usage: `sync_timer BASE_URL [--runs N] [--store URL]`. Each run syncs project BENCH into a
//! fresh store (a new `SQLite` file in a temporary directory, WAL and `synchronous=FULL` as
//! shipped, unless `--store` names one): the JQL search with the ticket fields, the `Ticket`
//! of each issue, one transaction per 100-issue batch with its cursor and item map, and the
//! first sync's reconciliation listing. No search index, so the figure is the sync alone.
//! Prints one line per run and `issues=<n> median_ms=<f> issues_per_s=<f>`.

#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool for the benchmarks: printing is its interface"
)]

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use qapms_core::http::RetryPolicy;
use qapms_core::integrations::jira::Jira;
use qapms_core::sync::{CancelToken, SyncOutcome, Syncer};
use secrecy::SecretString;

#[derive(Parser)]
struct Args {
    base_url: String,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// A store URL instead of a fresh SQLite file per run.
    #[arg(long)]
    store: Option<String>,
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
    let mut times = Vec::new();
    let mut issues = 0;
    for run in 0..args.runs {
        let Ok(dir) = tempfile::tempdir() else {
            eprintln!("cannot create a temporary directory");
            return ExitCode::FAILURE;
        };
        let url = args
            .store
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/bench.db", dir.path().display()));
        let outcome = rt.block_on(async {
            let store = qapms_core::store::open(&url).await?;
            let jira = Jira::builder(args.base_url.clone())
                .basic_auth("bench@example.com", SecretString::from("bench-token"))
                .retry(RetryPolicy::none())
                .rate_limit(None)
                .build()?;
            let syncer = Syncer::new(store.clone()).jira(jira, vec!["BENCH".to_owned()]);
            let start = Instant::now();
            let report = syncer.run(&|_| {}, &CancelToken::new()).await;
            let elapsed = start.elapsed();
            store.close().await;
            Ok::<_, qapms_core::Error>((report, elapsed))
        });
        match outcome {
            Ok((report, elapsed)) => {
                let Some(jira) = report.integrations.first() else {
                    eprintln!("no report");
                    return ExitCode::FAILURE;
                };
                if jira.outcome != SyncOutcome::Ok {
                    eprintln!("sync failed: {:?}", jira.error);
                    return ExitCode::FAILURE;
                }
                issues = jira.counts.written;
                let ms = elapsed.as_secs_f64() * 1000.0;
                println!("run={run} ms={ms:.1} written={issues}");
                times.push(ms);
            }
            Err(e) => {
                eprintln!("sync failed: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times.get(times.len() / 2).copied().unwrap_or(f64::NAN);
    #[expect(
        clippy::cast_precision_loss,
        reason = "issue counts are far below 2^52"
    )]
    let rate = issues as f64 / (median / 1000.0);
    println!("issues={issues} median_ms={median:.1} issues_per_s={rate:.0}");
    ExitCode::SUCCESS
}
