//! One module per request or notification. Each takes what it needs from the session (a
//! document snapshot, the workspace), computes with protocol-free code from `features`, and
//! converts at the end. Failures are logged and answered with an empty result.

pub(crate) mod code_action;
pub(crate) mod code_lens;
pub(crate) mod completion;
pub(crate) mod definition;
pub(crate) mod diagnostics;
pub(crate) mod document_link;
pub(crate) mod execute_command;
pub(crate) mod hover;
pub(crate) mod workspace_symbol;

use qapms_core::model::TestStatus;

/// A one-character mark for a result, newest first in hovers and lenses.
pub(crate) fn status_mark(status: TestStatus) -> &'static str {
    match status {
        TestStatus::Passed => "✓",
        TestStatus::Failed | TestStatus::UnexpectedPass => "✗",
        TestStatus::Error => "!",
        TestStatus::Skipped | TestStatus::Blocked => "–",
        TestStatus::ExpectedFailure => "x",
    }
}

/// The short form of a failure cluster id users see (`#a1b2c3d4`).
pub(crate) fn cluster_tag(fingerprint: &str) -> String {
    let short: String = fingerprint.chars().take(8).collect();
    format!("#{short}")
}

/// Escapes text for Markdown so a summary cannot inject links or formatting.
pub(crate) fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '(' | ')' | '!'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
