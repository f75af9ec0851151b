//! The report as a Jira comment, and posting it.
//!
//! The comment is written in the small Markdown-ish subset the Jira client turns into ADF on
//! Cloud and wiki markup on Data Center (paragraphs, bullet lists, `**bold**`, `` `code` ``,
//! `[text](url)`), so it reads well on both. It ends with a marker naming the workflow and its
//! version: posting the same report again finds the earlier comment and adds nothing, while a
//! report of a later version is a new comment.
//!
//! The Jira call sits behind [`CommentSink`], so this module stays free of HTTP; the Jira
//! client implements it.

use std::fmt::Write as _;

use async_trait::async_trait;
use serde::Serialize;

use super::model::WorkflowReport;
use super::text::{
    duration, optional_duration, optional_signed, percent, step_state, web_url, workflow_state,
};
use crate::Result;
use crate::model::{IssueKey, WorkflowId};

/// Where report comments go: Jira, or a test double.
#[async_trait]
pub trait CommentSink: Send + Sync {
    /// The text of every comment on the issue (any format; searched for markers).
    async fn comment_texts(&self, issue: &IssueKey) -> Result<Vec<(String, String)>>;

    /// Adds a comment written in the Markdown-ish subset; returns its id.
    async fn add_comment(&self, issue: &IssueKey, text: &str) -> Result<String>;
}

/// The marker that ties a comment to one version of a workflow's report.
pub fn report_marker(workflow: &WorkflowId, version: u32) -> String {
    format!("[qapms-report:{workflow}:v{version}]")
}

/// Text in the comment subset: markers and brackets are defused so a step name cannot make
/// a link, bold text or code.
fn plain(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
        .replace("**", "* *")
        .replace('`', "'")
        .replace("](", "] (")
}

/// The comment body.
pub fn comment(report: &WorkflowReport) -> String {
    let w = &report.workflow;
    let t = &report.time;
    let c = &report.tests;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "**QA report: {}** ({}, version {}, by {})",
        plain(&w.template),
        workflow_state(w.state),
        w.version,
        plain(&w.owner)
    );
    out.push('\n');
    let _ = writeln!(
        out,
        "Time: {} tracked against {} estimated ({}, {}). Checklist: {}/{} done. Tests: {} \
         linked, {} executed, {} passed, {} failed.",
        duration(t.tracked_seconds),
        optional_duration(t.estimated_seconds),
        optional_signed(t.variance_seconds),
        percent(t.ratio),
        report.checklist.done,
        report.checklist.total,
        c.linked,
        c.executed,
        c.passed,
        c.failed
    );
    out.push_str("\n**Steps**\n\n");
    for s in &report.steps {
        let reason = s
            .reason
            .as_deref()
            .map(|r| format!(" ({})", plain(r)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "- {}. {}: {}{reason}, {} of {}, checklist {}/{}",
            s.number,
            plain(&s.name),
            step_state(s.state),
            duration(s.tracked_seconds),
            optional_duration(s.estimate_seconds),
            s.checklist.iter().filter(|i| i.done).count(),
            s.checklist.len()
        );
    }
    if !c.failures.is_empty() {
        out.push_str("\n**Failures**\n\n");
        for f in &c.failures {
            let _ = writeln!(out, "- {} ({})", plain(&f.test), f.status.as_str());
        }
    }
    if !report.findings.is_empty() {
        out.push_str("\n**Findings**\n\n");
        for f in &report.findings {
            let issue = f
                .issue
                .as_deref()
                .map(|k| format!(" {}", plain(k)))
                .unwrap_or_default();
            let _ = writeln!(out, "- {}{issue}", plain(&f.text));
        }
    }
    if !report.evidence_links.is_empty() {
        out.push_str("\n**Evidence**\n\n");
        for e in &report.evidence_links {
            match web_url(&e.value) {
                Some(url) if !url.contains(['(', ')', '[', ']']) => {
                    let _ = writeln!(out, "- step {}: [{url}]({url})", e.step);
                }
                _ => {
                    let _ = writeln!(out, "- step {}: {}", e.step, plain(&e.value));
                }
            }
        }
    }
    out.push('\n');
    out.push_str(&report_marker(&w.id, w.version));
    out.push('\n');
    out
}

/// What posting a report did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Posted {
    pub issue: IssueKey,
    pub comment_id: String,
    /// `false`: this version's report was on the issue already, and nothing was added.
    pub created: bool,
}

/// Posts the report on its ticket as a comment, unless this version's report is there already.
pub async fn post_comment(sink: &dyn CommentSink, report: &WorkflowReport) -> Result<Posted> {
    let w = &report.workflow;
    let Some(issue) = w.ticket.clone() else {
        return Err(crate::Error::invalid_input(
            "the workflow has no ticket to post the report on",
        )
        .with_context("workflow", w.id.to_string()));
    };
    let marker = report_marker(&w.id, w.version);
    if let Some((id, _)) = sink
        .comment_texts(&issue)
        .await?
        .into_iter()
        .find(|(_, text)| text.contains(&marker))
    {
        return Ok(Posted {
            issue,
            comment_id: id,
            created: false,
        });
    }
    let id = sink.add_comment(&issue, &comment(report)).await?;
    tracing::info!(issue = %issue, workflow = %w.id, comment = %id, "report posted");
    Ok(Posted {
        issue,
        comment_id: id,
        created: true,
    })
}
