//! `/api/v1/tokens`: API tokens for scripts. A token is shown once, when created; the store
//! keeps only its hash. Users manage their own tokens; admins may list and revoke anyone's.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use qapms_core::store::ApiTokenRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::admin;
use crate::api::{ApiJson, PageQuery, Paginated};
use crate::auth::CurrentUser;
use crate::{ApiError, AppState};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(list).post(create))
        .route("/tokens/{id}", delete(revoke))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenView {
    id: Uuid,
    user_id: Uuid,
    name: String,
    /// The token's first characters.
    prefix: String,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiTokenRecord> for TokenView {
    fn from(t: ApiTokenRecord) -> Self {
        Self {
            id: t.id,
            user_id: t.user_id.as_uuid(),
            name: t.name,
            prefix: t.prefix,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// `Paginated<TokenView>`, named for the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PaginatedTokens {
    data: Vec<TokenView>,
    pagination: crate::api::Pagination,
}

/// Your tokens (an admin sees everyone's).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", params(crate::api::PageParams),
    responses((status = 200, body = PaginatedTokens), (status = 401, body = super::ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    me: CurrentUser,
    page: PageQuery,
) -> Result<Json<Paginated<TokenView>>, ApiError> {
    let owner = (!me.is_admin()).then_some(me.user.id);
    let tokens = state.store().list_api_tokens(owner.as_ref()).await?;
    let page = page.slice(tokens.into_iter().map(TokenView::from).collect());
    Ok(Json(page))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateToken {
    /// A label unique among your tokens, e.g. `ci-nightly`.
    name: String,
    /// Days until the token stops working (1 to 3650); none means it never expires.
    expires_in_days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreatedToken {
    /// The secret: shown this once, never again.
    token: String,
    #[serde(flatten)]
    info: TokenView,
}

/// Creates a token for yourself; the response is the only time its value is shown.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses(
        (status = 201, body = CreatedToken),
        (status = 401, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody, description = "you have a token of that name"),
        (status = 422, body = super::ErrorBody),
    ),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn create(
    State(state): State<AppState>,
    me: CurrentUser,
    ApiJson(body): ApiJson<CreateToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let (token, record) =
        admin::create_token(state.store(), &me.user.id, &body.name, body.expires_in_days).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token,
            info: record.into(),
        }),
    ))
}

/// Revokes a token of yours (admins: anyone's). It stops working at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = Uuid, Path, description = "the token's id")),
    responses(
        (status = 204, description = "revoked"),
        (status = 400, body = super::ErrorBody, description = "not a UUID"),
        (status = 401, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody),
    ),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    me: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| {
        ApiError::bad_request("the token id must be a UUID")
            .with_details(serde_json::json!({ "parameter": "id" }))
    })?;
    let store = state.store();
    let owner = (!me.is_admin()).then_some(me.user.id);
    let mine = store
        .list_api_tokens(owner.as_ref())
        .await?
        .into_iter()
        .any(|t| t.id == id);
    if !mine {
        return Err(ApiError::not_found("no such token among yours"));
    }
    store.revoke_api_token(id, Utc::now()).await?;
    tracing::info!(token = %id, by = %me.user.name, "API token revoked");
    Ok(StatusCode::NO_CONTENT)
}
