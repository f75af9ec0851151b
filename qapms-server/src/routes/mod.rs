//! Routes, one module per area. Each exposes `router()`; this module nests them, and
//! [`openapi`] lists every `/api/v1` handler for the generated OpenAPI document.

mod actions;
mod assets;
mod dashboards;
mod health;
mod me;
mod metrics;
pub(crate) mod openapi;
pub(crate) mod resources;
mod search;
mod sessions;
mod tokens;
mod users;

pub(crate) use health::banner;
pub use search::SearchService;

use axum::Router;

use crate::{ApiError, AppState};

pub(crate) fn router() -> Router<AppState> {
    let api = Router::new()
        .merge(health::router())
        .merge(sessions::router())
        .merge(me::router())
        .merge(users::router())
        .merge(tokens::router())
        .merge(dashboards::router())
        .merge(resources::router())
        .merge(search::router())
        .fallback(not_found);
    Router::new()
        .merge(crate::pages::router())
        .merge(assets::router())
        .merge(metrics::router())
        .merge(openapi::router())
        .nest("/api/v1", api)
        .fallback(not_found)
}

/// `OriginalUri`, not `Uri`: inside `/api/v1` the nested router sees the path without its
/// prefix, and the message should name what the client asked for.
async fn not_found(axum::extract::OriginalUri(uri): axum::extract::OriginalUri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}

/// The user as the API shows it (never the password hash).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserView {
    pub(crate) id: uuid::Uuid,
    pub(crate) name: String,
    pub(crate) email: Option<String>,
    /// One of `qa`, `pm`, `po`, `tech_lead`, `qa_manager`, `admin`.
    #[schema(example = "qa")]
    pub(crate) role: String,
    pub(crate) team: Option<String>,
    pub(crate) disabled: bool,
    pub(crate) created_at: chrono::DateTime<chrono::Utc>,
    pub(crate) updated_at: chrono::DateTime<chrono::Utc>,
}

impl UserView {
    pub(crate) fn new(user: &qapms_core::model::User, team: Option<String>) -> Self {
        Self {
            id: user.id.as_uuid(),
            name: user.name.clone(),
            email: user.email.clone(),
            role: user.role.as_str().to_owned(),
            team,
            disabled: user.disabled,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// The error body of every failure (DESIGN §5).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    /// What went wrong, in words a user can act on.
    pub(crate) error: String,
    /// A stable `SNAKE_UPPER` code.
    #[schema(example = "NOT_FOUND")]
    pub(crate) code: String,
    /// Machine-readable details (the field, the parameter), possibly empty.
    #[schema(value_type = Object)]
    pub(crate) details: serde_json::Value,
}
