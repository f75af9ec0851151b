//! The report's tables, built once from the model and written by each renderer.
//!
//! Markdown and HTML show the same tables with the same columns; only the escaping and the
//! markup differ. Building the rows here, as cells that say what they hold (text to escape, a
//! link, a number, a variance), keeps the two renderers from drifting apart: a column added
//! here shows in both.

use super::model::{PeriodReport, WorkflowReport};
use super::text::{duration, optional_duration, percent, step_state, time, web_url};
use crate::tracking::TimeReportRow;

/// One table cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// Text from a person or a tool: each renderer escapes it.
    Text(String),
    /// Text that is a link when `url` is a web URL (only `http(s)` becomes a link).
    Link { text: String, url: Option<String> },
    /// A number, a duration or a date the report wrote itself: no markup, right-aligned.
    Number(String),
    /// A fixed word from the report's own vocabulary (a state, a source): no markup.
    Word(String),
    /// Time over or under the estimate; HTML marks the direction in words and colour.
    Variance(Option<i64>),
}

impl Cell {
    fn text(value: impl Into<String>) -> Self {
        Self::Text(value.into())
    }

    fn number(value: impl ToString + Copy) -> Self {
        Self::Number(value.to_string())
    }

    fn word(value: impl Into<String>) -> Self {
        Self::Word(value.into())
    }

    /// Whether the cell is a figure, which HTML right-aligns.
    pub(crate) fn is_numeric(&self) -> bool {
        matches!(self, Self::Number(_) | Self::Variance(_))
    }
}

/// A table: its caption (HTML shows it; Markdown has none), column heads and rows. The first
/// cell of a row names the row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Table {
    pub caption: &'static str,
    pub head: &'static [&'static str],
    pub rows: Vec<Vec<Cell>>,
}

/// Time per step against the estimate.
pub(crate) fn steps(report: &WorkflowReport) -> Table {
    let rows = report
        .steps
        .iter()
        .map(|s| {
            vec![
                Cell::text(format!("{}. {}", s.number, s.name)),
                Cell::word(step_state(s.state)),
                Cell::Number(optional_duration(s.estimate_seconds)),
                Cell::Number(duration(s.tracked_seconds)),
                Cell::Variance(s.variance_seconds),
                Cell::Number(format!(
                    "{}/{}",
                    s.checklist.iter().filter(|i| i.done).count(),
                    s.checklist.len()
                )),
                Cell::number(s.evidence.len()),
            ]
        })
        .collect();
    Table {
        caption: "Time per step against the estimate",
        head: &[
            "Step",
            "State",
            "Estimate",
            "Tracked",
            "Variance",
            "Checklist",
            "Evidence",
        ],
        rows,
    }
}

/// The test runs attached to the workflow.
pub(crate) fn runs(report: &WorkflowReport) -> Table {
    let rows = report
        .tests
        .runs
        .iter()
        .map(|r| {
            vec![
                Cell::Link {
                    text: r.name.clone(),
                    url: r.url.as_deref().and_then(web_url).map(str::to_owned),
                },
                Cell::word(r.source.as_str()),
                Cell::Word(time(&r.started_at)),
                Cell::number(r.tests),
                Cell::number(r.passed),
                Cell::number(r.failed),
                Cell::number(r.skipped),
            ]
        })
        .collect();
    Table {
        caption: "Attached test runs",
        head: &[
            "Run", "Source", "Started", "Tests", "Passed", "Failed", "Skipped",
        ],
        rows,
    }
}

/// The tests that failed in the attached runs.
pub(crate) fn failures(report: &WorkflowReport) -> Table {
    let rows = report
        .tests
        .failures
        .iter()
        .map(|f| {
            vec![
                Cell::text(f.test.clone()),
                Cell::word(f.status.as_str()),
                Cell::number(f.attempts),
                Cell::text(f.message.clone().unwrap_or_default()),
            ]
        })
        .collect();
    Table {
        caption: "Failures",
        head: &["Test", "Status", "Attempts", "Message"],
        rows,
    }
}

/// What the steps' actions did.
pub(crate) fn actions(report: &WorkflowReport) -> Table {
    let rows = report
        .actions
        .iter()
        .map(|a| {
            vec![
                Cell::text(format!("{} (step {})", a.kind, a.step)),
                Cell::word(a.status.as_str()),
                Cell::text(a.summary.clone()),
                Cell::number(a.attempts),
            ]
        })
        .collect();
    Table {
        caption: "Step actions",
        head: &["Action", "Status", "Result", "Attempts"],
        rows,
    }
}

/// Who did what, when.
pub(crate) fn history(report: &WorkflowReport) -> Table {
    let rows = report
        .history
        .iter()
        .map(|h| {
            vec![
                Cell::Word(h.version.to_string()),
                Cell::Word(time(&h.at)),
                Cell::text(h.actor.clone()),
                Cell::text(h.kind.clone()),
                Cell::Word(h.step.map(|s| s.to_string()).unwrap_or_default()),
            ]
        })
        .collect();
    Table {
        caption: "Who did what, when",
        head: &["Version", "When", "Who", "What", "Step"],
        rows,
    }
}

/// Time per key (a user, a ticket, an activity, a day or a source).
pub(crate) fn time_rows(caption: &'static str, rows: &[TimeReportRow]) -> Table {
    Table {
        caption,
        head: &["Key", "Time", "Entries"],
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    Cell::text(r.key.clone()),
                    Cell::Number(duration(r.seconds)),
                    Cell::number(r.entries),
                ]
            })
            .collect(),
    }
}

/// The period report's time tables, in reading order.
pub(crate) fn period_time(report: &PeriodReport) -> [Table; 5] {
    [
        time_rows("Time by user", &report.by_user),
        time_rows("Time by ticket", &report.by_ticket),
        time_rows("Time by activity", &report.by_activity),
        time_rows("Time by day", &report.by_day),
        time_rows("Time by source", &report.by_source),
    ]
}

/// Estimate accuracy of finished steps that had an estimate.
pub(crate) fn accuracy(report: &PeriodReport) -> Table {
    let rows = report
        .accuracy
        .iter()
        .map(|a| {
            vec![
                Cell::text(a.template.clone()),
                Cell::text(a.step.clone()),
                Cell::number(a.samples),
                Cell::Number(duration(a.estimated_seconds)),
                Cell::Number(duration(a.actual_seconds)),
                Cell::Number(percent(a.ratio)),
                Cell::Number(percent(a.mean_abs_error)),
            ]
        })
        .collect();
    Table {
        caption: "Estimate accuracy (finished steps with an estimate)",
        head: &[
            "Template",
            "Step",
            "Samples",
            "Estimated",
            "Actual",
            "Actual/estimate",
            "Mean abs. error",
        ],
        rows,
    }
}
