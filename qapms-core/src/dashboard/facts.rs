//! Daily rollups: what the `dashboard_facts` table holds and how a page asks for it.
//!
//! A [`Fact`] is one row of daily aggregates for one (day, kind, user, project, activity,
//! step, test). The store keeps these rows current inside the same transactions that write
//! time entries, test results and workflow completions (adding deltas), and can rebuild them
//! from the raw tables; both paths use the contribution functions here, so they cannot drift.
//! Pages ask for totals grouped by a few [`FactDim`]s over a day range, so a 90-day page reads
//! a few hundred aggregated rows instead of every time entry and result.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{IssueKey, TestId, UserId};

/// What a fact counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    /// Tracked time: `n` entries, `amount` seconds.
    Time,
    /// Test attempts: `n` attempts, `passed`, `failed`, `amount` milliseconds.
    Result,
    /// Completed workflows: `n` workflows, `amount` cycle seconds, `estimate` estimated seconds,
    /// `tracked` seconds tracked on them.
    Verified,
}

impl FactKind {
    /// The text stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Time => "time",
            Self::Result => "result",
            Self::Verified => "verified",
        }
    }

    /// Reads a stored `kind`.
    pub fn parse(text: &str) -> crate::Result<Self> {
        match text {
            "time" => Ok(Self::Time),
            "result" => Ok(Self::Result),
            "verified" => Ok(Self::Verified),
            other => Err(crate::Error::invalid_input(format!(
                "unknown fact kind `{other}`"
            ))),
        }
    }
}

/// One daily aggregate row (or, from [`FactQuery`] totals, a sum of rows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fact {
    /// Days since 1970-01-01, UTC ([`day_of`]).
    pub day: i64,
    pub kind: FactKind,
    pub user_id: Option<UserId>,
    /// The project key of the ticket, `""` when there is none.
    pub project: String,
    /// The workflow template, `""` when there is none.
    pub activity: String,
    /// The workflow step, `""` when there is none.
    pub step: String,
    pub test_id: Option<TestId>,
    pub n: i64,
    pub passed: i64,
    pub failed: i64,
    pub amount: i64,
    pub estimate: i64,
    pub tracked: i64,
    /// In totals: how many distinct tests the summed rows name (0 in stored rows).
    pub distinct_tests: i64,
}

impl Fact {
    /// A fact with every measure at zero.
    pub fn zero(day: i64, kind: FactKind) -> Self {
        Self {
            day,
            kind,
            user_id: None,
            project: String::new(),
            activity: String::new(),
            step: String::new(),
            test_id: None,
            n: 0,
            passed: 0,
            failed: 0,
            amount: 0,
            estimate: 0,
            tracked: 0,
            distinct_tests: 0,
        }
    }

    /// The primary key, for merging deltas.
    pub fn key(&self) -> FactKey {
        (
            self.day,
            self.kind,
            self.user_id,
            self.project.clone(),
            self.activity.clone(),
            self.step.clone(),
            self.test_id,
        )
    }

    /// Adds `other`'s measures, times `sign` (`1` or `-1`).
    pub fn add(&mut self, other: &Fact, sign: i64) {
        self.n += sign * other.n;
        self.passed += sign * other.passed;
        self.failed += sign * other.failed;
        self.amount += sign * other.amount;
        self.estimate += sign * other.estimate;
        self.tracked += sign * other.tracked;
    }
}

/// `(day, kind, user, project, activity, step, test)`.
pub type FactKey = (
    i64,
    FactKind,
    Option<UserId>,
    String,
    String,
    String,
    Option<TestId>,
);

/// The UTC day a moment falls on, as days since 1970-01-01.
pub fn day_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(86_400)
}

/// The Monday starting the week of `day`, as a day number (as [`FactDim::Week`] groups).
pub fn week_of(day: i64) -> i64 {
    day - (day + 3).rem_euclid(7)
}

