//! Persona dashboards: the numbers each view shows, as data (no HTML, no HTTP).
//!
//! One function per persona ([`qa`], [`pm`], [`po`], [`tech_lead`], [`qa_manager`]) turns a
//! [`DashboardQuery`] (a 7, 30 or 90-day [`Period`], an optional project, and whose data the
//! viewer may see) into a serializable struct of panels. Series over the period (time, runs,
//! verified tickets, pass rates) come from the daily rollups in [`facts`], so a 90-day page
//! reads aggregated rows, never every time entry or result; panels that show the present
//! (open workflows, blockers, clusters, alerts, integration health) read the current rows,
//! which are few. The server, the Python package and any other front-end show these structs
//! as they are, so every view agrees with the JSON API by construction.

pub mod facts;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::model::{
    IssueKey, PageRequest, RunId, StepState, TestCase, TestId, Ticket, TicketFilter, UserId,
    Workflow, WorkflowFilter, WorkflowId, WorkflowState,
};
use crate::patterns::alerts::{Alert, AlertFilter, AlertKind};
use crate::patterns::cluster::CLUSTER_KIND;
use crate::store::Store;
use crate::{Error, Result};
use facts::{Fact, FactDim, FactKind, FactQuery, day_date, day_of, week_of};

/// The five persona views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Persona {
    Qa,
    Pm,
    Po,
    TechLead,
    QaManager,
}

impl Persona {
    pub const ALL: [Persona; 5] = [
        Persona::Qa,
        Persona::Pm,
        Persona::Po,
        Persona::TechLead,
        Persona::QaManager,
    ];

    /// The name in URLs: `qa`, `pm`, `po`, `tech-lead`, `qa-manager`.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Qa => "qa",
            Self::Pm => "pm",
            Self::Po => "po",
            Self::TechLead => "tech-lead",
            Self::QaManager => "qa-manager",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.slug() == slug)
    }

    /// The name people read: `QA`, `PM`, `PO`, `Tech Lead`, `QA Manager`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Qa => "QA",
            Self::Pm => "PM",
            Self::Po => "PO",
            Self::TechLead => "Tech Lead",
            Self::QaManager => "QA Manager",
        }
    }

    /// The view a user of this role starts on (admins on the manager's).
    pub fn for_role(role: crate::model::Role) -> Self {
        use crate::model::Role;
        match role {
            Role::Pm => Self::Pm,
            Role::Po => Self::Po,
            Role::TechLead => Self::TechLead,
            Role::QaManager | Role::Admin => Self::QaManager,
            Role::Qa => Self::Qa,
        }
    }
}

/// A dashboard period: the last 7, 30 or 90 UTC days, today included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    pub days: u32,
    /// The first day, as a day number (see [`facts::day_of`]).
    #[serde(skip)]
    pub from_day: i64,
    /// Today, as a day number; the period is `[from_day, today]`.
    #[serde(skip)]
    pub today: i64,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// The periods a dashboard offers.
    pub const CHOICES: [u32; 3] = [7, 30, 90];

    /// The `days`-day period ending today; anything but 7, 30 or 90 is invalid input.
    pub fn new(days: u32, now: DateTime<Utc>) -> Result<Self> {
        if !Self::CHOICES.contains(&days) {
            return Err(Error::invalid_input(format!(
                "a dashboard covers 7, 30 or 90 days, not {days}"
            ))
            .with_context("parameter", "days"));
        }
        let today = day_of(now);
        let from_day = today - i64::from(days) + 1;
        Ok(Self {
            days,
            from_day,
            today,
            from: day_date(from_day),
            to: day_date(today),
        })
    }

    /// The first moment of the period.
    pub fn start(&self) -> DateTime<Utc> {
        facts::day_start(self.from_day)
    }

    /// Every day of the period, oldest first.
    pub fn day_numbers(&self) -> impl Iterator<Item = i64> {
        self.from_day..=self.today
    }

    /// The Mondays of the weeks the period touches, oldest first.
    pub fn week_numbers(&self) -> Vec<i64> {
        let mut weeks: Vec<i64> = self.day_numbers().map(week_of).collect();
        weeks.dedup();
        weeks
    }
}

/// What a dashboard is asked for: the period, the project filter and whose data counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardQuery {
    pub period: Period,
    pub now: DateTime<Utc>,
    /// A project key (`PAY`), upper-cased; every project when `None`.
    pub project: Option<String>,
    /// Whose time, workflows and tickets count (a team, or what the viewer may see); everyone
    /// when `None`.
    pub users: Option<Vec<UserId>>,
    /// Who is looking: "my" panels are theirs.
    pub viewer: UserId,
    /// How many rows a top-N panel shows.
    pub top: usize,
}

impl DashboardQuery {
    pub fn new(period: Period, now: DateTime<Utc>, viewer: UserId) -> Self {
        Self {
            period,
            now,
            project: None,
            users: None,
            viewer,
            top: 10,
        }
    }

    fn facts(&self, kind: FactKind, group_by: Vec<FactDim>) -> FactQuery {
        FactQuery {
            kind,
            from_day: self.period.from_day,
            to_day: self.period.today + 1,
            users: self.users.clone(),
            project: self.project.clone(),
            group_by,
        }
    }

