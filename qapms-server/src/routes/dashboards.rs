//! `GET /api/v1/dashboards/{persona}`: every number a persona page shows, as JSON.
//!
//! The body is `{persona, filters, dashboard}`, where `dashboard` is the core's view struct
//! serialised as it is (camelCase), so the page and the API cannot disagree: the page renders
//! the very same struct.

use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::auth::CurrentUser;
use crate::dash::{self, Filters};
use crate::{ApiError, AppState};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/dashboards/{persona}", get(dashboard))
}

/// The filters a view was computed with.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FiltersView {
    #[schema(example = 30)]
    days: u32,
    project: Option<String>,
    team: Option<String>,
}

/// One persona's view.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DashboardView<'a> {
    #[schema(example = "qa-manager")]
    persona: &'static str,
    filters: FiltersView,
    /// The panels, as the page shows them; the fields depend on the persona.
    #[schema(value_type = Object)]
    dashboard: &'a RawValue,
}

/// A persona's dashboard over 7, 30 or 90 days, optionally for one project and team. A QA's
/// figures cover only their own data; leads and managers see their team's.
#[utoipa::path(get, path = "/api/v1/dashboards/{persona}", tag = "dashboards",
    params(
        ("persona" = String, Path, description = "qa, pm, po, tech-lead or qa-manager"),
        ("days" = Option<u32>, Query, description = "7, 30 or 90 (default 30)"),
        ("project" = Option<String>, Query, description = "a Jira project key"),
        ("team" = Option<String>, Query, description = "a team name"),
    ),
    responses(
        (status = 200, body = DashboardView),
        (status = 400, body = super::ErrorBody, description = "a bad filter"),
        (status = 401, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody, description = "no such persona"),
    ),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn dashboard(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    user: CurrentUser,
) -> Result<Response, ApiError> {
    let persona = dash::persona(&slug)?;
    let filters = Filters::parse(query.as_deref().unwrap_or_default())?;
    let view = dash::load(&state, &user, persona, &filters).await?;
    Ok(Json(DashboardView {
        persona: persona.slug(),
        filters: FiltersView {
            days: filters.days,
            project: filters.project,
            team: filters.team,
        },
        dashboard: view.json()?,
    })
    .into_response())
}
