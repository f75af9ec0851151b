//! `/assets/{*path}`: the stylesheet, scripts and vendored htmx, embedded in the binary with
//! rust-embed, so the dashboard works offline and needs no npm build or CDN.
//!
//! Paths are looked up in the embedded set only (never on disk), so `..` cannot escape it;
//! anything that is not a plain relative path is refused with 400 before the lookup.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;

use crate::{ApiError, AppState};

#[derive(RustEmbed)]
#[folder = "assets/"]
struct Assets;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/assets/{*path}", get(asset))
}

/// Whether `path` is a plain relative path inside the asset folder.
pub(crate) fn is_safe(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 256
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.contains('\0')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

async fn asset(Path(path): Path<String>) -> Result<Response, ApiError> {
    if !is_safe(&path) {
        return Err(ApiError::bad_request("not a valid asset path")
            .with_details(serde_json::json!({ "parameter": "path" })));
    }
    let Some(file) = Assets::get(&path) else {
        return Err(ApiError::not_found(format!("no asset named `{path}`")));
    };
    let mime = file.metadata.mimetype().to_owned();
    let mut response = file.data.into_owned().into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::is_safe;

    #[test]
    fn traversal_is_refused() {
        assert!(is_safe("app.css"));
        assert!(is_safe("vendor/htmx-2.0.4.min.js"));
        for bad in [
            "",
            "../Cargo.toml",
            "a/../../b",
            "/etc/passwd",
            "a//b",
            "a\\b",
            "./x",
        ] {
            assert!(!is_safe(bad), "{bad}");
        }
    }
}
