//! Splunk's wording on top of the HTTP layer's typed mapping.
//!
//! Splunk answers errors as `{"messages": [{"type": "ERROR", "text": "..."}]}`, which the HTTP
//! layer quotes; this module adds what to do: renew the token, ask for a capability, fix the
//! search.

use super::models::{Message, SearchId};
use crate::{Error, ErrorKind};

/// Adds what to fix to an error from a Splunk call.
pub(crate) fn explain(err: Error) -> Error {
    let status = err.context_value("status").map(str::to_owned);
    let rebuilt = |kind: ErrorKind, hint: &str| {
        let mut out = Error::new(kind, format!("{}; {hint}", err.message()));
        if let Some(status) = &status {
            out = out.with_context("status", status.clone());
        }
        if err.is_temporary() {
            out = out.set_temporary();
        }
        out
    };
    match (err.kind(), status.as_deref()) {
        (ErrorKind::Unauthorized, Some("401")) => rebuilt(
            ErrorKind::Unauthorized,
            "Splunk refused the credentials: the token is expired, disabled or wrong (create a \
             new one under Settings, Tokens) or the password changed; update \
             integrations.splunk.auth",
        ),
        (ErrorKind::Unauthorized, Some("403")) => rebuilt(
            ErrorKind::Unauthorized,
            "the Splunk user lacks a capability this needs (`search` to run searches, \
             `rest_properties_get` for server info); ask a Splunk admin to add it to the role",
        ),
        (ErrorKind::InvalidInput, Some("400")) => rebuilt(
            ErrorKind::InvalidInput,
            "Splunk rejected the search; fix the SPL (try it in the search bar first)",
        ),
        (ErrorKind::NotFound, _) => rebuilt(
            ErrorKind::NotFound,
            "the search job is gone (its time to live ran out, or it was cancelled) or the app \
             namespace in integrations.splunk.app does not exist",
        ),
        _ => err,
    }
}

/// A job that ended in `FAILED`.
pub(crate) fn job_failed(sid: &SearchId, messages: &[Message]) -> Error {
    let texts: Vec<&str> = messages
        .iter()
        .filter(|m| m.is_error())
        .chain(messages.iter().filter(|m| !m.is_error()))
        .map(|m| m.text.as_str())
        .collect();
    let detail = if texts.is_empty() {
        "Splunk gave no reason".to_owned()
    } else {
        texts.join("; ")
    };
    Error::new(
        ErrorKind::Upstream,
        format!("Splunk search job {sid} failed: {detail}; fix the search or check the job in Splunk's Job Inspector"),
    )
    .with_context("sid", sid.0.clone())
}

/// An error message inside a streamed answer.
pub(crate) fn stream_error(messages: &[Message]) -> Error {
    let texts: Vec<&str> = messages
        .iter()
        .filter(|m| m.is_error())
        .map(|m| m.text.as_str())
        .collect();
    Error::new(
        ErrorKind::Upstream,
        format!("Splunk stopped the search: {}", texts.join("; ")),
    )
}
