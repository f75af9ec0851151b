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
            format!(
                "{what} returned malformed JSON at {field}: {}",
                describe_decode_error(&inner)
            ),
        )
        .with_context("field", path)
    })
}

/// What went wrong in a decode, without any of the offending value.
///
/// serde's messages quote the value they met (`invalid type: string "eyJhbGci…", expected
/// u64`), and a response field of the wrong type may well be a token the server echoed. So only
/// the kind of value found, what was expected (which comes from our own types) and the position
/// are kept; a message of a shape not recognised here is replaced by a generic one.
pub(crate) fn describe_decode_error(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let position = format!("line {} column {}", err.line(), err.column());
    match err.classify() {
        // serde_json's syntax and end-of-input messages are fixed texts that quote nothing.
        Category::Syntax | Category::Eof | Category::Io => err.to_string(),
        Category::Data => format!("{} (at {position})", describe_data(err)),
    }
}

/// Opens a message [`nested_decode_error`] made: the path inside the part, then serde's own
/// text, which [`describe_data_error`] cleans like any other.
const NESTED: &str = "within `";

/// The message for a type that decodes a part of the body itself (a Jira issue keeps its text
/// and types it in a second pass): the path inside that part, then serde's message. It travels
/// inside the outer decode's error, whose description removes any quoted value and adds the
/// part's own path and the position, so the cleaning happens once, in one place.
pub(crate) fn nested_decode_error(path: &str, err: &serde_json::Error) -> String {
    let what = message_head(err);
    if path.is_empty() || path == "." {
        what
    } else {
        format!("{NESTED}{path}`: {what}")
    }
}

fn describe_data(err: &serde_json::Error) -> String {
    describe_data_error(&message_head(err))
}

/// serde's message without the ` at line L column C` that `serde_json` appends.
fn message_head(err: &serde_json::Error) -> String {
    let mut text = err.to_string();
    if let Some(cut) = text.rfind(" at line ") {
        text.truncate(cut);
    }
    text
}

fn describe_data_error(text: &str) -> String {
    if let Some((path, inner)) = text
        .strip_prefix(NESTED)
        .and_then(|rest| rest.split_once("`: "))
    {
        return format!("{NESTED}{path}`: {}", describe_data_error(inner));
    }
    let expected = text
        .split_once(", expected ")
        .map(|(_, expected)| expected.trim());
    if let Some(field) = text.strip_prefix("missing field ") {
        return format!("missing field {field}");
    }
    if text.starts_with("invalid length ") {
        // A length and an expectation: no value is quoted.
        return text.to_owned();
    }
    for (prefix, lead) in [
        ("invalid type: ", "wrong type"),
        ("invalid value: ", "invalid value"),
    ] {
        if let Some(rest) = text.strip_prefix(prefix) {
            let found = unexpected_kind(rest);
            return match expected {
                Some(expected) => format!("{lead}: found {found}, expected {expected}"),
                None => format!("{lead}: found {found}"),
            };
        }
    }
    if text.starts_with("unknown variant ") {
        return match expected {
            Some(expected) => format!("unknown variant, expected {expected}"),
            None => "unknown variant".to_owned(),
        };
    }
    if text.starts_with("unknown field ") {
        return match expected {
            Some(expected) => format!("unknown field, expected {expected}"),
            None => "unknown field".to_owned(),
        };
    }
    "a value that does not fit the expected type".to_owned()
}

/// The kind of value serde met (`string`, `integer`, `map`...), never the value itself.
fn unexpected_kind(rest: &str) -> &str {
    let head = rest
        .split_once(", expected ")
        .map_or(rest, |(head, _)| head);
    // `string "abc"`, `integer `5``, `floating point `1.5``, `map`, `unit value`...
    let end = head.find(['"', '`', '\'']).unwrap_or(head.len());
    let kind = head[..end].trim();
    if kind.is_empty() { "a value" } else { kind }
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
    let err = err.with_context("status", code.to_string());
    match oauth_error_code(body) {
        Some(oauth) => err.with_context("oauth_error", oauth),
        None => err,
    }
}

