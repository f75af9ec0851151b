//! Workflow instances, their steps, their transition log, and the timer state behind time
//! tracking.
//!
//! A [`Workflow`] is a snapshot: the engine (`crate::workflow`) computes the next snapshot from
//! the current one and hands the store a [`WorkflowWrite`] holding the new snapshot, the
//! version it expects to replace, the events that explain the change and the time-tracking
//! writes that go with it. The store applies all of it in one transaction or none of it, and
//! refuses a write whose expected version is no longer current ([`ErrorKind::Conflict`]), so
//! two front-ends acting on the same workflow cannot interleave half-changes.
//!
//! [`ErrorKind::Conflict`]: crate::ErrorKind::Conflict

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{IssueKey, RunId, TimeEntry, TimeEntryId, UserId, WorkflowId};
use crate::config::EvidenceKind;

/// Where a workflow is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowState {
    Created,
    InProgress,
    Paused,
    Completed,
    Abandoned,
}

text_enum!(WorkflowState, "workflow state", {
    Created => "created",
    InProgress => "in_progress",
    Paused => "paused",
    Completed => "completed",
    Abandoned => "abandoned",
});

impl WorkflowState {
    /// Completed and abandoned workflows take no more transitions.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Abandoned)
    }
}

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Pending,
    Active,
    Done,
    Skipped,
    Blocked,
}

text_enum!(StepState, "step state", {
    Pending => "pending",
    Active => "active",
    Done => "done",
    Skipped => "skipped",
    Blocked => "blocked",
});

impl StepState {
    /// Done and skipped steps are settled; a workflow completes when every step is.
    pub fn is_settled(self) -> bool {
        matches!(self, Self::Done | Self::Skipped)
    }
}

/// One checklist line of a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChecklistItem {
    pub text: String,
    pub done: bool,
    #[serde(default)]
    pub done_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub done_by: Option<UserId>,
}

/// A piece of evidence recorded on a step: a note, a link, an attachment path or URL, or a
/// reference to test results (a run id, a Testmo run URL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    pub kind: EvidenceKind,
    pub value: String,
    pub at: DateTime<Utc>,
    pub by: UserId,
    /// Set when a step action (a search, a Jira comment, …) produced this evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<ActionRecord>,
}

/// How a step action went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    Succeeded,
    Failed,
    /// Nothing to do: no integration configured for it, or no ticket to act on.
    Skipped,
}

text_enum!(ActionStatus, "action status", {
    Succeeded => "succeeded",
    Failed => "failed",
    Skipped => "skipped",
});

/// The outcome of one step action, kept as evidence on its step.
///
/// `key` names the action within the workflow (`{step position}.{action index}`): a retry
/// finds the earlier record by it and does not repeat an action that succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionRecord {
    pub key: String,
    /// The action's kind as configured, such as `jira_comment`.
    pub kind: String,
    pub status: ActionStatus,
    /// What it found or did, or why it failed, for people.
    pub summary: String,
    /// What it produced for programs: items found, the comment id, the rendered SPL.
    #[serde(default)]
    pub output: serde_json::Value,
    /// How many times it has been tried, this one included.
    pub attempts: u32,
}

/// One step of a workflow instance, with what the template gave it when the workflow started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// 0-based position in the workflow.
    pub position: u32,
    pub name: String,
    pub description: Option<String>,
    pub state: StepState,
    /// The template's estimate, in seconds.
    pub estimate_secs: Option<u64>,
    pub checklist: Vec<ChecklistItem>,
    /// The evidence the template asks for.
    pub expects: Vec<EvidenceKind>,
    pub evidence: Vec<Evidence>,
    /// Why the step was skipped or blocked.
    pub reason: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Test runs attached to the step (read-only here: see `Store::attach_run_to_active_steps`).
    pub runs: Vec<RunId>,
}

/// A workflow instance: a template followed for a ticket by its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    pub id: WorkflowId,
    pub template: String,
    pub ticket: Option<IssueKey>,
    pub owner: UserId,
    pub state: WorkflowState,
    /// Bumped by every write; a write names the version it replaces.
    pub version: u32,
    pub notes: Option<String>,
    /// A time box for the whole workflow (exploratory sessions), in seconds.
    pub time_box_secs: Option<u64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub steps: Vec<Step>,
}

