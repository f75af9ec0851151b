//! The persona views as panels of numbers, charts and tables, built from the core's dashboard
//! structs: the one conversion both the HTML page and the CSV exports use, so an exported
//! table is exactly the table on the page.
//!
//! Stable ids, for browser tests that compare a page with `/api/v1/dashboards/{persona}`:
//! - each panel is `<section id="panel-{panel}" data-testid="panel-{panel}">`;
//! - each headline number is `<span data-testid="stat-{panel}-{stat}" data-value="{raw}">`,
//!   where `raw` is the API's number (seconds for time, a count otherwise);
//! - each table is `<table id="table-{table}" data-testid="table-{table}">` and its CSV is
//!   `/dashboards/{persona}/export/{table}.csv` with the page's filters;
//! - each chart is `<svg data-testid="chart-{panel}">`.
//!
//! Panel, stat and table names per persona (with the API field each mirrors):
//! - qa: `my-tickets` (table `my-tickets` = `myTickets`), `tracked` (stats `today` =
//!   `tracked.todaySeconds`, `week` = `tracked.weekSeconds`, `period` =
//!   `tracked.periodSeconds`), `recent-runs` (`recentRuns`), `flaky` (`flakyTests`);
//! - pm: `verified` (stat `total` = `verifiedTotal`, table `verified-per-week`), `cycle-time`
//!   (stats `average` = `cycleTime.averageSeconds`, `workflows` = `cycleTime.workflows`),
//!   `blockers` (stat `count`, table `blockers`), `bug-inflow` (stat `total` =
//!   `bugInflowTotal`, table `bug-inflow`);
//! - po: `stories` (table `stories`), `epics` (table `epics`), `releases` (table `releases`);
//! - tech-lead: `clusters` (stats `count`, `new`; tables `components`, `clusters`), `flaky`
//!   (table `flaky`), `systemic` (stat `count`, table `systemic`), `anomalies` (stat `count`,
//!   table `anomalies`), `integrations` (table `integrations`);
//! - qa-manager: `team-time` (stat `total` = `teamSeconds`, table `team-time`), `accuracy`
//!   (table `accuracy`), `trends` (table `trends`), `alerts` (stat `count`, table `alerts`),
//!   `portfolio` (table `portfolio`).

use qapms_core::dashboard::{
    AlertRow, Dashboard, FlakyTest, PmDashboard, PoDashboard, QaDashboard, QaManagerDashboard,
    RunSummary, TechLeadDashboard, WorkflowRow,
};
use qapms_core::report::csv::Cell;

use crate::charts::{self, duration};

/// One headline number.
pub(crate) struct StatView {
    pub(crate) id: String,
    pub(crate) label: &'static str,
    pub(crate) display: String,
    pub(crate) raw: i64,
}

/// One table cell: its text, an optional drill-down link and, for numbers, the raw value
/// (what the CSV holds).
pub(crate) struct CellView {
    pub(crate) text: String,
    pub(crate) href: Option<String>,
    pub(crate) num: Option<i64>,
}

impl CellView {
    pub(crate) fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            href: None,
            num: None,
        }
    }

    pub(crate) fn link(text: impl Into<String>, href: String) -> Self {
        Self {
            text: text.into(),
            href: Some(href),
            num: None,
        }
    }

    pub(crate) fn num(n: impl TryInto<i64>) -> Self {
        let n = n.try_into().unwrap_or(i64::MAX);
        Self {
            text: n.to_string(),
            href: None,
            num: Some(n),
        }
    }

    pub(crate) fn secs(n: i64) -> Self {
        Self {
            text: duration(n),
            href: None,
            num: Some(n),
        }
    }

    pub(crate) fn opt(v: Option<impl ToString>) -> Self {
        Self::text(v.map(|v| v.to_string()).unwrap_or_default())
    }

    fn csv(&self) -> Cell {
        match self.num {
            Some(n) => Cell::Int(i128::from(n)),
            None if self.text.is_empty() => Cell::Empty,
            None => Cell::Text(self.text.clone()),
        }
    }
}

pub(crate) struct TableView {
    pub(crate) id: &'static str,
    pub(crate) caption: &'static str,
    /// Column names as the CSV header uses them; the page shows them as they are.
    pub(crate) headers: Vec<&'static str>,
    pub(crate) rows: Vec<Vec<CellView>>,
}

