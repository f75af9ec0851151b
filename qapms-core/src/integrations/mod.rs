//! What qapms can ask of an external system, as small traits.
//!
//! [`Integration`] is what every client has: a name and a [`health`](Integration::health)
//! check that tells "ok", "unauthorized", "unreachable" and "degraded" apart, which the doctor
//! command and the 60-second health loop use. What a client can *do* is a separate capability
//! trait ([`TicketSource`] for Jira; [`TestCaseSource`] and [`TestRunSink`] for Testmo;
//! [`LogSearch`] for Splunk; metric and annotation capabilities follow with their
//! integrations), so callers hold an `Arc<dyn TicketSource>`
//! and never depend on a concrete client. Each integration lives in its own folder with the
//! same files (`mod.rs client.rs models.rs config.rs error.rs`) behind a Cargo feature.

use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::Serialize;

use std::collections::BTreeMap;

use crate::model::{IssueKey, TestStatus, Ticket};
use crate::{Error, ErrorKind, Result};

#[cfg(feature = "jira")]
pub mod jira;
#[cfg(feature = "splunk")]
pub mod splunk;
#[cfg(feature = "testmo")]
pub mod testmo;

/// A health answer slower than this is reported as degraded (DESIGN's 2 s p95 floor).
pub const SLOW_HEALTH_CHECK: Duration = Duration::from_secs(2);

/// The state of one integration, as the dashboard and `qapms doctor` show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Ok,
    /// It answered, but refused the credentials.
    Unauthorized,
    /// No answer: DNS, connection, TLS or timeout.
    Unreachable,
    /// It answered, but with a server error, a rate limit, or slowly.
    Degraded,
}

/// One health check's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    pub health: Health,
    pub latency: Duration,
    /// Why it is not `Ok`, in words a user can act on.
    pub detail: Option<String>,
}

impl HealthReport {
    /// Classifies the outcome of a cheap authenticated call that took `latency`.
    pub fn from_outcome(outcome: &Result<()>, latency: Duration) -> Self {
        let (health, detail) = match outcome {
            Ok(()) if latency > SLOW_HEALTH_CHECK => (
                Health::Degraded,
                Some(format!("answered in {} ms", latency.as_millis())),
            ),
            Ok(()) => (Health::Ok, None),
            Err(err) => (classify(err), Some(err.to_string())),
        };
        Self {
            health,
            latency,
            detail,
        }
    }
}

fn classify(err: &Error) -> Health {
    match err.kind() {
        ErrorKind::Unauthorized => Health::Unauthorized,
        // A transport failure has no HTTP status; a status means the server did answer.
        ErrorKind::Upstream if err.context_value("status").is_none() => Health::Unreachable,
        _ => Health::Degraded,
    }
}

/// Identity and health: what every integration client has.
#[async_trait]
pub trait Integration: Send + Sync + std::fmt::Debug {
    /// The integration's kind, e.g. `jira`.
    fn kind(&self) -> &'static str;

    /// Where it points, for display (a redacted base URL).
    fn endpoint(&self) -> String;

    /// A cheap authenticated call, classified; never an error itself.
    async fn health(&self) -> HealthReport;
}

/// A source of tickets (Jira).
#[async_trait]
pub trait TicketSource: Integration {
    /// One ticket by key.
    async fn ticket(&self, key: &IssueKey) -> Result<Ticket>;

    /// Every ticket a query matches (JQL for Jira), streamed page by page.
    fn search_tickets(&self, query: &str) -> BoxStream<'static, Result<Ticket>>;
}

/// A test case as a test-management system holds it, before the store maps it to a stable
/// [`crate::model::TestId`] (that mapping is the identity map's job, not the source's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceTestCase {
    /// The system's own id, e.g. a Testmo case id.
    pub external_id: String,
    pub title: String,
    /// Folder names from the root, joined with `/`, when the case sits in a folder.
    pub folder_path: Option<String>,
    pub tags: Vec<String>,
}

/// A source of test cases (Testmo's case repository).
#[async_trait]
pub trait TestCaseSource: Integration {
    /// Every case of a project, streamed page by page; `project` is the system's project id.
    fn test_cases(&self, project: &str) -> BoxStream<'static, Result<SourceTestCase>>;
}

/// One test result to report, in the shape every run sink understands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportedTest {
    pub name: String,
    /// The suite or class the test belongs to (Testmo's `folder`).
    pub folder: String,
    pub status: TestStatus,
    pub duration_ms: Option<u64>,
    /// The failure or skip message, trace included.
    pub message: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
}

/// A whole run to report: what `testmo automation:run:submit` takes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    pub name: String,
    /// The automation source, e.g. `backend-unit`.
    pub source: String,
    pub tags: Vec<String>,
    pub milestone: Option<String>,
    /// The configuration tested, e.g. `linux-x86_64`.
    pub config: Option<String>,
    pub tests: Vec<ReportedTest>,
}

/// Where a reported run ended up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmittedRun {
    /// The sink's id for the run.
    pub id: String,
    pub tests: usize,
    /// Tests the sink counts as failures.
    pub failures: usize,
}

/// Somewhere test runs can be reported to (Testmo automation runs).
#[async_trait]
pub trait TestRunSink: Integration {
    /// Reports `run` into `project` (the sink's project id) and completes it.
    async fn submit_run(&self, project: &str, run: &RunReport) -> Result<SubmittedRun>;
}

/// One field value of a log record: Splunk's multivalue fields arrive as arrays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FieldValue {
    Single(String),
    Multi(Vec<String>),
}

impl FieldValue {
    /// The first (or only) value.
    pub fn first(&self) -> Option<&str> {
        match self {
            Self::Single(v) => Some(v),
            Self::Multi(vs) => vs.first().map(String::as_str),
        }
    }

    /// Every value, one for a single-valued field.
    pub fn values(&self) -> Vec<&str> {
        match self {
            Self::Single(v) => vec![v.as_str()],
            Self::Multi(vs) => vs.iter().map(String::as_str).collect(),
        }
    }
}

/// One result row of a log search: field name to value.
pub type LogRecord = BTreeMap<String, FieldValue>;

/// A time window in the log system's own syntax (Splunk: `-24h@h`, `now`, an ISO instant).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TimeRange {
    pub earliest: Option<String>,
    pub latest: Option<String>,
}

impl TimeRange {
    pub fn new(earliest: impl Into<String>, latest: impl Into<String>) -> Self {
        Self {
            earliest: Some(earliest.into()),
            latest: Some(latest.into()),
        }
    }
}

/// A searchable log store (Splunk in REST mode).
#[async_trait]
pub trait LogSearch: Integration {
    /// The final result rows of `query` over `range`, streamed; memory does not grow with the
    /// number of rows.
    fn search_logs(&self, query: &str, range: &TimeRange) -> BoxStream<'static, Result<LogRecord>>;
}
