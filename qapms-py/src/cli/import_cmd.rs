//! `qapms import junit PATH... [--run-name NAME] [--json]`.
//!
//! All files become one run, stored in one transaction: on any error (the message names the
//! file and the line) nothing is stored and the exit code is 1. Jira links by naming convention are
//! limited to the configured Jira projects when there are any.

use std::path::PathBuf;

use clap::Subcommand;
use qapms_core::results::{self, ImportOptions, LinkRules};
use qapms_core::store;

use super::{CliError, Context, Output, runtime};

#[derive(Debug, Clone, Subcommand)]
pub(crate) enum ImportCommand {
    // `about` rather than a doc comment: the help text names JUnit without Markdown backticks.
    #[command(
        about = "Import JUnit XML reports (surefire, pytest, jest, newman, Playwright) as one test run"
    )]
    Junit {
        /// The report files.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Name of the run (default: the report's name, else the first file's name).
        #[arg(long, value_name = "NAME")]
        run_name: Option<String>,
        /// Attach the run to the active workflow step for this ticket too (tests' own
        /// ticket links are used anyway).
        #[arg(long, value_name = "KEY")]
        ticket: Vec<String>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(ctx: &Context, cmd: ImportCommand, out: &mut Output) -> Result<i32, CliError> {
    let ImportCommand::Junit {
        paths,
        run_name,
        ticket,
        json,
    } = cmd;
    let workflow_tickets = ticket
        .iter()
        .map(|t| qapms_core::model::IssueKey::parse(t))
        .collect::<Result<Vec<_>, _>>()?;
    let loaded = ctx.load()?;
    let url = loaded.config.store.resolved_url(&loaded.paths);
    let projects = loaded
        .config
        .integrations
        .jira
        .as_ref()
        .map(|j| j.projects.iter().map(|p| p.0.clone()).collect())
        .unwrap_or_default();
    let paths: Vec<PathBuf> = paths.into_iter().map(|p| ctx.cwd.join(p)).collect();
    let options = ImportOptions {
        run_name,
        links: LinkRules { projects },
        workflow_tickets,
        ..ImportOptions::default()
    };
    let rt = runtime()?;
    rt.block_on(async {
        let store = store::open(&url).await?;
        let summary = results::import_junit(store.as_ref(), &paths, &options).await;
        store.close().await;
        let summary = summary?;
        if json {
            let text = serde_json::to_string(&summary)
                .map_err(|e| CliError::new(format!("cannot write the summary as JSON: {e}")))?;
            out.line(&text);
        } else {
            out.line(&format!(
                "imported run {} ({}): {} tests, {} attempts, {} passed, {} failed, {} skipped, \
                 {} retried",
                summary.run_id,
                summary.run_name,
                summary.tests,
                summary.attempts,
                summary.passed,
                summary.failed,
                summary.skipped,
                summary.retried
            ));
            for (workflow, step) in &summary.attached_steps {
                out.line(&format!(
                    "attached to step {} of workflow {workflow}",
                    step + 1
                ));
            }
        }
        Ok(0)
    })
}
