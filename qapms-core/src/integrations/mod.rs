//! What qapms can ask of an external system, as small traits.
//!
//! [`Integration`] is what every client has: a name and a [`health`](Integration::health)
//! check that tells "ok", "unauthorized", "unreachable" and "degraded" apart, which the doctor
//! command and the 60-second health loop use. What a client can *do* is a separate capability
//! trait ([`TicketSource`] for Jira, [`RequestCatalog`] for Postman, [`Annotations`] and
//! [`MetricSource`] for Grafana, [`TestCaseSource`] and [`TestRunSink`] for Testmo,
//! [`LogSearch`] for Splunk), so callers hold an `Arc<dyn TicketSource>` and never depend on a concrete client. Each integration lives in its own folder with the
//! same files (`mod.rs client.rs models.rs config.rs error.rs`) behind a Cargo feature.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::model::{IssueKey, TestStatus, Ticket};
use crate::{Error, ErrorKind, Result};

/// A newtype over an upstream system's string id (a Postman collection uid, a Grafana
/// dashboard uid), so ids of different things cannot be swapped by mistake.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }
    };
}

#[cfg(feature = "grafana")]
pub mod grafana;
#[cfg(feature = "jira")]
pub mod jira;
#[cfg(feature = "postman")]
pub mod postman;
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

/// `err` with `hint` (what to do about it) appended to its message; kind, temporariness,
/// server wait and context are kept. Integrations use it to add their own vocabulary.
#[cfg(any(feature = "postman", feature = "grafana"))]
pub(crate) fn with_hint(err: &Error, hint: &str) -> Error {
    let mut out = Error::new(err.kind(), format!("{}; {hint}", err.message()));
    if err.is_temporary() {
        out = out.set_temporary();
    }
    if let Some(after) = err.retry_after() {
        out = out.with_retry_after(after);
    }
    for (key, value) in err.context() {
        out = out.with_context(key, value.clone());
    }
    out
}

/// Percent-encodes one URL path segment: ids and uids come from users and config, and one
/// with a `/` or `?` in it must not reach another endpoint.
#[cfg(any(feature = "postman", feature = "grafana"))]
pub(crate) fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
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

string_id!(
    /// A request's stable id in a catalog: the upstream item id when there is one, else a
    /// content hash of where the request sits and what it is called.
    RequestId
);

/// One API request from a catalog (a Postman collection), flattened for search and identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogRequest {
    pub id: RequestId,
    /// The collection it came from, by name.
    pub collection: String,
    /// The collection's own id (`_postman_id`), when it has one.
    pub collection_id: Option<String>,
    /// Folder names from the collection root down to the request's folder.
    pub folder_path: Vec<String>,
    pub name: String,
    /// Upper-case, e.g. `GET`.
    pub method: String,
    pub url: CatalogUrl,
    pub description: Option<String>,
    /// The pre-request script, lines joined with `\n`.
    pub pre_request_script: Option<String>,
    /// The test script, lines joined with `\n`.
    pub test_script: Option<String>,
}

/// A request URL in raw and structured form. Variables stay as written (`{{baseUrl}}`,
/// `:id`): they are resolved only when a request is sent, which qapms does not do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogUrl {
    pub raw: String,
    pub protocol: Option<String>,
    pub host: Vec<String>,
    pub port: Option<String>,
    pub path: Vec<String>,
    /// `(key, value)` pairs in order, disabled ones left out.
    pub query: Vec<(String, String)>,
    /// The names of `{{variables}}` the URL uses, in order of first use.
    pub variables: Vec<String>,
}

/// A source of API request definitions with their test scripts (Postman).
#[async_trait]
pub trait RequestCatalog: Integration {
    /// Every request the source knows, flattened, in collection order.
    async fn requests(&self) -> Result<Vec<CatalogRequest>>;
}

/// An event marked on dashboards: a test run, a deploy. A region when `time_end` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotation {
    /// Set once stored upstream.
    pub id: Option<u64>,
    pub time: DateTime<Utc>,
    pub time_end: Option<DateTime<Utc>>,
    pub text: String,
    pub tags: Vec<String>,
    /// Scopes it to one dashboard; without it the annotation is organisation-wide.
    pub dashboard_uid: Option<String>,
    /// Scopes it to one panel of that dashboard.
    pub panel_id: Option<u64>,
}

/// Which annotations to list; every field narrows the result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnnotationFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Annotations carrying every one of these tags.
    pub tags: Vec<String>,
    pub dashboard_uid: Option<String>,
    pub panel_id: Option<u64>,
    /// At most this many (the server's default otherwise).
    pub limit: Option<u32>,
}

/// Something that keeps annotations on a timeline (Grafana).
#[async_trait]
pub trait Annotations: Integration {
    /// Stores `annotation` and returns its id.
    async fn annotate(&self, annotation: &Annotation) -> Result<u64>;

    /// Annotations matching `filter`, newest first.
    async fn annotations(&self, filter: &AnnotationFilter) -> Result<Vec<Annotation>>;
}

/// One metric query over a time range, in the datasource's own query language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricQuery {
    /// A datasource name from the config, or a datasource uid.
    pub datasource: String,
    /// The datasource-specific query fields, e.g. `{"expr": "rate(http_errors_total[5m])"}`.
    pub query: serde_json::Value,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The step between points; the datasource picks one when unset.
    pub interval: Option<Duration>,
    pub max_data_points: Option<u32>,
}

/// One metric series: timestamps and values of one field, with its labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricSeries {
    /// The display name Grafana would show, else the field name.
    pub name: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub timestamps: Vec<DateTime<Utc>>,
    /// One per timestamp; `None` where the datasource had no value. `NaN` and infinities are
    /// kept as the datasource sent them.
    pub values: Vec<Option<f64>>,
}

/// A source of metric time series (Grafana datasources), for anomaly detection.
#[async_trait]
pub trait MetricSource: Integration {
    /// Every series the query returns.
    async fn series(&self, query: &MetricQuery) -> Result<Vec<MetricSeries>>;
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
