//! HTTP answers turned into typed [`Error`]s that say what to fix.
//!
//! Callers branch on [`ErrorKind`], never on status codes: 401 and 403 are `Unauthorized`
//! (expired or wrong credentials, or a missing permission), 404 is `NotFound`, 429 is
//! `RateLimited` with the server's wait, 400 and 422 are `InvalidInput` naming the fields the
//! server complained about (Jira's `errorMessages` and `errors`, or a generic `message`), and 5xx
//! is a temporary `Upstream` error. A 2xx whose body does not match the expected shape is an
//! `Upstream` error naming the JSON path that broke, never a silent default.
//!
//! Upstream text is shortened and passed through the process [`Redactor`] before it goes into a
//! message, because some servers echo request headers back in error pages.

use std::fmt::Write as _;
use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use crate::logging::Redactor;
use crate::{Error, ErrorKind};

/// The longest piece of an upstream body quoted in a message.
const MAX_QUOTE: usize = 300;

/// Decodes a JSON body, naming the path of the first field that does not fit `T`.
///
/// `what` says which call produced the body, e.g. `jira GET /rest/api/3/myself`.
pub fn decode_json<T: DeserializeOwned>(body: &[u8], what: &str) -> crate::Result<T> {
    // Path tracking costs about as much again as the decode itself; pay it only to explain a
    // body that does not fit.
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let field = if path.is_empty() || path == "." {
            "the body".to_owned()
        } else {
            format!("field `{path}`")
        };
        Error::new(
            ErrorKind::Upstream,
            format!("{what} returned malformed JSON at {field}: {inner}"),
        )
        .with_context("field", path)
    })
}

/// Builds the error for a non-2xx answer.
pub(crate) fn status_error(
    status: StatusCode,
    body: &[u8],
    retry_after: Option<Duration>,
    what: &str,
    redactor: Option<&Redactor>,
) -> Error {
    let detail = upstream_detail(body);
    let detail = match redactor {
        Some(r) => r.redact(&detail).into_owned(),
        None => detail,
    };
    let with_detail = |lead: &str| {
        if detail.is_empty() {
            format!("{what}: {lead}")
        } else {
            format!("{what}: {lead}: {detail}")
        }
    };
    let code = status.as_u16();
    let err = match code {
        401 => Error::new(
            ErrorKind::Unauthorized,
            with_detail("token expired or wrong; check the credentials configured for it"),
        ),
        403 => Error::new(
            ErrorKind::Unauthorized,
            with_detail("permission denied; the account lacks a permission this call needs"),
        ),
        404 => Error::new(ErrorKind::NotFound, with_detail("not found")),
        409 => Error::new(ErrorKind::Conflict, with_detail("conflict")),
        429 => {
            let mut err =
                Error::new(ErrorKind::RateLimited, with_detail("rate limited")).set_temporary();
            if let Some(after) = retry_after {
                err = err.with_retry_after(after);
            }
            err
        }
        400..=499 => Error::new(
            ErrorKind::InvalidInput,
            with_detail(&format!("rejected the request ({code})")),
        ),
        _ => Error::new(
            ErrorKind::Upstream,
            with_detail(&format!("server error ({code})")),
        )
        .set_temporary(),
    };
    err.with_context("status", code.to_string())
}

/// The server's own explanation, from the error shapes the integrations use, else raw text.
fn upstream_detail(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        let text = String::from_utf8_lossy(body);
        return shorten(text.trim());
    };
    let mut parts: Vec<String> = Vec::new();
    // Jira: {"errorMessages": ["..."], "errors": {"summary": "You must specify a summary"}}
    if let Some(messages) = value.get("errorMessages").and_then(|m| m.as_array()) {
        parts.extend(
            messages
                .iter()
                .filter_map(|m| m.as_str())
                .map(str::to_owned),
        );
    }
    if let Some(errors) = value.get("errors").and_then(|e| e.as_object()) {
        for (field, message) in errors {
            let message = message
                .as_str()
                .map_or_else(|| message.to_string(), str::to_owned);
            parts.push(format!("field `{field}`: {message}"));
        }
    }
    // Splunk: {"messages": [{"type": "ERROR", "text": "..."}]}
    if let Some(messages) = value.get("messages").and_then(|m| m.as_array()) {
        parts.extend(
            messages
                .iter()
                .filter_map(|m| m.get("text").and_then(|t| t.as_str()))
                .map(str::to_owned),
        );
    }
    for key in [
        "message",
        "errorMessage",
        "error_description",
        "error",
        "detail",
    ] {
        if parts.is_empty()
            && let Some(text) = value.get(key).and_then(|m| m.as_str())
        {
            parts.push(text.to_owned());
        }
    }
    if parts.is_empty() {
        return shorten(&value.to_string());
    }
    shorten(&parts.join("; "))
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_QUOTE {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(MAX_QUOTE).collect();
    let _ = write!(out, "…");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jira_field_errors_are_named() {
        let body =
            br#"{"errorMessages":["Bad JQL"],"errors":{"summary":"You must specify a summary"}}"#;
        let err = status_error(
            StatusCode::BAD_REQUEST,
            body,
            None,
            "jira POST /issue",
            None,
        );
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().contains("Bad JQL"), "{err}");
        assert!(err.message().contains("field `summary`"), "{err}");
    }

    #[test]
    fn malformed_body_names_the_path() {
        #[derive(serde::Deserialize, Debug)]
        struct Inner {
            #[expect(dead_code, reason = "only the decode error matters here")]
            name: String,
        }
        #[derive(serde::Deserialize, Debug)]
        struct Outer {
            #[expect(dead_code, reason = "only the decode error matters here")]
            status: Inner,
        }
        let err = decode_json::<Outer>(br#"{"status":{"name":7}}"#, "jira GET x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Upstream);
        assert!(err.message().contains("status.name"), "{err}");
    }
}
