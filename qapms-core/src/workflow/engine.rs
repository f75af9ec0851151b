//! The workflow engine: loads a snapshot, applies a command with the pure state machine,
//! plans the timer change that goes with it, and hands the store one write.
//!
//! Every write names the version it was computed from, so two front-ends acting at once on
//! the same workflow cannot both win: the second gets [`ErrorKind::Conflict`] and nothing of
//! its change is stored. A caller that already holds a snapshot (a dashboard page, a CLI
//! `--expect-version`) can pass its version to [`Engine::apply`] to refuse acting on a view
//! that is out of date.
//!
//! Time is the owner's: when the owner acts, their timer follows the active step (it starts
//! with the workflow, moves with each step, stops on pause, completion or abandonment and
//! restarts on resume). Another user's actions are logged with their name but do not touch
//! anyone's timer.
//!
//! [`ErrorKind::Conflict`]: crate::ErrorKind::Conflict

use std::fmt::{self, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;

use super::machine::{self, Command};
use super::placeholders;
use super::template::{Catalog, ResolvedTemplate};
use crate::config::StepAction;
use crate::model::{
    ActionStatus, ChecklistItem, IdlePeriod, IssueKey, Step, StepState, TimeEntry, TrackingWrite,
    UserId, Workflow, WorkflowEvent, WorkflowFilter, WorkflowId, WorkflowState, WorkflowWrite,
    utc_now,
};
use crate::report::collect::workflow_time_filter;
use crate::store::Store;
use crate::tracking::report::{current_entries, secs};
use crate::tracking::timer::{self, Target};
use crate::{Error, ErrorKind, Result};

/// Where the engine gets the time; tests and simulations inject their own.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock, at the store's microsecond precision.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        utc_now()
    }
}

/// A clock that moves only when told to: for tests, simulations and replaying history.
#[derive(Debug)]
pub struct ManualClock {
    micros: AtomicI64,
}

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self {
            micros: AtomicI64::new(at.timestamp_micros()),
        }
    }

    pub fn set(&self, at: DateTime<Utc>) {
        self.micros.store(at.timestamp_micros(), Ordering::SeqCst);
    }

    pub fn advance(&self, by: Duration) {
        self.micros
            .fetch_add(by.num_microseconds().unwrap_or(i64::MAX), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.micros.load(Ordering::SeqCst)).unwrap_or_default()
    }
}

/// The idle threshold when the configuration does not set one.
pub const DEFAULT_IDLE_GAP: Duration = Duration::minutes(15);

/// An action of a finished step, with its texts' [`placeholders`] filled in, for the
/// [`ActionRunner`](super::ActionRunner) to carry out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DueAction {
    /// `{position}.{index}`: names the action within its workflow, so a retry finds the record
    /// of an earlier attempt (see [`ActionRecord`](crate::model::ActionRecord)).
    pub key: String,
    /// The step's 0-based position.
    pub position: u32,
    pub step: String,
    pub action: StepAction,
}

impl DueAction {
    /// Whether `workflow` holds a succeeded record of this action: one a retry must not repeat.
    pub fn succeeded_in(&self, workflow: &Workflow) -> bool {
        workflow.steps.get(self.position as usize).is_some_and(|s| {
            s.evidence.iter().any(|e| {
                e.action
                    .as_ref()
                    .is_some_and(|a| a.key == self.key && a.status == ActionStatus::Succeeded)
            })
        })
    }
}

/// What a transition did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub workflow: Workflow,
    pub events: Vec<WorkflowEvent>,
    /// Actions of the step that was just finished.
    pub actions: Vec<DueAction>,
    /// Time entries the transition wrote (a stopped or switched timer).
    pub entries_written: usize,
    /// Idle time the transition left uncounted; the QA may keep it.
    pub idle: Vec<IdlePeriod>,
}

