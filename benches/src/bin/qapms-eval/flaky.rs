//! `qapms-eval flaky FILE.csv [--first N]`: a flakiness verdict per test from attempt
//! histories with columns `test,run_index,outcome`.
//!
//! Rows of one test are ordered by `run_index` (stable, so attempts of the same run keep their
//! file order and count as retries of that run). With `--first N` only the first N distinct
//! runs of each test are used, which is how the acceptance check judges a verdict made early
//! against the long-run behaviour.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use qapms_core::patterns::flaky::{Attempt, FlakinessStats, FlakyConfig, Outcome, Verdict};

pub(crate) fn run(file: &Path, first: Option<usize>) -> Result<(), String> {
    let text = fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut lines = text.lines().enumerate();
    let header: Vec<String> = lines
        .next()
        .map(|(_, h)| {
            h.split(',')
                .map(|c| c.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let column = |name: &str| {
        header
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| format!("{}: no `{name}` column", file.display()))
    };
    let (test_col, run_col, outcome_col) =
        (column("test")?, column("run_index")?, column("outcome")?);
    let mut tests: BTreeMap<String, Vec<(i64, Outcome)>> = BTreeMap::new();
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').collect();
        let cell = |i: usize| {
            cells
                .get(i)
                .map(|c| c.trim())
                .ok_or_else(|| format!("{}:{}: too few columns", file.display(), n + 1))
        };
        let run: i64 = cell(run_col)?
            .parse()
            .map_err(|e| format!("{}:{}: run_index: {e}", file.display(), n + 1))?;
        let outcome = Outcome::parse(cell(outcome_col)?).ok_or_else(|| {
            format!(
                "{}:{}: outcome must be pass, fail or error",
                file.display(),
                n + 1
            )
        })?;
        tests
            .entry(cell(test_col)?.to_owned())
            .or_default()
            .push((run, outcome));
    }
    let config = FlakyConfig::default();
    let mut counts = [0_usize; 3];
    for (test, mut attempts) in tests {
        attempts.sort_by_key(|&(run, _)| run);
        let mut stats = FlakinessStats::new();
        let mut runs = 0;
        let mut previous_run = None;
        let mut retry = 0;
        for (run, outcome) in attempts {
            if previous_run == Some(run) {
                retry += 1;
            } else {
                runs += 1;
                if first.is_some_and(|n| runs > n) {
                    break;
                }
                retry = 0;
                previous_run = Some(run);
            }
            stats.record(Attempt {
                outcome,
                retry,
                condition: 0,
            });
        }
        let a = stats.assess(&config);
        counts[match a.verdict {
            Verdict::Flaky => 0,
            Verdict::Stable => 1,
            _ => 2,
        }] += 1;
        println!(
            "{test} {} score {:.3} [{:.3}, {:.3}] failure_rate {:.3} [{:.3}, {:.3}] attempts {} flips {}",
            a.verdict.as_str(),
            a.score,
            a.score_interval.0,
            a.score_interval.1,
            a.failure_rate,
            a.failure_interval.0,
            a.failure_interval.1,
            a.runs,
            a.flips
        );
    }
    println!(
        "flaky {} stable {} not_enough_runs {} over {} tests",
        counts[0],
        counts[1],
        counts[2],
        counts.iter().sum::<usize>()
    );
    Ok(())
}
