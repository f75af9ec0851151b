//! CSV, RFC 4180: CRLF line ends, a header row, and a field quoted when it holds a comma, a
//! quote, CR or LF (quotes doubled inside).
//!
//! Spreadsheets run a cell that starts with `=`, `+`, `-`, `@`, a tab or CR as a formula
//! (CSV injection), so such a text cell gets a leading `'`, as OWASP recommends. Numbers are
//! written as numbers (a negative variance stays `-600`); only text cells are guarded.
//!
//! A workflow report is one row per step; a period report is one row per
//! `(dimension, key)`, with estimate accuracy as dimension `accuracy`. Durations are seconds.

use std::fmt::Write as _;

use super::model::{PeriodReport, WorkflowReport};
use crate::model::IssueKey;

/// One cell: text is guarded against formulas and quoted; numbers are written as they are.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i128),
    Float(Option<f64>),
    Empty,
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn int(n: impl Into<i128>) -> Cell {
    Cell::Int(n.into())
}

fn opt_int<T: Into<i128>>(n: Option<T>) -> Cell {
    n.map_or(Cell::Empty, int)
}

/// Any table as CSV: the header row, then one row per item, with the same rules as the
/// reports (dashboards export their tables through this).
pub fn table(names: &[&str], rows: &[Vec<Cell>]) -> String {
    let mut out = String::new();
    header(&mut out, names);
    for row in rows {
        write_row(&mut out, row);
    }
    out
}

/// One field, guarded against formulas and quoted as RFC 4180 says.
pub(crate) fn field(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if guarded.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

fn write_row(out: &mut String, cells: &[Cell]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match cell {
            Cell::Text(s) => out.push_str(&field(s)),
            Cell::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Cell::Float(Some(f)) if f.is_finite() => {
                let _ = write!(out, "{f:.4}");
            }
            Cell::Float(_) | Cell::Empty => {}
        }
    }
    out.push_str("\r\n");
}

fn header(out: &mut String, names: &[&str]) {
    let cells: Vec<Cell> = names.iter().map(|n| text(*n)).collect();
    write_row(out, &cells);
}

/// The workflow report, one row per step.
pub fn workflow(report: &WorkflowReport) -> String {
    let mut out = String::new();
    header(
        &mut out,
        &[
            "workflow_id",
            "template",
            "ticket",
            "owner",
            "step_number",
            "step",
            "state",
            "reason",
            "estimate_seconds",
            "tracked_seconds",
            "variance_seconds",
            "checklist_done",
            "checklist_total",
            "evidence",
            "missing_evidence",
            "runs",
            "started_at",
            "completed_at",
        ],
    );
    let w = &report.workflow;
    for s in &report.steps {
        let missing: Vec<&str> = s
            .missing_evidence
            .iter()
            .map(|k| super::model::evidence_kind_name(*k))
            .collect();
        write_row(
            &mut out,
            &[
                text(w.id.to_string()),
                text(&w.template),
                text(w.ticket.as_ref().map_or("", IssueKey::as_str)),
                text(&w.owner),
                int(s.number),
                text(&s.name),
                text(s.state.as_str()),
                text(s.reason.clone().unwrap_or_default()),
                opt_int(s.estimate_seconds),
                int(s.tracked_seconds),
                opt_int(s.variance_seconds),
                int(s.checklist.iter().filter(|i| i.done).count() as u64),
                int(s.checklist.len() as u64),
                int(s.evidence.len() as u64),
                text(missing.join(" ")),
                int(s.runs.len() as u64),
                text(s.started_at.map(|t| t.to_rfc3339()).unwrap_or_default()),
                text(s.completed_at.map(|t| t.to_rfc3339()).unwrap_or_default()),
            ],
        );
    }
    out
}

/// The period report, one row per dimension and key.
pub fn period(report: &PeriodReport) -> String {
    let mut out = String::new();
    header(
        &mut out,
        &[
            "dimension",
            "key",
            "seconds",
            "entries",
            "estimated_seconds",
            "ratio",
            "mean_abs_error",
        ],
    );
    for (dimension, rows) in [
        ("user", &report.by_user),
        ("ticket", &report.by_ticket),
        ("activity", &report.by_activity),
        ("day", &report.by_day),
        ("source", &report.by_source),
    ] {
        for r in rows {
            write_row(
                &mut out,
                &[
                    text(dimension),
                    text(&r.key),
                    int(r.seconds),
                    int(r.entries),
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Empty,
                ],
            );
        }
    }
    for a in &report.accuracy {
        write_row(
            &mut out,
            &[
                text("accuracy"),
                text(format!("{}/{}", a.template, a.step)),
                int(a.actual_seconds),
                int(a.samples),
                int(a.estimated_seconds),
                Cell::Float(a.ratio),
                Cell::Float(a.mean_abs_error),
            ],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_quoted_and_guarded() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("+1"), "'+1");
        assert_eq!(field("-2"), "'-2");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field("\tx"), "'\tx");
    }
}
