//! The one place where errors become HTTP responses.
//!
//! Every handler returns `Result<_, ApiError>`. The body follows DESIGN §5:
//! `{"error": message, "code": "SNAKE_UPPER", "details": {}}`. Server-side failures (5xx) are
//! logged with their cause and answered with a generic message, so internals (SQL, paths) never
//! reach a client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use qapms_core::{Error, ErrorKind};
use serde_json::json;

/// An error on its way to becoming an HTTP response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: serde_json::Value,
}

impl ApiError {
    /// An error with a status, a `SNAKE_UPPER` code and a message for the client.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: json!({}),
        }
    }

    /// A 404 for a path or resource that does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    /// A 400: the request cannot be read (malformed JSON, bad encoding, bad parameters).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    /// A 422: the request was read but breaks a rule (an unknown role, an empty name).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_INPUT", message)
    }

    /// A 401: no credentials, or credentials that are wrong, expired or revoked.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }

    /// A 403: signed in, but this role may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "FORBIDDEN", message)
    }

    /// A 403 for a cookie-authenticated write without the session's CSRF token.
    pub fn csrf(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "CSRF_TOKEN_INVALID", message)
    }

    /// A 429, with the seconds after which a retry may succeed.
    pub fn rate_limited(message: impl Into<String>, retry_after_secs: u64) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", message)
            .with_details(json!({ "retryAfterSeconds": retry_after_secs }))
    }

    /// A 500 whose cause is logged here and never sent.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            HIDDEN_MESSAGE,
        )
    }

    /// Adds machine-readable details (ignored for 5xx, whose details are never sent).
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }
}

const HIDDEN_MESSAGE: &str = "the server could not complete the request; see its log";

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let status = match err.kind() {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::InvalidInput => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Upstream => StatusCode::BAD_GATEWAY,
            ErrorKind::Store => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let (message, details) = if status.is_server_error() {
            tracing::error!(error = %err, code = err.kind().code(), "request failed");
            (HIDDEN_MESSAGE.to_owned(), json!({}))
        } else {
            (err.message().to_owned(), error_details(&err))
        };
        Self {
            status,
            code: err.kind().code(),
            message,
            details,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

/// Context an error carries (the field, the table) is safe to show for a 4xx.
fn error_details(err: &Error) -> serde_json::Value {
    let mut details = serde_json::Map::new();
    for (key, value) in err.context() {
        details.insert((*key).to_owned(), json!(value));
    }
    serde_json::Value::Object(details)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let details = if self.status.is_server_error() {
            json!({})
        } else {
            self.details
        };
        let body = json!({ "error": self.message, "code": self.code, "details": details });
        let retry_after = body["details"]["retryAfterSeconds"].as_u64();
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = retry_after
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}