/// Runs workflows against a store.
#[derive(Debug, Clone)]
pub struct Engine {
    store: Arc<dyn Store>,
    catalog: Catalog,
    clock: Arc<dyn Clock>,
    idle_gap: Duration,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, catalog: Catalog) -> Self {
        Self {
            store,
            catalog,
            clock: Arc::new(SystemClock),
            idle_gap: DEFAULT_IDLE_GAP,
        }
    }

    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The gap with no activity after which time stops counting.
    #[must_use]
    pub fn with_idle_gap(mut self, gap: std::time::Duration) -> Self {
        self.idle_gap = Duration::from_std(gap).unwrap_or(DEFAULT_IDLE_GAP);
        self
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Creates a workflow from `template` for `ticket`, owned by `actor`, and starts it (its
    /// first step becomes active and the owner's timer starts), in one write.
    pub async fn start(
        &self,
        template: &str,
        ticket: Option<IssueKey>,
        actor: UserId,
    ) -> Result<Outcome> {
        let resolved = self.catalog.resolve(template)?;
        let now = self.clock.now();
        let created = instantiate(&resolved, ticket, actor, now);
        let mut events = vec![WorkflowEvent {
            version: 1,
            actor,
            at: now,
            kind: "created".to_owned(),
            step: None,
            from_state: None,
            to_state: Some(WorkflowState::Created.as_str().to_owned()),
            detail: json!({ "template": resolved.name }),
        }];
        let transition = machine::apply(&created, &Command::Start, actor, now)?;
        events.extend(transition.events);
        let tracking = self.plan_tracking(&transition.workflow, actor, now).await?;
        let write = WorkflowWrite {
            workflow: transition.workflow,
            expected_version: None,
            changed_steps: Vec::new(),
            events,
            tracking,
        };
        self.store.write_workflow(&write).await?;
        tracing::info!(workflow = %write.workflow.id, template, "workflow started");
        Ok(outcome(write, Vec::new()))
    }

    /// Applies `command` to workflow `id` for `actor`. With `expected_version`, a workflow that
    /// moved on since the caller looked is a conflict before anything is computed.
    pub async fn apply(
        &self,
        id: &WorkflowId,
        expected_version: Option<u32>,
        actor: UserId,
        command: &Command,
    ) -> Result<Outcome> {
        let current = self.store.workflow(id).await?;
        if let Some(expected) = expected_version
            && expected != current.version
        {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "the workflow is at version {}, not {expected}: someone changed it; reload it and try again",
                    current.version
                ),
            )
            .with_context("workflow", id.to_string()));
        }
        let now = self.clock.now();
        let transition = machine::apply(&current, command, actor, now)?;
        let tracking = self.plan_tracking(&transition.workflow, actor, now).await?;
        let actions = match transition.finished_step {
            Some(pos) => {
                self.due_actions(&transition.workflow, &[pos], &tracking.entries)
                    .await
            }
            None => Vec::new(),
        };
        let write = WorkflowWrite {
            workflow: transition.workflow,
            expected_version: Some(current.version),
            changed_steps: transition.changed_steps,
            events: transition.events,
            tracking,
        };
        self.store.write_workflow(&write).await?;
        tracing::debug!(workflow = %id, command = command.name(), version = write.workflow.version, "workflow transition");
        Ok(outcome(write, actions))
    }

    /// A workflow by id.
    pub async fn workflow(&self, id: &WorkflowId) -> Result<Workflow> {
        self.store.workflow(id).await
    }

    /// The user's most recently touched open workflow (created, in progress or paused),
    /// optionally for one ticket: what `qapms workflow status` shows without an id.
    pub async fn current(
        &self,
        owner: UserId,
        ticket: Option<&IssueKey>,
    ) -> Result<Option<Workflow>> {
        let filter = WorkflowFilter {
            owner: Some(owner),
            ticket: ticket.cloned(),
            states: vec![
                WorkflowState::InProgress,
                WorkflowState::Paused,
                WorkflowState::Created,
            ],
            limit: Some(1),
        };
        Ok(self.store.list_workflows(&filter).await?.into_iter().next())
    }

    async fn plan_tracking(
        &self,
        workflow: &Workflow,
        actor: UserId,
        now: DateTime<Utc>,
    ) -> Result<TrackingWrite> {
        if actor != workflow.owner {
            return Ok(TrackingWrite::default());
        }
        let desired = (workflow.state == WorkflowState::InProgress)
            .then(|| workflow.active_step())
            .flatten()
            .map(|step| Target {
                ticket: workflow.ticket.clone(),
                workflow_id: Some(workflow.id),
                step: Some(step.name.clone()),
            });
        let current = self.store.timer(&actor).await?;
        Ok(timer::plan(
            actor,
            current.as_ref(),
            desired.as_ref(),
            now,
            self.idle_gap,
            |t| t.workflow_id == Some(workflow.id),
        ))
    }

    /// The actions of done steps that have not succeeded: never run (the process stopped
    /// after the step was done), failed, or skipped for want of an integration. What a retry
    /// runs.
    pub async fn pending_actions(&self, workflow: &Workflow) -> Vec<DueAction> {
        let done: Vec<u32> = workflow
            .steps
            .iter()
            .filter(|s| s.state == StepState::Done)
            .map(|s| s.position)
            .collect();
        let mut due = self.due_actions(workflow, &done, &[]).await;
        due.retain(|d| !d.succeeded_in(workflow));
        due
    }

    /// The actions of the steps at `positions`, filled in; `unstored` are the time entries of
    /// the transition being written, which `{duration}` counts with the stored ones.
    async fn due_actions(
        &self,
        workflow: &Workflow,
        positions: &[u32],
        unstored: &[TimeEntry],
    ) -> Vec<DueAction> {
        let Ok(template) = self.catalog.resolve(&workflow.template) else {
            tracing::warn!(template = %workflow.template, "the workflow's template is gone; its actions are not run");
            return Vec::new();
        };
        let mut fill = Placeholders::new(workflow);
        let mut due = Vec::new();
        for &pos in positions {
            let Some(step) = workflow.steps.get(pos as usize) else {
                continue;
            };
            let Some(defined) = template.steps.iter().find(|s| s.name == step.name) else {
                continue;
            };
            for (index, action) in defined.actions.iter().enumerate() {
                // The ticket and the owner are read only for an action that names them, so a
                // plain transition stays one read and one write.
                if fill.title.is_none() && mentions(action, "title") {
                    fill.title = Some(self.ticket_title(workflow).await);
                }
                if fill.duration.is_none() && mentions(action, "duration") {
                    fill.duration = self.tracked_time(workflow, unstored).await;
                }
                if fill.user.is_none() && mentions(action, "user") {
                    fill.user = Some(match self.store.user_by_id(&workflow.owner).await {
                        Ok(user) => user.name,
                        Err(_) => workflow.owner.to_string(),
                    });
                }
                due.push(DueAction {
                    key: format!("{pos}.{index}"),
                    position: pos,
                    step: step.name.clone(),
                    action: action.map_texts(&mut |_, _, text| fill.render(text, &step.name)),
                });
            }
        }
        due
    }

    /// `{duration}`: the time tracked on the workflow so far, corrections applied, as
    /// `1h05m`. A store error leaves the placeholder as written, with a warning, rather than
    /// stopping the step's actions.
    async fn tracked_time(&self, workflow: &Workflow, unstored: &[TimeEntry]) -> Option<String> {
        let filter = workflow_time_filter(workflow.ticket.as_ref(), workflow.owner);
        let history = match self.store.time_history(&filter).await {
            Ok(history) => history,
            Err(e) => {
                tracing::warn!(workflow = %workflow.id, error = %e, "the tracked time for `{{duration}}` could not be read");
                return None;
            }
        };
        let stored: u64 = current_entries(&history)
            .into_iter()
            .filter(|h| h.entry.workflow_id == Some(workflow.id))
            .map(|h| secs(&h.entry))
            .sum();
        let pending: u64 = unstored
            .iter()
            .filter(|e| e.workflow_id == Some(workflow.id) && e.corrects.is_none())
            .map(secs)
            .sum();
        Some(crate::report::text::duration(stored + pending))
    }

    /// The ticket's summary when the store has the ticket; else its key, else the template.
    async fn ticket_title(&self, workflow: &Workflow) -> String {
        let Some(key) = &workflow.ticket else {
            return workflow.template.clone();
        };
        match self.store.ticket(key).await {
            Ok(ticket) => ticket.summary,
            Err(_) => key.to_string(),
        }
    }
}

