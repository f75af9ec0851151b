//! Alerts: detected patterns that need a person, with a small state machine.
//!
//! # Design
//!
//! An alert is raised for a new failure cluster, a systemic failure, a test that became flaky
//! and an anomaly. Each has a **fingerprint** (the cluster id, the test id, the series), and the
//! store keeps one row per kind and fingerprint: a recurring alert updates `last_seen` and its
//! occurrence count instead of piling up rows, a resolved one that recurs is reopened, and a
//! muted one stays quiet until its mute expires. That is what makes re-running the analysis
//! idempotent, and what lets people trust the list.
//!
//! States and the transitions people may make ([`AlertAction`]):
//!
//! ```text
//!   new ──ack──▶ acknowledged ──resolve──▶ resolved ──reopen──▶ new
//!    │ └──────────resolve──────────────────▲   ▲
//!    └─mute─▶ muted ──unmute──▶ new        │   │
//!             muted ──resolve──────────────┘   │ (recurrence reopens automatically)
//! ```
//!
//! Anything else is a [`TransitionError`], which the store returns inside an
//! [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) error, so every front-end can
//! tell the user what is possible from the current state.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::{PageRequest, PatternId, UserId};
use crate::{Error, Result};

/// The id of one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AlertId(Uuid);

impl AlertId {
    /// A new time-ordered id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for AlertId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for AlertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for AlertId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Uuid::parse_str(s.trim())
            .map(Self)
            .map_err(|_| Error::invalid_input(format!("`{s}` is not an alert id (a UUID)")))
    }
}

macro_rules! text_enum_local {
    ($ty:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            /// Every value, in order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self> {
                match s.trim() {
                    $($text => Ok(Self::$variant),)+
                    other => Err(Error::invalid_input(format!(
                        concat!("`{}` is not ", $what, "; expected one of: {}"),
                        other,
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }
    };
}

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    New,
    Acknowledged,
    Resolved,
    Muted,
}

text_enum_local!(AlertState, "an alert state", {
    New => "new",
    Acknowledged => "acknowledged",
    Resolved => "resolved",
    Muted => "muted",
});

impl AlertState {
    /// Whether the alert still wants attention.
    pub fn is_open(self) -> bool {
        matches!(self, Self::New | Self::Acknowledged)
    }
}

/// What was detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A failure cluster seen for the first time.
    NewCluster,
    /// A cluster classified as systemic.
    SystemicFailure,
    /// A test whose history became flaky.
    FlakyTest,
    /// An anomaly in a series (pass rate, duration, error rate).
    Anomaly,
    /// An integration failing its health checks for two minutes or more.
    IntegrationDown,
}

text_enum_local!(AlertKind, "an alert kind", {
    NewCluster => "new_cluster",
    SystemicFailure => "systemic_failure",
    FlakyTest => "flaky_test",
    Anomaly => "anomaly",
    IntegrationDown => "integration_down",
});

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSeverity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

text_enum_local!(AlertSeverity, "an alert severity", {
    Info => "info",
    Low => "low",
    Medium => "medium",
    High => "high",
    Critical => "critical",
});

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub id: AlertId,
    pub kind: AlertKind,
    pub fingerprint: String,
    pub pattern_id: Option<PatternId>,
    pub title: String,
    pub severity: AlertSeverity,
    pub state: AlertState,
    pub occurrences: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub evidence: serde_json::Value,
    pub acknowledged_by: Option<UserId>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub muted_until: Option<DateTime<Utc>>,
}

/// An alert as a detector raises it, before dedup.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertDraft {
    pub kind: AlertKind,
    pub fingerprint: String,
    pub pattern_id: Option<PatternId>,
    pub title: String,
    pub severity: AlertSeverity,
    pub seen_at: DateTime<Utc>,
    pub evidence: serde_json::Value,
}

/// What raising a draft did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RaiseOutcome {
    /// A new alert row.
    Created,
    /// An open alert seen again: `last_seen` and the count moved.
    Updated,
    /// A resolved (or expired muted) alert seen again, back to `new`.
    Reopened,
    /// Muted: recorded, still quiet.
    Muted,
}

impl RaiseOutcome {
    /// What happens to an existing alert in `state` when its pattern is seen again at `now`.
    pub fn on_recurrence(
        state: AlertState,
        muted_until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> (Self, AlertState) {
        match state {
            AlertState::New | AlertState::Acknowledged => (Self::Updated, state),
            AlertState::Resolved => (Self::Reopened, AlertState::New),
            AlertState::Muted => match muted_until {
                Some(until) if until <= now => (Self::Reopened, AlertState::New),
                _ => (Self::Muted, AlertState::Muted),
            },
        }
    }
}

/// A change a person makes to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum AlertAction {
    Acknowledge,
    Resolve,
    /// Quiet until the time given, or for good.
    Mute {
        until: Option<DateTime<Utc>>,
    },
    Unmute,
    Reopen,
}