impl TableView {
    /// The table as CSV (RFC 4180, formula-safe).
    pub(crate) fn csv(&self) -> String {
        let rows: Vec<Vec<Cell>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(CellView::csv).collect())
            .collect();
        qapms_core::report::csv::table(&self.headers, &rows)
    }
}

pub(crate) struct PanelView {
    pub(crate) id: &'static str,
    pub(crate) title: &'static str,
    pub(crate) description: &'static str,
    pub(crate) stats: Vec<StatView>,
    pub(crate) chart: Option<String>,
    pub(crate) tables: Vec<TableView>,
}

impl PanelView {
    fn new(id: &'static str, title: &'static str, description: &'static str) -> Self {
        Self {
            id,
            title,
            description,
            stats: Vec::new(),
            chart: None,
            tables: Vec::new(),
        }
    }

    fn stat(mut self, id: &str, label: &'static str, raw: i64, display: String) -> Self {
        self.stats.push(StatView {
            id: format!("{}-{id}", self.id),
            label,
            display,
            raw,
        });
        self
    }

    fn count(self, id: &str, label: &'static str, n: usize) -> Self {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        self.stat(id, label, n, n.to_string())
    }

    fn chart(mut self, svg: String) -> Self {
        self.chart = Some(svg);
        self
    }

    fn table(mut self, table: TableView) -> Self {
        self.tables.push(table);
        self
    }
}

