//! `qapms workflow start|status|templates|step|tick|note|pause|resume|complete|abandon|actions`.
//!
//! `step done` runs the step's actions (a Jira comment, a search, …) after the transition and
//! prints how each went; `--no-actions` leaves them for `qapms workflow actions --retry`, which
//! also retries those that failed.
//!
//! Every command acts for one user (`--user`, else `$QAPMS_USER`, else `$USER`), created in
//! the store on first use. Without `--id`, a command acts on the user's current workflow (the
//! open one touched last). `--expect-version N` refuses to act if the workflow moved past
//! version N (someone else changed it): the exit code is 1 and nothing changes. Without a
//! ticket, `start` takes it from the git branch (`feature/PAY-12-login` is `PAY-12`).

use std::fmt::Write as _;
use std::sync::Arc;

use clap::{Args, Subcommand};
use qapms_core::config::{EvidenceKind, Loaded};
use qapms_core::model::{
    ActionRecord, ActionStatus, IssueKey, Role, StepState, User, UserId, Workflow, WorkflowId,
};
use qapms_core::search::SearchIndex;
use qapms_core::secrets::{self, KeyLookup};
use qapms_core::store::{self, Store};
use qapms_core::tracking;
use qapms_core::workflow::{
    ActionClients, ActionRunner, Catalog, Command, DueAction, Engine, ItemRef, Outcome, StepRef,
};
use qapms_core::{Error, ErrorKind};

use super::{CliError, Context, Output, runtime};

#[derive(Debug, Clone, Args)]
pub(crate) struct WorkflowArgs {
    #[command(subcommand)]
    command: WorkflowCommand,
    #[command(flatten)]
    common: Common,
}

/// Options every workflow, timer and time command takes.
#[derive(Debug, Clone, Args)]
pub(crate) struct Common {
    /// Act as this user (default: `$QAPMS_USER`, else `$USER`).
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) user: Option<String>,
    /// Print the result as JSON.
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

/// Which workflow, and which version the caller saw.
#[derive(Debug, Clone, Args)]
struct Which {
    /// The workflow id (default: your current workflow).
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    /// Fail with a conflict unless the workflow is still at this version.
    #[arg(long, value_name = "N")]
    expect_version: Option<u32>,
}

#[derive(Debug, Clone, Subcommand)]
enum WorkflowCommand {
    /// Start a workflow from a template, for a ticket (default: from the git branch).
    Start {
        template: String,
        ticket: Option<String>,
        /// Do not infer the ticket from the git branch.
        #[arg(long)]
        no_branch: bool,
    },
    /// Show a workflow (default: your current one).
    Status { id: Option<String> },
    /// List the available templates.
    Templates,
    /// Move a step: done, skip, block or start.
    #[command(subcommand)]
    Step(StepCommand),
    /// Tick (or with --undo, untick) a checklist item of the active step, by number or text.
    Tick {
        item: String,
        /// The step (number or name; default: the active step).
        #[arg(long)]
        step: Option<String>,
        #[arg(long)]
        undo: bool,
        #[command(flatten)]
        which: Which,
    },
    /// Record evidence on the active step: a note, a link, an attachment or a test result.
    Note {
        text: String,
        #[arg(long, default_value = "notes", value_parser = parse_kind)]
        kind: EvidenceKind,
        #[arg(long)]
        step: Option<String>,
        #[command(flatten)]
        which: Which,
    },
    /// Pause the workflow (its timer stops).
    Pause(Which),
    /// Resume a paused workflow (its timer restarts).
    Resume(Which),
    /// Complete the workflow; every step must be done or skipped.
    Complete(Which),
    /// Abandon the workflow.
    Abandon {
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        which: Which,
    },
    /// Show the step actions of a workflow and how they went; with --retry, run those that
    /// did not succeed (failed, skipped, or never run).
    Actions {
        #[arg(long)]
        retry: bool,
        #[command(flatten)]
        which: Which,
    },
}