    fn counts_user(&self, user: &UserId) -> bool {
        self.users.as_ref().is_none_or(|u| u.contains(user))
    }

    fn counts_ticket(&self, ticket: Option<&IssueKey>) -> bool {
        match &self.project {
            None => true,
            Some(p) => ticket.is_some_and(|t| t.project() == p),
        }
    }
}

/// One value on one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DayValue {
    pub date: NaiveDate,
    pub value: i64,
}

/// One value in one week (the week's Monday).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WeekValue {
    pub week_start: NaiveDate,
    pub value: i64,
}

fn day_series(period: &Period, rows: &[Fact], value: impl Fn(&Fact) -> i64) -> Vec<DayValue> {
    let by_day: HashMap<i64, i64> = rows.iter().map(|f| (f.day, value(f))).collect();
    period
        .day_numbers()
        .map(|d| DayValue {
            date: day_date(d),
            value: by_day.get(&d).copied().unwrap_or(0),
        })
        .collect()
}

fn week_series(period: &Period, rows: &[Fact], value: impl Fn(&Fact) -> i64) -> Vec<WeekValue> {
    let by_week: HashMap<i64, i64> = rows.iter().map(|f| (f.day, value(f))).collect();
    period
        .week_numbers()
        .into_iter()
        .map(|w| WeekValue {
            week_start: day_date(w),
            value: by_week.get(&w).copied().unwrap_or(0),
        })
        .collect()
}

// ---- Shared rows ------------------------------------------------------------------------------

/// A workflow as a dashboard row: its ticket, state and active (or blocked) step.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowRow {
    pub workflow_id: WorkflowId,
    pub template: String,
    pub ticket: Option<IssueKey>,
    pub summary: Option<String>,
    pub ticket_status: Option<String>,
    pub owner: UserId,
    pub state: WorkflowState,
    pub version: u32,
    pub current_step: Option<String>,
    pub blocked: bool,
    pub updated_at: DateTime<Utc>,
}

impl WorkflowRow {
    fn new(w: &Workflow, tickets: &HashMap<IssueKey, Ticket>) -> Self {
        let ticket = w.ticket.as_ref().and_then(|k| tickets.get(k));
        let blocked = w.steps.iter().find(|s| s.state == StepState::Blocked);
        Self {
            workflow_id: w.id,
            template: w.template.clone(),
            ticket: w.ticket.clone(),
            summary: ticket.map(|t| t.summary.clone()),
            ticket_status: ticket.map(|t| t.status.clone()),
            owner: w.owner,
            state: w.state,
            version: w.version,
            current_step: blocked.or_else(|| w.active_step()).map(|s| s.name.clone()),
            blocked: blocked.is_some(),
            updated_at: w.updated_at,
        }
    }
}

/// A run with its attempt counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub run_id: RunId,
    pub name: String,
    pub started_at: DateTime<Utc>,
    pub environment: Option<String>,
    pub attempts: u64,
    pub passed: u64,
    pub failed: u64,
}

/// Counts a stored run's attempts.
pub async fn run_summary(store: &dyn Store, id: &RunId) -> Result<RunSummary> {
    let run = store.run(id).await?;
    let results = store.results_for_run(id).await?;
    Ok(RunSummary {
        run_id: run.id,
        name: run.name,
        started_at: run.started_at,
        environment: run.environment,
        attempts: results.len() as u64,
        passed: results
            .iter()
            .filter(|r| r.status == crate::model::TestStatus::Passed)
            .count() as u64,
        failed: results.iter().filter(|r| r.status.is_failure()).count() as u64,
    })
}

/// A flaky test as the last analysis scored it (from its open `flaky_test` alert).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlakyTest {
    pub test_id: TestId,
    pub external_id: String,
    pub score: f64,
    pub score_low: f64,
    pub score_high: f64,
    pub runs: u64,
    pub failures: u64,
    pub alert_id: crate::patterns::alerts::AlertId,
}

impl FlakyTest {
    /// Reads the evidence a flaky-test alert carries (the analysis' `TestFlakiness`).
    pub fn from_alert(alert: &Alert) -> Option<Self> {
        let e = &alert.evidence;
        let test_id = e.get("testId")?.as_str()?.parse::<uuid::Uuid>().ok()?;
        let interval = e.get("scoreInterval").and_then(|v| v.as_array());
        let bound = |i: usize| {
            interval
                .and_then(|a| a.get(i))
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(0.0)
        };
        Some(Self {
            test_id: TestId::from_uuid(test_id),
            external_id: e.get("externalId")?.as_str()?.to_owned(),
            score: e.get("score")?.as_f64()?,
            score_low: bound(0),
            score_high: bound(1),
            runs: e
                .get("runs")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0),
            failures: e
                .get("failures")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0),
            alert_id: alert.id,
        })
    }
}

/// An alert as a dashboard row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertRow {
    pub alert_id: crate::patterns::alerts::AlertId,
    pub kind: AlertKind,
    pub title: String,
    pub severity: String,
    pub state: String,
    pub occurrences: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

