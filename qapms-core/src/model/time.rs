//! Time entries: the append-only record of time spent.
//!
//! An entry is never edited or deleted. A mistake is corrected by appending a new entry whose
//! `corrects` names the old one; readers treat the newest entry in such a chain as current.
//! The store enforces this with triggers, so no code path (nor a hand-written SQL session)
//! can rewrite history that may already have been exported as a Jira worklog.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{IssueKey, TimeEntryId, UserId, WorkflowId};

/// How an entry was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    Timer,
    Manual,
    Import,
}

text_enum!(TimeSource, "time source", {
    Timer => "timer",
    Manual => "manual",
    Import => "import",
});

/// One interval of work, `[started_at, ended_at)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeEntry {
    pub id: TimeEntryId,
    pub user_id: UserId,
    pub ticket: Option<IssueKey>,
    pub workflow_id: Option<WorkflowId>,
    /// The workflow step the time was spent on, by step name.
    pub step: Option<String>,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub source: TimeSource,
    pub note: Option<String>,
    /// The entry this one corrects (replaces), if any.
    pub corrects: Option<TimeEntryId>,
    /// The Jira worklog id once exported; the one field that may be set after the fact.
    pub exported_worklog_id: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// Which time entries to list. Entries match a period when they *start* inside
/// `[from, to)`, so consecutive periods never count an entry twice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeEntryFilter {
    pub user_id: Option<UserId>,
    pub ticket: Option<IssueKey>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}