fn outcome(write: WorkflowWrite, actions: Vec<DueAction>) -> Outcome {
    Outcome {
        entries_written: write.tracking.entries.len(),
        idle: write.tracking.idle,
        workflow: write.workflow,
        events: write.events,
        actions,
    }
}

/// A workflow in state `created`, at version 1, with every step pending.
pub fn instantiate(
    template: &ResolvedTemplate,
    ticket: Option<IssueKey>,
    owner: UserId,
    now: DateTime<Utc>,
) -> Workflow {
    let steps = template
        .steps
        .iter()
        .zip(0u32..)
        .map(|(s, position)| Step {
            position,
            name: s.name.clone(),
            description: s.description.clone(),
            state: StepState::Pending,
            estimate_secs: s.estimate.map(|d| d.0.as_secs()),
            checklist: s
                .checklist
                .iter()
                .map(|text| ChecklistItem {
                    text: text.clone(),
                    done: false,
                    done_at: None,
                    done_by: None,
                })
                .collect(),
            expects: s.evidence.clone(),
            evidence: Vec::new(),
            reason: None,
            started_at: None,
            completed_at: None,
            runs: Vec::new(),
        })
        .collect();
    Workflow {
        id: WorkflowId::new(),
        template: template.name.clone(),
        ticket,
        owner,
        state: WorkflowState::Created,
        version: 1,
        notes: None,
        time_box_secs: template.time_box_secs,
        created_at: now,
        updated_at: now,
        started_at: None,
        completed_at: None,
        steps,
    }
}

