//! Server-rendered pages: the shell every page shares, sign-in and sign-out, and one
//! dashboard per persona.
//!
//! Templates are askama (`templates/`), checked at compile time and escaped by default. The
//! shell carries the signed-in user, the persona navigation, the session's CSRF token (a
//! hidden field for forms, `hx-headers` for htmx) and the degraded banner, which shows when
//! the store cannot be read or an integration is down, so a page degrades instead of failing.
//! The persona panels come from [`crate::views`] (numbers, server-drawn SVG charts with a
//! table of the same numbers beside each, CSV links); the period (7, 30, 90 days), project and
//! team filters are plain links and a GET form, so they work with the keyboard and without
//! JavaScript. A store that cannot be read leaves the shell with a degraded banner.

use std::fmt::Write as _;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, extract::FromRequestParts as _};
use qapms_core::dashboard::Persona;
use serde::Deserialize;

use crate::auth::{self, CurrentUser};
use crate::dash::{self, Filters};
use crate::{ApiError, AppState};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/dashboards/{persona}", get(dashboard))
        .route("/dashboards/{persona}/export/{file}", get(export_csv))
        .merge(crate::detail_pages::router())
}

pub(crate) struct NavItem {
    pub(crate) href: String,
    pub(crate) label: &'static str,
    pub(crate) current: bool,
}

pub(crate) struct ShellUser {
    pub(crate) name: String,
    pub(crate) role: &'static str,
}

/// What the base layout needs.
pub(crate) struct Shell {
    pub(crate) title: String,
    pub(crate) user: Option<ShellUser>,
    pub(crate) csrf_token: Option<String>,
    pub(crate) nav: Vec<NavItem>,
    pub(crate) banner: Vec<String>,
    pub(crate) version: &'static str,
    pub(crate) demo: bool,
}

