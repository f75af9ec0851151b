//! Reports: what a workflow did (time per step against the estimate, checklist completion,
//! test coverage, findings, evidence, who did what when) and what a user or a team spent time
//! on over a period, rendered as Markdown, self-contained HTML, JSON or CSV, and posted to
//! Jira as a comment (or the time as worklogs).
//!
//! - [`model`]: the report types and the pure functions that build them;
//! - [`collect`]: gathers what a report needs from the [`Store`](crate::store::Store);
//! - [`markdown`], [`html`], [`csv`]: renderers; JSON is the model serialised (`schema` names
//!   its version);
//! - [`jira`]: the comment text and its idempotent posting through [`CommentSink`].

pub mod collect;
pub mod csv;
pub mod html;
pub mod jira;
pub mod markdown;
pub mod model;
mod table;
pub(crate) mod text;

use std::fmt;
use std::str::FromStr;

pub use collect::{PeriodQuery, period_data, post_worklogs, workflow_data};
pub use jira::{CommentSink, Posted, comment, post_comment, report_marker};
pub use model::{
    PERIOD_SCHEMA, PeriodData, PeriodReport, PeriodScope, WORKFLOW_SCHEMA, WorkflowData,
    WorkflowReport, period_report, workflow_report,
};

use crate::{Error, ErrorKind, Result};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Markdown,
    Html,
    Json,
    Csv,
}

impl Format {
    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Markdown => "md",
            Self::Html => "html",
            Self::Json => "json",
            Self::Csv => "csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "md" | "markdown" => Ok(Self::Markdown),
            "html" | "htm" => Ok(Self::Html),
            "json" => Ok(Self::Json),
            "csv" => Ok(Self::Csv),
            _ => Err(Error::invalid_input(format!(
                "unknown report format `{s}`; expected md, html, json or csv"
            ))),
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("cannot write the report as JSON: {e}"),
        )
    })?;
    text.push('\n');
    Ok(text)
}

/// Renders a workflow report.
pub fn render_workflow(report: &WorkflowReport, format: Format) -> Result<String> {
    Ok(match format {
        Format::Markdown => markdown::workflow(report),
        Format::Html => html::workflow(report),
        Format::Json => json(report)?,
        Format::Csv => csv::workflow(report),
    })
}

/// Renders a period report.
pub fn render_period(report: &PeriodReport, format: Format) -> Result<String> {
    Ok(match format {
        Format::Markdown => markdown::period(report),
        Format::Html => html::period(report),
        Format::Json => json(report)?,
        Format::Csv => csv::period(report),
    })
}
