//! The `/api/v1` conventions (DESIGN §5), written once: a JSON body extractor whose every
//! failure is a 4xx in the error format, and list pagination.
//!
//! axum's own `Json` rejection answers in plain text and says 422 for a body that is not even
//! JSON; [`ApiJson`] instead reads the bytes (the body limit applies first), insists on a JSON
//! content type, rejects invalid UTF-8 and malformed JSON with 400, and rejects a body of the
//! wrong shape (a missing or unknown field: request types deny unknown fields) with 422,
//! naming the field's path. [`PageQuery`] validates `page` and `pageSize` bounds, and
//! [`Paginated`] is the `{"data", "pagination"}` envelope every list returns.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::ApiError;

/// Largest accepted request body, in bytes. Bigger bodies get a 413 before they are read.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// A JSON request body; see the module note for how each failure is answered.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json")
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    status,
                    "PAYLOAD_TOO_LARGE",
                    format!("the body is larger than the {BODY_LIMIT}-byte limit"),
                )
            } else {
                ApiError::bad_request(format!("cannot read the request body: {rejection}"))
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses a JSON body: 400 for bytes that are not UTF-8 JSON, 422 for the wrong shape.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if let Err(err) = std::str::from_utf8(bytes) {
        return Err(ApiError::bad_request("the request body is not valid UTF-8")
            .with_details(json!({ "byteOffset": err.valid_up_to() })));
    }
    // Syntax first, so a broken document is always a 400, even when the typed parse would
    // have stopped earlier at a field of the wrong type.
    if let Err(err) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        return Err(
            ApiError::bad_request(format!("the request body is not valid JSON: {err}"))
                .with_details(json!({ "line": err.line(), "column": err.column() })),
        );
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let details = json!({ "path": path, "line": inner.line(), "column": inner.column() });
        if inner.is_data() {
            ApiError::invalid(format!("the request body does not fit: {inner}"))
                .with_details(details)
        } else {
            ApiError::bad_request(format!("the request body is not valid JSON: {inner}"))
                .with_details(details)
        }
    })?;
    de.end().map_err(|err| {
        ApiError::bad_request(format!(
            "the request body has data after the JSON value: {err}"
        ))
        .with_details(json!({ "line": err.line(), "column": err.column() }))
    })?;
    Ok(value)
}

/// Query parameters every list accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-based page number (default 1).
    pub page: Option<u64>,
    /// Items per page, 1 to 500 (default 50).
    pub page_size: Option<u64>,
}

/// Validated paging: `page >= 1`, `1 <= page_size <= MAX_PAGE_SIZE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageQuery {
    pub page: u64,
    pub page_size: u64,
}

impl PageQuery {
    pub const DEFAULT_PAGE_SIZE: u64 = 50;
    pub const MAX_PAGE_SIZE: u64 = 500;

    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.page_size)
    }

    /// Cuts one page out of a full list.
    pub fn slice<T>(&self, items: Vec<T>) -> Paginated<T> {
        let total = items.len() as u64;
        let data = items
            .into_iter()
            .skip(usize::try_from(self.offset()).unwrap_or(usize::MAX))
            .take(usize::try_from(self.page_size).unwrap_or(usize::MAX))
            .collect();
        Paginated::new(data, *self, total)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let params: PageParams = serde_urlencoded_params(query)?;
        Self::from_params(params.page, params.page_size)
    }
}

impl PageQuery {
    /// Validates `page` and `pageSize` read with other parameters (a list with filters).
    pub fn from_params(page: Option<u64>, page_size: Option<u64>) -> Result<Self, ApiError> {
        let page = page.unwrap_or(1);
        let page_size = page_size.unwrap_or(Self::DEFAULT_PAGE_SIZE);
        if page == 0 || page > 1_000_000 {
            return Err(ApiError::invalid("`page` must be between 1 and 1000000")
                .with_details(json!({ "parameter": "page" })));
        }
        if page_size == 0 || page_size > Self::MAX_PAGE_SIZE {
            return Err(ApiError::invalid(format!(
                "`pageSize` must be between 1 and {}",
                Self::MAX_PAGE_SIZE
            ))
            .with_details(json!({ "parameter": "pageSize" })));
        }
        Ok(Self { page, page_size })
    }
}

/// Parses a query string with axum's own `Query` rules, answering 400 in the error format.
pub(crate) fn serde_urlencoded_params<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let uri: axum::http::Uri = format!("/?{query}")
        .parse()
        .map_err(|_| ApiError::bad_request("the query string cannot be read"))?;
    axum::extract::Query::<T>::try_from_uri(&uri)
        .map(|q| q.0)
        .map_err(|e| ApiError::bad_request(format!("bad query parameters: {}", e.body_text())))
}

/// The envelope of every list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Paginated<T> {
    pub data: Vec<T>,
    pub pagination: Pagination,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    pub page: u64,
    pub page_size: u64,
    pub total_items: u64,
    pub total_pages: u64,
}

impl<T> Paginated<T> {
    pub fn new(data: Vec<T>, query: PageQuery, total_items: u64) -> Self {
        Self {
            data,
            pagination: Pagination {
                page: query.page,
                page_size: query.page_size,
                total_items,
                total_pages: total_items.div_ceil(query.page_size),
            },
        }
    }
}
