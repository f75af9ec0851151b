//! Markdown (`CommonMark` with GitHub tables).
//!
//! Every piece of text that came from a person or a tool (step names, notes, failure
//! messages) is escaped: ASCII punctuation that Markdown gives meaning to gets a backslash,
//! `<` and `>` are written as entities so no viewer renders raw HTML, and line breaks inside
//! a table cell become spaces. Only `http(s)` URLs become links.

use std::fmt::Write as _;

use super::model::{PeriodReport, WorkflowReport, evidence_kind_name};
use super::text::{
    duration, optional_duration, optional_signed, optional_time, percent, step_state, time,
    web_url, workflow_state,
};
use crate::model::IssueKey;
use crate::tracking::TimeReportRow;

/// Escapes text for Markdown prose and table cells.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\r' | '\n' => out.push(' '),
            // Every escaped text follows a prefix (`- `, `| `, `# `), so line-start markers
            // (`-`, `+`, `1.`, `#`) cannot start a block; only inline markup needs escaping.
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A link for a web URL, escaped text otherwise.
fn link_or_text(value: &str) -> String {
    match web_url(value) {
        // Parentheses would end the destination early; percent-encode them.
        Some(url) => format!(
            "[{}]({})",
            escape(url),
            url.replace('(', "%28").replace(')', "%29")
        ),
        None => escape(value),
    }
}

fn table(out: &mut String, head: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let _ = writeln!(out, "|{}", head.iter().map(|_| "---|").collect::<String>());
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
}

