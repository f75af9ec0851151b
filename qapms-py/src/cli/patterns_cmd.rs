//! `qapms patterns mine FILE|-`: template mining over a file or stdin;
//! `qapms patterns report` and `qapms patterns analyze`: the picture of failure clusters,
//! flaky tests and alerts from the store; `qapms patterns flaky` and `qapms patterns clusters`:
//! one part of that picture each (what `ws.patterns.flaky()` and `.clusters()` return);
//! `qapms alerts ack|resolve|mute|unmute|reopen ID`. Every command reads the `patterns`
//! section of the config: the miner's settings, anomaly detection and known-issue rules.
//!
//! `report` recomputes in memory without writing (a recompute over a million results takes
//! about a second), so what it prints is always current; `analyze` recomputes and persists the
//! clusters, assignments, Jira links and alerts in one transaction.
//!
//! Lines are read as bytes with a bounded buffer, so a 1 GB line without a newline costs
//! `max_line_bytes`, not 1 GB: the rest of such a line is counted and skipped, and the line is
//! mined with a `…[truncated N bytes]` marker. Invalid UTF-8 is replaced (lossy). Headers
//! (timestamp, level, component) are stripped generically unless `--keep-headers` is given.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use clap::Subcommand;
use qapms_core::model::RunId;
use qapms_core::patterns::alerts::{Alert, AlertAction, AlertFilter, AlertId};
use qapms_core::patterns::analyze::{Analysis, AnalyzeOptions, analyze};
use qapms_core::patterns::templates::{MinerConfig, TemplateMiner};
use qapms_core::store;
use serde_json::json;

use super::{CliError, Context, Output, runtime};

