//! Jira-specific error wording on top of the HTTP layer's typed mapping.
//!
//! The HTTP layer already turns statuses into kinds and quotes Jira's `errorMessages` and
//! `errors`. What it cannot know is Jira's vocabulary: that a 410 on search means the old
//! endpoint was removed, or that a required field came from createmeta. Those messages live here.

use crate::{Error, ErrorKind};

/// A field createmeta marks required (and without a default) was not given.
pub(crate) fn missing_required_field(
    project: &str,
    issue_type: &str,
    key: &str,
    name: &str,
) -> Error {
    Error::invalid_input(format!(
        "field `{name}` ({key}) is required to create a {issue_type} in {project}; \
         set it with `.field(\"{key}\", value)`"
    ))
    .with_context("field", key.to_owned())
}

/// The issue type asked for does not exist in the project.
pub(crate) fn unknown_issue_type(project: &str, issue_type: &str, known: &[String]) -> Error {
    Error::invalid_input(format!(
        "project {project} has no issue type `{issue_type}`; it has: {}",
        known.join(", ")
    ))
}

/// Adds Jira's meaning to errors the generic mapping cannot explain.
pub(crate) fn explain(err: Error) -> Error {
    match (err.kind(), err.context_value("status")) {
        (ErrorKind::InvalidInput, Some("410")) => Error::new(
            ErrorKind::Upstream,
            format!(
                "{}; Jira removed this endpoint, so this qapms version may be too old for the site",
                err.message()
            ),
        )
        .with_context("status", "410"),
        (ErrorKind::NotFound, _) => {
            let message = format!(
                "{}; check the key or id, and that the account may browse the project",
                err.message()
            );
            Error::not_found(message).with_context("status", "404")
        }
        _ => err,
    }
}
