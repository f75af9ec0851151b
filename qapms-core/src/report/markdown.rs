//! Markdown (`CommonMark` with GitHub tables).
//!
//! Every piece of text that came from a person or a tool (step names, notes, failure
//! messages) is escaped: ASCII punctuation that Markdown gives meaning to gets a backslash,
//! `<` and `>` are written as entities so no viewer renders raw HTML, and line breaks inside
//! a table cell become spaces. Only `http(s)` URLs become links.

use std::fmt::Write as _;

use super::model::{PeriodReport, WorkflowReport, evidence_kind_name};
use super::table::{self, Cell, Table};
use super::text::{
    duration, optional_duration, optional_signed, optional_time, percent, time, web_url,
    workflow_state,
};
use crate::model::IssueKey;

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

fn cell(c: &Cell) -> String {
    match c {
        Cell::Text(text) | Cell::Link { text, url: None } => escape(text),
        Cell::Link {
            text,
            url: Some(url),
        } => format!(
            "[{}]({})",
            escape(text),
            // Parentheses would end the destination early; percent-encode them.
            url.replace('(', "%28").replace(')', "%29")
        ),
        Cell::Number(text) | Cell::Word(text) => text.clone(),
        Cell::Variance(secs) => optional_signed(*secs),
    }
}

fn write_table(out: &mut String, t: &Table) {
    let _ = writeln!(out, "| {} |", t.head.join(" | "));
    let _ = writeln!(
        out,
        "|{}",
        t.head.iter().map(|_| "---|").collect::<String>()
    );
    for row in &t.rows {
        let cells: Vec<String> = row.iter().map(cell).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
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
    write_table(&mut out, &table::steps(report));
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
        write_table(&mut out, &table::runs(report));
    }
    if !c.failures.is_empty() {
        out.push_str("Failures:\n\n");
        write_table(&mut out, &table::failures(report));
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
        write_table(&mut out, &table::actions(report));
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
    write_table(&mut out, &table::history(report));
    out
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
    for t in table::period_time(report) {
        let _ = writeln!(out, "## {}\n", t.caption);
        if t.rows.is_empty() {
            out.push_str("No time.\n\n");
        } else {
            write_table(&mut out, &t);
        }
    }
    out.push_str("## Estimate accuracy\n\n");
    if report.accuracy.is_empty() {
        out.push_str("No finished step with an estimate.\n\n");
    } else {
        write_table(&mut out, &table::accuracy(report));
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