#[derive(Debug, Clone, Subcommand)]
enum StepCommand {
    /// Mark a step done (default: the active one); the next pending step becomes active and
    /// the step's actions run.
    Done {
        step: Option<String>,
        /// Done even with unticked checklist items.
        #[arg(long)]
        force: bool,
        /// Do not run the step's actions now; `qapms workflow actions --retry` runs them later.
        #[arg(long)]
        no_actions: bool,
        #[command(flatten)]
        which: Which,
    },
    /// Skip a step, with a reason.
    Skip {
        step: Option<String>,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        which: Which,
    },
    /// Block a step, with a reason; start it again to unblock.
    Block {
        step: Option<String>,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        which: Which,
    },
    /// Make a step the active one.
    Start {
        step: String,
        #[command(flatten)]
        which: Which,
    },
}

fn parse_kind(text: &str) -> Result<EvidenceKind, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| "expected notes, links, attachments or test_results".to_owned())
}

/// The store, the user and the settings a workflow or time command needs.
pub(crate) struct Session {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) user: User,
    pub(crate) loaded: Loaded,
}

impl Session {
    pub(crate) async fn open(ctx: &Context, user: Option<&str>) -> Result<Self, CliError> {
        let loaded = ctx.load()?;
        let url = loaded.config.store.resolved_url(&loaded.paths);
        let store = store::open(&url).await?;
        let name = user
            .map(str::to_owned)
            .or_else(|| ctx.env.get_non_empty("QAPMS_USER").map(str::to_owned))
            .or_else(|| ctx.env.get_non_empty("USER").map(str::to_owned))
            .ok_or_else(|| CliError::new("no user: pass --user NAME or set QAPMS_USER"))?;
        let user = match store.user_by_name(&name).await {
            Ok(user) => user,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let user = User::new(name, Role::Qa);
                match store.create_user(&user).await {
                    Ok(()) => user,
                    // Created by a concurrent command: read it back.
                    Err(e) if e.kind() == ErrorKind::Conflict => {
                        store.user_by_name(&user.name).await?
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Self {
            store,
            user,
            loaded,
        })
    }

    pub(crate) fn idle_gap(&self) -> std::time::Duration {
        self.loaded.config.tracking.idle_gap.0
    }

    pub(crate) fn engine(&self) -> Engine {
        Engine::new(
            self.store.clone(),
            Catalog::new(&self.loaded.config.workflows),
        )
        .with_idle_gap(self.idle_gap())
    }

    /// The configured Jira project keys, for branch-name inference.
    pub(crate) fn projects(&self) -> Vec<String> {
        self.loaded
            .config
            .integrations
            .jira
            .as_ref()
            .map(|j| j.projects.iter().map(|p| p.0.clone()).collect())
            .unwrap_or_default()
    }

    pub(crate) fn user_id(&self) -> UserId {
        self.user.id
    }
}

pub(crate) fn run(ctx: &Context, args: WorkflowArgs, out: &mut Output) -> Result<i32, CliError> {
    let rt = runtime()?;
    rt.block_on(async {
        let session = Session::open(ctx, args.common.user.as_deref()).await?;
        let result = execute(ctx, &session, args.command, args.common.json, out).await;
        session.store.close().await;
        result
    })
}

async fn target(
    session: &Session,
    engine: &Engine,
    id: Option<&str>,
) -> Result<WorkflowId, CliError> {
    if let Some(id) = id {
        return Ok(id.parse::<WorkflowId>()?);
    }
    engine
        .current(session.user_id(), None)
        .await?
        .map(|w| w.id)
        .ok_or_else(|| {
            CliError::new("you have no open workflow; start one with `qapms workflow start TEMPLATE`, or pass --id")
        })
}

#[expect(clippy::too_many_lines, reason = "one arm per subcommand")]
async fn execute(
    ctx: &Context,
    session: &Session,
    command: WorkflowCommand,
    json: bool,
    out: &mut Output,
) -> Result<i32, CliError> {
    let engine = session.engine();
    let me = session.user_id();
    let mut run_due = true;
    let (which, cmd) = match command {
        WorkflowCommand::Start {
            template,
            ticket,
            no_branch,
        } => {
            let ticket = match ticket {
                Some(t) => Some(IssueKey::parse(&t)?),
                None if !no_branch => tracking::current_branch(&ctx.cwd)?
                    .and_then(|b| tracking::ticket_from_branch(&b, &session.projects())),
                None => None,
            };
            let outcome = engine.start(&template, ticket, me).await?;
            print_outcome(out, &outcome, &[], json)?;
            return Ok(0);
        }
        WorkflowCommand::Status { id } => {
            let id = target(session, &engine, id.as_deref()).await?;
            let workflow = engine.workflow(&id).await?;
            if json {
                out.line(&to_json(&workflow)?);
            } else {
                print_workflow(out, &workflow);
            }
            return Ok(0);
        }
        WorkflowCommand::Templates => {
            let catalog = engine.catalog();
            let mut list = Vec::new();
            for name in catalog.names() {
                let t = catalog.resolve(&name);
                match t {
                    Ok(t) => list.push(t),
                    Err(e) => out.note(&format!("{name}: {e}")),
                }
            }
            if json {
                let items: Vec<serde_json::Value> = list
                    .iter()
                    .map(|t| {
                        serde_json::json!({
                            "name": t.name,
                            "description": t.description,
                            "builtin": t.builtin,
                            "timeBoxSecs": t.time_box_secs,
                            "steps": t.steps.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                out.line(&serde_json::Value::Array(items).to_string());
            } else {
                for t in &list {
                    out.line(&format!(
                        "{:<22} {}{}",
                        t.name,
                        t.description.as_deref().unwrap_or(""),
                        if t.builtin { " (built in)" } else { "" }
                    ));
                }
            }
            return Ok(0);
        }
        WorkflowCommand::Actions { retry, which } => {
            let id = target(session, &engine, which.id.as_deref()).await?;
            return actions(ctx, session, engine, &id, retry, json, out).await;
        }
        WorkflowCommand::Step(step) => match step {
            StepCommand::Done {
                step,
                force,
                no_actions,
                which,
            } => {
                run_due = !no_actions;
                (
                    which,
                    Command::StepDone {
                        step: step.as_deref().map(StepRef::parse),
                        force,
                    },
                )
            }
            StepCommand::Skip {
                step,
                reason,
                which,
            } => (
                which,
                Command::SkipStep {
                    step: step.as_deref().map(StepRef::parse),
                    reason,
                },
            ),
            StepCommand::Block {
                step,
                reason,
                which,
            } => (
                which,
                Command::BlockStep {
                    step: step.as_deref().map(StepRef::parse),
                    reason,
                },
            ),
            StepCommand::Start { step, which } => (
                which,
                Command::StartStep {
                    step: StepRef::parse(&step),
                },
            ),
        },
        WorkflowCommand::Tick {
            item,
            step,
            undo,
            which,
        } => (
            which,
            Command::Tick {
                step: step.as_deref().map(StepRef::parse),
                item: ItemRef::parse(&item),
                done: !undo,
            },
        ),
        WorkflowCommand::Note {
            text,
            kind,
            step,
            which,
        } => (
            which,
            Command::AddEvidence {
                step: step.as_deref().map(StepRef::parse),
                kind,
                value: text,
            },
        ),
        WorkflowCommand::Pause(which) => (which, Command::Pause),
        WorkflowCommand::Resume(which) => (which, Command::Resume),
        WorkflowCommand::Complete(which) => (which, Command::Complete),
        WorkflowCommand::Abandon { reason, which } => (which, Command::Abandon { reason }),
    };
    let id = target(session, &engine, which.id.as_deref()).await?;
    let outcome = engine
        .apply(&id, which.expect_version, me, &cmd)
        .await
        .map_err(explain_conflict)?;
    if outcome.actions.is_empty() || !run_due {
        print_outcome(out, &outcome, &[], json)?;
        if !outcome.actions.is_empty() {
            out.note(&format!(
                "{} step action(s) not run; run them with `qapms workflow actions --retry`",
                outcome.actions.len()
            ));
        }
        return Ok(0);
    }
    // The step is done whatever its actions do: a runner that cannot be set up leaves them
    // for a retry rather than failing a transition that already happened.
    let records = match action_runner(ctx, session, engine.clone(), &outcome.actions) {
        Ok(runner) => runner.run(&id, me, &outcome.actions).await?,
        Err(e) => {
            print_outcome(out, &outcome, &[], json)?;
            out.note(&format!(
                "the step's actions were not run ({}); run them with `qapms workflow actions --retry`",
                e.message
            ));
            return Ok(0);
        }
    };
    // The records are evidence on the workflow: show it as they left it, with its version.
    let outcome = Outcome {
        workflow: engine.workflow(&id).await?,
        ..outcome
    };
    print_outcome(out, &outcome, &records, json)?;
    Ok(0)
}

/// A runner with the configured integrations, and the search index when a due action searches.
fn action_runner(
    ctx: &Context,
    session: &Session,
    engine: Engine,
    due: &[DueAction],
) -> Result<ActionRunner, CliError> {
    let loaded = &session.loaded;
    let lookup = KeyLookup {
        env: &ctx.env,
        config_dir: &loaded.paths.config_dir,
        passphrase: None,
    };
    let unlocked = secrets::unlock(&loaded.config, &lookup, &ctx.redactor)?;
    let mut clients = ActionClients::from_config(
        &loaded.config,
        &unlocked,
        Some(&ctx.redactor),
        Some((&loaded.paths.data_dir, &lookup)),
    );
    if due.iter().any(|d| d.action.reads_search_index()) {
        let dir = loaded
            .config
            .search
            .index_dir
            .clone()
            .map_or_else(|| loaded.paths.data_dir.join("index"), |d| ctx.cwd.join(d));
        match SearchIndex::open_dir(&dir) {
            Ok((index, None)) => clients = clients.with_index(Arc::new(index)),
            // A missing or stale index is not rebuilt here: that is `qapms search`'s work, and
            // a search action without it is skipped with the reason.
            Ok((_, Some(reason))) => tracing::info!(%reason, "step searches skipped"),
            Err(e) => tracing::warn!(error = %e, "the search index cannot be opened"),
        }
    }
    Ok(ActionRunner::new(engine, clients))
}

/// `qapms workflow actions [--retry]`.
async fn actions(
    ctx: &Context,
    session: &Session,
    engine: Engine,
    id: &WorkflowId,
    retry: bool,
    json: bool,
    out: &mut Output,
) -> Result<i32, CliError> {
    let workflow = engine.workflow(id).await?;
    let pending = engine.pending_actions(&workflow).await;
    let ran = if retry && !pending.is_empty() {
        let runner = action_runner(ctx, session, engine.clone(), &pending)?;
        runner.run(id, session.user_id(), &pending).await?
    } else {
        Vec::new()
    };
    let workflow = if ran.is_empty() {
        workflow
    } else {
        engine.workflow(id).await?
    };
    let records: Vec<(u32, &ActionRecord)> = workflow
        .steps
        .iter()
        .flat_map(|s| {
            s.evidence
                .iter()
                .filter_map(move |e| e.action.as_ref().map(|a| (s.position, a)))
        })
        .collect();
    let still_pending = if ran.is_empty() {
        pending
    } else {
        engine.pending_actions(&workflow).await
    };
    let never_ran: Vec<&DueAction> = still_pending
        .iter()
        .filter(|d| !records.iter().any(|(_, r)| r.key == d.key))
        .collect();
    if json {
        let value = serde_json::json!({
            "workflow": workflow.id,
            "records": records.iter().map(|(_, r)| r).collect::<Vec<_>>(),
            "ran": ran,
            "notRun": never_ran,
        });
        out.line(&value.to_string());
        return Ok(i32::from(
            ran.iter().any(|r| r.status == ActionStatus::Failed),
        ));
    }
    if records.is_empty() && never_ran.is_empty() {
        out.line("no step actions yet");
    }
    for (position, record) in &records {
        let step = workflow
            .steps
            .get(*position as usize)
            .map_or("", |s| s.name.as_str());
        out.line(&record_line(step, record));
    }
    for due in &never_ran {
        out.line(&format!(
            "  {} {} after `{}`: not run yet",
            due.key,
            due.action.kind(),
            due.step
        ));
    }
    if !retry && !still_pending.is_empty() {
        out.note(&format!(
            "{} action(s) did not succeed; run them again with `qapms workflow actions --retry`",
            still_pending.len()
        ));
    }
    // A retry that still fails is the script's business: exit 1, as a failed command.
    Ok(i32::from(
        ran.iter().any(|r| r.status == ActionStatus::Failed),
    ))
}

fn record_line(step: &str, record: &ActionRecord) -> String {
    let attempts = if record.attempts > 1 {
        format!(" (attempt {})", record.attempts)
    } else {
        String::new()
    };
    format!(
        "  {} {} after `{step}`: {}{attempts}: {}",
        record.key, record.kind, record.status, record.summary
    )
}

fn explain_conflict(err: Error) -> CliError {
    let conflict = err.kind() == ErrorKind::Conflict;
    let mut e = CliError::from(err);
    if conflict {
        e.message
            .push_str(" (run `qapms workflow status` to see the current version)");
    }
    e
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, CliError> {
    serde_json::to_string(value).map_err(|e| CliError::new(format!("cannot write JSON: {e}")))
}

fn print_outcome(
    out: &mut Output,
    outcome: &Outcome,
    records: &[ActionRecord],
    json: bool,
) -> Result<(), CliError> {
    if json {
        let mut value = serde_json::to_value(outcome)
            .map_err(|e| CliError::new(format!("cannot write JSON: {e}")))?;
        value["actionRecords"] = serde_json::to_value(records)
            .map_err(|e| CliError::new(format!("cannot write JSON: {e}")))?;
        out.line(&value.to_string());
        return Ok(());
    }
    print_workflow(out, &outcome.workflow);
    for idle in &outcome.idle {
        out.note(&format!(
            "idle: {} to {} ({} min) was not counted; keep it with `qapms time keep-idle {}`",
            idle.started_at.format("%H:%M"),
            idle.ended_at.format("%H:%M"),
            (idle.ended_at - idle.started_at).num_minutes(),
            idle.id
        ));
    }
    for record in records {
        let step = outcome
            .actions
            .iter()
            .find(|d| d.key == record.key)
            .map_or("", |d| d.step.as_str());
        out.line(&record_line(step, record));
    }
    Ok(())
}

fn print_workflow(out: &mut Output, w: &Workflow) {
    out.line(&format!(
        "workflow {} ({}) {}: {} (version {})",
        w.id,
        w.template,
        w.ticket.as_ref().map_or("-", IssueKey::as_str),
        w.state,
        w.version
    ));
    for step in &w.steps {
        let ticked = step.checklist.iter().filter(|i| i.done).count();
        let marker = match step.state {
            StepState::Active => ">",
            StepState::Done => "x",
            StepState::Skipped => "-",
            StepState::Blocked => "!",
            StepState::Pending => " ",
        };
        let mut line = format!(
            "  [{marker}] {}. {} ({}) checklist {ticked}/{}",
            step.position + 1,
            step.name,
            step.state,
            step.checklist.len()
        );
        if let Some(secs) = step.estimate_secs {
            let _ = write!(line, ", estimate {}m", secs / 60);
        }
        if let Some(reason) = &step.reason {
            let _ = write!(line, ", reason: {reason}");
        }
        out.line(&line);
    }
}
