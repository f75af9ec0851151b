//! Routes, one module per area. Each exposes `router()`; this module nests them.

mod health;
mod home;

use axum::Router;

use crate::{ApiError, AppState};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .merge(home::router())
        .nest("/api/v1", health::router())
        .fallback(not_found)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}
