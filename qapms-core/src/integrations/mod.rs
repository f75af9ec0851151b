//! What qapms can ask of an external system, as small traits.
//!
//! [`Integration`] is what every client has: a name and a [`health`](Integration::health)
//! check that tells "ok", "unauthorized", "unreachable" and "degraded" apart, which the doctor
//! command and the 60-second health loop use. What a client can *do* is a separate capability
//! trait ([`TicketSource`] for Jira; test-case, run, log-search, metric and annotation
//! capabilities follow with their integrations), so callers hold an `Arc<dyn TicketSource>`
//! and never depend on a concrete client. Each integration lives in its own folder with the
//! same files (`mod.rs client.rs models.rs config.rs error.rs`) behind a Cargo feature.

use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::Serialize;

use crate::model::{IssueKey, Ticket};
use crate::{Error, ErrorKind, Result};

#[cfg(feature = "jira")]
pub mod jira;

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
