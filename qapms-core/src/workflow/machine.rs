//! The workflow state machine: pure functions from a snapshot and a command to the next
//! snapshot and the events that explain it. No I/O, no clock: the engine passes `now`.
//!
//! Workflow states and the commands that move between them:
//!
//! ```text
//! created --start--> in_progress --pause--> paused --resume--> in_progress
//! created | in_progress | paused --abandon--> abandoned
//! in_progress | paused --complete--> completed   (every step done or skipped)
//! ```
//!
//! Step states: `pending --start--> active --done--> done`; `pending | active | blocked
//! --skip(reason)--> skipped`; `pending | active --block(reason)--> blocked --start--> active`.
//! At most one step is active: starting another returns the active one to `pending`, and
//! finishing the active step (done, skip, block) activates the next pending step after it,
//! if there is one. Steps change only while the workflow is in progress; evidence, notes and
//! checklist ticks may also be recorded while it is paused. Anything else is an
//! [`ErrorKind::InvalidInput`] error that names the current state and the attempted
//! transition (context keys `state` and `transition`), and changes nothing.
//!
//! [`ErrorKind::InvalidInput`]: crate::ErrorKind::InvalidInput

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::EvidenceKind;
use crate::model::{
    ActionRecord, Evidence, StepState, UserId, Workflow, WorkflowEvent, WorkflowState,
};
use crate::{Error, Result};

/// Names a step: by 1-based number as people count (`2`) or by name (`test`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StepRef {
    Number(u32),
    Name(String),
}

impl StepRef {
    /// `"2"` is step number 2; anything else is a name.
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        match text.parse::<u32>() {
            Ok(n) => Self::Number(n),
            Err(_) => Self::Name(text.to_owned()),
        }
    }
}

/// Names a checklist item: by 1-based number or by its text (case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ItemRef {
    Number(u32),
    Text(String),
}

impl ItemRef {
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        match text.parse::<u32>() {
            Ok(n) => Self::Number(n),
            Err(_) => Self::Text(text.to_owned()),
        }
    }
}

/// Something a user asks of a workflow. `step: None` means the active step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    Start,
    Pause,
    Resume,
    Complete,
    Abandon {
        reason: Option<String>,
    },
    StartStep {
        step: StepRef,
    },
    /// Marks the step done. Unticked checklist items refuse it unless `force`.
    StepDone {
        step: Option<StepRef>,
        force: bool,
    },
    SkipStep {
        step: Option<StepRef>,
        reason: String,
    },
    BlockStep {
        step: Option<StepRef>,
        reason: String,
    },
    Tick {
        step: Option<StepRef>,
        item: ItemRef,
        done: bool,
    },
    AddEvidence {
        step: Option<StepRef>,
        kind: EvidenceKind,
        value: String,
    },
    /// Keeps the outcome of step action `record.key` as evidence on step `position`
    /// (0-based), replacing the record of an earlier attempt. Only the action runner sends
    /// it, so it never comes from outside: a front-end cannot forge an action's outcome.
    #[serde(skip)]
    RecordAction {
        position: u32,
        kind: EvidenceKind,
        value: String,
        record: ActionRecord,
    },
}

impl Command {
    /// The transition's name in errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Complete => "complete",
            Self::Abandon { .. } => "abandon",
            Self::StartStep { .. } => "step start",
            Self::StepDone { .. } => "step done",
            Self::SkipStep { .. } => "step skip",
            Self::BlockStep { .. } => "step block",
            Self::Tick { .. } => "checklist tick",
            Self::AddEvidence { .. } => "add evidence",
            Self::RecordAction { .. } => "record action",
        }
    }
}

/// The result of applying a command: the new snapshot, what changed, and the log entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub workflow: Workflow,
    pub changed_steps: Vec<u32>,
    pub events: Vec<WorkflowEvent>,
    /// The step that was finished as done, if any (its actions are due).
    pub finished_step: Option<u32>,
}

fn refused(workflow: &Workflow, transition: &str, why: impl Into<String>) -> Error {
    Error::invalid_input(why.into())
        .with_context("transition", transition.to_owned())
        .with_context("state", workflow.state.as_str())
        .with_context("workflow", workflow.id.to_string())
}

struct Builder {
    next: Workflow,
    changed: Vec<u32>,
    events: Vec<WorkflowEvent>,
    actor: UserId,
    now: DateTime<Utc>,
}