impl From<&Alert> for AlertRow {
    fn from(a: &Alert) -> Self {
        Self {
            alert_id: a.id,
            kind: a.kind,
            title: a.title.clone(),
            severity: a.severity.as_str().to_owned(),
            state: a.state.as_str().to_owned(),
            occurrences: a.occurrences,
            first_seen: a.first_seen,
            last_seen: a.last_seen,
        }
    }
}

/// Every open alert (new or acknowledged), most recently seen first.
pub async fn open_alerts(store: &dyn Store) -> Result<Vec<Alert>> {
    let mut out = Vec::new();
    let mut page = 1;
    loop {
        let mut filter = AlertFilter::open();
        filter.page = PageRequest::new(page, PageRequest::MAX_PAGE_SIZE);
        let got = store.list_alerts(&filter).await?;
        let done = got.items.len() < PageRequest::MAX_PAGE_SIZE as usize;
        out.extend(got.items);
        if done || page >= 100 {
            return Ok(out);
        }
        page += 1;
    }
}

fn flaky_tests(alerts: &[Alert]) -> Vec<FlakyTest> {
    let mut out: Vec<FlakyTest> = alerts
        .iter()
        .filter(|a| a.kind == AlertKind::FlakyTest)
        .filter_map(FlakyTest::from_alert)
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.external_id.cmp(&b.external_id))
    });
    out
}

/// Every ticket of a project (or of all), through the store's pages.
pub async fn all_tickets(store: &dyn Store, project: Option<&str>) -> Result<Vec<Ticket>> {
    let mut out = Vec::new();
    let mut page = 1;
    loop {
        let got = store
            .list_tickets(&TicketFilter {
                project: project.map(str::to_owned),
                page: PageRequest::new(page, PageRequest::MAX_PAGE_SIZE),
                ..TicketFilter::default()
            })
            .await?;
        let n = got.items.len();
        out.extend(got.items);
        if n < PageRequest::MAX_PAGE_SIZE as usize || page >= 1000 {
            return Ok(out);
        }
        page += 1;
    }
}

/// Every test case with the time it was last written.
async fn all_test_cases(store: &dyn Store) -> Result<Vec<TestCase>> {
    let mut out: Vec<TestCase> = Vec::new();
    loop {
        let after = out.last().map(|c| c.id);
        let got = store.test_cases_after(after.as_ref(), 1000).await?;
        let n = got.len();
        out.extend(got.into_iter().map(|(c, _)| c));
        if n < 1000 {
            return Ok(out);
        }
    }
}

async fn tickets_for(
    store: &dyn Store,
    workflows: &[Workflow],
) -> Result<HashMap<IssueKey, Ticket>> {
    let keys: Vec<IssueKey> = workflows
        .iter()
        .filter_map(|w| w.ticket.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    Ok(store
        .tickets_by_key(&keys)
        .await?
        .into_iter()
        .map(|t| (t.key.clone(), t))
        .collect())
}

const OPEN_STATES: [WorkflowState; 3] = [
    WorkflowState::Created,
    WorkflowState::InProgress,
    WorkflowState::Paused,
];

async fn open_workflows(store: &dyn Store, q: &DashboardQuery) -> Result<Vec<Workflow>> {
    Ok(store
        .list_workflows(&WorkflowFilter {
            states: OPEN_STATES.to_vec(),
            ..WorkflowFilter::default()
        })
        .await?
        .into_iter()
        .filter(|w| q.counts_user(&w.owner) && q.counts_ticket(w.ticket.as_ref()))
        .collect())
}

/// Whether a ticket is a bug (Jira's `Bug` type, or a type named like one).
pub fn is_bug(ticket: &Ticket) -> bool {
    ticket.issue_type.to_ascii_lowercase().contains("bug")
        || ticket.issue_type.eq_ignore_ascii_case("defect")
}

/// When Jira created the ticket (`fields.created` in the raw payload), else when it last
/// changed.
pub fn created_at(ticket: &Ticket) -> DateTime<Utc> {
    ticket
        .raw
        .path(&["fields", "created"])
        .as_ref()
        .and_then(serde_json::Value::as_str)
        .and_then(|s| {
            DateTime::parse_from_rfc3339(s)
                .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
                .ok()
        })
        .map_or(ticket.updated, |t| t.with_timezone(&Utc))
}

// ---- QA ---------------------------------------------------------------------------------------

/// The QA view: my open workflows, my tracked time, my recent runs, flaky tests I own.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QaDashboard {
    pub period: Period,
    pub my_tickets: Vec<WorkflowRow>,
    pub tracked: TrackedTime,
    pub recent_runs: Vec<RunSummary>,
    pub flaky_tests: Vec<FlakyTest>,
}

/// Tracked time, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackedTime {
    pub today_seconds: i64,
    /// Since Monday (UTC).
    pub week_seconds: i64,
    pub period_seconds: i64,
    pub by_day: Vec<DayValue>,
}