/// Room left below `max_line_bytes` for the truncation marker.
const MARKER_ROOM: usize = 48;

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum PatternsCommand {
    /// Mine templates from log lines or failure messages; print them with counts, most frequent first.
    Mine {
        /// The file to read, or `-` for stdin.
        file: PathBuf,
        /// Print JSON (an array of `{id, template, count}`).
        #[arg(long)]
        json: bool,
        /// Do not strip timestamp/level/component headers before mining.
        #[arg(long)]
        keep_headers: bool,
    },
    /// Print failure clusters with their labels, flaky tests and open alerts (computed now,
    /// nothing is written).
    Report {
        /// Print JSON: `{analysis, alerts}`.
        #[arg(long)]
        json: bool,
        /// Classify and flag clusters in this run (default: the latest run).
        #[arg(long, value_name = "RUN_ID")]
        run: Option<String>,
        /// Clusters and flaky tests shown at most (text output).
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Flaky tests, most flaky first, with score and 95% interval (computed now).
    Flaky {
        /// Print JSON (an array of tests).
        #[arg(long)]
        json: bool,
        /// Also list tests with failures but no flaky verdict (stable or not enough runs).
        #[arg(long)]
        all: bool,
    },
    /// Failure clusters with label, reason, known issue and Jira link (computed now).
    Clusters {
        /// Print JSON (an array of clusters).
        #[arg(long)]
        json: bool,
        /// Classify and flag clusters in this run (default: the latest run).
        #[arg(long, value_name = "RUN_ID")]
        run: Option<String>,
    },
    /// Recompute clusters, flakiness and alerts over every stored result and save them.
    Analyze {
        /// Print the analysis as JSON.
        #[arg(long)]
        json: bool,
        /// Classify and flag clusters in this run (default: the latest run).
        #[arg(long, value_name = "RUN_ID")]
        run: Option<String>,
    },
}

/// `qapms alerts …`: change an alert's state.
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum AlertsCommand {
    /// Acknowledge a new alert.
    Ack { id: String },
    /// Resolve an alert (it reopens if its pattern recurs).
    Resolve { id: String },
    /// Mute an alert, for good or for a while (`--hours`).
    Mute {
        id: String,
        #[arg(long)]
        hours: Option<u32>,
    },
    /// Unmute a muted alert.
    Unmute { id: String },
    /// Reopen a resolved alert.
    Reopen { id: String },
}

pub(crate) fn run(ctx: &Context, cmd: PatternsCommand, out: &mut Output) -> Result<i32, CliError> {
    match cmd {
        PatternsCommand::Mine {
            file,
            json,
            keep_headers,
        } => mine(ctx, &file, json, keep_headers, out),
        PatternsCommand::Report { json, run, limit } => {
            recompute(ctx, run.as_deref(), false, json, limit, out)
        }
        PatternsCommand::Analyze { json, run } => {
            recompute(ctx, run.as_deref(), true, json, usize::MAX, out)
        }
        PatternsCommand::Flaky { json, all } => flaky(ctx, json, all, out),
        PatternsCommand::Clusters { json, run } => clusters(ctx, run.as_deref(), json, out),
    }
}

/// Recomputes without writing, as `report` does.
fn analysis(ctx: &Context, run: Option<&str>) -> Result<Analysis, CliError> {
    let loaded = ctx.load()?;
    let url = loaded.config.store.resolved_url(&loaded.paths);
    let mut options = AnalyzeOptions::from_config(&loaded.config.patterns)?;
    options.persist = false;
    options.focus_run = run.map(str::parse::<RunId>).transpose()?;
    let rt = runtime()?;
    Ok(rt.block_on(async {
        let store = store::open(&url).await?;
        let analysis = analyze(store.as_ref(), &options).await;
        store.close().await;
        analysis
    })?)
}

fn flaky(ctx: &Context, json: bool, all: bool, out: &mut Output) -> Result<i32, CliError> {
    let analysis = analysis(ctx, None)?;
    let tests: Vec<_> = analysis
        .tests
        .iter()
        .filter(|t| all || t.verdict == "flaky")
        .collect();
    if json {
        out.line(&json!(tests).to_string());
        return Ok(0);
    }
    if tests.is_empty() {
        out.note("no flaky tests");
    }
    for t in tests {
        let score = if t.verdict == "not enough runs" {
            format!("not enough runs ({} of them)", t.runs)
        } else {
            format!(
                "{:<7} {:.2} [{:.2}, {:.2}]",
                t.verdict, t.score, t.score_interval.0, t.score_interval.1
            )
        };
        out.line(&format!(
            "{score}  {}  ({} runs, {} failures, {} passed on retry)",
            t.external_id, t.runs, t.failures, t.passes_on_retry
        ));
    }
    Ok(0)
}

fn clusters(
    ctx: &Context,
    run: Option<&str>,
    json: bool,
    out: &mut Output,
) -> Result<i32, CliError> {
    let analysis = analysis(ctx, run)?;
    if json {
        out.line(&json!(analysis.clusters).to_string());
        return Ok(0);
    }
    if analysis.clusters.is_empty() {
        out.note("no failure clusters");
    }
    print_clusters(&analysis, usize::MAX, out);
    Ok(0)
}

fn recompute(
    ctx: &Context,
    run: Option<&str>,
    persist: bool,
    json: bool,
    limit: usize,
    out: &mut Output,
) -> Result<i32, CliError> {
    let loaded = ctx.load()?;
    let url = loaded.config.store.resolved_url(&loaded.paths);
    let mut options = AnalyzeOptions::from_config(&loaded.config.patterns)?;
    options.persist = persist;
    options.focus_run = run.map(str::parse::<RunId>).transpose()?;
    let rt = runtime()?;
    let (analysis, alerts) = rt.block_on(async {
        let store = store::open(&url).await?;
        let analysis = analyze(store.as_ref(), &options).await;
        let alerts = store.list_alerts(&AlertFilter::open()).await;
        store.close().await;
        Ok::<_, qapms_core::Error>((analysis?, alerts?))
    })?;
    if json {
        out.line(&json!({"analysis": analysis, "alerts": alerts.items}).to_string());
        return Ok(0);
    }
    print_report(&analysis, &alerts.items, alerts.total_items, limit, out);
    if persist {
        out.note(&format!(
            "saved {} clusters; {} attempts reassigned; {} alerts raised or updated",
            analysis.clusters.len(),
            analysis.reassigned,
            analysis.raised.len()
        ));
    }
    Ok(0)
}

fn print_report(
    analysis: &Analysis,
    alerts: &[Alert],
    total_alerts: u64,
    limit: usize,
    out: &mut Output,
) {
    let focus = analysis
        .focus_run
        .map_or_else(|| "no runs".to_owned(), |r| format!("run {r}"));
    out.line(&format!(
        "{} runs, {} attempts, {} failures in {} clusters; labels for {focus}",
        analysis.runs,
        analysis.attempts,
        analysis.failures,
        analysis.clusters.len()
    ));
    out.line("");
    out.line("Failure clusters");
    print_clusters(analysis, limit, out);
    out.line("");
    out.line("Tests with failures (flakiness score, 95% interval)");
    for t in analysis.tests.iter().take(limit) {
        let score = if t.verdict == "not enough runs" {
            format!("not enough runs ({} of them)", t.runs)
        } else {
            format!(
                "{:<7} {:.2} [{:.2}, {:.2}]",
                t.verdict, t.score, t.score_interval.0, t.score_interval.1
            )
        };
        out.line(&format!(
            "  {score}  {}  ({} runs, {} failures, {} passed on retry)",
            t.external_id, t.runs, t.failures, t.passes_on_retry
        ));
    }
    if analysis.tests.len() > limit {
        out.line(&format!("  … {} more", analysis.tests.len() - limit));
    }
    out.line("");
    out.line(&format!("Open alerts ({total_alerts})"));
    for a in alerts {
        out.line(&format!(
            "  {}  {:<8} {:<16} {:<12} {}",
            a.id,
            a.severity.as_str(),
            a.kind.as_str(),
            a.state.as_str(),
            a.title
        ));
    }
}

/// One entry per cluster: key, label, counts and flags, then its template and the reason.
fn print_clusters(analysis: &Analysis, limit: usize, out: &mut Output) {
    for c in analysis.clusters.iter().take(limit) {
        let mut flags = String::new();
        if c.new_in_run {
            flags.push_str(" NEW");
        }
        if let Some(k) = &c.known_issue {
            let _ = write!(flags, " known:{k}");
        } else if let Some(l) = &c.link {
            let _ = write!(
                flags,
                " jira:{} ({}, {:.2})",
                l.issue,
                l.source.as_str(),
                l.score
            );
        }
        out.line(&format!(
            "  {}  {:<16} {:>6} failures {:>5} tests {:>4} runs{}",
            c.shape.key,
            c.classification.label.as_str(),
            c.failures,
            c.tests,
            c.runs,
            flags
        ));
        out.line(&format!("      {}", c.shape.template));
        out.line(&format!("      why: {}", c.classification.reason));
    }
    if analysis.clusters.len() > limit {
        out.line(&format!("  … {} more", analysis.clusters.len() - limit));
    }
}

pub(crate) fn run_alerts(
    ctx: &Context,
    cmd: AlertsCommand,
    out: &mut Output,
) -> Result<i32, CliError> {
    let (id, action) = match cmd {
        AlertsCommand::Ack { id } => (id, AlertAction::Acknowledge),
        AlertsCommand::Resolve { id } => (id, AlertAction::Resolve),
        AlertsCommand::Mute { id, hours } => (
            id,
            AlertAction::Mute {
                until: hours.map(|h| {
                    qapms_core::model::utc_now()
                        + std::time::Duration::from_secs(u64::from(h) * 3600)
                }),
            },
        ),
        AlertsCommand::Unmute { id } => (id, AlertAction::Unmute),
        AlertsCommand::Reopen { id } => (id, AlertAction::Reopen),
    };
    let id: AlertId = id.parse()?;
    let loaded = ctx.load()?;
    let url = loaded.config.store.resolved_url(&loaded.paths);
    let rt = runtime()?;
    let alert = rt.block_on(async {
        let store = store::open(&url).await?;
        let alert = store.update_alert(&id, action, None).await;
        store.close().await;
        alert
    })?;
    out.line(&format!(
        "{} is now {}: {}",
        alert.id,
        alert.state.as_str(),
        alert.title
    ));
    Ok(0)
}

fn mine(
    ctx: &Context,
    file: &std::path::Path,
    json: bool,
    keep_headers: bool,
    out: &mut Output,
) -> Result<i32, CliError> {
    let reader: Box<dyn Read> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(
            std::fs::File::open(file)
                .map_err(|e| CliError::new(format!("cannot open {}: {e}", file.display())))?,
        )
    };
    // `patterns.templates` of the config, so `mine` groups lines as the analysis does.
    let loaded = ctx.load()?;
    let config = MinerConfig {
        strip_headers: !keep_headers,
        ..AnalyzeOptions::from_config(&loaded.config.patterns)?.miner
    };
    let keep = config.max_line_bytes.saturating_sub(MARKER_ROOM);
    let mut miner = TemplateMiner::new(config);
    let mut lines = 0u64;
    for_each_line(BufReader::new(reader), keep, |line, dropped| {
        lines += 1;
        if dropped == 0 {
            miner.add_bytes(line);
        } else {
            let mut text = String::from_utf8_lossy(line).into_owned();
            let _ = write!(text, " …[truncated {dropped} bytes]");
            miner.add(&text);
        }
    })
    .map_err(|e| CliError::new(format!("cannot read {}: {e}", file.display())))?;
    let mut templates: Vec<_> = miner.templates().collect();
    templates.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.text.cmp(b.text)));
    if json {
        let items: Vec<_> = templates
            .iter()
            .map(|t| json!({"id": t.id.to_string(), "template": t.text, "count": t.size}))
            .collect();
        out.line(&serde_json::Value::Array(items).to_string());
    } else {
        for t in &templates {
            out.line(&format!("{:>8}  {}  {}", t.size, t.id, t.text));
        }
        out.note(&format!(
            "{lines} lines, {} templates{}",
            templates.len(),
            if miner.evicted() > 0 {
                format!(" ({} evicted as least recently seen)", miner.evicted())
            } else {
                String::new()
            }
        ));
    }
    Ok(0)
}