pub(crate) fn table(
    id: &'static str,
    caption: &'static str,
    headers: &[&'static str],
    rows: Vec<Vec<CellView>>,
) -> TableView {
    TableView {
        id,
        caption,
        headers: headers.to_vec(),
        rows,
    }
}

pub(crate) fn ticket_link(key: Option<&qapms_core::model::IssueKey>) -> CellView {
    match key {
        Some(k) => CellView::link(k.as_str(), format!("/tickets/{k}")),
        None => CellView::text(""),
    }
}

fn workflow_rows(rows: &[WorkflowRow]) -> Vec<Vec<CellView>> {
    rows.iter()
        .map(|w| {
            vec![
                ticket_link(w.ticket.as_ref()),
                CellView::opt(w.summary.as_deref()),
                CellView::link(w.template.clone(), format!("/workflows/{}", w.workflow_id)),
                CellView::text(w.state.as_str()),
                CellView::opt(w.current_step.as_deref()),
                CellView::text(if w.blocked { "yes" } else { "no" }),
            ]
        })
        .collect()
}

fn run_rows(runs: &[RunSummary]) -> Vec<Vec<CellView>> {
    runs.iter()
        .map(|r| {
            vec![
                CellView::link(r.name.clone(), format!("/runs/{}", r.run_id)),
                CellView::text(r.started_at.format("%Y-%m-%d %H:%M").to_string()),
                CellView::opt(r.environment.as_deref()),
                CellView::num(r.attempts),
                CellView::num(r.passed),
                CellView::num(r.failed),
            ]
        })
        .collect()
}

fn flaky_rows(tests: &[FlakyTest]) -> Vec<Vec<CellView>> {
    tests
        .iter()
        .map(|t| {
            vec![
                CellView::link(t.external_id.clone(), format!("/tests/{}", t.test_id)),
                CellView::text(format!("{:.2}", t.score)),
                CellView::text(format!("{:.2}–{:.2}", t.score_low, t.score_high)),
                CellView::num(t.runs),
                CellView::num(t.failures),
            ]
        })
        .collect()
}

fn alert_rows(alerts: &[AlertRow]) -> Vec<Vec<CellView>> {
    alerts
        .iter()
        .map(|a| {
            vec![
                CellView::link(a.title.clone(), format!("/alerts/{}", a.alert_id)),
                CellView::text(a.kind.as_str()),
                CellView::text(a.severity.clone()),
                CellView::text(a.state.clone()),
                CellView::num(a.occurrences),
                CellView::text(a.last_seen.format("%Y-%m-%d %H:%M").to_string()),
            ]
        })
        .collect()
}

const ALERT_HEADERS: &[&str] = &[
    "alert",
    "kind",
    "severity",
    "state",
    "occurrences",
    "last_seen",
];
const FLAKY_HEADERS: &[&str] = &["test", "score", "interval", "runs", "failures"];

fn qa(d: &QaDashboard) -> Vec<PanelView> {
    let by_day: Vec<(String, i64)> = d
        .tracked
        .by_day
        .iter()
        .map(|p| (p.date.format("%m-%d").to_string(), p.value))
        .collect();
    vec![
        PanelView::new(
            "my-tickets",
            "My tickets in QA",
            "Your open workflows and where each stands.",
        )
        .count("count", "Open", d.my_tickets.len())
        .table(table(
            "my-tickets",
            "My open workflows",
            &["ticket", "summary", "workflow", "state", "step", "blocked"],
            workflow_rows(&d.my_tickets),
        )),
        PanelView::new(
            "tracked",
            "Tracked time",
            "Time you tracked, per day (UTC).",
        )
        .stat(
            "today",
            "Today",
            d.tracked.today_seconds,
            duration(d.tracked.today_seconds),
        )
        .stat(
            "week",
            "This week",
            d.tracked.week_seconds,
            duration(d.tracked.week_seconds),
        )
        .stat(
            "period",
            "Period",
            d.tracked.period_seconds,
            duration(d.tracked.period_seconds),
        )
        .chart(charts::bars(
            "chart-tracked",
            "Tracked time per day",
            &by_day,
            duration,
        ))
        .table(table(
            "tracked-by-day",
            "Tracked time per day",
            &["date", "seconds"],
            d.tracked
                .by_day
                .iter()
                .map(|p| vec![CellView::text(p.date.to_string()), CellView::secs(p.value)])
                .collect(),
        )),
        PanelView::new(
            "recent-runs",
            "My recent runs",
            "Runs attached to your workflows' steps.",
        )
        .count("count", "Runs", d.recent_runs.len())
        .table(table(
            "recent-runs",
            "My recent runs",
            &[
                "run",
                "started",
                "environment",
                "attempts",
                "passed",
                "failed",
            ],
            run_rows(&d.recent_runs),
        )),
        PanelView::new(
            "flaky",
            "Flaky tests I own",
            "Flagged tests linked to your tickets, highest score first.",
        )
        .count("count", "Flaky", d.flaky_tests.len())
        .table(table(
            "flaky",
            "Flaky tests I own",
            FLAKY_HEADERS,
            flaky_rows(&d.flaky_tests),
        )),
    ]
}

#[expect(
    clippy::too_many_lines,
    reason = "one persona's panels, declared in the order the page shows them"
)]
fn pm(d: &PmDashboard) -> Vec<PanelView> {
    let weeks: Vec<(String, i64)> = d
        .verified_per_week
        .iter()
        .map(|w| (w.week_start.format("%m-%d").to_string(), w.value))
        .collect();
    let cycle: Vec<(String, Option<i64>)> = d
        .cycle_time
        .per_week
        .iter()
        .map(|w| {
            (
                w.week_start.format("%m-%d").to_string(),
                (w.value > 0).then_some(w.value),
            )
        })
        .collect();
    vec![
        PanelView::new(
            "verified",
            "Tickets verified per week",
            "Workflows completed, week by week (weeks start on Monday).",
        )
        .stat(
            "total",
            "Verified",
            d.verified_total,
            d.verified_total.to_string(),
        )
        .chart(charts::bars(
            "chart-verified",
            "Tickets verified per week",
            &weeks,
            |v| v.to_string(),
        ))
        .table(table(
            "verified-per-week",
            "Verified per week",
            &["week_start", "verified"],
            d.verified_per_week
                .iter()
                .map(|w| {
                    vec![
                        CellView::text(w.week_start.to_string()),
                        CellView::num(w.value),
                    ]
                })
                .collect(),
        )),
        PanelView::new(
            "cycle-time",
            "Time in QA",
            "Cycle time from a workflow's start to its completion.",
        )
        .stat(
            "average",
            "Average",
            d.cycle_time.average_seconds,
            duration(d.cycle_time.average_seconds),
        )
        .stat(
            "workflows",
            "Completed",
            d.cycle_time.workflows,
            d.cycle_time.workflows.to_string(),
        )
        .chart(charts::line(
            "chart-cycle-time",
            "Average cycle time per week",
            &cycle,
            duration,
        ))
        .table(table(
            "cycle-time",
            "Average cycle time per week",
            &["week_start", "average_seconds"],
            d.cycle_time
                .per_week
                .iter()
                .map(|w| {
                    vec![
                        CellView::text(w.week_start.to_string()),
                        CellView::secs(w.value),
                    ]
                })
                .collect(),
        )),
        PanelView::new(
            "blockers",
            "Blockers",
            "Blocked steps of open workflows, oldest first.",
        )
        .count("count", "Blocked", d.blockers.len())
        .table(table(
            "blockers",
            "Blocked steps",
            &["ticket", "workflow", "step", "reason", "since"],
            d.blockers
                .iter()
                .map(|b| {
                    vec![
                        ticket_link(b.ticket.as_ref()),
                        CellView::link(b.template.clone(), format!("/workflows/{}", b.workflow_id)),
                        CellView::text(b.step.clone()),
                        CellView::opt(b.reason.as_deref()),
                        CellView::opt(b.since.map(|s| s.format("%Y-%m-%d %H:%M").to_string())),
                    ]
                })
                .collect(),
        )),
        PanelView::new(
            "bug-inflow",
            "Bug inflow",
            "Bugs created in the period, by severity (Jira priority).",
        )
        .stat(
            "total",
            "New bugs",
            d.bug_inflow_total,
            d.bug_inflow_total.to_string(),
        )
        .chart(charts::bars(
            "chart-bug-inflow",
            "Bugs by severity",
            &d.bug_inflow
                .iter()
                .map(|s| (s.severity.clone(), s.count))
                .collect::<Vec<_>>(),
            |v| v.to_string(),
        ))
        .table(table(
            "bug-inflow",
            "Bugs by severity",
            &["severity", "count"],
            d.bug_inflow
                .iter()
                .map(|s| {
                    vec![
                        CellView::link(
                            s.severity.clone(),
                            format!("/tickets?priority={}", crate::pages::encode(&s.severity)),
                        ),
                        CellView::num(s.count),
                    ]
                })
                .collect(),
        )),
    ]
}

