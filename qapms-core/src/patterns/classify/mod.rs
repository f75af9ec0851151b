//! Classification of a failure cluster in one run: systemic, recurring defect, flaky, one-off.
//!
//! # Design
//!
//! The label answers "whose problem is this failure?", and each rule is a piece of evidence a
//! lead would look for, kept with the label so the call can be checked:
//! - **systemic** (environment or infrastructure): many *unrelated* tests fail with the same
//!   template in the same run or time window. Unrelated means different test groups (class or
//!   module), because ten tests of one class failing together is one fixture, not the
//!   environment. External signals in the window (Splunk error-template rates, Grafana
//!   anomalies, fed in by the integrations as timestamped [`ExternalSignal`]s) lower the bar:
//!   a breadth that alone would be ambiguous is systemic when the infrastructure was visibly
//!   unwell at the time.
//! - **flaky**: the cluster's failures in the run passed on retry, or most of the affected
//!   tests are flaky by their own history (the [`flaky`](crate::patterns::flaky) verdict).
//! - **recurring defect**: the same cluster in several runs across more than one revision
//!   (or several runs when revisions are unknown), and not flaky: the product is broken the
//!   same way each time.
//! - **one-off**: none of the above.
//!
//! The rules are tried in that order; the first that holds gives the label. The thresholds live
//! in [`ClassifyConfig`], one configuration for every project.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{RunId, TestId};

/// Ids kept in evidence at most (counts are always complete).
pub const EVIDENCE_IDS: usize = 20;

/// What a failure cluster is, in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterLabel {
    Systemic,
    RecurringDefect,
    Flaky,
    OneOff,
}

impl ClusterLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Systemic => "systemic",
            Self::RecurringDefect => "recurring_defect",
            Self::Flaky => "flaky",
            Self::OneOff => "one_off",
        }
    }
}

/// Where an external signal comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalSource {
    /// A Splunk error-template rate above its baseline.
    Splunk,
    /// A Grafana metric anomaly.
    Grafana,
    /// Anything else that marks the infrastructure unwell.
    Other,
}

impl SignalSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Splunk => "splunk",
            Self::Grafana => "grafana",
            Self::Other => "other",
        }
    }

    /// The source a stored name stands for; an unknown one is [`SignalSource::Other`].
    pub fn from_name(name: &str) -> Self {
        match name {
            "splunk" => Self::Splunk,
            "grafana" => Self::Grafana,
            _ => Self::Other,
        }
    }
}

/// A timestamped sign of trouble outside the tests, from the integrations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSignal {
    pub source: SignalSource,
    pub at: DateTime<Utc>,
    /// The error template or the metric, as the integration names it.
    pub name: String,
    /// The rate, the metric value or the anomaly score.
    pub value: f64,
}

/// Thresholds of the rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassifyConfig {
    /// Distinct tests failing with the cluster in the run or window, for systemic.
    pub systemic_min_tests: usize,
    /// Distinct test groups among them, for systemic.
    pub systemic_min_groups: usize,
    /// With an external signal in the window, the tests and groups needed instead.
    pub signal_min_tests: usize,
    pub signal_min_groups: usize,
    /// Half-width of the time window around the run's start.
    pub window: Duration,
    /// Runs the cluster must appear in to recur.
    pub recurring_min_runs: u64,
    /// Share of the affected tests that must be flaky for the cluster to be.
    pub flaky_share: f64,
}

impl Default for ClassifyConfig {
    fn default() -> Self {
        Self {
            systemic_min_tests: 5,
            systemic_min_groups: 3,
            signal_min_tests: 2,
            signal_min_groups: 2,
            window: Duration::hours(1),
            recurring_min_runs: 2,
            flaky_share: 0.5,
        }
    }
}

/// What is known of one cluster when it is classified in one run.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterObservation {
    pub run: Option<RunId>,
    pub run_started: Option<DateTime<Utc>>,
    /// Distinct tests failing with the cluster in the run.
    pub tests_in_run: usize,
    /// Distinct test groups (class or module) among them.
    pub groups_in_run: usize,
    /// Distinct tests and groups failing with the cluster in any run within the window.
    pub tests_in_window: usize,
    pub groups_in_window: usize,
    /// Runs and distinct known revisions the cluster appeared in, up to this run.
    pub runs_seen: u64,
    pub revisions_seen: u64,
    /// Failures of the cluster in the run whose test passed on a later attempt of that run.
    pub passed_on_retry: u64,
    /// Affected tests (in the run) whose history calls them flaky.
    pub flaky_tests: usize,
    /// The affected tests and the runs the cluster appeared in (at most [`EVIDENCE_IDS`]).
    pub test_ids: Vec<TestId>,
    pub run_ids: Vec<RunId>,
}

/// A label and everything that produced it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Classification {
    pub label: ClusterLabel,
    /// One sentence, for people.
    pub reason: String,
    pub evidence: ClusterObservation,
    /// The external signals inside the window.
    pub signals: Vec<ExternalSignal>,
}

