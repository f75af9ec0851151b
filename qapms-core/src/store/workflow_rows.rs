//! Rows of the workflow and time-tracking tables (migration 0002) and their conversion to the
//! domain types. Kept apart from `rows.rs` so the foundation's rows and these evolve
//! separately; the same rules apply (a value the domain rejects is a store error naming the
//! column).

use std::str::FromStr;

use sqlx::types::Json;
use uuid::Uuid;

use super::rows::TimeEntryRow;
use super::time::DbTime;
use crate::config::EvidenceKind;
use crate::model::{
    ChecklistItem, Evidence, HistoryEntry, IdlePeriod, IssueKey, Step, StepEstimate, TimeEntryId,
    Timer, UserId, Workflow, WorkflowEvent, WorkflowId,
};
use crate::{Error, Result};

fn parse<T: FromStr<Err = Error>>(value: &str, column: &'static str) -> Result<T> {
    value.parse().map_err(|e: Error| {
        Error::store(format!("unexpected value in {column}"))
            .with_context("value", value)
            .with_source(e)
    })
}

fn unsigned<T: TryFrom<i64>>(value: i64, column: &'static str) -> Result<T> {
    T::try_from(value).map_err(|_| {
        Error::store(format!("unexpected value in {column}"))
            .with_context("value", value.to_string())
    })
}

fn ticket(key: Option<&str>, column: &'static str) -> Result<Option<IssueKey>> {
    key.map(|k| parse(k, column)).transpose()
}

#[derive(sqlx::FromRow)]
pub(super) struct WorkflowRow {
    pub(super) id: Uuid,
    template: String,
    ticket_key: Option<String>,
    owner_id: Option<Uuid>,
    state: String,
    version: i32,
    notes: Option<String>,
    time_box_secs: Option<i64>,
    created_at: DbTime,
    updated_at: DbTime,
    started_at: Option<DbTime>,
    completed_at: Option<DbTime>,
}