/// The workflow report in Markdown.
#[expect(
    clippy::too_many_lines,
    reason = "one section after the other, in reading order"
)]
pub fn workflow(report: &WorkflowReport) -> String {
    let w = &report.workflow;
    let mut out = String::new();
    let ticket = w.ticket.as_ref().map_or("no ticket", IssueKey::as_str);
    let _ = writeln!(
        out,
        "# QA report: {} for {}\n",
        escape(&w.template),
        escape(ticket)
    );
    let _ = writeln!(
        out,
        "- **State:** {} (version {})",
        workflow_state(w.state),
        w.version
    );
    let _ = writeln!(out, "- **Owner:** {}", escape(&w.owner));
    let _ = writeln!(
        out,
        "- **Started:** {}",
        optional_time(w.started_at.as_ref())
    );
    let _ = writeln!(
        out,
        "- **Completed:** {}",
        optional_time(w.completed_at.as_ref())
    );
    let t = &report.time;
    let _ = writeln!(
        out,
        "- **Time:** {} tracked, {} estimated ({}, {})",
        duration(t.tracked_seconds),
        optional_duration(t.estimated_seconds),
        optional_signed(t.variance_seconds),
        percent(t.ratio)
    );
    let _ = writeln!(
        out,
        "- **Checklist:** {}/{} done",
        report.checklist.done, report.checklist.total
    );
    let c = &report.tests;
    let _ = writeln!(
        out,
        "- **Tests:** {} linked, {} executed, {} passed, {} failed",
        c.linked, c.executed, c.passed, c.failed
    );
    let _ = writeln!(out, "- **Generated:** {}\n", time(&report.generated_at));
    if let Some(notes) = &w.notes {
        let _ = writeln!(out, "{}\n", escape(notes));
    }

    out.push_str("## Steps\n\n");
    let rows: Vec<Vec<String>> = report
        .steps
        .iter()
        .map(|s| {
            vec![
                s.number.to_string(),
                escape(&s.name),
                step_state(s.state).to_owned(),
                optional_duration(s.estimate_seconds),
                duration(s.tracked_seconds),
                optional_signed(s.variance_seconds),
                format!(
                    "{}/{}",
                    s.checklist.iter().filter(|i| i.done).count(),
                    s.checklist.len()
                ),
                s.evidence.len().to_string(),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "#",
            "Step",
            "State",
            "Estimate",
            "Tracked",
            "Variance",
            "Checklist",
            "Evidence",
        ],
        &rows,
    );
    for s in &report.steps {
        let _ = writeln!(out, "### {}. {}\n", s.number, escape(&s.name));
        if let Some(reason) = &s.reason {
            let _ = writeln!(out, "Reason: {}", escape(reason));
        }
        for item in &s.checklist {
            let who = match (&item.done_by, &item.done_at) {
                (Some(by), Some(at)) => format!(" ({}, {})", escape(by), time(at)),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "- [{}] {}{who}",
                if item.done { "x" } else { " " },
                escape(&item.text)
            );
        }
        for e in &s.evidence {
            let _ = writeln!(
                out,
                "- {}: {} ({}, {})",
                evidence_kind_name(e.kind),
                link_or_text(&e.value),
                escape(&e.by),
                time(&e.at)
            );
        }
        if !s.missing_evidence.is_empty() {
            let names: Vec<&str> = s
                .missing_evidence
                .iter()
                .map(|k| evidence_kind_name(*k))
                .collect();
            let _ = writeln!(out, "- missing evidence: {}", names.join(", "));
        }
        out.push('\n');
    }

    out.push_str("## Tests\n\n");
    if c.runs.is_empty() {
        out.push_str("No test runs are attached.\n\n");
    } else {
        let rows: Vec<Vec<String>> = c
            .runs
            .iter()
            .map(|r| {
                vec![
                    r.url.as_deref().map_or_else(
                        || escape(&r.name),
                        |u| match web_url(u) {
                            Some(url) => format!("[{}]({url})", escape(&r.name)),
                            None => escape(&r.name),
                        },
                    ),
                    r.source.as_str().to_owned(),
                    time(&r.started_at),
                    r.tests.to_string(),
                    r.passed.to_string(),
                    r.failed.to_string(),
                    r.skipped.to_string(),
                ]
            })
            .collect();
        table(
            &mut out,
            &[
                "Run", "Source", "Started", "Tests", "Passed", "Failed", "Skipped",
            ],
            &rows,
        );
    }
    if !c.failures.is_empty() {
        out.push_str("Failures:\n\n");
        for f in &c.failures {
            let _ = writeln!(
                out,
                "- {} ({}, {} attempt{}){}",
                escape(&f.test),
                f.status.as_str(),
                f.attempts,
                if f.attempts == 1 { "" } else { "s" },
                f.message
                    .as_deref()
                    .map(|m| format!(": {}", escape(m)))
                    .unwrap_or_default()
            );
        }
        out.push('\n');
    }
    if !c.not_run.is_empty() {
        out.push_str("Linked cases not executed:\n\n");
        for title in &c.not_run {
            let _ = writeln!(out, "- {}", escape(title));
        }
        out.push('\n');
    }

    out.push_str("## Findings\n\n");
    if report.findings.is_empty() {
        out.push_str("None.\n\n");
    } else {
        for f in &report.findings {
            let issue = f
                .issue
                .as_deref()
                .map(|k| format!(" ({})", escape(k)))
                .unwrap_or_default();
            let _ = writeln!(out, "- {}{issue}", escape(&f.text));
        }
        out.push('\n');
    }

    if !report.actions.is_empty() {
        out.push_str("## Actions\n\n");
        let rows: Vec<Vec<String>> = report
            .actions
            .iter()
            .map(|a| {
                vec![
                    a.step.to_string(),
                    escape(&a.kind),
                    a.status.as_str().to_owned(),
                    escape(&a.summary),
                    a.attempts.to_string(),
                ]
            })
            .collect();
        table(
            &mut out,
            &["Step", "Action", "Status", "Result", "Attempts"],
            &rows,
        );
    }

    out.push_str("## Evidence links\n\n");
    if report.evidence_links.is_empty() {
        out.push_str("None.\n\n");
    } else {
        for e in &report.evidence_links {
            let _ = writeln!(out, "- step {}: {}", e.step, link_or_text(&e.value));
        }
        out.push('\n');
    }

    out.push_str("## History\n\n");
    let rows: Vec<Vec<String>> = report
        .history
        .iter()
        .map(|h| {
            vec![
                h.version.to_string(),
                time(&h.at),
                escape(&h.actor),
                escape(&h.kind),
                h.step.map(|s| s.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    table(&mut out, &["Version", "When", "Who", "What", "Step"], &rows);
    out
}

fn time_rows(rows: &[TimeReportRow]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| vec![escape(&r.key), duration(r.seconds), r.entries.to_string()])
        .collect()
}

/// The period report in Markdown.
pub fn period(report: &PeriodReport) -> String {
    let s = &report.scope;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Time report: {} to {}\n",
        optional_time(s.from.as_ref()),
        optional_time(s.to.as_ref())
    );
    for (label, value) in [
        ("User", s.user.clone()),
        ("Team", s.team.clone()),
        ("Ticket", s.ticket.as_ref().map(ToString::to_string)),
        ("Template", s.template.clone()),
    ] {
        if let Some(v) = value {
            let _ = writeln!(out, "- **{label}:** {}", escape(&v));
        }
    }
    let _ = writeln!(
        out,
        "- **Total:** {} in {} entries ({} corrected)",
        duration(report.total_seconds),
        report.entries,
        report.corrected
    );
    let wf = &report.workflows;
    let _ = writeln!(
        out,
        "- **Workflows:** {} ({} completed, {} abandoned, {} open)",
        wf.total, wf.completed, wf.abandoned, wf.open
    );
    let _ = writeln!(out, "- **Generated:** {}\n", time(&report.generated_at));
    for (title, rows) in [
        ("By user", &report.by_user),
        ("By ticket", &report.by_ticket),
        ("By activity", &report.by_activity),
        ("By day", &report.by_day),
        ("By source", &report.by_source),
    ] {
        let _ = writeln!(out, "## {title}\n");
        if rows.is_empty() {
            out.push_str("No time.\n\n");
        } else {
            table(&mut out, &["Key", "Time", "Entries"], &time_rows(rows));
        }
    }
    out.push_str("## Estimate accuracy\n\n");
    if report.accuracy.is_empty() {
        out.push_str("No finished step with an estimate.\n\n");
    } else {
        let rows: Vec<Vec<String>> = report
            .accuracy
            .iter()
            .map(|a| {
                vec![
                    escape(&a.template),
                    escape(&a.step),
                    a.samples.to_string(),
                    duration(a.estimated_seconds),
                    duration(a.actual_seconds),
                    percent(a.ratio),
                    percent(a.mean_abs_error),
                ]
            })
            .collect();
        table(
            &mut out,
            &[
                "Template",
                "Step",
                "Samples",
                "Estimated",
                "Actual",
                "Actual/estimate",
                "Mean abs. error",
            ],
            &rows,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_in_text_is_escaped() {
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(escape("<script>"), "&lt;script&gt;");
        assert_eq!(escape("**bold** [x](y)"), "\\*\\*bold\\*\\* \\[x\\](y)");
        assert_eq!(escape("two\nlines"), "two lines");
    }
}
