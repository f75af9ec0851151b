//! `qapms report [WORKFLOW_ID] [--format md|html|json|csv] [-o FILE] [--post-jira comment|worklog]`
//! and `qapms report period [--from] [--to] [--for USER|--team TEAM] [--ticket] [--template]`.
//!
//! Without an id, the workflow report is of your current workflow. The report goes to stdout,
//! or to `-o FILE` (written whole, through a temporary file, so a failed run never leaves half
//! a report). `--post-jira comment` posts it on the workflow's ticket (ADF on Cloud, wiki
//! markup on Data Center; posting the same version twice adds nothing); `--post-jira worklog`
//! exports the workflow's time as worklogs (idempotent too). Period dates are UTC, `--to`
//! exclusive: `--from 2025-03-01 --to 2025-04-01` is March.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use qapms_core::config::Loaded;
use qapms_core::integrations::jira::Jira;
use qapms_core::model::{IssueKey, WorkflowId, utc_now};
use qapms_core::report::{self, Format, PeriodQuery};
use qapms_core::secrets::{self, KeyLookup};

use super::time_cmd::parse_time;
use super::workflow_cmd::{Common, Session};
use super::{CliError, Context, Output, runtime};

#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ReportArgs {
    #[command(subcommand)]
    period: Option<ReportCommand>,
    /// The workflow (default: your current one).
    #[arg(value_name = "WORKFLOW_ID")]
    id: Option<String>,
    #[command(flatten)]
    render: Render,
    /// Also post to the workflow's Jira ticket: the report as a comment, or its time as worklogs.
    #[arg(long, value_name = "WHAT")]
    post_jira: Option<PostJira>,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Clone, Args)]
struct Render {
    /// Output format.
    #[arg(long, short = 'f', default_value = "md", value_parser = parse_format)]
    format: Format,
    /// Write the report to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PostJira {
    Comment,
    Worklog,
}

#[derive(Debug, Clone, Subcommand)]
enum ReportCommand {
    /// Time by user, ticket, activity and day, with estimate accuracy, over a period.
    Period {
        #[arg(long, value_parser = parse_time)]
        from: Option<DateTime<Utc>>,
        #[arg(long, value_parser = parse_time)]
        to: Option<DateTime<Utc>>,
        /// Whose time (default: everyone's).
        #[arg(long = "for", value_name = "USER", conflicts_with = "team")]
        of: Option<String>,
        /// A team's time.
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        ticket: Option<String>,
        #[arg(long)]
        template: Option<String>,
        #[command(flatten)]
        render: Render,
    },
}

fn parse_format(text: &str) -> Result<Format, String> {
    text.parse::<Format>().map_err(|e| e.to_string())
}

/// Writes next to the target and renames, so the file is the old one or the whole new one.
fn write_file(path: &Path, text: &str) -> Result<(), CliError> {
    let fail = |e: std::io::Error| CliError::new(format!("cannot write {}: {e}", path.display()));
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(text.as_bytes()).map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

fn emit(ctx: &Context, render: &Render, text: &str, out: &mut Output) -> Result<(), CliError> {
    match &render.output {
        Some(path) => {
            let path = ctx.cwd.join(path);
            write_file(&path, text)?;
            out.note(&format!("wrote {}", path.display()));
        }
        None => out.text(text),
    }
    Ok(())
}

/// The configured Jira client, with its secrets unlocked.
pub(crate) fn jira_client(ctx: &Context, loaded: &Loaded, what: &str) -> Result<Jira, CliError> {
    let Some(config) = loaded.config.integrations.jira.as_ref() else {
        return Err(CliError::new(format!(
            "{what} needs integrations.jira (base_url and auth) in the config"
        )));
    };
    let unlocked = secrets::unlock(
        &loaded.config,
        &KeyLookup {
            env: &ctx.env,
            config_dir: &loaded.paths.config_dir,
            passphrase: None,
        },
        &ctx.redactor,
    )?;
    Ok(Jira::from_config(
        config,
        &unlocked,
        Some(ctx.redactor.clone()),
    )?)
}

pub(crate) fn run(ctx: &Context, args: ReportArgs, out: &mut Output) -> Result<i32, CliError> {
    let rt = runtime()?;
    rt.block_on(async {
        let session = Session::open(ctx, args.common.user.as_deref()).await?;
        let result = execute(ctx, &session, args, out).await;
        session.store.close().await;
        result
    })
}

async fn execute(
    ctx: &Context,
    session: &Session,
    args: ReportArgs,
    out: &mut Output,
) -> Result<i32, CliError> {
    let store = session.store.as_ref();
    if let Some(ReportCommand::Period {
        from,
        to,
        of,
        team,
        ticket,
        template,
        render,
    }) = args.period
    {
        if let (Some(f), Some(t)) = (from, to)
            && f >= t
        {
            return Err(CliError::new("--from must be before --to"));
        }
        let user = match of.as_deref() {
            Some(name) => Some(store.user_by_name(name).await?.id),
            None => None,
        };
        let query = PeriodQuery {
            from,
            to,
            user,
            team,
            ticket: ticket.as_deref().map(IssueKey::parse).transpose()?,
            template,
        };
        let data = report::period_data(store, &query, utc_now()).await?;
        let text = report::render_period(&report::period_report(&data), render.format)?;
        emit(ctx, &render, &text, out)?;
        return Ok(0);
    }
    let id = match args.id.as_deref() {
        Some(id) => id.parse::<WorkflowId>()?,
        None => session
            .engine()
            .current(session.user_id(), None)
            .await?
            .map(|w| w.id)
            .ok_or_else(|| {
                CliError::new(
                    "you have no open workflow; pass a WORKFLOW_ID (see `qapms workflow status`)",
                )
            })?,
    };
    let data = report::workflow_data(store, &id, utc_now()).await?;
    let built = report::workflow_report(&data);
    let text = report::render_workflow(&built, args.render.format)?;
    emit(ctx, &args.render, &text, out)?;
    match args.post_jira {
        None => {}
        Some(PostJira::Comment) => {
            let jira = jira_client(ctx, &session.loaded, "--post-jira")?;
            let posted = report::post_comment(&jira, &built).await?;
            out.note(&if posted.created {
                format!(
                    "posted the report on {} as comment {}",
                    posted.issue, posted.comment_id
                )
            } else {
                format!(
                    "this version of the report is on {} already (comment {}); nothing posted",
                    posted.issue, posted.comment_id
                )
            });
        }
        Some(PostJira::Worklog) => {
            let jira = jira_client(ctx, &session.loaded, "--post-jira")?;
            let outcome = report::post_worklogs(store, &jira, &id).await?;
            out.note(&format!(
                "worklogs: {} created, {} found from an earlier export, {} exported before, {} \
                 under a minute (Jira refuses them), {} without a ticket",
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
        }
    }
    Ok(0)
}
