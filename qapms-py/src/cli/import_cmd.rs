//! `qapms import junit PATH... [--run-name NAME] [--json] [--submit-testmo [--testmo-project ID]]`.
//!
//! All files become one run, stored in one transaction: on any error (the message names the
//! file and the line) nothing is stored and the exit code is 1. Jira links by naming convention are
//! limited to the configured Jira projects when there are any.
//!
//! With `--submit-testmo` the same results then go to Testmo as one automation run, the way
//! `testmo automation:run:submit` sends them, into `--testmo-project` or else the first project
//! of `integrations.testmo.projects`. The store import comes first, so a Testmo failure never
//! loses the local run; it still makes the exit code 1.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use qapms_core::config::Loaded;
use qapms_core::integrations::RunReport;
use qapms_core::integrations::testmo::Testmo;
use qapms_core::integrations::testmo::models::ProjectId;
use qapms_core::results::{self, ImportOptions, JunitCase, JunitReader, Limits, LinkRules};
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
        /// Also submit the results to Testmo as an automation run.
        #[arg(long)]
        submit_testmo: bool,
        /// The Testmo project id (default: the first of integrations.testmo.projects).
        #[arg(long, value_name = "ID", requires = "submit_testmo")]
        testmo_project: Option<u64>,
        /// The Testmo automation source, which groups runs of one suite.
        #[arg(
            long,
            value_name = "NAME",
            default_value = "junit",
            requires = "submit_testmo"
        )]
        testmo_source: String,
        /// A tag for the Testmo run (repeatable).
        #[arg(long = "testmo-tag", value_name = "TAG", requires = "submit_testmo")]
        testmo_tags: Vec<String>,
        /// The Testmo milestone to file the run under, by name.
        #[arg(long, value_name = "NAME", requires = "submit_testmo")]
        testmo_milestone: Option<String>,
        /// The configuration tested, e.g. `linux-x86_64`.
        #[arg(long, value_name = "NAME", requires = "submit_testmo")]
        testmo_config: Option<String>,
    },
}

/// What to send to Testmo, from the command line.
struct TestmoTarget {
    project: Option<u64>,
    source: String,
    tags: Vec<String>,
    milestone: Option<String>,
    config: Option<String>,
}

/// Every test case of the reports, in order, through the same reader the import uses.
fn read_cases(paths: &[PathBuf]) -> Result<Vec<JunitCase>, CliError> {
    let mut cases = Vec::new();
    for path in paths {
        let file = std::fs::File::open(path)
            .map_err(|e| CliError::new(format!("cannot read {}: {e}", path.display())))?;
        let mut reader = JunitReader::new(BufReader::new(file), Limits::default());
        let bad = |path: &Path, e: results::ParseError| {
            CliError::new(format!(
                "{} (byte {}): {}",
                path.display(),
                e.offset,
                e.message
            ))
        };
        while let Some(case) = reader.next_case().map_err(|e| bad(path, e))? {
            cases.push(case);
        }
    }
    Ok(cases)
}

async fn submit_testmo(
    ctx: &Context,
    loaded: &Loaded,
    target: TestmoTarget,
    run_name: &str,
    paths: &[PathBuf],
) -> Result<String, CliError> {
    let Some(config) = loaded.config.integrations.testmo.as_ref() else {
        return Err(CliError::new(
            "--submit-testmo needs integrations.testmo (base_url and token) in the config",
        ));
    };
    let project = target
        .project
        .or_else(|| config.projects.first().copied())
        .ok_or_else(|| {
            CliError::new(
                "no Testmo project: pass --testmo-project ID or list one in integrations.testmo.projects",
            )
        })?;
    let unlocked = ctx.unlock(loaded)?;
    let testmo = Testmo::from_config(config, &unlocked, Some(ctx.redactor.clone()))?;
    let report = RunReport {
        name: run_name.to_owned(),
        source: target.source,
        tags: target.tags,
        milestone: target.milestone,
        config: target.config,
        tests: Vec::new(),
    };
    let submitted = testmo
        .submit_junit(ProjectId(project), report, read_cases(paths)?)
        .await?;
    Ok(format!(
        "submitted to Testmo project {project}: automation run {} ({} tests, {} failed)",
        submitted.id, submitted.tests, submitted.failures
    ))
}

pub(crate) fn run(ctx: &Context, cmd: ImportCommand, out: &mut Output) -> Result<i32, CliError> {
    let ImportCommand::Junit {
        paths,
        run_name,
        ticket,
        json,
        submit_testmo: submit,
        testmo_project,
        testmo_source,
        testmo_tags,
        testmo_milestone,
        testmo_config,
    } = cmd;
    let workflow_tickets = ticket
        .iter()
        .map(|t| qapms_core::model::IssueKey::parse(t))
        .collect::<Result<Vec<_>, _>>()?;
    let target = submit.then_some(TestmoTarget {
        project: testmo_project,
        source: testmo_source,
        tags: testmo_tags,
        milestone: testmo_milestone,
        config: testmo_config,
    });
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
        if let Some(target) = target {
            let line = submit_testmo(ctx, &loaded, target, &summary.run_name, &paths).await?;
            if !json {
                out.line(&line);
            }
        }
        Ok(0)
    })
}