/// Calls `f(line, dropped)` for each `\n`-separated line, keeping at most `max` bytes of it;
/// `dropped` counts the bytes beyond that. A trailing `\r` is removed.
fn for_each_line(
    mut reader: impl BufRead,
    max: usize,
    mut f: impl FnMut(&[u8], usize),
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut dropped = 0usize;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            if !buf.is_empty() || dropped > 0 {
                f(strip_cr(&buf), dropped);
            }
            return Ok(());
        }
        let newline = chunk.iter().position(|&b| b == b'\n');
        let take = newline.unwrap_or(chunk.len());
        let keep = take.min(max.saturating_sub(buf.len()));
        buf.extend_from_slice(&chunk[..keep]);
        dropped += take - keep;
        reader.consume(take + usize::from(newline.is_some()));
        if newline.is_some() {
            f(strip_cr(&buf), dropped);
            buf.clear();
            dropped = 0;
        }
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::for_each_line;

    #[test]
    fn long_lines_are_bounded() {
        let mut input = b"short\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 10_000));
        input.extend_from_slice(b"\nlast");
        let mut seen = Vec::new();
        for_each_line(&input[..], 100, |line, dropped| {
            seen.push((line.len(), dropped));
        })
        .unwrap();
        assert_eq!(seen, vec![(5, 0), (100, 9_900), (4, 0)]);
    }
}
