//! The one place where errors become HTTP responses.
//!
//! Every handler returns `Result<_, ApiError>`. The body follows DESIGN §5:
//! `{"error": message, "code": "SNAKE_UPPER", "details": {}}`. Server-side failures (5xx) are
//! logged with their cause and answered with a generic message, so internals (SQL, paths) never
//! reach a client.

use axum::Json;
use axum::http::StatusCode;
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
    /// A 404 for a path or resource that does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "NOT_FOUND",
            message: message.into(),
            details: json!({}),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

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
        let message = if status.is_server_error() {
            tracing::error!(error = %err, code = err.kind().code(), "request failed");
            "the server could not complete the request; see its log".to_owned()
        } else {
            err.message().to_owned()
        };
        Self {
            status,
            code: err.kind().code(),
            message,
            details: json!({}),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.message, "code": self.code, "details": self.details });
        (self.status, Json(body)).into_response()
    }
}
