//! `POST /api/v1/sessions` signs in (JSON) and sets the session cookie;
//! `DELETE /api/v1/sessions/current` signs out and revokes the session server-side.

use axum::extract::{FromRequest as _, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::UserView;
use crate::api::ApiJson;
use crate::auth::{self, CurrentUser};
use crate::{ApiError, AppState};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions", post(login))
        .route("/sessions/current", delete(logout))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct LoginRequest {
    #[schema(example = "alice")]
    name: String,
    #[schema(example = "correct horse battery staple", format = Password)]
    password: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionView {
    user: UserView,
    csrf_token: String,
    expires_at: chrono::DateTime<chrono::Utc>,
}

/// Signs in with a name and password; sets an `HttpOnly` session cookie.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 201, body = SessionView, description = "signed in; the cookie is set"),
        (status = 401, body = super::ErrorBody, description = "wrong name or password"),
        (status = 403, body = super::ErrorBody, description = "cross-site sign-in"),
        (status = 429, body = super::ErrorBody, description = "too many failed attempts"),
    ))]
pub(crate) async fn login(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let (ip, user_agent) = auth::login_context(&request)?;
    let ApiJson(body) = ApiJson::<LoginRequest>::from_request(request, &state).await?;
    let session = auth::sign_in(
        &state,
        &body.name,
        body.password,
        &ip,
        user_agent.as_deref(),
    )
    .await?;
    let team = state.store().user_team(&session.user.id).await?;
    let view = SessionView {
        user: UserView::new(&session.user, team),
        csrf_token: session.csrf_token,
        expires_at: session.expires_at,
    };
    Ok((
        StatusCode::CREATED,
        [(header::SET_COOKIE, session.cookie)],
        Json(view),
    )
        .into_response())
}

/// Signs out: revokes this session and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "auth",
    responses(
        (status = 204, description = "signed out"),
        (status = 401, body = super::ErrorBody),
        (status = 403, body = super::ErrorBody, description = "missing CSRF token"),
    ),
    security(("session" = [])))]
pub(crate) async fn logout(
    axum::extract::State(state): axum::extract::State<AppState>,
    user: CurrentUser,
) -> Result<Response, ApiError> {
    let cookie = auth::sign_out(&state, &user).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}
