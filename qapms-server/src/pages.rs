//! Server-rendered pages: the shell every page shares, sign-in and sign-out, and one
//! dashboard per persona.
//!
//! Templates are askama (`templates/`), checked at compile time and escaped by default. The
//! shell carries the signed-in user, the persona navigation, the session's CSRF token (a
//! hidden field for forms, `hx-headers` for htmx) and the degraded banner, which shows when
//! the store cannot be read or an integration is down, so a page degrades instead of failing.
//! The persona panels show what each view will hold and "No data yet" until the dashboard
//! queries exist; the period (7, 30, 90 days), project and team filters are plain links and a
//! GET form, so they work with the keyboard and without JavaScript.

use std::fmt::Write as _;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, extract::FromRequestParts as _};
use qapms_core::model::Role;
use serde::Deserialize;

use crate::auth::{self, CurrentUser};
use crate::{ApiError, AppState};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/dashboards/{persona}", get(dashboard))
}

/// The five persona views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Persona {
    Qa,
    Pm,
    Po,
    TechLead,
    QaManager,
}

impl Persona {
    pub(crate) const ALL: [Persona; 5] = [
        Persona::Qa,
        Persona::Pm,
        Persona::Po,
        Persona::TechLead,
        Persona::QaManager,
    ];

    pub(crate) fn slug(self) -> &'static str {
        match self {
            Self::Qa => "qa",
            Self::Pm => "pm",
            Self::Po => "po",
            Self::TechLead => "tech-lead",
            Self::QaManager => "qa-manager",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Qa => "QA",
            Self::Pm => "PM",
            Self::Po => "PO",
            Self::TechLead => "Tech Lead",
            Self::QaManager => "QA Manager",
        }
    }

    fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.slug() == slug)
    }

    /// The view a role lands on after signing in.
    fn for_role(role: Role) -> Self {
        match role {
            Role::Pm => Self::Pm,
            Role::Po => Self::Po,
            Role::TechLead => Self::TechLead,
            Role::QaManager | Role::Admin => Self::QaManager,
            Role::Qa => Self::Qa,
        }
    }

    fn panels(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Qa => &[
                (
                    "My tickets in QA",
                    "Tickets assigned to you in QA, with their workflow state.",
                ),
                ("Tracked time", "Time tracked today and this week."),
                ("My recent runs", "Test runs you started, newest first."),
                (
                    "Flaky tests I own",
                    "Your tests with the highest flakiness scores.",
                ),
            ],
            Self::Pm => &[
                (
                    "Tickets verified per week",
                    "Tickets that passed QA, week by week.",
                ),
                ("Time in QA", "Cycle time from entering QA to verified."),
                ("Blockers", "Tickets blocked in QA and what blocks them."),
                ("Bug inflow", "New bugs by severity."),
            ],
            Self::Po => &[
                (
                    "Acceptance coverage",
                    "Per story and epic: cases linked, executed and passed.",
                ),
                (
                    "Release readiness",
                    "Per fix version: open tickets, failing tests, coverage.",
                ),
            ],
            Self::TechLead => &[
                (
                    "Failure clusters",
                    "Clusters by component, new ones flagged.",
                ),
                ("Flaky tests", "The top flaky tests with their scores."),
                (
                    "Systemic failures",
                    "Environment and infrastructure failures.",
                ),
                (
                    "Anomaly alerts",
                    "Unusual durations, pass rates and error rates.",
                ),
                (
                    "Integration health",
                    "Each integration's status and latency.",
                ),
            ],
            Self::QaManager => &[
                ("Team time", "Time by activity and workflow step."),
                ("Estimate accuracy", "Actual time against estimates."),
                ("Coverage and pass rate", "Trends over the period."),
                ("Pattern alerts", "Open pattern and anomaly alerts."),
                ("Portfolio", "A roll-up across projects."),
            ],
        }
    }
}

pub(crate) struct NavItem {
    href: String,
    label: &'static str,
    current: bool,
}

pub(crate) struct ShellUser {
    name: String,
    role: &'static str,
}

/// What the base layout needs.
pub(crate) struct Shell {
    title: String,
    user: Option<ShellUser>,
    csrf_token: Option<String>,
    nav: Vec<NavItem>,
    banner: Vec<String>,
    version: &'static str,
}

impl Shell {
    async fn new(
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

struct Panel {
    title: &'static str,
    description: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    shell: Shell,
    path: String,
    days: u32,
    project: String,
    team: String,
    team_placeholder: String,
    periods: Vec<PeriodLink>,
    panels: Vec<Panel>,
}

/// Pages add a few headers the API does not need: no framing, no sniffing, and a CSP that
/// allows only this server's own scripts and styles.
fn page_headers(mut response: Response) -> Response {
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
async fn optional_user(state: &AppState, request: Request) -> Option<CurrentUser> {
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Filters {
    days: Option<u32>,
    project: Option<String>,
    team: Option<String>,
}

async fn dashboard(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let Some(persona) = Persona::from_slug(&slug) else {
        return Err(ApiError::not_found(format!(
            "no dashboard `{slug}`; use qa, pm, po, tech-lead or qa-manager"
        )));
    };
    let filters: Filters =
        crate::api::serde_urlencoded_params(request.uri().query().unwrap_or_default())?;
    let days = filters.days.unwrap_or(30);
    if ![7, 30, 90].contains(&days) {
        return Err(ApiError::invalid("`days` must be 7, 30 or 90")
            .with_details(serde_json::json!({ "parameter": "days" })));
    }
    let clean = |v: Option<String>, max: usize| -> Result<String, ApiError> {
        let v = v.unwrap_or_default().trim().to_owned();
        if v.chars().count() > max || v.chars().any(char::is_control) {
            Err(ApiError::invalid(format!(
                "a filter is at most {max} printable characters"
            )))
        } else {
            Ok(v)
        }
    };
    let project = clean(filters.project, 32)?;
    let team = clean(filters.team, 64)?;
    let Some(user) = optional_user(&state, request).await else {
        return Ok(Redirect::to("/login").into_response());
    };
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
                current: d == days,
            }
        })
        .collect();
    let team_placeholder = user.team.clone().unwrap_or_else(|| "all teams".to_owned());
    let page = DashboardPage {
        shell: Shell::new(
            &state,
            format!("{} dashboard", persona.label()),
            Some(&user),
            Some(persona),
        )
        .await,
        path,
        days,
        project,
        team,
        team_placeholder,
        periods,
        panels: persona
            .panels()
            .iter()
            .map(|(title, description)| Panel { title, description })
            .collect(),
    };
    Ok(page_headers(page.into_response()))
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode(value: &str) -> String {
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