impl Workflow {
    /// The active step, if any (there is at most one).
    pub fn active_step(&self) -> Option<&Step> {
        self.steps.iter().find(|s| s.state == StepState::Active)
    }
}

/// One entry of a workflow's transition log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowEvent {
    /// The workflow version this event produced.
    pub version: u32,
    pub actor: UserId,
    pub at: DateTime<Utc>,
    /// What happened: `created`, `started`, `paused`, `step_done`, `checklist_ticked`, …
    pub kind: String,
    /// The step it happened to, by position.
    pub step: Option<u32>,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    /// Extra facts (a reason, the evidence recorded), as JSON.
    pub detail: serde_json::Value,
}

/// Which workflows to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowFilter {
    pub owner: Option<UserId>,
    pub ticket: Option<IssueKey>,
    /// Only these states; all when empty.
    pub states: Vec<WorkflowState>,
    /// At most this many, newest first; all when `None`.
    pub limit: Option<u32>,
}

/// A user's running timer. A user has at most one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timer {
    /// Changes every time the timer is (re)started, so a write can say which run it replaces.
    pub id: Uuid,
    pub user_id: UserId,
    pub ticket: Option<IssueKey>,
    pub workflow_id: Option<WorkflowId>,
    pub step: Option<String>,
    pub started_at: DateTime<Utc>,
    /// The last time the user did something; a longer gap than the idle threshold after it is
    /// not counted.
    pub last_activity_at: DateTime<Utc>,
}

/// Time with no activity that a timer did not count, kept so the QA can claim it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdlePeriod {
    pub id: Uuid,
    pub user_id: UserId,
    pub ticket: Option<IssueKey>,
    pub workflow_id: Option<WorkflowId>,
    pub step: Option<String>,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    /// The entry the QA turned this period into, if they kept it.
    pub kept_entry_id: Option<TimeEntryId>,
    pub recorded_at: DateTime<Utc>,
}

/// What to do with a user's timer in a write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TimerChange {
    /// Leave it as it is.
    #[default]
    Keep,
    /// Replace the timer whose id is `expected` (`None`: there must be no timer) with `timer`
    /// (`None`: stop it). A timer that changed meanwhile makes the write a conflict.
    Replace {
        user_id: UserId,
        expected: Option<Uuid>,
        timer: Option<Timer>,
    },
}

/// The time-tracking part of a write: appended entries, idle periods, the timer change and
/// idle periods the QA keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackingWrite {
    pub entries: Vec<TimeEntry>,
    pub idle: Vec<IdlePeriod>,
    pub timer: TimerChange,
    /// `(idle period id, entry id)`: marks a period as kept; the entry must be in `entries` or
    /// already stored. A period kept before is a conflict.
    pub kept_idle: Vec<(Uuid, TimeEntryId)>,
}

impl TrackingWrite {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
            && self.idle.is_empty()
            && self.timer == TimerChange::Keep
            && self.kept_idle.is_empty()
    }
}

/// One workflow transition as the store applies it, all in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowWrite {
    /// The workflow after the transition; its `version` is the new version.
    pub workflow: Workflow,
    /// The version being replaced; `None` creates the workflow.
    pub expected_version: Option<u32>,
    /// Positions of the steps that changed (ignored on create: every step is inserted).
    pub changed_steps: Vec<u32>,
    /// The log entries, one per version from `expected_version + 1` to `workflow.version`.
    pub events: Vec<WorkflowEvent>,
    pub tracking: TrackingWrite,
}

/// Which time entries a history query wants. Entries match a period when they start in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeHistoryFilter {
    pub user_id: Option<UserId>,
    pub ticket: Option<IssueKey>,
    pub template: Option<String>,
    pub step: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A time entry with the template of its workflow, for history and accuracy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    #[serde(flatten)]
    pub entry: TimeEntry,
    pub template: Option<String>,
}

/// A step's estimate as instantiated, for estimate accuracy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepEstimate {
    pub workflow_id: WorkflowId,
    pub template: String,
    pub step: String,
    pub state: StepState,
    pub estimate_secs: Option<u64>,
}