/// The RFC 6749 §5.2 `error` code of a token endpoint's answer, such as `invalid_grant`: a
/// short lower-case word from a fixed vocabulary, so it is safe to keep as context.
fn oauth_error_code(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let code = value.get("error")?.as_str()?;
    let plausible = !code.is_empty()
        && code.len() <= 40
        && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    plausible.then(|| code.to_owned())
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
    // Postman: {"error": {"name": "AuthenticationError", "message": "..."}}, and on newer
    // endpoints {"error": {"type": "instanceNotFoundError", "title": "...", "detail": "..."}}.
    if let Some(error) = value.get("error").and_then(|e| e.as_object()) {
        let text = |key: &str| error.get(key).and_then(|v| v.as_str());
        let name = text("name").or_else(|| text("type"));
        let message = match (text("message"), text("title"), text("detail")) {
            (Some(message), _, _) => Some(message.to_owned()),
            (None, Some(title), Some(detail)) => Some(format!("{title}: {detail}")),
            (None, title, detail) => title.or(detail).map(str::to_owned),
        };
        match (name, message.as_deref()) {
            (Some(name), Some(message)) => parts.push(format!("{message} ({name})")),
            (None, Some(message)) => parts.push(message.to_owned()),
            (Some(name), None) => parts.push(name.to_owned()),
            (None, None) => {}
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
    fn postman_error_objects_are_unpacked() {
        let body = br#"{"error":{"name":"AuthenticationError","message":"Invalid API Key. Every request requires a valid API Key to be sent."}}"#;
        let err = status_error(
            StatusCode::UNAUTHORIZED,
            body,
            None,
            "postman GET /me",
            None,
        );
        assert!(
            err.message()
                .ends_with(": Invalid API Key. Every request requires a valid API Key to be sent. (AuthenticationError)"),
            "{err}"
        );
        assert!(!err.message().contains('{'), "no raw JSON: {err}");
        let body = br#"{"error":{"type":"instanceNotFoundError","title":"Collection not found","detail":"The API does not contain the collection you are looking for"}}"#;
        let err = status_error(StatusCode::NOT_FOUND, body, None, "postman GET /c", None);
        assert!(
            err.message().ends_with(
                ": Collection not found: The API does not contain the collection you are looking for (instanceNotFoundError)"
            ),
            "{err}"
        );
    }

    #[test]
    fn decode_errors_never_quote_the_value() {
        #[derive(serde::Deserialize, Debug)]
        #[expect(dead_code, reason = "only the decode error matters here")]
        struct Token {
            expires_in: u64,
            kind: Kind,
        }
        #[derive(serde::Deserialize, Debug)]
        enum Kind {
            Bearer,
        }
        let secret = "eyJhbGciOiJIUzI1NiJ9.s3cr3t-t0ken";
        let cases = [
            (
                format!(r#"{{"expires_in":"{secret}","kind":"Bearer"}}"#),
                "field `expires_in`: wrong type: found string, expected u64",
            ),
            (
                format!(r#"{{"expires_in":1,"kind":"{secret}"}}"#),
                "field `kind`: unknown variant, expected `Bearer`",
            ),
            (
                r#"{"expires_in":-5,"kind":"Bearer"}"#.to_owned(),
                "field `expires_in`: invalid value: found integer, expected u64",
            ),
            (
                r#"{"kind":"Bearer"}"#.to_owned(),
                "missing field `expires_in`",
            ),
        ];
        for (body, want) in cases {
            let err = decode_json::<Token>(body.as_bytes(), "jira POST /oauth/token").unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(!text.contains("s3cr3t"), "{text}");
            assert!(!text.contains("-5"), "{text}");
            assert!(err.message().contains(want), "{want:?} not in {err}");
        }
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