fn coverage_rows(rows: &[qapms_core::dashboard::CoverageRow]) -> Vec<Vec<CellView>> {
    rows.iter()
        .map(|r| {
            vec![
                ticket_link(Some(&r.key)),
                CellView::text(r.summary.clone()),
                CellView::text(r.status.clone()),
                CellView::num(r.cases_linked),
                CellView::num(r.cases_executed),
                CellView::num(r.cases_passed),
            ]
        })
        .collect()
}

const COVERAGE_HEADERS: &[&str] = &["key", "summary", "status", "linked", "executed", "passed"];

fn po(d: &PoDashboard) -> Vec<PanelView> {
    vec![
        PanelView::new(
            "stories",
            "Acceptance coverage per story",
            "Cases linked, executed in the period, and passed (no failed attempt).",
        )
        .count("count", "Stories", d.stories.len())
        .table(table(
            "stories",
            "Coverage per story",
            COVERAGE_HEADERS,
            coverage_rows(&d.stories),
        )),
        PanelView::new(
            "epics",
            "Acceptance coverage per epic",
            "The cases of an epic and of its stories.",
        )
        .count("count", "Epics", d.epics.len())
        .table(table(
            "epics",
            "Coverage per epic",
            COVERAGE_HEADERS,
            coverage_rows(&d.epics),
        )),
        PanelView::new(
            "releases",
            "Release readiness",
            "Per fix version: done tickets, open bugs, linked cases passing and failing.",
        )
        .count("count", "Versions", d.releases.len())
        .chart(charts::bars(
            "chart-releases",
            "Ready percent per fix version",
            &d.releases
                .iter()
                .map(|r| {
                    (
                        r.version.clone(),
                        i64::try_from(r.ready_percent).unwrap_or(0),
                    )
                })
                .collect::<Vec<_>>(),
            |v| format!("{v}%"),
        ))
        .table(table(
            "releases",
            "Readiness per fix version",
            &[
                "version",
                "tickets",
                "done",
                "open_bugs",
                "cases_linked",
                "cases_passed",
                "cases_failing",
                "ready_percent",
            ],
            d.releases
                .iter()
                .map(|r| {
                    vec![
                        CellView::text(r.version.clone()),
                        CellView::num(r.tickets),
                        CellView::num(r.done),
                        CellView::num(r.open_bugs),
                        CellView::num(r.cases_linked),
                        CellView::num(r.cases_passed),
                        CellView::num(r.cases_failing),
                        CellView::num(r.ready_percent),
                    ]
                })
                .collect(),
        )),
    ]
}