/// Builds the QA view for `q.viewer`.
pub async fn qa(store: &dyn Store, q: &DashboardQuery) -> Result<QaDashboard> {
    let me = q.viewer;
    let mine = store
        .list_workflows(&WorkflowFilter {
            owner: Some(me),
            ..WorkflowFilter::default()
        })
        .await?;
    let open: Vec<Workflow> = mine
        .iter()
        .filter(|w| OPEN_STATES.contains(&w.state) && q.counts_ticket(w.ticket.as_ref()))
        .cloned()
        .collect();
    let tickets = tickets_for(store, &open).await?;
    let my_tickets = open.iter().map(|w| WorkflowRow::new(w, &tickets)).collect();

    let mut fq = q.facts(FactKind::Time, vec![FactDim::Day]);
    // "Week" starts on Monday, which may lie before a 7-day period's first day.
    fq.from_day = fq.from_day.min(week_of(q.period.today));
    fq.users = Some(vec![me]);
    let days = store.dashboard_fact_totals(&fq).await?;
    let in_period: Vec<Fact> = days
        .iter()
        .filter(|f| f.day >= q.period.from_day)
        .cloned()
        .collect();
    let tracked = TrackedTime {
        today_seconds: days
            .iter()
            .filter(|f| f.day == q.period.today)
            .map(|f| f.amount)
            .sum(),
        week_seconds: days
            .iter()
            .filter(|f| f.day >= week_of(q.period.today))
            .map(|f| f.amount)
            .sum(),
        period_seconds: in_period.iter().map(|f| f.amount).sum(),
        by_day: day_series(&q.period, &in_period, |f| f.amount),
    };

    // My runs: those attached to the steps of my workflows, newest first.
    let mut run_ids: Vec<RunId> = mine
        .iter()
        .filter(|w| q.counts_ticket(w.ticket.as_ref()))
        .flat_map(|w| w.steps.iter().flat_map(|s| s.runs.iter().copied()))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    run_ids.sort_unstable_by(|a, b| b.cmp(a));
    let mut recent_runs = Vec::new();
    for id in run_ids {
        let summary = run_summary(store, &id).await?;
        if summary.started_at >= q.period.start() {
            recent_runs.push(summary);
        }
    }
    recent_runs.sort_by_key(|r| std::cmp::Reverse(r.started_at));
    recent_runs.truncate(q.top);

    // Tests I own: those linked to a ticket I have a workflow for.
    let my_keys: HashSet<&IssueKey> = mine.iter().filter_map(|w| w.ticket.as_ref()).collect();
    let alerts = open_alerts(store).await?;
    let mut flaky = Vec::new();
    for t in flaky_tests(&alerts) {
        let Ok(case) = store.test_case(&t.test_id).await else {
            continue;
        };
        if case.ticket_keys.iter().any(|k| my_keys.contains(k)) {
            flaky.push(t);
        }
    }
    flaky.truncate(q.top);
    Ok(QaDashboard {
        period: q.period,
        my_tickets,
        tracked,
        recent_runs,
        flaky_tests: flaky,
    })
}

// ---- PM ---------------------------------------------------------------------------------------

/// The PM view: tickets verified per week, time in QA, blockers, bug inflow.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PmDashboard {
    pub period: Period,
    pub verified_total: i64,
    pub verified_per_week: Vec<WeekValue>,
    pub cycle_time: CycleTime,
    pub blockers: Vec<Blocker>,
    pub bug_inflow_total: i64,
    pub bug_inflow: Vec<SeverityCount>,
}

/// Time in QA: from a workflow's start to its completion.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CycleTime {
    pub workflows: i64,
    pub average_seconds: i64,
    /// The average per week, in seconds (0 for a week with nothing completed).
    pub per_week: Vec<WeekValue>,
}

/// A blocked step of an open workflow.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blocker {
    pub workflow_id: WorkflowId,
    pub ticket: Option<IssueKey>,
    pub template: String,
    pub step: String,
    pub reason: Option<String>,
    pub owner: UserId,
    pub since: Option<DateTime<Utc>>,
}

/// Bugs of one severity (Jira priority) created in the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeverityCount {
    pub severity: String,
    pub count: i64,
    pub by_week: Vec<WeekValue>,
}

/// Blocked steps of open workflows in scope, oldest first.
pub async fn blockers(store: &dyn Store, q: &DashboardQuery) -> Result<Vec<Blocker>> {
    let mut out: Vec<Blocker> = open_workflows(store, q)
        .await?
        .iter()
        .flat_map(|w| {
            w.steps
                .iter()
                .filter(|s| s.state == StepState::Blocked)
                .map(|s| Blocker {
                    workflow_id: w.id,
                    ticket: w.ticket.clone(),
                    template: w.template.clone(),
                    step: s.name.clone(),
                    reason: s.reason.clone(),
                    owner: w.owner,
                    since: s.started_at,
                })
        })
        .collect();
    out.sort_by_key(|b| b.since);
    Ok(out)
}