/// What a step action's `{placeholders}` become.
struct Placeholders<'w> {
    workflow: &'w Workflow,
    /// The ticket's summary (read only when an action names `{title}`).
    title: Option<String>,
    /// The owner's name (read only when an action names `{user}`).
    user: Option<String>,
    /// The workflow's tracked time (read only when an action names `{duration}`).
    duration: Option<String>,
    outcome: String,
}

impl<'w> Placeholders<'w> {
    fn new(workflow: &'w Workflow) -> Self {
        Self {
            workflow,
            title: None,
            user: None,
            duration: None,
            outcome: outcome_line(workflow),
        }
    }

    fn render(&self, text: &str, step: &str) -> String {
        placeholders::fill(text, &|name| {
            placeholders::workflow_value(self.workflow, step, name).or_else(|| match name {
                // A workflow without a ticket fills `{ticket}` with nothing.
                "ticket" => Some(String::new()),
                "outcome" => Some(self.outcome.clone()),
                "user" => self.user.clone(),
                "title" => self.title.clone(),
                "duration" => self.duration.clone(),
                _ => None,
            })
        })
    }
}

/// `{outcome}`: how the workflow's steps went, in one line, e.g. `2 of 3 steps done; skipped:
/// test (covered by CI)`.
fn outcome_line(workflow: &Workflow) -> String {
    let done = workflow
        .steps
        .iter()
        .filter(|s| s.state == StepState::Done)
        .count();
    let mut line = format!("{done} of {} steps done", workflow.steps.len());
    for (state, label) in [
        (StepState::Skipped, "skipped"),
        (StepState::Blocked, "blocked"),
    ] {
        let listed: Vec<String> = workflow
            .steps
            .iter()
            .filter(|s| s.state == state)
            .map(|s| match &s.reason {
                Some(reason) => format!("{} ({reason})", s.name),
                None => s.name.clone(),
            })
            .collect();
        if !listed.is_empty() {
            // Writing to a String cannot fail.
            let _ = write!(line, "; {label}: {}", listed.join(", "));
        }
    }
    line
}

/// Whether any text of `action` names `placeholder`.
fn mentions(action: &StepAction, placeholder: &str) -> bool {
    action
        .texts()
        .iter()
        .any(|(_, _, text)| placeholders::names_in(text).contains(&placeholder))
}