#[expect(
    clippy::too_many_lines,
    reason = "one persona's panels, declared in the order the page shows them"
)]
fn tech_lead(d: &TechLeadDashboard) -> Vec<PanelView> {
    let new = d.clusters.iter().filter(|c| c.is_new).count();
    vec![
        PanelView::new(
            "clusters",
            "Failure clusters",
            "Clusters seen in the period by component; new ones first seen in the period.",
        )
        .count("count", "Clusters", d.clusters.len())
        .count("new", "New", new)
        .chart(charts::bars(
            "chart-clusters",
            "Failures per component",
            &d.components
                .iter()
                .map(|c| {
                    (
                        c.component.clone(),
                        i64::try_from(c.occurrences).unwrap_or(0),
                    )
                })
                .collect::<Vec<_>>(),
            |v| v.to_string(),
        ))
        .table(table(
            "components",
            "Clusters by component",
            &["component", "clusters", "new", "occurrences"],
            d.components
                .iter()
                .map(|c| {
                    vec![
                        CellView::text(c.component.clone()),
                        CellView::num(c.clusters),
                        CellView::num(c.new_clusters),
                        CellView::num(c.occurrences),
                    ]
                })
                .collect(),
        ))
        .table(table(
            "clusters",
            "Clusters",
            &[
                "cluster",
                "component",
                "label",
                "occurrences",
                "new",
                "last_seen",
                "issue",
            ],
            d.clusters
                .iter()
                .map(|c| {
                    vec![
                        CellView::link(c.title.clone(), format!("/clusters/{}", c.cluster_id)),
                        CellView::text(c.component.clone()),
                        CellView::text(c.label.clone()),
                        CellView::num(c.occurrences),
                        CellView::text(if c.is_new { "new" } else { "" }),
                        CellView::text(c.last_seen.format("%Y-%m-%d %H:%M").to_string()),
                        ticket_link(c.linked_issue.as_ref()),
                    ]
                })
                .collect(),
        )),
        PanelView::new("flaky", "Flaky tests", "The top flaky tests, by score.")
            .count("count", "Flaky", d.flaky_tests.len())
            .table(table(
                "flaky",
                "Top flaky tests",
                FLAKY_HEADERS,
                flaky_rows(&d.flaky_tests),
            )),
        PanelView::new(
            "systemic",
            "Systemic failures",
            "Environment and infrastructure failures.",
        )
        .count("count", "Open", d.systemic.len())
        .table(table(
            "systemic",
            "Systemic failures",
            ALERT_HEADERS,
            alert_rows(&d.systemic),
        )),
        PanelView::new(
            "anomalies",
            "Anomaly alerts",
            "Unusual pass rates and durations.",
        )
        .count("count", "Open", d.anomalies.len())
        .table(table(
            "anomalies",
            "Anomaly alerts",
            ALERT_HEADERS,
            alert_rows(&d.anomalies),
        )),
        PanelView::new(
            "integrations",
            "Integration health",
            "Each integration over the last 24 hours.",
        )
        .count("count", "Integrations", d.integrations.len())
        .table(table(
            "integrations",
            "Integration health",
            &[
                "integration",
                "status",
                "checks",
                "error_rate_percent",
                "avg_latency_ms",
                "max_latency_ms",
            ],
            d.integrations
                .iter()
                .map(|i| {
                    vec![
                        CellView::text(i.integration.clone()),
                        CellView::text(match i.up {
                            Some(true) => "up",
                            Some(false) => "down",
                            None => "unknown",
                        }),
                        CellView::num(i.checks),
                        CellView::text(format!("{:.1}", i.error_rate * 100.0)),
                        CellView::opt(i.avg_latency_ms.map(|l| format!("{l:.0}"))),
                        CellView::opt(i.max_latency_ms),
                    ]
                })
                .collect(),
        )),
    ]
}