impl Builder {
    fn event(
        &mut self,
        kind: &str,
        step: Option<u32>,
        from: Option<&str>,
        to: Option<&str>,
        detail: serde_json::Value,
    ) {
        self.next.version += 1;
        self.events.push(WorkflowEvent {
            version: self.next.version,
            actor: self.actor,
            at: self.now,
            kind: kind.to_owned(),
            step,
            from_state: from.map(str::to_owned),
            to_state: to.map(str::to_owned),
            detail,
        });
    }

    fn set_workflow_state(&mut self, kind: &str, to: WorkflowState, detail: serde_json::Value) {
        let from = self.next.state;
        self.next.state = to;
        self.event(kind, None, Some(from.as_str()), Some(to.as_str()), detail);
    }

    fn set_step_state(
        &mut self,
        pos: u32,
        kind: &str,
        to: StepState,
        reason: Option<String>,
    ) -> Result<()> {
        let now = self.now;
        let step = self
            .next
            .steps
            .get_mut(pos as usize)
            .ok_or_else(|| Error::invalid_input("no such step"))?;
        let from = step.state;
        step.state = to;
        match to {
            StepState::Active => {
                if step.started_at.is_none() {
                    step.started_at = Some(now);
                }
                step.reason = None;
            }
            StepState::Done | StepState::Skipped => step.completed_at = Some(now),
            StepState::Pending | StepState::Blocked => {}
        }
        if reason.is_some() {
            step.reason.clone_from(&reason);
        }
        if !self.changed.contains(&pos) {
            self.changed.push(pos);
        }
        let detail = reason.map_or_else(|| json!({}), |r| json!({ "reason": r }));
        self.event(
            kind,
            Some(pos),
            Some(from.as_str()),
            Some(to.as_str()),
            detail,
        );
        Ok(())
    }

    /// Activates the first pending step after `after` (or from the start).
    fn activate_next(&mut self, after: Option<u32>) -> Result<()> {
        let start = after.map_or(0, |p| p as usize + 1);
        let next = self
            .next
            .steps
            .iter()
            .skip(start)
            .find(|s| s.state == StepState::Pending)
            .map(|s| s.position);
        if let Some(pos) = next {
            self.set_step_state(pos, "step_started", StepState::Active, None)?;
        }
        Ok(())
    }

    fn finish(self, finished_step: Option<u32>) -> Transition {
        let mut workflow = self.next;
        workflow.updated_at = self.now;
        let mut changed = self.changed;
        changed.sort_unstable();
        Transition {
            workflow,
            changed_steps: changed,
            events: self.events,
            finished_step,
        }
    }
}

/// Finds the step a command names; `None` is the active step.
fn find_step(workflow: &Workflow, step: Option<&StepRef>, transition: &str) -> Result<u32> {
    let found = match step {
        None => workflow.active_step().map(|s| s.position).ok_or_else(|| {
            refused(
                workflow,
                transition,
                format!("cannot {transition}: no step is active; name the step"),
            )
        })?,
        Some(StepRef::Number(n)) => {
            let len = workflow.steps.len();
            n.checked_sub(1)
                .filter(|i| (*i as usize) < len)
                .ok_or_else(|| {
                    Error::invalid_input(format!(
                        "there is no step {n}: this workflow has steps 1 to {len}"
                    ))
                    .with_context("transition", transition.to_owned())
                })?
        }
        Some(StepRef::Name(name)) => workflow
            .steps
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
            .map(|s| s.position)
            .ok_or_else(|| {
                let names: Vec<&str> = workflow.steps.iter().map(|s| s.name.as_str()).collect();
                Error::invalid_input(format!(
                    "there is no step named `{name}`; steps: {}",
                    names.join(", ")
                ))
                .with_context("transition", transition.to_owned())
            })?,
    };
    Ok(found)
}

fn non_empty_reason(reason: &str, workflow: &Workflow, transition: &str) -> Result<String> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(refused(
            workflow,
            transition,
            format!("cannot {transition} without a reason; give one with --reason"),
        ));
    }
    Ok(reason.to_owned())
}

