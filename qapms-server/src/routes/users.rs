//! `/api/v1/users`: user management (admins only), and reading one user (admins, the user,
//! and leads or managers of the user's team).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use qapms_core::ErrorKind;
use qapms_core::model::{Role, User};
use serde::Deserialize;
use utoipa::ToSchema;

use super::UserView;
use crate::admin::{self, NewUser, parse_role};
use crate::api::{ApiJson, PageQuery, Paginated};
use crate::auth::{Admin, CurrentUser};
use crate::{ApiError, AppState};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/{name}", get(show).patch(update))
}

async fn view(state: &AppState, user: &User) -> Result<UserView, ApiError> {
    let team = state.store().user_team(&user.id).await?;
    Ok(UserView::new(user, team))
}

/// `Paginated<UserView>`, named for the OpenAPI document.
#[derive(Debug, serde::Serialize, ToSchema)]
pub(crate) struct PaginatedUsers {
    data: Vec<UserView>,
    pagination: crate::api::Pagination,
}

/// Every user, by name (admins only).
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    params(crate::api::PageParams),
    responses(
        (status = 200, body = PaginatedUsers),
        (status = 401, body = super::ErrorBody),
        (status = 403, body = super::ErrorBody, description = "not an admin"),
        (status = 422, body = super::ErrorBody, description = "bad paging"),
    ),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    page: PageQuery,
) -> Result<Json<Paginated<UserView>>, ApiError> {
    let users = state.store().list_users().await?;
    let page = page.slice(users);
    let mut data = Vec::with_capacity(page.data.len());
    for user in &page.data {
        data.push(view(&state, user).await?);
    }
    Ok(Json(Paginated {
        data,
        pagination: page.pagination,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateUser {
    #[schema(example = "alice")]
    name: String,
    email: Option<String>,
    #[schema(example = "qa")]
    role: String,
    team: Option<String>,
    /// At least 8 characters.
    #[schema(format = Password)]
    password: String,
}

/// Adds a user with a password (admins only).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    responses(
        (status = 201, body = UserView),
        (status = 400, body = super::ErrorBody),
        (status = 403, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody, description = "the name is taken"),
        (status = 422, body = super::ErrorBody),
    ),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let role = parse_role(&body.role)?;
    let user = admin::add_user(
        state.store(),
        NewUser {
            name: body.name,
            role,
            email: body.email,
            team: body.team,
            password: Some(body.password),
        },
    )
    .await?;
    tracing::info!(admin = %admin.user.name, user = %user.name, role = %role, "user added");
    Ok((StatusCode::CREATED, Json(view(&state, &user).await?)))
}

/// One user: admins, the user, and leads or managers of the user's team may look.
#[utoipa::path(get, path = "/api/v1/users/{name}", tag = "users",
    params(("name" = String, Path, description = "the sign-in name")),
    responses(
        (status = 200, body = UserView),
        (status = 401, body = super::ErrorBody),
        (status = 403, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody),
    ),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn show(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(name): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    let user = match state.store().user_by_name(&name).await {
        Ok(user) => user,
        Err(err) if err.kind() == ErrorKind::NotFound && !me.is_admin() => {
            // Which names exist is not revealed to someone who could not see them anyway.
            return Err(ApiError::forbidden("you may not see this user"));
        }
        Err(err) => return Err(err.into()),
    };
    if !me.scope(state.store()).await?.includes(&user.id) {
        return Err(ApiError::forbidden("you may not see this user"));
    }
    Ok(Json(view(&state, &user).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct UpdateUser {
    role: Option<String>,
    /// A team name, or `""` to clear it.
    team: Option<String>,
    disabled: Option<bool>,
    #[schema(format = Password)]
    password: Option<String>,
}

/// Changes a user's role, team, password or disabled flag (admins only). Disabling a user or
/// setting a password signs them out everywhere; the last enabled admin cannot be demoted or
/// disabled.
#[utoipa::path(patch, path = "/api/v1/users/{name}", tag = "users", request_body = UpdateUser,
    params(("name" = String, Path, description = "the sign-in name")),
    responses(
        (status = 200, body = UserView),
        (status = 400, body = super::ErrorBody),
        (status = 403, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody, description = "the last admin"),
        (status = 422, body = super::ErrorBody),
    ),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn update(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> Result<Json<UserView>, ApiError> {
    let store = state.store();
    let user = store.user_by_name(&name).await?;
    let role = body.role.as_deref().map(parse_role).transpose()?;
    let loses_admin = role.is_some_and(|r| r != Role::Admin) || body.disabled == Some(true);
    if loses_admin && user.role == Role::Admin && !user.disabled {
        let admins = store
            .list_users()
            .await?
            .into_iter()
            .filter(|u| u.role == Role::Admin && !u.disabled)
            .count();
        if admins <= 1 {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "LAST_ADMIN",
                "this is the last admin; make another user admin first",
            ));
        }
    }
    if let Some(password) = &body.password
        && password.chars().count() < 8
    {
        // Checked before anything changes, so a weak password leaves the user untouched.
        return Err(ApiError::invalid("a password needs at least 8 characters"));
    }
    if let Some(role) = role
        && role != user.role
    {
        store.set_user_role(&user.id, role).await?;
        tracing::info!(admin = %admin.user.name, user = %user.name, role = %role, "role changed");
    }
    if let Some(team) = body.team.as_deref() {
        let team = Some(team.trim()).filter(|t| !t.is_empty());
        store.set_user_team(&user.id, team).await?;
    }
    if let Some(password) = body.password {
        admin::set_password(store, &user.id, password).await?;
    }
    if let Some(disabled) = body.disabled {
        admin::set_disabled(store, &user.id, disabled).await?;
    }
    tracing::info!(admin = %admin.user.name, user = %user.name, "user updated");
    let user = store.user_by_id(&user.id).await?;
    Ok(Json(view(&state, &user).await?))
}