/// Builds the PM view.
pub async fn pm(store: &dyn Store, q: &DashboardQuery) -> Result<PmDashboard> {
    let weeks = store
        .dashboard_fact_totals(&q.facts(FactKind::Verified, vec![FactDim::Week]))
        .await?;
    // The first week may start before the period; it counts only the period's days.
    let verified_total = weeks.iter().map(|f| f.n).sum();
    let cycle_sum: i64 = weeks.iter().map(|f| f.amount).sum();
    let cycle_time = CycleTime {
        workflows: verified_total,
        average_seconds: if verified_total > 0 {
            cycle_sum / verified_total
        } else {
            0
        },
        per_week: week_series(
            &q.period,
            &weeks,
            |f| if f.n > 0 { f.amount / f.n } else { 0 },
        ),
    };
    let mut by_severity: BTreeMap<String, BTreeMap<i64, i64>> = BTreeMap::new();
    for t in all_tickets(store, q.project.as_deref()).await? {
        if !is_bug(&t) {
            continue;
        }
        let day = day_of(created_at(&t));
        if day < q.period.from_day || day > q.period.today {
            continue;
        }
        let severity = t.priority.clone().unwrap_or_else(|| "None".to_owned());
        *by_severity
            .entry(severity)
            .or_default()
            .entry(week_of(day))
            .or_default() += 1;
    }
    let bug_inflow: Vec<SeverityCount> = by_severity
        .into_iter()
        .map(|(severity, weeks)| {
            let rows: Vec<Fact> = weeks
                .iter()
                .map(|(w, n)| {
                    let mut f = Fact::zero(*w, FactKind::Verified);
                    f.n = *n;
                    f
                })
                .collect();
            SeverityCount {
                severity,
                count: weeks.values().sum(),
                by_week: week_series(&q.period, &rows, |f| f.n),
            }
        })
        .collect();
    Ok(PmDashboard {
        period: q.period,
        verified_total,
        verified_per_week: week_series(&q.period, &weeks, |f| f.n),
        cycle_time,
        blockers: blockers(store, q).await?,
        bug_inflow_total: bug_inflow.iter().map(|s| s.count).sum(),
        bug_inflow,
    })
}

// ---- PO ---------------------------------------------------------------------------------------

/// The PO view: acceptance coverage per story and epic, release readiness per fix version.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoDashboard {
    pub period: Period,
    pub stories: Vec<CoverageRow>,
    pub epics: Vec<CoverageRow>,
    pub releases: Vec<ReleaseRow>,
}

/// Acceptance coverage of one story or epic. A case is executed when it ran in the period,
/// and passed when it ran and no attempt in the period failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CoverageRow {
    pub key: IssueKey,
    pub summary: String,
    pub issue_type: String,
    pub status: String,
    pub epic: Option<IssueKey>,
    pub cases_linked: u64,
    pub cases_executed: u64,
    pub cases_passed: u64,
}

/// Readiness of one fix version.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseRow {
    pub version: String,
    pub tickets: u64,
    pub done: u64,
    pub open_bugs: u64,
    pub cases_linked: u64,
    pub cases_passed: u64,
    pub cases_failing: u64,
    /// Done tickets over all tickets, in percent.
    pub ready_percent: u64,
}

fn epic_of(ticket: &Ticket) -> Option<IssueKey> {
    [
        &["fields", "parent", "key"][..],
        &["fields", "epic", "key"],
        &["fields", "customfield_10014"],
    ]
    .iter()
    .find_map(|path| match ticket.raw.path(path) {
        Some(serde_json::Value::String(k)) => IssueKey::parse(&k).ok(),
        _ => None,
    })
}

