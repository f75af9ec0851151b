//! Tickets cached from Jira.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{IssueKey, PageRequest, RawJson};

/// Jira's coarse status grouping, which stays stable when a team renames its statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusCategory {
    ToDo,
    InProgress,
    Done,
    /// Jira reported no category, or one this version does not know.
    Unknown,
}

text_enum!(StatusCategory, "status category", {
    ToDo => "to_do",
    InProgress => "in_progress",
    Done => "done",
    Unknown => "unknown",
});

/// A Jira issue as cached in the store. `raw` keeps the payload it was built from, as Jira sent
/// it, so fields qapms does not model yet can be read later without a re-sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    pub key: IssueKey,
    pub summary: String,
    pub status: String,
    pub status_category: StatusCategory,
    pub issue_type: String,
    pub priority: Option<String>,
    pub assignee: Option<String>,
    pub labels: Vec<String>,
    pub components: Vec<String>,
    pub fix_versions: Vec<String>,
    /// When Jira last changed the issue.
    pub updated: DateTime<Utc>,
    pub url: Option<String>,
    pub raw: RawJson,
}

impl Ticket {
    /// The project key, taken from the issue key.
    pub fn project(&self) -> &str {
        self.key.project()
    }
}

/// Which tickets to list. `None` fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketFilter {
    /// A project key such as `PAY` (compared upper-cased, as Jira does).
    pub project: Option<String>,
    /// An exact status name such as `In Review`.
    pub status: Option<String>,
    pub status_category: Option<StatusCategory>,
    #[serde(default)]
    pub page: PageRequest,
}