#[expect(
    clippy::too_many_lines,
    reason = "one persona's panels, declared in the order the page shows them"
)]
fn qa_manager(d: &QaManagerDashboard) -> Vec<PanelView> {
    let days: Vec<(String, i64)> = d
        .time_by_day
        .iter()
        .map(|p| (p.date.format("%m-%d").to_string(), p.value))
        .collect();
    let pass: Vec<(String, Option<i64>)> = d
        .trends
        .iter()
        .map(|t| {
            (
                t.week_start.format("%m-%d").to_string(),
                t.pass_rate_percent,
            )
        })
        .collect();
    vec![
        PanelView::new(
            "team-time",
            "Team time",
            "Time tracked by activity (workflow template) and step.",
        )
        .stat("total", "Total", d.team_seconds, duration(d.team_seconds))
        .chart(charts::bars(
            "chart-team-time",
            "Team time per day",
            &days,
            duration,
        ))
        .table(table(
            "team-time",
            "Time by activity and step",
            &["activity", "step", "seconds", "entries"],
            d.team_time
                .iter()
                .map(|t| {
                    vec![
                        CellView::text(t.activity.clone()),
                        CellView::text(t.step.clone()),
                        CellView::secs(t.seconds),
                        CellView::num(t.entries),
                    ]
                })
                .collect(),
        )),
        PanelView::new(
            "accuracy",
            "Estimate accuracy",
            "Tracked time against estimates, for workflows completed in the period.",
        )
        .table(table(
            "accuracy",
            "Estimate accuracy",
            &[
                "activity",
                "workflows",
                "estimate_seconds",
                "tracked_seconds",
                "ratio_percent",
            ],
            d.estimate_accuracy
                .iter()
                .map(|a| {
                    vec![
                        CellView::text(a.activity.clone()),
                        CellView::num(a.workflows),
                        CellView::secs(a.estimate_seconds),
                        CellView::secs(a.tracked_seconds),
                        a.ratio_percent
                            .map_or_else(|| CellView::text(""), CellView::num),
                    ]
                })
                .collect(),
        )),
        PanelView::new(
            "trends",
            "Coverage and pass rate",
            "Per week: pass rate of attempts with a verdict, and tests executed over known tests.",
        )
        .chart(charts::line(
            "chart-trends",
            "Pass rate per week",
            &pass,
            |v| format!("{v}%"),
        ))
        .table(table(
            "trends",
            "Weekly trends",
            &[
                "week_start",
                "attempts",
                "passed",
                "failed",
                "pass_rate_percent",
                "tests_executed",
                "coverage_percent",
            ],
            d.trends
                .iter()
                .map(|t| {
                    vec![
                        CellView::text(t.week_start.to_string()),
                        CellView::num(t.attempts),
                        CellView::num(t.passed),
                        CellView::num(t.failed),
                        t.pass_rate_percent
                            .map_or_else(|| CellView::text(""), CellView::num),
                        CellView::num(t.tests_executed),
                        t.coverage_percent
                            .map_or_else(|| CellView::text(""), CellView::num),
                    ]
                })
                .collect(),
        )),
        PanelView::new(
            "alerts",
            "Pattern alerts",
            "Open pattern and anomaly alerts seen in the period.",
        )
        .count("count", "Open", d.alerts.len())
        .table(table(
            "alerts",
            "Open alerts",
            ALERT_HEADERS,
            alert_rows(&d.alerts),
        )),
        PanelView::new(
            "portfolio",
            "Portfolio",
            "Every project: time, completed workflows, open work and open bugs.",
        )
        .count("count", "Projects", d.portfolio.len())
        .table(table(
            "portfolio",
            "Projects",
            &[
                "project",
                "tracked_seconds",
                "verified",
                "open_workflows",
                "blocked",
                "open_bugs",
            ],
            d.portfolio
                .iter()
                .map(|p| {
                    vec![
                        CellView::link(
                            p.project.clone(),
                            format!(
                                "/dashboards/qa-manager?project={}",
                                crate::pages::encode(&p.project)
                            ),
                        ),
                        CellView::secs(p.tracked_seconds),
                        CellView::num(p.verified),
                        CellView::num(p.open_workflows),
                        CellView::num(p.blocked),
                        CellView::num(p.open_bugs),
                    ]
                })
                .collect(),
        )),
    ]
}

/// The panels of any persona's view.
pub(crate) fn panels(dashboard: &Dashboard) -> Vec<PanelView> {
    match dashboard {
        Dashboard::Qa(d) => qa(d),
        Dashboard::Pm(d) => pm(d),
        Dashboard::Po(d) => po(d),
        Dashboard::TechLead(d) => tech_lead(d),
        Dashboard::QaManager(d) => qa_manager(d),
    }
}