/// Midnight UTC at the start of `day`.
pub fn day_start(day: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(day.saturating_mul(86_400), 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The calendar date of `day`.
pub fn day_date(day: i64) -> NaiveDate {
    day_start(day).date_naive()
}

/// Whole seconds in `[start, end)`, never negative.
pub fn whole_secs(start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
    (end - start).max(Duration::zero()).num_seconds()
}

/// What one current time entry adds to the `time` facts; `None` for a zero-length entry
/// (a correction to zero removes the time).
pub fn time_contribution(
    user: UserId,
    ticket: Option<&IssueKey>,
    template: Option<&str>,
    step: Option<&str>,
    started_at: DateTime<Utc>,
    ended_at: DateTime<Utc>,
) -> Option<Fact> {
    if ended_at <= started_at {
        return None;
    }
    let mut fact = Fact::zero(day_of(started_at), FactKind::Time);
    fact.user_id = Some(user);
    fact.project = ticket.map(|t| t.project().to_owned()).unwrap_or_default();
    template.unwrap_or_default().clone_into(&mut fact.activity);
    step.unwrap_or_default().clone_into(&mut fact.step);
    fact.n = 1;
    fact.amount = whole_secs(started_at, ended_at);
    Some(fact)
}

/// What one attempt adds to the `result` facts of its run's day.
pub fn result_contribution(
    run_started_at: DateTime<Utc>,
    test: TestId,
    status: &str,
    duration_ms: Option<i64>,
) -> Fact {
    let mut fact = Fact::zero(day_of(run_started_at), FactKind::Result);
    fact.test_id = Some(test);
    fact.n = 1;
    fact.passed = i64::from(status == "passed");
    fact.failed = i64::from(matches!(status, "failed" | "error" | "unexpected_pass"));
    fact.amount = duration_ms.unwrap_or(0).max(0);
    fact
}

/// The key of a completed workflow's `verified` fact (measures at zero).
pub fn verified_key(
    owner: UserId,
    ticket: Option<&IssueKey>,
    template: &str,
    completed_at: DateTime<Utc>,
) -> Fact {
    let mut fact = Fact::zero(day_of(completed_at), FactKind::Verified);
    fact.user_id = Some(owner);
    fact.project = ticket.map(|t| t.project().to_owned()).unwrap_or_default();
    template.clone_into(&mut fact.activity);
    fact
}

/// A dimension totals can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FactDim {
    Day,
    /// The Monday (UTC) the day's week starts on, as a day number.
    Week,
    User,
    Project,
    Activity,
    Step,
    Test,
}

impl FactDim {
    /// The column (or expression) this dimension reads: fixed text, never from input.
    pub fn column(self) -> &'static str {
        match self {
            Self::Day => "day",
            // 1970-01-01 was a Thursday: three days after a Monday.
            Self::Week => "(day - ((day + 3) % 7))",
            Self::User => "user_id",
            Self::Project => "project",
            Self::Activity => "activity",
            Self::Step => "step",
            Self::Test => "test_id",
        }
    }
}

/// Which facts to total. Dimensions not in `group_by` are summed over (and come back as zero,
/// `None` or `""`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactQuery {
    pub kind: FactKind,
    /// First day included.
    pub from_day: i64,
    /// First day not included.
    pub to_day: i64,
    /// Only these users; everyone when `None`.
    pub users: Option<Vec<UserId>>,
    /// Only this project; every project when `None`.
    pub project: Option<String>,
    pub group_by: Vec<FactDim>,
}

/// Merges deltas by key, in key order, dropping keys whose measures all cancel out.
pub fn merge(deltas: impl IntoIterator<Item = (Fact, i64)>) -> Vec<Fact> {
    let mut map: std::collections::BTreeMap<FactKey, Fact> = std::collections::BTreeMap::new();
    for (fact, sign) in deltas {
        map.entry(fact.key())
            .and_modify(|f| f.add(&fact, sign))
            .or_insert_with(|| {
                let mut f = fact.clone();
                f.n = 0;
                f.passed = 0;
                f.failed = 0;
                f.amount = 0;
                f.estimate = 0;
                f.tracked = 0;
                f.add(&fact, sign);
                f
            });
    }
    map.into_values()
        .filter(|f| {
            f.n != 0
                || f.passed != 0
                || f.failed != 0
                || f.amount != 0
                || f.estimate != 0
                || f.tracked != 0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_weeks_are_utc_and_start_on_monday() {
        let t = Utc
            .with_ymd_and_hms(2025, 3, 5, 23, 59, 59)
            .single()
            .unwrap_or_default();
        let day = day_of(t);
        assert_eq!(day_date(day).to_string(), "2025-03-05");
        // 2025-03-05 is a Wednesday; its week starts on Monday 2025-03-03.
        assert_eq!(day_date(week_of(day)).to_string(), "2025-03-03");
        assert_eq!(week_of(week_of(day)), week_of(day));
        assert_eq!(day_date(week_of(0)).to_string(), "1969-12-29");
    }

    #[test]
    fn deltas_merge_and_cancel() {
        let user = UserId::new();
        let start = Utc
            .with_ymd_and_hms(2025, 3, 5, 9, 0, 0)
            .single()
            .unwrap_or_default();
        let a = time_contribution(
            user,
            None,
            None,
            Some("test"),
            start,
            start + Duration::minutes(30),
        );
        let b = time_contribution(
            user,
            None,
            None,
            Some("test"),
            start,
            start + Duration::minutes(10),
        );
        let (Some(a), Some(b)) = (a, b) else {
            panic!("both entries have a length");
        };
        let merged = merge([(a.clone(), 1), (b.clone(), 1)]);
        assert_eq!(merged.len(), 1);
        assert_eq!((merged[0].n, merged[0].amount), (2, 40 * 60));
        assert!(merge([(a.clone(), 1), (a, -1)]).is_empty());
        assert!(time_contribution(user, None, None, None, start, start).is_none());
        let r = result_contribution(start, TestId::new(), "unexpected_pass", Some(-5));
        assert_eq!((r.n, r.passed, r.failed, r.amount), (1, 0, 1, 0));
    }
}