/// Labels a cluster in a run; `signals` may hold signals from any time (those outside the
/// window are ignored).
pub fn classify(
    observation: ClusterObservation,
    signals: &[ExternalSignal],
    config: &ClassifyConfig,
) -> Classification {
    let near: Vec<ExternalSignal> = match observation.run_started {
        Some(at) => signals
            .iter()
            .filter(|s| (s.at - at).abs() <= config.window)
            .take(EVIDENCE_IDS)
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let o = &observation;
    let tests = o.tests_in_run.max(o.tests_in_window);
    let groups = o.groups_in_run.max(o.groups_in_window);
    let (label, reason) = if tests >= config.systemic_min_tests
        && groups >= config.systemic_min_groups
    {
        (
            ClusterLabel::Systemic,
            format!(
                "{tests} tests in {groups} unrelated groups failed the same way within {} minutes",
                config.window.num_minutes()
            ),
        )
    } else if !near.is_empty()
        && tests >= config.signal_min_tests
        && groups >= config.signal_min_groups
    {
        (
            ClusterLabel::Systemic,
            format!(
                "{tests} tests in {groups} groups failed the same way while {} external signal(s) fired",
                near.len()
            ),
        )
    } else if o.passed_on_retry > 0 {
        (
            ClusterLabel::Flaky,
            format!(
                "{} failure(s) passed on retry in the same run",
                o.passed_on_retry
            ),
        )
    } else if o.tests_in_run > 0
        && o.flaky_tests as f64 >= config.flaky_share * o.tests_in_run as f64
    {
        (
            ClusterLabel::Flaky,
            format!(
                "{} of {} affected tests are flaky by their history",
                o.flaky_tests, o.tests_in_run
            ),
        )
    } else if o.runs_seen >= config.recurring_min_runs
        && (o.revisions_seen >= 2 || o.revisions_seen == 0)
    {
        let across = if o.revisions_seen >= 2 {
            format!(" across {} revisions", o.revisions_seen)
        } else {
            String::new()
        };
        (
            ClusterLabel::RecurringDefect,
            format!("seen in {} runs{across}, and not flaky", o.runs_seen),
        )
    } else {
        (
            ClusterLabel::OneOff,
            "seen in one run (or one revision) only, on few tests, with no retry passing"
                .to_owned(),
        )
    };
    Classification {
        label,
        reason,
        evidence: observation,
        signals: near,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + minute * 60, 0).unwrap()
    }

    fn observed() -> ClusterObservation {
        ClusterObservation {
            run: Some(RunId::new()),
            run_started: Some(at(0)),
            tests_in_run: 1,
            groups_in_run: 1,
            tests_in_window: 1,
            groups_in_window: 1,
            runs_seen: 1,
            revisions_seen: 1,
            ..ClusterObservation::default()
        }
    }

    fn label(o: ClusterObservation, signals: &[ExternalSignal]) -> ClusterLabel {
        classify(o, signals, &ClassifyConfig::default()).label
    }

    #[test]
    fn breadth_across_unrelated_groups_is_systemic() {
        let o = ClusterObservation {
            tests_in_run: 12,
            groups_in_run: 4,
            ..observed()
        };
        let c = classify(o, &[], &ClassifyConfig::default());
        assert_eq!(c.label, ClusterLabel::Systemic);
        assert!(
            c.reason.contains("12 tests in 4 unrelated groups"),
            "{}",
            c.reason
        );
        assert_eq!(c.evidence.tests_in_run, 12);
        // Many tests of one class are one fixture, not the environment.
        let one_class = ClusterObservation {
            tests_in_run: 12,
            groups_in_run: 1,
            ..observed()
        };
        assert_eq!(label(one_class, &[]), ClusterLabel::OneOff);
    }

    #[test]
    fn an_external_signal_in_the_window_tips_moderate_breadth() {
        let o = ClusterObservation {
            tests_in_window: 3,
            groups_in_window: 2,
            ..observed()
        };
        assert_eq!(label(o.clone(), &[]), ClusterLabel::OneOff);
        let splunk = ExternalSignal {
            source: SignalSource::Splunk,
            at: at(20),
            name: "ERROR db pool exhausted <*>".into(),
            value: 41.0,
        };
        let late = ExternalSignal {
            at: at(300),
            ..splunk.clone()
        };
        assert_eq!(
            label(o.clone(), std::slice::from_ref(&late)),
            ClusterLabel::OneOff
        );
        let c = classify(o, &[late, splunk.clone()], &ClassifyConfig::default());
        assert_eq!(c.label, ClusterLabel::Systemic);
        assert_eq!(c.signals, vec![splunk]);
    }

    #[test]
    fn retries_and_history_make_flaky() {
        let o = ClusterObservation {
            passed_on_retry: 1,
            runs_seen: 5,
            revisions_seen: 3,
            ..observed()
        };
        assert_eq!(label(o, &[]), ClusterLabel::Flaky);
        let o = ClusterObservation {
            tests_in_run: 2,
            flaky_tests: 1,
            runs_seen: 5,
            revisions_seen: 3,
            ..observed()
        };
        assert_eq!(label(o, &[]), ClusterLabel::Flaky);
    }

    #[test]
    fn recurring_needs_runs_and_revisions() {
        let o = ClusterObservation {
            runs_seen: 4,
            revisions_seen: 3,
            ..observed()
        };
        let c = classify(o, &[], &ClassifyConfig::default());
        assert_eq!(c.label, ClusterLabel::RecurringDefect);
        assert!(c.reason.contains("3 revisions"));
        // Reruns of one revision are not yet a recurring defect.
        let o = ClusterObservation {
            runs_seen: 4,
            revisions_seen: 1,
            ..observed()
        };
        assert_eq!(label(o, &[]), ClusterLabel::OneOff);
        // Without revision information, runs alone decide.
        let o = ClusterObservation {
            runs_seen: 2,
            revisions_seen: 0,
            ..observed()
        };
        assert_eq!(label(o, &[]), ClusterLabel::RecurringDefect);
    }

    #[test]
    fn evidence_serialises() {
        let c = classify(observed(), &[], &ClassifyConfig::default());
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["label"], "one_off");
        assert_eq!(json["evidence"]["testsInRun"], 1);
    }
}