impl WorkflowRow {
    pub(super) fn into_workflow(self, steps: Vec<Step>) -> Result<Workflow> {
        Ok(Workflow {
            id: WorkflowId::from_uuid(self.id),
            template: self.template,
            ticket: ticket(self.ticket_key.as_deref(), "workflows.ticket_key")?,
            owner: self
                .owner_id
                .map(UserId::from_uuid)
                .ok_or_else(|| Error::store("a workflow has no owner (workflows.owner_id)"))?,
            state: parse(&self.state, "workflows.state")?,
            version: unsigned(i64::from(self.version), "workflows.version")?,
            notes: self.notes,
            time_box_secs: self
                .time_box_secs
                .map(|s| unsigned(s, "workflows.time_box_secs"))
                .transpose()?,
            created_at: self.created_at.into(),
            updated_at: self.updated_at.into(),
            started_at: self.started_at.map(Into::into),
            completed_at: self.completed_at.map(Into::into),
            steps,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct StepRow {
    position: i32,
    name: String,
    description: Option<String>,
    state: String,
    estimate_secs: Option<i64>,
    checklist: Json<Vec<ChecklistItem>>,
    expects: Json<Vec<EvidenceKind>>,
    evidence: Json<Vec<Evidence>>,
    reason: Option<String>,
    started_at: Option<DbTime>,
    completed_at: Option<DbTime>,
}

/// A step row with the workflow it belongs to, for reading several workflows' steps at once.
#[derive(sqlx::FromRow)]
pub(super) struct WorkflowStepRow {
    pub(super) workflow_id: Uuid,
    #[sqlx(flatten)]
    pub(super) step: StepRow,
}

impl TryFrom<StepRow> for Step {
    type Error = Error;

    fn try_from(row: StepRow) -> Result<Self> {
        Ok(Self {
            position: unsigned(i64::from(row.position), "workflow_steps.position")?,
            name: row.name,
            description: row.description,
            state: parse(&row.state, "workflow_steps.state")?,
            estimate_secs: row
                .estimate_secs
                .map(|s| unsigned(s, "workflow_steps.estimate_secs"))
                .transpose()?,
            checklist: row.checklist.0,
            expects: row.expects.0,
            evidence: row.evidence.0,
            reason: row.reason,
            started_at: row.started_at.map(Into::into),
            completed_at: row.completed_at.map(Into::into),
            runs: Vec::new(),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct EventRow {
    version: i32,
    actor_id: Uuid,
    at: DbTime,
    kind: String,
    step: Option<i32>,
    from_state: Option<String>,
    to_state: Option<String>,
    detail: Json<serde_json::Value>,
}

impl TryFrom<EventRow> for WorkflowEvent {
    type Error = Error;

    fn try_from(row: EventRow) -> Result<Self> {
        Ok(Self {
            version: unsigned(i64::from(row.version), "workflow_events.version")?,
            actor: UserId::from_uuid(row.actor_id),
            at: row.at.into(),
            kind: row.kind,
            step: row
                .step
                .map(|s| unsigned(i64::from(s), "workflow_events.step"))
                .transpose()?,
            from_state: row.from_state,
            to_state: row.to_state,
            detail: row.detail.0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct TimerRow {
    user_id: Uuid,
    id: Uuid,
    ticket_key: Option<String>,
    workflow_id: Option<Uuid>,
    step: Option<String>,
    started_at: DbTime,
    last_activity_at: DbTime,
}

impl TryFrom<TimerRow> for Timer {
    type Error = Error;

    fn try_from(row: TimerRow) -> Result<Self> {
        Ok(Self {
            id: row.id,
            user_id: UserId::from_uuid(row.user_id),
            ticket: ticket(row.ticket_key.as_deref(), "timers.ticket_key")?,
            workflow_id: row.workflow_id.map(WorkflowId::from_uuid),
            step: row.step,
            started_at: row.started_at.into(),
            last_activity_at: row.last_activity_at.into(),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct IdleRow {
    id: Uuid,
    user_id: Uuid,
    ticket_key: Option<String>,
    workflow_id: Option<Uuid>,
    step: Option<String>,
    started_at: DbTime,
    ended_at: DbTime,
    kept_entry_id: Option<Uuid>,
    recorded_at: DbTime,
}

impl TryFrom<IdleRow> for IdlePeriod {
    type Error = Error;

    fn try_from(row: IdleRow) -> Result<Self> {
        Ok(Self {
            id: row.id,
            user_id: UserId::from_uuid(row.user_id),
            ticket: ticket(row.ticket_key.as_deref(), "idle_periods.ticket_key")?,
            workflow_id: row.workflow_id.map(WorkflowId::from_uuid),
            step: row.step,
            started_at: row.started_at.into(),
            ended_at: row.ended_at.into(),
            kept_entry_id: row.kept_entry_id.map(TimeEntryId::from_uuid),
            recorded_at: row.recorded_at.into(),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct HistoryRow {
    #[sqlx(flatten)]
    entry: TimeEntryRow,
    template: Option<String>,
}

impl TryFrom<HistoryRow> for HistoryEntry {
    type Error = Error;

    fn try_from(row: HistoryRow) -> Result<Self> {
        Ok(Self {
            entry: row.entry.try_into()?,
            template: row.template,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct EstimateRow {
    workflow_id: Uuid,
    template: String,
    name: String,
    state: String,
    estimate_secs: Option<i64>,
}

impl TryFrom<EstimateRow> for StepEstimate {
    type Error = Error;

    fn try_from(row: EstimateRow) -> Result<Self> {
        Ok(Self {
            workflow_id: WorkflowId::from_uuid(row.workflow_id),
            template: row.template,
            step: row.name,
            state: parse(&row.state, "workflow_steps.state")?,
            estimate_secs: row
                .estimate_secs
                .map(|s| unsigned(s, "workflow_steps.estimate_secs"))
                .transpose()?,
        })
    }
}