/// Builds the PO view.
#[expect(
    clippy::too_many_lines,
    reason = "stories, epics and releases share the case maps built at the top"
)]
pub async fn po(store: &dyn Store, q: &DashboardQuery) -> Result<PoDashboard> {
    let tickets = all_tickets(store, q.project.as_deref()).await?;
    let mut cases_of: HashMap<IssueKey, Vec<TestId>> = HashMap::new();
    for case in all_test_cases(store).await? {
        for key in case.ticket_keys {
            cases_of.entry(key).or_default().push(case.id);
        }
    }
    let mut fq = q.facts(FactKind::Result, vec![FactDim::Test]);
    // Results carry no user or project; the filters apply to the tickets instead.
    fq.users = None;
    fq.project = None;
    let ran: HashMap<TestId, (i64, i64)> = store
        .dashboard_fact_totals(&fq)
        .await?
        .into_iter()
        .filter_map(|f| f.test_id.map(|t| (t, (f.n, f.failed))))
        .collect();
    let count = |cases: &[TestId]| -> (u64, u64, u64) {
        let linked = cases.len() as u64;
        let executed = cases.iter().filter(|c| ran.contains_key(c)).count() as u64;
        let passed = cases
            .iter()
            .filter(|c| ran.get(c).is_some_and(|(n, failed)| *n > 0 && *failed == 0))
            .count() as u64;
        (linked, executed, passed)
    };
    let mut stories = Vec::new();
    let mut epic_cases: BTreeMap<IssueKey, Vec<TestId>> = BTreeMap::new();
    for t in &tickets {
        let kind = t.issue_type.to_ascii_lowercase();
        if kind == "epic" {
            epic_cases.entry(t.key.clone()).or_default();
            continue;
        }
        if kind != "story" {
            continue;
        }
        let cases = cases_of.get(&t.key).cloned().unwrap_or_default();
        let epic = epic_of(t);
        if let Some(e) = &epic {
            epic_cases
                .entry(e.clone())
                .or_default()
                .extend(cases.iter().copied());
        }
        let (linked, executed, passed) = count(&cases);
        stories.push(CoverageRow {
            key: t.key.clone(),
            summary: t.summary.clone(),
            issue_type: t.issue_type.clone(),
            status: t.status.clone(),
            epic,
            cases_linked: linked,
            cases_executed: executed,
            cases_passed: passed,
        });
    }
    let by_key: HashMap<&IssueKey, &Ticket> = tickets.iter().map(|t| (&t.key, t)).collect();
    let epics = epic_cases
        .into_iter()
        .map(|(key, mut cases)| {
            cases.extend(cases_of.get(&key).into_iter().flatten().copied());
            cases.sort_unstable();
            cases.dedup();
            let (linked, executed, passed) = count(&cases);
            let t = by_key.get(&key);
            CoverageRow {
                summary: t.map(|t| t.summary.clone()).unwrap_or_default(),
                issue_type: "Epic".to_owned(),
                status: t.map(|t| t.status.clone()).unwrap_or_default(),
                epic: None,
                key,
                cases_linked: linked,
                cases_executed: executed,
                cases_passed: passed,
            }
        })
        .collect();
    let mut releases: BTreeMap<String, (ReleaseRow, Vec<TestId>)> = BTreeMap::new();
    for t in &tickets {
        for version in &t.fix_versions {
            let (row, cases) = releases.entry(version.clone()).or_insert_with(|| {
                (
                    ReleaseRow {
                        version: version.clone(),
                        tickets: 0,
                        done: 0,
                        open_bugs: 0,
                        cases_linked: 0,
                        cases_passed: 0,
                        cases_failing: 0,
                        ready_percent: 0,
                    },
                    Vec::new(),
                )
            });
            row.tickets += 1;
            let done = t.status_category == crate::model::StatusCategory::Done;
            row.done += u64::from(done);
            row.open_bugs += u64::from(!done && is_bug(t));
            cases.extend(cases_of.get(&t.key).into_iter().flatten().copied());
        }
    }
    let releases = releases
        .into_values()
        .map(|(mut row, mut cases)| {
            cases.sort_unstable();
            cases.dedup();
            row.cases_linked = cases.len() as u64;
            row.cases_passed = cases
                .iter()
                .filter(|c| ran.get(c).is_some_and(|(n, f)| *n > 0 && *f == 0))
                .count() as u64;
            row.cases_failing = cases
                .iter()
                .filter(|c| ran.get(c).is_some_and(|(_, f)| *f > 0))
                .count() as u64;
            row.ready_percent = (row.done * 100).checked_div(row.tickets).unwrap_or(0);
            row
        })
        .collect();
    Ok(PoDashboard {
        period: q.period,
        stories,
        epics,
        releases,
    })
}

// ---- Tech Lead --------------------------------------------------------------------------------

/// The Tech Lead view: clusters by component, top flaky tests, systemic failures, anomalies,
/// integration health.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TechLeadDashboard {
    pub period: Period,
    pub clusters: Vec<ClusterRow>,
    pub components: Vec<ComponentCount>,
    pub flaky_tests: Vec<FlakyTest>,
    pub systemic: Vec<AlertRow>,
    pub anomalies: Vec<AlertRow>,
    pub integrations: Vec<IntegrationRow>,
}

/// A failure cluster seen in the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRow {
    pub cluster_id: crate::model::PatternId,
    pub title: String,
    pub component: String,
    /// `systemic`, `recurring_defect`, `flaky` or `one_off`, as the analysis labelled it.
    pub label: String,
    pub occurrences: u64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// First seen inside the period.
    pub is_new: bool,
    pub linked_issue: Option<IssueKey>,
}

/// Clusters and failures of one component.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentCount {
    pub component: String,
    pub clusters: u64,
    pub new_clusters: u64,
    pub occurrences: u64,
}

/// One integration's health over the period's last day.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationRow {
    pub integration: String,
    pub up: Option<bool>,
    pub checks: u64,
    pub error_rate: f64,
    pub avg_latency_ms: Option<f64>,
    pub max_latency_ms: Option<u64>,
    pub down_since: Option<DateTime<Utc>>,
}

/// The component of a test: its folder, else the first segment of its external id
/// (`pay.api.test_refund::test_x` → `pay`).
pub fn component_of(case: &TestCase) -> String {
    if let Some(folder) = case.folder_path.as_deref().filter(|f| !f.trim().is_empty()) {
        return folder
            .split('/')
            .find(|s| !s.is_empty())
            .unwrap_or(folder)
            .to_owned();
    }
    case.external_id
        .split(['.', '/', ':'])
        .find(|s| !s.is_empty())
        .unwrap_or("unknown")
        .to_owned()
}

/// Health of each named integration over the last 24 hours.
pub async fn integration_health(
    store: &dyn Store,
    names: &[String],
    now: DateTime<Utc>,
) -> Result<Vec<IntegrationRow>> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let s = store
            .integration_health_summary(name, now - Duration::hours(24))
            .await?;
        out.push(IntegrationRow {
            integration: name.clone(),
            up: s.last_healthy,
            checks: s.checks,
            error_rate: s.error_rate(),
            avg_latency_ms: s.avg_latency_ms,
            max_latency_ms: s.max_latency_ms,
            down_since: s.down_since,
        });
    }
    Ok(out)
}