impl AlertAction {
    fn name(self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::Resolve => "resolve",
            Self::Mute { .. } => "mute",
            Self::Unmute => "unmute",
            Self::Reopen => "reopen",
        }
    }

    /// The state the action leads to from `from`, or why it cannot be taken.
    pub fn apply(self, from: AlertState) -> std::result::Result<AlertState, TransitionError> {
        use AlertState::{Acknowledged, Muted, New, Resolved};
        let to = match (self, from) {
            (Self::Acknowledge, New) => Acknowledged,
            (Self::Resolve, New | Acknowledged | Muted) => Resolved,
            (Self::Mute { .. }, New | Acknowledged) => Muted,
            (Self::Unmute, Muted) | (Self::Reopen, Resolved) => New,
            _ => {
                return Err(TransitionError {
                    action: self.name(),
                    from,
                    allowed: Self::allowed_from(from),
                });
            }
        };
        Ok(to)
    }

    /// The actions possible from a state, for error messages and front-end menus.
    pub fn allowed_from(state: AlertState) -> &'static [&'static str] {
        match state {
            AlertState::New => &["acknowledge", "resolve", "mute"],
            AlertState::Acknowledged => &["resolve", "mute"],
            AlertState::Muted => &["unmute", "resolve"],
            AlertState::Resolved => &["reopen"],
        }
    }
}

/// An action that the alert's current state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} an alert that is {from}; possible: {}", allowed.join(", "))]
pub struct TransitionError {
    pub action: &'static str,
    pub from: AlertState,
    pub allowed: &'static [&'static str],
}

impl From<TransitionError> for Error {
    fn from(e: TransitionError) -> Self {
        Error::invalid_input(e.to_string()).with_source(e)
    }
}

/// Which alerts to list; empty lists mean "any". Newest `last_seen` first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertFilter {
    pub states: Vec<AlertState>,
    pub kinds: Vec<AlertKind>,
    /// At least this severe.
    pub min_severity: Option<AlertSeverity>,
    /// Seen at or after this time.
    pub since: Option<DateTime<Utc>>,
    pub pattern_id: Option<PatternId>,
    pub page: PageRequest,
}

impl AlertFilter {
    /// Alerts that want attention: new and acknowledged.
    pub fn open() -> Self {
        Self {
            states: vec![AlertState::New, AlertState::Acknowledged],
            ..Self::default()
        }
    }

    /// The severities at or above the minimum (all when none is set).
    pub fn severities(&self) -> Vec<AlertSeverity> {
        AlertSeverity::ALL
            .iter()
            .copied()
            .filter(|s| self.min_severity.is_none_or(|m| *s >= m))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_transitions() {
        use AlertState::{Acknowledged, Muted, New, Resolved};
        assert_eq!(AlertAction::Acknowledge.apply(New), Ok(Acknowledged));
        assert_eq!(AlertAction::Resolve.apply(Acknowledged), Ok(Resolved));
        assert_eq!(AlertAction::Mute { until: None }.apply(New), Ok(Muted));
        assert_eq!(AlertAction::Unmute.apply(Muted), Ok(New));
        assert_eq!(AlertAction::Reopen.apply(Resolved), Ok(New));
        assert_eq!(AlertAction::Resolve.apply(Muted), Ok(Resolved));
    }

    #[test]
    fn refused_transitions_say_what_is_possible() {
        let err = AlertAction::Acknowledge
            .apply(AlertState::Resolved)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot acknowledge an alert that is resolved; possible: reopen"
        );
        assert!(AlertAction::Resolve.apply(AlertState::Resolved).is_err());
        assert!(AlertAction::Unmute.apply(AlertState::New).is_err());
        let core: Error = err.into();
        assert_eq!(core.kind(), crate::ErrorKind::InvalidInput);
    }

    #[test]
    fn recurrence_reopens_resolved_and_expired_mutes() {
        let now = Utc::now();
        let hour = chrono::Duration::hours(1);
        assert_eq!(
            RaiseOutcome::on_recurrence(AlertState::Resolved, None, now),
            (RaiseOutcome::Reopened, AlertState::New)
        );
        assert_eq!(
            RaiseOutcome::on_recurrence(AlertState::Acknowledged, None, now),
            (RaiseOutcome::Updated, AlertState::Acknowledged)
        );
        assert_eq!(
            RaiseOutcome::on_recurrence(AlertState::Muted, Some(now + hour), now),
            (RaiseOutcome::Muted, AlertState::Muted)
        );
        assert_eq!(
            RaiseOutcome::on_recurrence(AlertState::Muted, Some(now - hour), now),
            (RaiseOutcome::Reopened, AlertState::New)
        );
        assert_eq!(
            RaiseOutcome::on_recurrence(AlertState::Muted, None, now).1,
            AlertState::Muted
        );
    }

    #[test]
    fn text_forms_round_trip() {
        for s in AlertState::ALL {
            assert_eq!(s.as_str().parse::<AlertState>().unwrap(), *s);
        }
        for k in AlertKind::ALL {
            assert_eq!(k.as_str().parse::<AlertKind>().unwrap(), *k);
        }
        assert!("open".parse::<AlertState>().is_err());
        let f = AlertFilter {
            min_severity: Some(AlertSeverity::High),
            ..AlertFilter::default()
        };
        assert_eq!(
            f.severities(),
            [AlertSeverity::High, AlertSeverity::Critical]
        );
    }
}
