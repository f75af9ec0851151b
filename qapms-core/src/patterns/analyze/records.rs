//! What the analysis reads from and writes to the store, row by row.
//!
//! The reads are narrow on purpose: a million stored results cross the store boundary as one
//! [`TestHistory`] per test (aggregated in the database, so ten thousand rows rather than a
//! million), and only failed attempts carry their message ([`FailedAttempt`]).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::{IssueKey, PatternId, RunId, TestId, TestStatus};
use crate::patterns::alerts::{AlertDraft, AlertId, AlertKind};
use crate::patterns::cluster::{LinkSource, TicketLink};

/// One failed (or errored) attempt, with its message and current cluster assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedAttempt {
    pub run_id: RunId,
    pub test_id: TestId,
    pub attempt: u32,
    pub status: TestStatus,
    pub message: String,
    /// A later attempt of the same test in the same run passed.
    pub passed_later: bool,
    pub cluster_id: Option<PatternId>,
    pub trace_fingerprint: Option<String>,
}

/// How an attempt ended, for flakiness. Skipped and blocked attempts are not outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutcomeKind {
    Pass,
    Fail,
    Error,
}

/// One attempt that ran, reduced to what flakiness and the duration series need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryAttempt {
    pub run_id: RunId,
    pub attempt: u32,
    pub outcome: OutcomeKind,
    pub duration_ms: Option<u64>,
}

/// Every attempt of one test that ran, in no particular order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestHistory {
    pub test_id: TestId,
    pub attempts: Vec<HistoryAttempt>,
}

/// One failure cluster's `patterns` row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRecord {
    pub id: PatternId,
    /// The cluster key (16 hex digits).
    pub fingerprint: String,
    pub title: String,
    pub severity: String,
    pub occurrences: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub evidence: serde_json::Value,
}

/// A changed cluster assignment of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub run_id: RunId,
    pub test_id: TestId,
    pub attempt: u32,
    pub cluster_id: Option<PatternId>,
    pub trace_fingerprint: Option<String>,
}

/// Everything one analysis writes, in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnalysisWrite {
    /// Every current failure cluster (rows of clusters that no longer exist are removed).
    pub clusters: Vec<ClusterRecord>,
    /// Only the attempts whose cluster or stack fingerprint changed.
    pub assignments: Vec<Assignment>,
    /// The ticket link of each linked cluster (links of all clusters are replaced).
    pub links: Vec<(PatternId, TicketLink)>,
    pub alerts: Vec<AlertDraft>,
    /// Open alerts to resolve because their condition cleared.
    pub cleared: Vec<ClearedAlert>,
}

/// An open alert the analysis resolved, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClearedAlert {
    pub id: AlertId,
    pub kind: AlertKind,
    pub fingerprint: String,
    pub reason: String,
}

/// A stored pattern row, with its ticket links.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredPattern {
    pub id: PatternId,
    pub kind: String,
    pub fingerprint: String,
    pub title: String,
    pub severity: String,
    pub occurrences: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub evidence: serde_json::Value,
    pub links: Vec<StoredLink>,
}

/// A stored link of a pattern to a Jira issue.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredLink {
    pub issue: IssueKey,
    pub source: LinkSource,
    pub score: f64,
}
