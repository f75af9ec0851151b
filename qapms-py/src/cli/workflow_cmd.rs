//! `qapms workflow start|status|templates|step|tick|note|pause|resume|complete|abandon`.
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
use qapms_core::model::{IssueKey, Role, StepState, User, UserId, Workflow, WorkflowId};
use qapms_core::store::{self, Store};
use qapms_core::tracking;
use qapms_core::workflow::{Catalog, Command, Engine, ItemRef, Outcome, StepRef};
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
}

#[derive(Debug, Clone, Subcommand)]
enum StepCommand {
    /// Mark a step done (default: the active one); the next pending step becomes active.
    Done {
        step: Option<String>,
        /// Done even with unticked checklist items.
        #[arg(long)]
        force: bool,
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
            print_outcome(out, &outcome, json)?;
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
        WorkflowCommand::Step(step) => match step {
            StepCommand::Done { step, force, which } => (
                which,
                Command::StepDone {
                    step: step.as_deref().map(StepRef::parse),
                    force,
                },
            ),
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
    print_outcome(out, &outcome, json)?;
    Ok(0)
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

fn print_outcome(out: &mut Output, outcome: &Outcome, json: bool) -> Result<(), CliError> {
    if json {
        out.line(&to_json(outcome)?);
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
    for due in &outcome.actions {
        out.note(&format!(
            "action due after `{}`: {}",
            due.step,
            serde_json::to_string(&due.action).unwrap_or_default()
        ));
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