/// Failure clusters seen in the period, most occurrences first.
pub async fn clusters(store: &dyn Store, q: &DashboardQuery) -> Result<Vec<ClusterRow>> {
    let start = q.period.start();
    let mut cache: HashMap<TestId, String> = HashMap::new();
    let mut out = Vec::new();
    for p in store.patterns_of_kind(CLUSTER_KIND).await? {
        if p.last_seen < start {
            continue;
        }
        let label = p
            .evidence
            .pointer("/classification/label")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("unknown")
            .to_owned();
        let sample = p
            .evidence
            .get("sampleTests")
            .and_then(|v| v.as_array())
            .and_then(|a| a.first())
            .and_then(serde_json::Value::as_str)
            .and_then(|s| s.parse::<uuid::Uuid>().ok())
            .map(TestId::from_uuid);
        let component = match sample {
            Some(id) => {
                if let Some(c) = cache.get(&id) {
                    c.clone()
                } else {
                    let c = store
                        .test_case(&id)
                        .await
                        .map_or_else(|_| "unknown".to_owned(), |case| component_of(&case));
                    cache.insert(id, c.clone());
                    c
                }
            }
            None => "unknown".to_owned(),
        };
        out.push(ClusterRow {
            cluster_id: p.id,
            title: p.title.clone(),
            component,
            label,
            occurrences: p.occurrences,
            first_seen: p.first_seen,
            last_seen: p.last_seen,
            is_new: p.first_seen >= start,
            linked_issue: p.links.first().map(|l| l.issue.clone()),
        });
    }
    out.sort_by(|a, b| {
        b.occurrences
            .cmp(&a.occurrences)
            .then(a.cluster_id.cmp(&b.cluster_id))
    });
    Ok(out)
}

/// Builds the Tech Lead view; `integrations` names the configured integrations.
pub async fn tech_lead(
    store: &dyn Store,
    q: &DashboardQuery,
    integrations: &[String],
) -> Result<TechLeadDashboard> {
    let clusters = clusters(store, q).await?;
    let mut components: BTreeMap<String, ComponentCount> = BTreeMap::new();
    for c in &clusters {
        let row = components
            .entry(c.component.clone())
            .or_insert_with(|| ComponentCount {
                component: c.component.clone(),
                clusters: 0,
                new_clusters: 0,
                occurrences: 0,
            });
        row.clusters += 1;
        row.new_clusters += u64::from(c.is_new);
        row.occurrences += c.occurrences;
    }
    let start = q.period.start();
    let alerts: Vec<Alert> = open_alerts(store)
        .await?
        .into_iter()
        .filter(|a| a.last_seen >= start)
        .collect();
    let mut flaky = flaky_tests(&alerts);
    flaky.truncate(q.top);
    let of_kind = |kind: AlertKind| -> Vec<AlertRow> {
        alerts
            .iter()
            .filter(|a| a.kind == kind)
            .map(AlertRow::from)
            .collect()
    };
    Ok(TechLeadDashboard {
        period: q.period,
        components: components.into_values().collect(),
        clusters,
        flaky_tests: flaky,
        systemic: of_kind(AlertKind::SystemicFailure),
        anomalies: of_kind(AlertKind::Anomaly),
        integrations: integration_health(store, integrations, q.now).await?,
    })
}

// ---- QA Manager -------------------------------------------------------------------------------

/// The QA Manager view: team time by activity and step, estimate accuracy, coverage and
/// pass-rate trends, pattern alerts, a cross-project portfolio.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QaManagerDashboard {
    pub period: Period,
    pub team_seconds: i64,
    pub team_time: Vec<ActivityTime>,
    pub time_by_day: Vec<DayValue>,
    pub estimate_accuracy: Vec<AccuracyRow>,
    pub trends: Vec<TrendPoint>,
    pub alerts: Vec<AlertRow>,
    pub portfolio: Vec<PortfolioRow>,
}

/// Time tracked on one activity (workflow template, or `ad hoc`) and step.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityTime {
    pub activity: String,
    pub step: String,
    pub seconds: i64,
    pub entries: i64,
}

/// Estimates against tracked time for workflows of one template completed in the period
/// (the estimates of their done steps, the time tracked on the whole workflow).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccuracyRow {
    pub activity: String,
    pub workflows: i64,
    pub estimate_seconds: i64,
    pub tracked_seconds: i64,
    /// Tracked over estimated, in percent (100 is on target); `None` without estimates.
    pub ratio_percent: Option<i64>,
}

/// One week of test results.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrendPoint {
    pub week_start: NaiveDate,
    pub attempts: i64,
    pub passed: i64,
    pub failed: i64,
    /// Passed over passed + failed, in percent; `None` in a week without verdicts.
    pub pass_rate_percent: Option<i64>,
    pub tests_executed: i64,
    /// Tests executed over known test cases, in percent.
    pub coverage_percent: Option<i64>,
}

/// One project across every panel.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortfolioRow {
    pub project: String,
    pub tracked_seconds: i64,
    pub verified: i64,
    pub open_workflows: u64,
    pub blocked: u64,
    pub open_bugs: u64,
}

/// The name a time fact's activity shows under.
pub fn activity_label(activity: &str) -> String {
    if activity.is_empty() {
        "ad hoc".to_owned()
    } else {
        activity.to_owned()
    }
}

