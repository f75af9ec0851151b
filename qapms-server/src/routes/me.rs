//! `GET /api/v1/me`: who the caller is, and the CSRF token a browser session writes with.

use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use super::UserView;
use crate::AppState;
use crate::auth::{AuthVia, CurrentUser};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/me", get(me))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Me {
    user: UserView,
    /// `session` (a browser cookie) or `token` (an API token).
    auth: &'static str,
    /// The token to echo in `X-CSRF-Token` on writes; sessions only.
    csrf_token: Option<String>,
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses(
        (status = 200, body = Me),
        (status = 401, body = super::ErrorBody, description = "not signed in"),
    ),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn me(user: CurrentUser) -> Json<Me> {
    Json(Me {
        user: UserView::new(&user.user, user.team.clone()),
        auth: match user.via {
            AuthVia::Session => "session",
            AuthVia::Token => "token",
        },
        csrf_token: user.csrf_token,
    })
}