impl Shell {
    pub(crate) async fn new(
        state: &AppState,
        title: impl Into<String>,
        user: Option<&CurrentUser>,
        current: Option<Persona>,
    ) -> Self {
        let nav = Persona::ALL
            .into_iter()
            .map(|p| NavItem {
                href: format!("/dashboards/{}", p.slug()),
                label: p.label(),
                current: Some(p) == current,
            })
            .collect();
        Self {
            title: title.into(),
            user: user.map(|u| ShellUser {
                name: u.user.name.clone(),
                role: u.user.role.as_str(),
            }),
            csrf_token: user.and_then(|u| u.csrf_token.clone()),
            nav,
            banner: crate::routes::banner(state).await,
            version: env!("CARGO_PKG_VERSION"),
            demo: state.is_demo(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    shell: Shell,
    error: Option<String>,
    name: String,
    no_users: bool,
}

struct PeriodLink {
    href: String,
    label: &'static str,
    current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
struct DashboardPage<'a> {
    shell: Shell,
    path: String,
    days: u32,
    project: String,
    team: String,
    team_placeholder: String,
    periods: Vec<PeriodLink>,
    /// [`PanelsFragment`], rendered (and escaped) once per cached view.
    panels_html: &'a str,
}

/// The persona panels of a dashboard page.
#[derive(Template)]
#[template(path = "_panels.html")]
struct PanelsFragment<'a> {
    panels: Vec<crate::views::PanelView>,
    /// `?days=…` of the current filters, for the CSV links.
    query: &'a str,
    csv_base: &'a str,
}

/// Pages add a few headers the API does not need: no framing, no sniffing, and a CSP that
/// allows only this server's own scripts and styles.
pub(crate) fn page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The signed-in user, if any; `None` for anonymous and refused credentials alike.
pub(crate) async fn optional_user(state: &AppState, request: Request) -> Option<CurrentUser> {
    let (mut parts, _) = request.into_parts();
    CurrentUser::from_request_parts(&mut parts, state)
        .await
        .ok()
}

async fn home(State(state): State<AppState>, request: Request) -> Response {
    match optional_user(&state, request).await {
        Some(user) => Redirect::to(&format!(
            "/dashboards/{}",
            Persona::for_role(user.user.role).slug()
        ))
        .into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

async fn login_view(
    state: &AppState,
    status: StatusCode,
    error: Option<String>,
    name: String,
) -> Response {
    let no_users = state
        .store()
        .list_users()
        .await
        .is_ok_and(|users| users.is_empty());
    let page = LoginPage {
        shell: Shell::new(state, "Sign in", None, None).await,
        error,
        name,
        no_users,
    };
    page_headers((status, page).into_response())
}

async fn login_page(State(state): State<AppState>, request: Request) -> Response {
    if optional_user(&state, request).await.is_some() {
        return Redirect::to("/").into_response();
    }
    login_view(&state, StatusCode::OK, None, String::new()).await
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    name: String,
    password: String,
}

async fn login_submit(State(state): State<AppState>, request: Request) -> Response {
    let (ip, user_agent) = match auth::login_context(&request) {
        Ok(context) => context,
        Err(err) => return err.into_response(),
    };
    let form = match <Form<LoginForm> as axum::extract::FromRequest<AppState>>::from_request(
        request, &state,
    )
    .await
    {
        Ok(Form(form)) => form,
        Err(rejection) => {
            return ApiError::bad_request(format!("cannot read the sign-in form: {rejection}"))
                .into_response();
        }
    };
    let name = form.name.trim().to_owned();
    match auth::sign_in(&state, &name, form.password, &ip, user_agent.as_deref()).await {
        Ok(session) => {
            let mut response = Redirect::to("/").into_response();
            if let Ok(value) = HeaderValue::from_str(&session.cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(err) if err.status().is_client_error() => {
            let message = match err.code() {
                "RATE_LIMITED" => "Too many failed sign-ins. Wait a few minutes and try again.",
                _ => "Wrong user name or password.",
            };
            login_view(&state, err.status(), Some(message.to_owned()), name).await
        }
        Err(err) => err.into_response(),
    }
}

async fn logout(State(state): State<AppState>, user: CurrentUser) -> Result<Response, ApiError> {
    let cookie = auth::sign_out(&state, &user).await?;
    let mut response = Redirect::to("/login").into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

async fn dashboard(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let persona = dash::persona(&slug)?;
    let filters = Filters::parse(request.uri().query().unwrap_or_default())?;
    let Some(user) = optional_user(&state, request).await else {
        return Ok(Redirect::to("/login").into_response());
    };
    let (project, team) = (
        filters.project.clone().unwrap_or_default(),
        filters.team.clone().unwrap_or_default(),
    );
    let path = format!("/dashboards/{}", persona.slug());
    let periods = [(7, "7 days"), (30, "30 days"), (90, "90 days")]
        .into_iter()
        .map(|(d, label)| {
            let mut href = format!("{path}?days={d}");
            for (key, value) in [("project", &project), ("team", &team)] {
                if !value.is_empty() {
                    let _ = write!(href, "&{key}={}", encode(value));
                }
            }
            PeriodLink {
                href,
                label,
                current: d == filters.days,
            }
        })
        .collect();
    let mut shell = Shell::new(
        &state,
        format!("{} dashboard", persona.label()),
        Some(&user),
        Some(persona),
    )
    .await;
    // A store that cannot be read degrades the page to its shell and a banner.
    let view = match dash::load(&state, &user, persona, &filters).await {
        Ok(view) => Some(view),
        Err(err) if err.status().is_server_error() => {
            shell.banner.push(
                "The dashboard figures cannot be read right now (the store did not answer); \
                 try again shortly."
                    .to_owned(),
            );
            None
        }
        Err(err) => return Err(err),
    };
    let query = filters.query_string();
    let csv_base = format!("/dashboards/{}/export", persona.slug());
    // The panels depend only on the view, the persona and the filters, all part of the view's
    // cache key, so they are drawn once per cached view.
    let panels_html = match &view {
        Some(view) => view
            .panels_html(|data| {
                PanelsFragment {
                    panels: crate::views::panels(data),
                    query: &query,
                    csv_base: &csv_base,
                }
                .render()
            })
            .map_err(|e| ApiError::internal(&e))?,
        None => "",
    };
    let team_placeholder = user.team.clone().unwrap_or_else(|| "all teams".to_owned());
    let page = DashboardPage {
        shell,
        path,
        days: filters.days,
        project,
        team,
        team_placeholder,
        periods,
        panels_html,
    };
    Ok(page_headers(page.into_response()))
}

/// `/dashboards/{persona}/export/{table}.csv`: one table of the view, as CSV.
async fn export_csv(
    State(state): State<AppState>,
    Path((slug, file)): Path<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    let persona = dash::persona(&slug)?;
    let Some(name) = file.strip_suffix(".csv") else {
        return Err(ApiError::not_found("exports are `{table}.csv`"));
    };
    let filters = Filters::parse(request.uri().query().unwrap_or_default())?;
    let user = {
        let (mut parts, _) = request.into_parts();
        CurrentUser::from_request_parts(&mut parts, &state).await?
    };
    let view = dash::load(&state, &user, persona, &filters).await?;
    let panels = crate::views::panels(&view.data);
    let table = panels
        .iter()
        .flat_map(|p| p.tables.iter())
        .find(|t| t.id == name)
        .ok_or_else(|| ApiError::not_found(format!("the {slug} view has no table `{name}`")))?;
    csv_response(&format!("{slug}-{name}-{}d.csv", filters.days), table.csv())
}

/// A CSV download.
pub(crate) fn csv_response(file: &str, body: String) -> Result<Response, ApiError> {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file}\""))
        .map_err(|e| ApiError::internal(&e))?;
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// Percent-encodes a query value (everything but unreserved characters).
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}