/// Builds the QA Manager view.
pub async fn qa_manager(store: &dyn Store, q: &DashboardQuery) -> Result<QaManagerDashboard> {
    let team_time: Vec<ActivityTime> = store
        .dashboard_fact_totals(&q.facts(FactKind::Time, vec![FactDim::Activity, FactDim::Step]))
        .await?
        .into_iter()
        .map(|f| ActivityTime {
            activity: activity_label(&f.activity),
            step: f.step,
            seconds: f.amount,
            entries: f.n,
        })
        .collect();
    let by_day = store
        .dashboard_fact_totals(&q.facts(FactKind::Time, vec![FactDim::Day]))
        .await?;
    let estimate_accuracy = store
        .dashboard_fact_totals(&q.facts(FactKind::Verified, vec![FactDim::Activity]))
        .await?
        .into_iter()
        .map(|f| AccuracyRow {
            activity: activity_label(&f.activity),
            workflows: f.n,
            estimate_seconds: f.estimate,
            tracked_seconds: f.tracked,
            ratio_percent: (f.estimate > 0).then(|| f.tracked * 100 / f.estimate),
        })
        .collect();
    let mut rq = q.facts(FactKind::Result, vec![FactDim::Week]);
    rq.users = None;
    rq.project = None;
    let weeks = store.dashboard_fact_totals(&rq).await?;
    let known = i64::try_from(all_test_cases(store).await?.len()).unwrap_or(i64::MAX);
    let by_week: HashMap<i64, &Fact> = weeks.iter().map(|f| (f.day, f)).collect();
    let trends = q
        .period
        .week_numbers()
        .into_iter()
        .map(|w| {
            let f = by_week.get(&w);
            let (attempts, passed, failed, tests) = f.map_or((0, 0, 0, 0), |f| {
                (f.n, f.passed, f.failed, f.distinct_tests)
            });
            TrendPoint {
                week_start: day_date(w),
                attempts,
                passed,
                failed,
                pass_rate_percent: (passed + failed > 0).then(|| passed * 100 / (passed + failed)),
                tests_executed: tests,
                coverage_percent: (known > 0).then(|| tests * 100 / known),
            }
        })
        .collect();
    let alerts = open_alerts(store)
        .await?
        .iter()
        .filter(|a| a.last_seen >= q.period.start())
        .map(AlertRow::from)
        .collect();
    Ok(QaManagerDashboard {
        period: q.period,
        team_seconds: team_time.iter().map(|t| t.seconds).sum(),
        team_time,
        time_by_day: day_series(&q.period, &by_day, |f| f.amount),
        estimate_accuracy,
        trends,
        alerts,
        portfolio: portfolio(store, q).await?,
    })
}

/// Every project with time, completed workflows, open work or bugs, by project key.
pub async fn portfolio(store: &dyn Store, q: &DashboardQuery) -> Result<Vec<PortfolioRow>> {
    let mut rows: BTreeMap<String, PortfolioRow> = BTreeMap::new();
    let mut add = |project: &str, f: &dyn Fn(&mut PortfolioRow)| {
        if project.is_empty() {
            return;
        }
        let entry = rows
            .entry(project.to_owned())
            .or_insert_with(|| PortfolioRow {
                project: project.to_owned(),
                tracked_seconds: 0,
                verified: 0,
                open_workflows: 0,
                blocked: 0,
                open_bugs: 0,
            });
        f(entry);
    };
    for f in store
        .dashboard_fact_totals(&q.facts(FactKind::Time, vec![FactDim::Project]))
        .await?
    {
        add(&f.project, &|r| r.tracked_seconds += f.amount);
    }
    for f in store
        .dashboard_fact_totals(&q.facts(FactKind::Verified, vec![FactDim::Project]))
        .await?
    {
        add(&f.project, &|r| r.verified += f.n);
    }
    for w in open_workflows(store, q).await? {
        let Some(ticket) = &w.ticket else { continue };
        let blocked = w.steps.iter().any(|s| s.state == StepState::Blocked);
        add(ticket.project(), &|r| {
            r.open_workflows += 1;
            r.blocked += u64::from(blocked);
        });
    }
    for t in all_tickets(store, q.project.as_deref()).await? {
        if is_bug(&t) && t.status_category != crate::model::StatusCategory::Done {
            add(t.project(), &|r| r.open_bugs += 1);
        }
    }
    Ok(rows.into_values().collect())
}

/// Any persona's view, for front-ends that serve them all through one route.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Dashboard {
    Qa(QaDashboard),
    Pm(PmDashboard),
    Po(PoDashboard),
    TechLead(TechLeadDashboard),
    QaManager(QaManagerDashboard),
}

/// Builds `persona`'s view.
pub async fn load(
    store: &dyn Store,
    persona: Persona,
    q: &DashboardQuery,
    integrations: &[String],
) -> Result<Dashboard> {
    Ok(match persona {
        Persona::Qa => Dashboard::Qa(qa(store, q).await?),
        Persona::Pm => Dashboard::Pm(pm(store, q).await?),
        Persona::Po => Dashboard::Po(po(store, q).await?),
        Persona::TechLead => Dashboard::TechLead(tech_lead(store, q, integrations).await?),
        Persona::QaManager => Dashboard::QaManager(qa_manager(store, q).await?),
    })
}
