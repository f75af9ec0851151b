//! What the dashboard server keeps in the store: sessions, API tokens, sign-in attempts,
//! integration health checks, integration alerts and job leases.
//!
//! These are plain records; the server decides what they mean (how long a session lives, how
//! many failed sign-ins lock a name). Credentials are never stored in the clear: sessions and
//! tokens are looked up by the SHA-256 of their random value, so a leaked database cannot be
//! replayed. A [`JobLease`] is the one thing here that is not a row: on `PostgreSQL` it is a
//! session-level advisory lock held on a connection of its own, so several server instances
//! agree on who runs a job; on `SQLite` (one server per database file) it is a lease inside this
//! process. Either way it is released when the lease is dropped, including when its holder
//! crashes (the connection closes and `PostgreSQL` frees the lock).

use std::any::Any;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::model::UserId;

/// A signed-in browser session, stored by the hash of its random id.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 (hex) of the session id the cookie carries.
    pub token_hash: String,
    pub user_id: UserId,
    /// The synchronizer token that cookie-authenticated writes must echo.
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRecord")
            .field("user_id", &self.user_id)
            .field("csrf_token", &"[REDACTED]")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .field("ip", &self.ip)
            .finish_non_exhaustive()
    }
}

/// An API token for scripts, stored by the hash of its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiTokenRecord {
    pub id: Uuid,
    pub user_id: UserId,
    /// A label unique per user, e.g. `ci-nightly`.
    pub name: String,
    /// SHA-256 (hex) of the token; never serialised.
    #[serde(skip)]
    pub token_hash: String,
    /// The token's first characters, to tell tokens apart in a list.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// One sign-in attempt, successful or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAttempt {
    pub user_name: String,
    pub ip: String,
    pub succeeded: bool,
    pub attempted_at: DateTime<Utc>,
}

/// Failed sign-ins in a window: for one user name since its last success, and from one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginFailures {
    pub by_user: u64,
    pub by_ip: u64,
}

/// One integration health check, as the 60-second loop records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationCheck {
    pub integration: String,
    pub checked_at: DateTime<Utc>,
    pub healthy: bool,
    pub latency_ms: Option<u64>,
    pub message: Option<String>,
}

/// An integration's checks over a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationHealthSummary {
    pub integration: String,
    pub checks: u64,
    pub failures: u64,
    pub avg_latency_ms: Option<f64>,
    pub max_latency_ms: Option<u64>,
    pub last_checked_at: Option<DateTime<Utc>>,
    pub last_healthy: Option<bool>,
    /// The first failed check after the last healthy one, when the latest check failed.
    pub down_since: Option<DateTime<Utc>>,
}

impl IntegrationHealthSummary {
    /// Failed checks over all checks, 0 when there were none.
    pub fn error_rate(&self) -> f64 {
        if self.checks == 0 {
            0.0
        } else {
            self.failures as f64 / self.checks as f64
        }
    }
}

/// An alert to open, or to refresh when one with the same kind and fingerprint is open.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    pub kind: String,
    pub fingerprint: String,
    pub title: String,
    pub severity: String,
    pub evidence: serde_json::Value,
    pub seen_at: DateTime<Utc>,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertRecord {
    pub id: Uuid,
    pub kind: String,
    pub fingerprint: String,
    pub title: String,
    pub severity: String,
    pub state: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub evidence: serde_json::Value,
}

impl From<crate::patterns::alerts::Alert> for AlertRecord {
    fn from(alert: crate::patterns::alerts::Alert) -> Self {
        Self {
            id: alert.id.as_uuid(),
            kind: alert.kind.as_str().to_owned(),
            fingerprint: alert.fingerprint,
            title: alert.title,
            severity: alert.severity.as_str().to_owned(),
            state: alert.state.as_str().to_owned(),
            first_seen: alert.first_seen,
            last_seen: alert.last_seen,
            evidence: alert.evidence,
        }
    }
}

/// The right to run one named job until dropped; see the module note.
pub struct JobLease {
    name: String,
    _hold: Box<dyn Any + Send>,
}

impl JobLease {
    pub(crate) fn new(name: &str, hold: Box<dyn Any + Send>) -> Self {
        Self {
            name: name.to_owned(),
            _hold: hold,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for JobLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobLease")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The 64-bit advisory lock key of a job name: the first 8 bytes of SHA-256, so it is stable
/// across versions and processes (unlike `hashtext`, which `PostgreSQL` does not promise).
#[cfg(feature = "postgres")]
pub(crate) fn lease_key(name: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("qapms:job:{name}").as_bytes());
    let mut bytes = [0_u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}
