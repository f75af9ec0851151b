//! Testmo's wording on top of the HTTP layer's typed mapping.
//!
//! The HTTP layer turns statuses into kinds and quotes Testmo's `message` and `errors`. What it
//! cannot know is what a Testmo user should do next: make a new API token, ask for a role, or
//! check the project id in `qapms.yaml`.

use crate::{Error, ErrorKind};

/// Adds what to fix to an error from a Testmo call. `project` is the project the call was
/// about, when there is one, so a 404 can name it.
pub(crate) fn explain(err: Error, project: Option<u64>) -> Error {
    let status = err.context_value("status").map(str::to_owned);
    let rebuilt = |kind: ErrorKind, hint: String| {
        let mut out = Error::new(kind, format!("{}; {hint}", err.message()));
        if let Some(status) = &status {
            out = out.with_context("status", status.clone());
        }
        out
    };
    match (err.kind(), status.as_deref()) {
        (ErrorKind::Unauthorized, Some("401")) => rebuilt(
            ErrorKind::Unauthorized,
            "the Testmo API token is expired, revoked or wrong: create a new one in Testmo \
             (your profile, API access) and set it as integrations.testmo.token"
                .to_owned(),
        ),
        (ErrorKind::Unauthorized, Some("403")) => rebuilt(
            ErrorKind::Unauthorized,
            "the token's Testmo user lacks the permission for this (automation runs need a role \
             that may add results); ask a Testmo admin to grant it"
                .to_owned(),
        ),
        (ErrorKind::NotFound, _) => match project {
            Some(project) => rebuilt(
                ErrorKind::NotFound,
                format!(
                    "Testmo project {project} does not exist or the token's user cannot see it; \
                     check integrations.testmo.projects and the project's id in its Testmo URL"
                ),
            ),
            None => rebuilt(
                ErrorKind::NotFound,
                "check the id, and that the token's user may see the project".to_owned(),
            ),
        },
        _ => err,
    }
}

/// A batch append failed after part of the run was submitted.
pub(crate) fn append_failed(err: Error, run: u64, submitted: usize, total: usize) -> Error {
    let kind = err.kind();
    let mut out = Error::new(
        kind,
        format!(
            "submitting to Testmo automation run {run} stopped after {submitted} of {total} \
             tests: {}; the run was completed and marked as an aborted submission",
            err.message()
        ),
    )
    .with_context("automation_run", run.to_string());
    if let Some(status) = err.context_value("status") {
        out = out.with_context("status", status.to_owned());
    }
    if err.is_temporary() {
        out = out.set_temporary();
    }
    out.with_source(err)
}
