//! Self-contained HTML: one file with its styles and an inline SVG chart, nothing fetched.
//!
//! All text is escaped (`& < > " '`), so a step name or a failure message can never become
//! markup, and only `http(s)` URLs become links (no `javascript:`). For accessibility: a
//! `lang`, landmarks, one `h1`, tables with captions and header scopes, state written as text
//! (never colour alone), and a chart with a title and a description that says what it shows,
//! next to the table that holds the same numbers.

use std::fmt::Write as _;

use super::model::{PeriodReport, StepReport, WorkflowReport, evidence_kind_name};
use super::table::{self, Cell, Table};
use super::text::{
    duration, optional_duration, optional_signed, optional_time, percent, time, web_url,
    workflow_state,
};
use crate::model::IssueKey;

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;\
max-width:60rem;padding:0 1rem;color:#1b1b1b;background:#fff;line-height:1.45}\
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ccc}\
h3{font-size:1.05rem}table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}\
caption{text-align:left;font-weight:600;padding:.25rem 0}\
th,td{border:1px solid #bbb;padding:.3rem .5rem;text-align:left;vertical-align:top}\
th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}\
dd{margin:0}.over{color:#8a1c1c}.under{color:#1d5e20}a{color:#0b4f9c}\
svg text{font-size:12px;fill:#1b1b1b}";

/// Escapes text for HTML (and SVG/XML) content and attribute values; other control
/// characters than line breaks and tabs are dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

fn link_or_text(value: &str) -> String {
    match web_url(value) {
        Some(url) => format!("<a href=\"{}\">{}</a>", escape(url), escape(url)),
        None => escape(value),
    }
}

fn page(out: &mut String, title: &str, body: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n\
         </body>\n</html>\n",
        escape(title)
    );
}

fn cell(c: &Cell) -> String {
    match c {
        Cell::Text(text)
        | Cell::Link { text, url: None }
        | Cell::Number(text)
        | Cell::Word(text) => escape(text),
        Cell::Link {
            text,
            url: Some(url),
        } => format!("<a href=\"{}\">{}</a>", escape(url), escape(text)),
        Cell::Variance(secs) => variance_cell(*secs),
    }
}

/// A table with its caption; the first cell of each row is the row's header, and figures are
/// right-aligned.
fn write_table(out: &mut String, t: &Table) {
    let _ = write!(
        out,
        "<table>\n<caption>{}</caption>\n<thead><tr>",
        escape(t.caption)
    );
    for h in t.head {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for (i, c) in row.iter().enumerate() {
            if i == 0 {
                let _ = write!(out, "<th scope=\"row\">{}</th>", cell(c));
            } else if c.is_numeric() {
                let _ = write!(out, "<td class=\"n\">{}</td>", cell(c));
            } else {
                let _ = write!(out, "<td>{}</td>", cell(c));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn variance_cell(secs: Option<i64>) -> String {
    match secs {
        Some(v) if v > 0 => format!("<span class=\"over\">{} over</span>", optional_signed(secs)),
        Some(v) if v < 0 => format!(
            "<span class=\"under\">{} under</span>",
            optional_signed(secs)
        ),
        _ => optional_signed(secs),
    }
}

/// Horizontal bars: tracked time (filled) against the estimate (outlined) per step.
fn chart(out: &mut String, steps: &[StepReport]) {
    let max = steps
        .iter()
        .map(|s| s.tracked_seconds.max(s.estimate_seconds.unwrap_or(0)))
        .max()
        .unwrap_or(0)
        .max(1);
    let row = 28u64;
    let label = 180u64;
    let width = 420u64;
    let height = row * steps.len() as u64 + 30;
    let _ = write!(
        out,
        "<figure>\n<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" \
         aria-labelledby=\"chart-title chart-desc\" width=\"{}\" height=\"{height}\" \
         viewBox=\"0 0 {} {height}\">\n<title id=\"chart-title\">Time per step against the \
         estimate</title>\n<desc id=\"chart-desc\">For each step, a filled bar for the tracked \
         time and an outlined bar for the estimate; the Steps table holds the same numbers.\
         </desc>\n",
        label + width + 90,
        label + width + 90
    );
    for (i, s) in steps.iter().enumerate() {
        let y = row * i as u64 + 4;
        let scale = |secs: u64| (secs * width) / max;
        let _ = writeln!(
            out,
            "<text x=\"0\" y=\"{}\">{}. {}</text>",
            y + 15,
            s.number,
            escape(&truncate(&s.name, 24))
        );
        if let Some(estimate) = s.estimate_seconds {
            let _ = writeln!(
                out,
                "<rect x=\"{label}\" y=\"{y}\" width=\"{}\" height=\"20\" fill=\"none\" \
                 stroke=\"#555\" stroke-dasharray=\"4 2\"/>",
                scale(estimate)
            );
        }
        let over = s.estimate_seconds.is_some_and(|e| s.tracked_seconds > e);
        let _ = writeln!(
            out,
            "<rect x=\"{label}\" y=\"{}\" width=\"{}\" height=\"12\" fill=\"{}\"/>",
            y + 4,
            scale(s.tracked_seconds),
            if over { "#a33a3a" } else { "#2f6db5" }
        );
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\">{} / {}</text>",
            label + width + 6,
            y + 15,
            duration(s.tracked_seconds),
            optional_duration(s.estimate_seconds)
        );
    }
    let _ = writeln!(
        out,
        "<text x=\"{label}\" y=\"{}\">filled: tracked; dashed: estimate</text>\n</svg>\n</figure>",
        height - 6
    );
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// The workflow report as one HTML page.
#[expect(
    clippy::too_many_lines,
    reason = "one section after the other, in reading order"
)]
pub fn workflow(report: &WorkflowReport) -> String {
    let w = &report.workflow;
    let ticket = w.ticket.as_ref().map_or("no ticket", IssueKey::as_str);
    let title = format!("QA report: {} for {ticket}", w.template);
    let mut b = String::new();
    let _ = writeln!(b, "<h1>{}</h1>", escape(&title));
    let t = &report.time;
    let c = &report.tests;
    b.push_str("<section aria-labelledby=\"summary\">\n<h2 id=\"summary\">Summary</h2>\n<dl>\n");
    for (k, v) in [
        (
            "State",
            format!("{} (version {})", workflow_state(w.state), w.version),
        ),
        ("Owner", escape(&w.owner)),
        ("Started", optional_time(w.started_at.as_ref())),
        ("Completed", optional_time(w.completed_at.as_ref())),
        (
            "Time",
            format!(
                "{} tracked, {} estimated ({}, {})",
                duration(t.tracked_seconds),
                optional_duration(t.estimated_seconds),
                variance_cell(t.variance_seconds),
                percent(t.ratio)
            ),
        ),
        (
            "Checklist",
            format!("{}/{} done", report.checklist.done, report.checklist.total),
        ),
        (
            "Tests",
            format!(
                "{} linked, {} executed, {} passed, {} failed",
                c.linked, c.executed, c.passed, c.failed
            ),
        ),
        ("Generated", time(&report.generated_at)),
    ] {
        let _ = writeln!(b, "<dt>{k}</dt><dd>{v}</dd>");
    }
    b.push_str("</dl>\n");
    if let Some(notes) = &w.notes {
        let _ = writeln!(b, "<p>{}</p>", escape(notes));
    }
    b.push_str("</section>\n");

    b.push_str("<section aria-labelledby=\"steps\">\n<h2 id=\"steps\">Steps</h2>\n");
    chart(&mut b, &report.steps);
    write_table(&mut b, &table::steps(report));
    for s in &report.steps {
        let _ = writeln!(b, "<h3>{}. {}</h3>", s.number, escape(&s.name));
        if let Some(d) = &s.description {
            let _ = writeln!(b, "<p>{}</p>", escape(d));
        }
        if let Some(reason) = &s.reason {
            let _ = writeln!(b, "<p>Reason: {}</p>", escape(reason));
        }
        if !s.checklist.is_empty() {
            b.push_str("<ul>\n");
            for item in &s.checklist {
                let who = match (&item.done_by, &item.done_at) {
                    (Some(by), Some(at)) => format!(" ({}, {})", escape(by), time(at)),
                    _ => String::new(),
                };
                let _ = writeln!(
                    b,
                    "<li>{}: {}{who}</li>",
                    if item.done { "done" } else { "not done" },
                    escape(&item.text)
                );
            }
            b.push_str("</ul>\n");
        }
        if !s.evidence.is_empty() {
            b.push_str("<ul>\n");
            for e in &s.evidence {
                let _ = writeln!(
                    b,
                    "<li>{}: {} ({}, {})</li>",
                    evidence_kind_name(e.kind),
                    link_or_text(&e.value),
                    escape(&e.by),
                    time(&e.at)
                );
            }
            b.push_str("</ul>\n");
        }
        if !s.missing_evidence.is_empty() {
            let names: Vec<&str> = s
                .missing_evidence
                .iter()
                .map(|k| evidence_kind_name(*k))
                .collect();
            let _ = writeln!(b, "<p>Missing evidence: {}</p>", names.join(", "));
        }
    }
    b.push_str("</section>\n");

    b.push_str("<section aria-labelledby=\"tests\">\n<h2 id=\"tests\">Tests</h2>\n");
    if c.runs.is_empty() {
        b.push_str("<p>No test runs are attached.</p>\n");
    } else {
        write_table(&mut b, &table::runs(report));
    }
    if !c.failures.is_empty() {
        write_table(&mut b, &table::failures(report));
    }
    if !c.not_run.is_empty() {
        b.push_str("<p>Linked cases not executed:</p>\n<ul>\n");
        for title in &c.not_run {
            let _ = writeln!(b, "<li>{}</li>", escape(title));
        }
        b.push_str("</ul>\n");
    }
    b.push_str("</section>\n");

    b.push_str("<section aria-labelledby=\"findings\">\n<h2 id=\"findings\">Findings</h2>\n");
    if report.findings.is_empty() {
        b.push_str("<p>None.</p>\n");
    } else {
        b.push_str("<ul>\n");
        for f in &report.findings {
            let issue = f
                .issue
                .as_deref()
                .map(|k| format!(" ({})", escape(k)))
                .unwrap_or_default();
            let _ = writeln!(b, "<li>{}{issue}</li>", escape(&f.text));
        }
        b.push_str("</ul>\n");
    }
    b.push_str("</section>\n");

    if !report.actions.is_empty() {
        b.push_str("<section aria-labelledby=\"actions\">\n<h2 id=\"actions\">Actions</h2>\n");
        write_table(&mut b, &table::actions(report));
        b.push_str("</section>\n");
    }

    b.push_str("<section aria-labelledby=\"links\">\n<h2 id=\"links\">Evidence links</h2>\n");
    if report.evidence_links.is_empty() {
        b.push_str("<p>None.</p>\n");
    } else {
        b.push_str("<ul>\n");
        for e in &report.evidence_links {
            let _ = writeln!(b, "<li>Step {}: {}</li>", e.step, link_or_text(&e.value));
        }
        b.push_str("</ul>\n");
    }
    b.push_str("</section>\n");

    b.push_str("<section aria-labelledby=\"history\">\n<h2 id=\"history\">History</h2>\n");
    write_table(&mut b, &table::history(report));
    b.push_str("</section>\n");
    let mut out = String::new();
    page(&mut out, &title, &b);
    out
}

/// The period report as one HTML page.
pub fn period(report: &PeriodReport) -> String {
    let s = &report.scope;
    let title = format!(
        "Time report: {} to {}",
        optional_time(s.from.as_ref()),
        optional_time(s.to.as_ref())
    );
    let mut b = String::new();
    let _ = writeln!(b, "<h1>{}</h1>\n<dl>", escape(&title));
    for (label, value) in [
        ("User", s.user.clone()),
        ("Team", s.team.clone()),
        ("Ticket", s.ticket.as_ref().map(ToString::to_string)),
        ("Template", s.template.clone()),
    ] {
        if let Some(v) = value {
            let _ = writeln!(b, "<dt>{label}</dt><dd>{}</dd>", escape(&v));
        }
    }
    let wf = &report.workflows;
    let _ = writeln!(
        b,
        "<dt>Total</dt><dd>{} in {} entries ({} corrected)</dd>\n<dt>Workflows</dt><dd>{} \
         ({} completed, {} abandoned, {} open)</dd>\n<dt>Generated</dt><dd>{}</dd>\n</dl>",
        duration(report.total_seconds),
        report.entries,
        report.corrected,
        wf.total,
        wf.completed,
        wf.abandoned,
        wf.open,
        time(&report.generated_at)
    );
    for t in table::period_time(report) {
        write_table(&mut b, &t);
    }
    write_table(&mut b, &table::accuracy(report));
    let mut out = String::new();
    page(&mut out, &title, &b);
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn text_cannot_become_markup() {
        assert_eq!(
            escape("<img src=x onerror=\"a('b')\">&"),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;"
        );
    }
}