/// Applies `command` to `workflow` on behalf of `actor` at `now`.
#[expect(
    clippy::too_many_lines,
    reason = "one match arm per transition reads as the state table it is"
)]
pub fn apply(
    workflow: &Workflow,
    command: &Command,
    actor: UserId,
    now: DateTime<Utc>,
) -> Result<Transition> {
    let t = command.name();
    let state = workflow.state;
    let mut b = Builder {
        next: workflow.clone(),
        changed: Vec::new(),
        events: Vec::new(),
        actor,
        now,
    };
    let mut finished_step = None;
    // Which workflow states each command accepts.
    let allowed = match command {
        Command::Start => state == WorkflowState::Created,
        Command::Resume => state == WorkflowState::Paused,
        Command::Complete => matches!(state, WorkflowState::InProgress | WorkflowState::Paused),
        Command::Abandon { .. } => !state.is_finished(),
        Command::Pause
        | Command::StartStep { .. }
        | Command::StepDone { .. }
        | Command::SkipStep { .. }
        | Command::BlockStep { .. } => state == WorkflowState::InProgress,
        Command::Tick { .. } | Command::AddEvidence { .. } => {
            matches!(state, WorkflowState::InProgress | WorkflowState::Paused)
        }
        // An action of the last step runs after the QA may have completed the workflow, and a
        // failed one may be retried later; an abandoned workflow's actions are not wanted.
        Command::RecordAction { .. } => state != WorkflowState::Abandoned,
    };
    if !allowed {
        let needs = match command {
            Command::Start => "created",
            Command::Resume => "paused",
            Command::Complete | Command::Tick { .. } | Command::AddEvidence { .. } => {
                "in_progress or paused"
            }
            Command::Abandon { .. } => "created, in_progress or paused",
            Command::RecordAction { .. } => "any state but abandoned",
            _ => "in_progress",
        };
        let hint = match state {
            WorkflowState::Paused => "; resume it first",
            WorkflowState::Created => "; start it first",
            _ => "",
        };
        return Err(refused(
            workflow,
            t,
            format!(
                "cannot {t}: the workflow is {} ({t} needs {needs}){hint}",
                state.as_str()
            ),
        ));
    }
    match command {
        Command::Start => {
            b.next.started_at = Some(now);
            b.set_workflow_state("started", WorkflowState::InProgress, json!({}));
            b.activate_next(None)?;
        }
        Command::Pause => b.set_workflow_state("paused", WorkflowState::Paused, json!({})),
        Command::Resume => b.set_workflow_state("resumed", WorkflowState::InProgress, json!({})),
        Command::Complete => {
            let open: Vec<String> = workflow
                .steps
                .iter()
                .filter(|s| !s.state.is_settled())
                .map(|s| format!("{} `{}` ({})", s.position + 1, s.name, s.state))
                .collect();
            if !open.is_empty() {
                return Err(refused(
                    workflow,
                    t,
                    format!(
                        "cannot complete: every step must be done or skipped; still open: {}",
                        open.join(", ")
                    ),
                ));
            }
            b.next.completed_at = Some(now);
            b.set_workflow_state("completed", WorkflowState::Completed, json!({}));
        }
        Command::Abandon { reason } => {
            b.next.completed_at = Some(now);
            let detail = reason
                .as_ref()
                .map_or_else(|| json!({}), |r| json!({ "reason": r }));
            b.set_workflow_state("abandoned", WorkflowState::Abandoned, detail);
        }
        Command::StartStep { step } => {
            let pos = find_step(workflow, Some(step), t)?;
            let current = workflow.steps[pos as usize].state;
            if !matches!(current, StepState::Pending | StepState::Blocked) {
                return Err(step_refused(workflow, pos, t, "pending or blocked"));
            }
            if let Some(active) = workflow.active_step().map(|s| s.position) {
                b.set_step_state(active, "step_returned", StepState::Pending, None)?;
            }
            b.set_step_state(pos, "step_started", StepState::Active, None)?;
        }
        Command::StepDone { step, force } => {
            let pos = find_step(workflow, step.as_ref(), t)?;
            let s = &workflow.steps[pos as usize];
            if s.state != StepState::Active {
                return Err(step_refused(workflow, pos, t, "active"));
            }
            let open: Vec<&str> = s
                .checklist
                .iter()
                .filter(|i| !i.done)
                .map(|i| i.text.as_str())
                .collect();
            if !open.is_empty() && !force {
                return Err(refused(
                    workflow,
                    t,
                    format!(
                        "step `{}` has unticked checklist items: {}; tick them or pass --force",
                        s.name,
                        open.join("; ")
                    ),
                ));
            }
            b.set_step_state(pos, "step_done", StepState::Done, None)?;
            finished_step = Some(pos);
            b.activate_next(Some(pos))?;
        }
        Command::SkipStep { step, reason } => {
            let reason = non_empty_reason(reason, workflow, t)?;
            let pos = find_step(workflow, step.as_ref(), t)?;
            let current = workflow.steps[pos as usize].state;
            if current.is_settled() {
                return Err(step_refused(workflow, pos, t, "pending, active or blocked"));
            }
            b.set_step_state(pos, "step_skipped", StepState::Skipped, Some(reason))?;
            if current == StepState::Active {
                b.activate_next(Some(pos))?;
            }
        }
        Command::BlockStep { step, reason } => {
            let reason = non_empty_reason(reason, workflow, t)?;
            let pos = find_step(workflow, step.as_ref(), t)?;
            let current = workflow.steps[pos as usize].state;
            if !matches!(current, StepState::Pending | StepState::Active) {
                return Err(step_refused(workflow, pos, t, "pending or active"));
            }
            b.set_step_state(pos, "step_blocked", StepState::Blocked, Some(reason))?;
            if current == StepState::Active {
                b.activate_next(Some(pos))?;
            }
        }
        Command::Tick { step, item, done } => {
            let pos = find_step(workflow, step.as_ref(), t)?;
            let s = &mut b.next.steps[pos as usize];
            let index = match item {
                ItemRef::Number(n) => n
                    .checked_sub(1)
                    .map(|i| i as usize)
                    .filter(|i| *i < s.checklist.len()),
                ItemRef::Text(text) => s
                    .checklist
                    .iter()
                    .position(|i| i.text.eq_ignore_ascii_case(text)),
            }
            .ok_or_else(|| {
                Error::invalid_input(format!(
                    "step `{}` has no checklist item {}; it has {} item(s)",
                    s.name,
                    match item {
                        ItemRef::Number(n) => n.to_string(),
                        ItemRef::Text(text) => format!("`{text}`"),
                    },
                    s.checklist.len()
                ))
                .with_context("transition", t)
            })?;
            let entry = &mut s.checklist[index];
            entry.done = *done;
            entry.done_at = done.then_some(now);
            entry.done_by = done.then_some(actor);
            let text = entry.text.clone();
            b.changed.push(pos);
            let kind = if *done {
                "checklist_ticked"
            } else {
                "checklist_unticked"
            };
            b.event(kind, Some(pos), None, None, json!({ "item": text }));
        }
        Command::AddEvidence { step, kind, value } => {
            let value = value.trim();
            if value.is_empty() {
                return Err(
                    Error::invalid_input("evidence cannot be empty").with_context("transition", t)
                );
            }
            let pos = find_step(workflow, step.as_ref(), t)?;
            b.next.steps[pos as usize].evidence.push(Evidence {
                kind: *kind,
                value: value.to_owned(),
                at: now,
                by: actor,
                action: None,
            });
            b.changed.push(pos);
            b.event(
                "evidence_added",
                Some(pos),
                None,
                None,
                json!({ "kind": kind, "value": value }),
            );
        }
        Command::RecordAction {
            position,
            kind,
            value,
            record,
        } => {
            let step = b
                .next
                .steps
                .get_mut(*position as usize)
                .ok_or_else(|| Error::invalid_input(format!("there is no step {position}")))?;
            if step.state != StepState::Done {
                return Err(step_refused(workflow, *position, t, "done"));
            }
            let mut record = record.clone();
            let earlier = step
                .evidence
                .iter()
                .position(|e| e.action.as_ref().is_some_and(|a| a.key == record.key));
            // Attempts count here, from what is stored, so two runners cannot both claim the
            // first attempt.
            record.attempts = earlier
                .and_then(|i| step.evidence[i].action.as_ref())
                .map_or(1, |a| a.attempts.saturating_add(1));
            let detail = json!({
                "key": record.key,
                "action": record.kind,
                "summary": record.summary,
                "attempts": record.attempts,
            });
            let event = format!("action_{}", record.status.as_str());
            let evidence = Evidence {
                kind: *kind,
                value: value.clone(),
                at: now,
                by: actor,
                action: Some(record),
            };
            match earlier {
                Some(i) => step.evidence[i] = evidence,
                None => step.evidence.push(evidence),
            }
            b.changed.push(*position);
            b.event(&event, Some(*position), None, None, detail);
        }
    }
    debug_assert!(
        b.next
            .steps
            .iter()
            .filter(|s| s.state == StepState::Active)
            .count()
            <= 1
    );
    Ok(b.finish(finished_step))
}

fn step_refused(workflow: &Workflow, pos: u32, transition: &str, needs: &str) -> Error {
    let step = &workflow.steps[pos as usize];
    Error::invalid_input(format!(
        "cannot {transition} step {} `{}`: it is {} ({transition} needs {needs})",
        pos + 1,
        step.name,
        step.state
    ))
    .with_context("transition", transition.to_owned())
    .with_context("state", step.state.as_str())
    .with_context("step", step.name.clone())
}
