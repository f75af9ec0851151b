//! `qapms timer start|stop|status [TICKET]`, `qapms time report|add|keep-idle|export`.
//!
//! Timers started here run on a ticket (default: the one the git branch names) and stop any
//! other timer of the user; workflow timers start and stop with workflow steps on their own.
//! Dates are UTC: `--from 2025-03-01` means midnight UTC, or give RFC 3339 (`2025-03-01T09:00:00Z`).

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};
use qapms_core::config::HumanDuration;
use qapms_core::model::{IssueKey, TimeHistoryFilter, utc_now};
use qapms_core::tracking::{self, ManualEntry, Tracker};

use super::workflow_cmd::{Common, Session};
use super::{CliError, Context, Output, runtime};

#[derive(Debug, Clone, Args)]
pub(crate) struct TimerArgs {
    #[command(subcommand)]
    command: TimerCommand,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Clone, Subcommand)]
enum TimerCommand {
    /// Start a timer on a ticket (default: from the git branch).
    Start { ticket: Option<String> },
    /// Stop your timer and record the time.
    Stop,
    /// Show your running timer.
    Status,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct TimeArgs {
    #[command(subcommand)]
    command: TimeCommand,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Clone, Subcommand)]
enum TimeCommand {
    /// Time by ticket, step, day and source; corrections applied.
    Report {
        /// Whose time (default: yours); `all` for everyone.
        #[arg(long = "for", value_name = "USER")]
        of: Option<String>,
        #[arg(long)]
        ticket: Option<String>,
        #[arg(long)]
        template: Option<String>,
        #[arg(long)]
        step: Option<String>,
        #[arg(long, value_parser = parse_time)]
        from: Option<DateTime<Utc>>,
        #[arg(long, value_parser = parse_time)]
        to: Option<DateTime<Utc>>,
    },
    /// Add a manual entry, e.g. `qapms time add 1h30m --ticket PAY-1 --start 2025-03-01T09:00:00Z`.
    Add {
        #[arg(value_parser = parse_duration)]
        duration: std::time::Duration,
        #[arg(long)]
        ticket: Option<String>,
        /// When the work started (default: the duration ago).
        #[arg(long, value_parser = parse_time)]
        start: Option<DateTime<Utc>>,
        #[arg(long)]
        step: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Count an idle period after all.
    KeepIdle { id: String },
    /// Export time entries to Jira worklogs, with their own start time. Entries exported
    /// before are skipped, so running it twice creates no duplicate.
    Export {
        /// Whose time (default: yours); `all` for everyone.
        #[arg(long = "for", value_name = "USER")]
        of: Option<String>,
        #[arg(long)]
        ticket: Option<String>,
        #[arg(long, value_parser = parse_time)]
        from: Option<DateTime<Utc>>,
        #[arg(long, value_parser = parse_time)]
        to: Option<DateTime<Utc>>,
        /// Show what would be exported; send nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    HumanDuration::parse(text)
        .map(|d| d.0)
        .map_err(|e| format!("{e} (e.g. 45m, 1h30m)"))
}

pub(crate) fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .ok_or_else(|| "expected YYYY-MM-DD or an RFC 3339 time".to_owned())
}

fn ticket_or_branch(
    ctx: &Context,
    session: &Session,
    ticket: Option<String>,
) -> Result<Option<IssueKey>, CliError> {
    match ticket {
        Some(t) => Ok(Some(IssueKey::parse(&t)?)),
        None => Ok(tracking::current_branch(&ctx.cwd)?
            .and_then(|b| tracking::ticket_from_branch(&b, &session.projects()))),
    }
}

fn json_line<T: serde::Serialize>(out: &mut Output, value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string(value)
        .map_err(|e| CliError::new(format!("cannot write JSON: {e}")))?;
    out.line(&text);
    Ok(())
}

fn minutes(secs: i64) -> String {
    format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
}

pub(crate) fn run_timer(ctx: &Context, args: TimerArgs, out: &mut Output) -> Result<i32, CliError> {
    let rt = runtime()?;
    rt.block_on(async {
        let session = Session::open(ctx, args.common.user.as_deref()).await?;
        let tracker = Tracker::new(session.store.clone()).with_idle_gap(session.idle_gap());
        let me = session.user_id();
        let result = async {
            match args.command {
                TimerCommand::Start { ticket } => {
                    let ticket = ticket_or_branch(ctx, &session, ticket)?;
                    let timer = tracker.start(me, ticket).await?;
                    if args.common.json {
                        json_line(out, &timer)?;
                    } else {
                        out.line(&format!(
                            "timer started on {}",
                            timer.ticket.as_ref().map_or("no ticket", IssueKey::as_str)
                        ));
                    }
                }
                TimerCommand::Stop => {
                    let stopped = tracker.stop(me).await?;
                    if args.common.json {
                        json_line(
                            out,
                            &serde_json::json!({ "entry": stopped.entry, "idle": stopped.idle }),
                        )?;
                    } else {
                        let secs = stopped
                            .entry
                            .as_ref()
                            .map_or(0, |e| (e.ended_at - e.started_at).num_seconds());
                        out.line(&format!("timer stopped: {} recorded", minutes(secs)));
                        if let Some(idle) = &stopped.idle {
                            out.note(&format!(
                                "idle time not counted: {}; keep it with `qapms time keep-idle {}`",
                                minutes((idle.ended_at - idle.started_at).num_seconds()),
                                idle.id
                            ));
                        }
                    }
                }
                TimerCommand::Status => {
                    let timer = tracker.status(me).await?;
                    if args.common.json {
                        json_line(out, &timer)?;
                    } else if let Some(t) = timer {
                        out.line(&format!(
                            "running on {}{} for {}",
                            t.ticket.as_ref().map_or("no ticket", IssueKey::as_str),
                            t.step
                                .as_deref()
                                .map(|s| format!(" / {s}"))
                                .unwrap_or_default(),
                            minutes((utc_now() - t.started_at).num_seconds())
                        ));
                    } else {
                        out.line("no timer running");
                    }
                }
            }
            Ok(0)
        }
        .await;
        session.store.close().await;
        result
    })
}

#[expect(clippy::too_many_lines, reason = "one arm per subcommand")]
pub(crate) fn run_time(ctx: &Context, args: TimeArgs, out: &mut Output) -> Result<i32, CliError> {
    let rt = runtime()?;
    rt.block_on(async {
        let session = Session::open(ctx, args.common.user.as_deref()).await?;
        let tracker = Tracker::new(session.store.clone()).with_idle_gap(session.idle_gap());
        let me = session.user_id();
        let result = async {
            match args.command {
                TimeCommand::Report {
                    of,
                    ticket,
                    template,
                    step,
                    from,
                    to,
                } => {
                    let user_id = match of.as_deref() {
                        Some("all") => None,
                        Some(name) => Some(session.store.user_by_name(name).await?.id),
                        None => Some(me),
                    };
                    let filter = TimeHistoryFilter {
                        user_id,
                        ticket: ticket.as_deref().map(IssueKey::parse).transpose()?,
                        template,
                        step,
                        from,
                        to,
                    };
                    let history = session.store.time_history(&filter).await?;
                    let report = tracking::time_report(&history);
                    if args.common.json {
                        json_line(out, &report)?;
                    } else {
                        out.line(&format!(
                            "total {} in {} entries",
                            minutes(i64::try_from(report.total_seconds).unwrap_or(i64::MAX)),
                            report.entries
                        ));
                        for (title, rows) in [
                            ("by ticket", &report.by_ticket),
                            ("by step", &report.by_step),
                            ("by day", &report.by_day),
                        ] {
                            out.line(title);
                            for row in rows {
                                out.line(&format!(
                                    "  {:<40} {:>8}",
                                    row.key,
                                    minutes(i64::try_from(row.seconds).unwrap_or(i64::MAX))
                                ));
                            }
                        }
                    }
                }
                TimeCommand::Add {
                    duration,
                    ticket,
                    start,
                    step,
                    note,
                } => {
                    let duration = chrono::Duration::from_std(duration)
                        .map_err(|_| CliError::new("the duration is too large"))?;
                    let ticket = ticket_or_branch(ctx, &session, ticket)?;
                    let started_at = start.unwrap_or_else(|| utc_now() - duration);
                    let entry = tracker
                        .add_manual(
                            me,
                            &ManualEntry {
                                ticket,
                                workflow_id: None,
                                step,
                                started_at,
                                duration,
                                note,
                            },
                        )
                        .await?;
                    if args.common.json {
                        json_line(out, &entry)?;
                    } else {
                        out.line(&format!("added entry {}", entry.id));
                    }
                }
                TimeCommand::Export {
                    of,
                    ticket,
                    from,
                    to,
                    dry_run,
                } => {
                    let user_id = match of.as_deref() {
                        Some("all") => None,
                        Some(name) => Some(session.store.user_by_name(name).await?.id),
                        None => Some(me),
                    };
                    let filter = TimeHistoryFilter {
                        user_id,
                        ticket: ticket.as_deref().map(IssueKey::parse).transpose()?,
                        template: None,
                        step: None,
                        from,
                        to,
                    };
                    export(ctx, &session, &filter, dry_run, args.common.json, out).await?;
                }
                TimeCommand::KeepIdle { id } => {
                    let id = id
                        .parse::<uuid::Uuid>()
                        .map_err(|_| CliError::new(format!("`{id}` is not an idle period id")))?;
                    let entry = tracker.keep_idle(me, id).await?;
                    if args.common.json {
                        json_line(out, &entry)?;
                    } else {
                        out.line(&format!("kept as entry {}", entry.id));
                    }
                }
            }
            Ok(0)
        }
        .await;
        session.store.close().await;
        result
    })
}

async fn export(
    ctx: &Context,
    session: &Session,
    filter: &TimeHistoryFilter,
    dry_run: bool,
    json: bool,
    out: &mut Output,
) -> Result<(), CliError> {
    if dry_run {
        let (outcome, planned) =
            tracking::planned_worklogs(session.store.as_ref(), filter, &|_| true).await?;
        if json {
            return json_line(
                out,
                &serde_json::json!({ "dryRun": true, "planned": planned, "outcome": outcome }),
            );
        }
        for p in &planned {
            out.line(&format!(
                "would log {} on {} started {} ({})",
                minutes(i64::try_from(p.seconds).unwrap_or(i64::MAX)),
                p.issue,
                p.started.format("%Y-%m-%d %H:%M UTC"),
                p.comment
            ));
        }
        out.line(&format!(
            "dry run: {} worklogs to create (an earlier interrupted export may have created some \
             of them; the real export finds those by their marker), {} exported before, {} under \
             a minute, {} without a ticket",
            planned.len(),
            outcome.already_exported,
            outcome.too_short,
            outcome.no_ticket
        ));
        return Ok(());
    }
    let jira = super::report_cmd::jira_client(ctx, &session.loaded, "qapms time export")?;
    let outcome = tracking::export_worklogs(session.store.as_ref(), &jira, filter).await?;
    if json {
        return json_line(out, &outcome);
    }
    out.line(&format!(
        "exported {} worklogs, adopted {} from an earlier interrupted export; {} exported \
         before, {} under a minute (Jira refuses them), {} without a ticket",
        outcome.exported.len(),
        outcome.adopted.len(),
        outcome.already_exported,
        outcome.too_short,
        outcome.no_ticket
    ));
    for (entry, worklog) in &outcome.stale_worklogs {
        out.note(&format!(
            "entry {entry} was corrected after it was exported: fix worklog {worklog} in Jira by hand"
        ));
    }
    Ok(())
}
