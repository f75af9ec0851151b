//! The rows behind the dashboards, as paged lists and detail views: tickets, runs, tests,
//! clusters, alerts, workflows and time entries (DESIGN §5: `{data, pagination}`).
//!
//! Items are the core's own types serialised (camelCase), plus what a detail view adds (a
//! run's results, a test's history, a workflow's events). Workflows and time entries are
//! personal data: a QA sees only their own, leads and managers their team's, admins
//! everyone's ([`CurrentUser::scope`]); asking for someone else's is a 403.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use qapms_core::dashboard::{self, Period};
use qapms_core::model::{
    IssueKey, PageRequest, RunId, TestId, TestResult, TestRun, TicketFilter, TimeEntry,
    TimeEntryFilter, TimeEntryId, UserId, Workflow, WorkflowFilter, WorkflowId,
};
use qapms_core::patterns::alerts::{AlertFilter, AlertId, AlertState};
use qapms_core::patterns::cluster::CLUSTER_KIND;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::api::{PageQuery, Paginated, Pagination};
use crate::auth::{CurrentUser, Scope};
use crate::{ApiError, AppState};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/tickets", get(tickets))
        .route("/tickets/{key}", get(ticket))
        .route("/runs", get(runs))
        .route("/runs/{id}", get(run))
        .route("/tests", get(tests))
        .route("/tests/{id}", get(test))
        .route("/clusters", get(clusters))
        .route("/clusters/{id}", get(cluster))
        .route("/alerts", get(alerts))
        .route("/alerts/{id}", get(alert))
        .route(
            "/workflows",
            get(workflows).post(super::actions::start_workflow),
        )
        .route("/workflows/{id}", get(workflow))
        .route(
            "/workflows/{id}/actions",
            axum::routing::post(super::actions::workflow_action),
        )
        .route(
            "/time-entries",
            get(time_entries).post(super::actions::add_time_entry),
        )
        .route("/time-entries/{id}", get(time_entry))
}

/// A page of items whose shape the path documents.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PaginatedItems {
    #[schema(value_type = Vec<Object>)]
    data: Vec<Value>,
    pagination: Pagination,
}

/// One item with what its detail view adds.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Item {
    #[schema(value_type = Object)]
    #[serde(flatten)]
    item: Value,
}

impl Item {
    pub(crate) fn from_value(item: Value) -> Self {
        Self { item }
    }
}

fn to_value<T: Serialize>(value: &T) -> Result<Value, ApiError> {
    serde_json::to_value(value).map_err(|e| ApiError::internal(&e))
}

fn page_json<T: Serialize>(page: &Paginated<T>) -> Result<Json<PaginatedItems>, ApiError> {
    Ok(Json(PaginatedItems {
        data: page.data.iter().map(to_value).collect::<Result<_, _>>()?,
        pagination: page.pagination,
    }))
}

fn parse_id(text: &str, what: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(text.trim()).map_err(|_| {
        ApiError::bad_request(format!("`{text}` is not a {what} id (a UUID)"))
            .with_details(json!({ "parameter": "id" }))
    })
}

fn parse_time(text: &str, parameter: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::bad_request(format!(
                "`{parameter}` must be an ISO 8601 time such as 2025-03-03T09:00:00Z"
            ))
            .with_details(json!({ "parameter": parameter }))
        })
}

fn page_request(page: PageQuery) -> Result<PageRequest, ApiError> {
    let p = u32::try_from(page.page).map_err(|_| ApiError::invalid("`page` is too large"))?;
    let s =
        u32::try_from(page.page_size).map_err(|_| ApiError::invalid("`pageSize` is too large"))?;
    Ok(PageRequest::new(p, s))
}

// ---- Tickets ----------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TicketParams {
    page: Option<u64>,
    page_size: Option<u64>,
    project: Option<String>,
    status: Option<String>,
}

/// Cached Jira tickets, by project and number.
#[utoipa::path(get, path = "/api/v1/tickets", tag = "data",
    params(crate::api::PageParams,
        ("project" = Option<String>, Query), ("status" = Option<String>, Query)),
    responses((status = 200, body = PaginatedItems), (status = 400, body = super::ErrorBody),
        (status = 401, body = super::ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn tickets(
    State(state): State<AppState>,
    _user: CurrentUser,
    RawQuery(query): RawQuery,
) -> Result<Json<PaginatedItems>, ApiError> {
    let p: TicketParams = crate::api::serde_urlencoded_params(query.as_deref().unwrap_or(""))?;
    let page = PageQuery::from_params(p.page, p.page_size)?;
    let got = state
        .store()
        .list_tickets(&TicketFilter {
            project: p.project.filter(|s| !s.trim().is_empty()),
            status: p.status.filter(|s| !s.trim().is_empty()),
            status_category: None,
            page: page_request(page)?,
        })
        .await?;
    page_json(&Paginated::new(got.items, page, got.total_items))
}

/// A ticket with its workflows (those the caller may see) and its linked test cases.
#[utoipa::path(get, path = "/api/v1/tickets/{key}", tag = "data",
    params(("key" = String, Path, description = "a Jira key such as PAY-12")),
    responses((status = 200, body = Item), (status = 400, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn ticket(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(key): Path<String>,
) -> Result<Json<Item>, ApiError> {
    let key = IssueKey::parse(&key).map_err(|e| ApiError::bad_request(e.message().to_owned()))?;
    let detail = ticket_detail(&state, &user, &key).await?;
    Ok(Json(Item { item: detail }))
}

pub(crate) async fn ticket_detail(
    state: &AppState,
    user: &CurrentUser,
    key: &IssueKey,
) -> Result<Value, ApiError> {
    let ticket = state.store().ticket(key).await?;
    let scope = user.scope(state.store()).await?;
    let workflows: Vec<Workflow> = state
        .store()
        .list_workflows(&WorkflowFilter {
            ticket: Some(key.clone()),
            ..WorkflowFilter::default()
        })
        .await?
        .into_iter()
        .filter(|w| scope.includes(&w.owner))
        .collect();
    let cases = state.store().test_cases_for_ticket(key).await?;
    let mut value = to_value(&ticket)?;
    value["workflows"] = to_value(&workflows)?;
    value["testCases"] = to_value(&cases)?;
    Ok(value)
}

// ---- Runs and tests ---------------------------------------------------------------------------

/// Test runs, newest first, each with its attempt counts.
#[utoipa::path(get, path = "/api/v1/runs", tag = "data", params(crate::api::PageParams),
    responses((status = 200, body = PaginatedItems), (status = 401, body = super::ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn runs(
    State(state): State<AppState>,
    _user: CurrentUser,
    page: PageQuery,
) -> Result<Json<PaginatedItems>, ApiError> {
    let all = state.store().list_runs(u32::MAX).await?;
    let page = page.slice(all);
    let mut data = Vec::with_capacity(page.data.len());
    for run in &page.data {
        data.push(to_value(
            &dashboard::run_summary(state.store(), &run.id).await?,
        )?);
    }
    Ok(Json(PaginatedItems {
        data,
        pagination: page.pagination,
    }))
}

/// A run with its summary, every attempt, and the external id of each attempt's test: what
/// both `/api/v1/runs/{id}` and the run page show.
pub(crate) struct RunDetail {
    pub(crate) run: TestRun,
    pub(crate) summary: dashboard::RunSummary,
    pub(crate) results: Vec<TestResult>,
    pub(crate) names: HashMap<TestId, String>,
}

impl RunDetail {
    pub(crate) async fn load(state: &AppState, id: RunId) -> Result<Self, ApiError> {
        let store = state.store();
        let run = store.run(&id).await?;
        let summary = dashboard::run_summary(store, &id).await?;
        let results = store.results_for_run(&id).await?;
        // Only this run's tests, not every test in the store.
        let mut ids: Vec<TestId> = results.iter().map(|r| r.test_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let names = store
            .test_cases_by_id(&ids)
            .await?
            .into_iter()
            .map(|(case, _)| (case.id, case.external_id))
            .collect();
        Ok(Self {
            run,
            summary,
            results,
            names,
        })
    }

    /// The test's external id, or its qapms id when the case is gone.
    pub(crate) fn name(&self, test: TestId) -> String {
        self.names
            .get(&test)
            .cloned()
            .unwrap_or_else(|| test.to_string())
    }
}

pub(crate) async fn run_detail(state: &AppState, id: RunId) -> Result<Value, ApiError> {
    let d = RunDetail::load(state, id).await?;
    let mut value = to_value(&d.run)?;
    value["summary"] = to_value(&d.summary)?;
    value["results"] = Value::Array(
        d.results
            .iter()
            .map(|r| {
                let mut v = to_value(r)?;
                v["externalId"] = json!(d.names.get(&r.test_id));
                Ok(v)
            })
            .collect::<Result<_, ApiError>>()?,
    );
    Ok(value)
}

/// One run with every attempt.
#[utoipa::path(get, path = "/api/v1/runs/{id}", tag = "data",
    params(("id" = String, Path, description = "the run id")),
    responses((status = 200, body = Item), (status = 400, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn run(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Item>, ApiError> {
    let id = RunId::from_uuid(parse_id(&id, "run")?);
    Ok(Json(Item {
        item: run_detail(&state, id).await?,
    }))
}

/// Every test case.
#[utoipa::path(get, path = "/api/v1/tests", tag = "data", params(crate::api::PageParams),
    responses((status = 200, body = PaginatedItems), (status = 401, body = super::ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn tests(
    State(state): State<AppState>,
    _user: CurrentUser,
    page: PageQuery,
) -> Result<Json<PaginatedItems>, ApiError> {
    let mut all = Vec::new();
    loop {
        let after = all.last().map(|c: &qapms_core::model::TestCase| c.id);
        let got = state.store().test_cases_after(after.as_ref(), 1000).await?;
        let n = got.len();
        all.extend(got.into_iter().map(|(c, _)| c));
        if n < 1000 {
            break;
        }
    }
    page_json(&page.slice(all))
}

pub(crate) async fn test_detail(state: &AppState, id: TestId) -> Result<Value, ApiError> {
    let case = state.store().test_case(&id).await?;
    let results = state.store().results_for_test(&id, 100).await?;
    let flaky = dashboard::open_alerts(state.store())
        .await?
        .iter()
        .filter_map(dashboard::FlakyTest::from_alert)
        .find(|f| f.test_id == id);
    let mut value = to_value(&case)?;
    value["component"] = json!(dashboard::component_of(&case));
    value["recentResults"] = to_value(&results)?;
    value["flaky"] = to_value(&flaky)?;
    Ok(value)
}

/// One test case with its latest attempts and its flakiness, if flagged.
#[utoipa::path(get, path = "/api/v1/tests/{id}", tag = "data",
    params(("id" = String, Path, description = "the test id")),
    responses((status = 200, body = Item), (status = 400, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn test(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Item>, ApiError> {
    let id = TestId::from_uuid(parse_id(&id, "test")?);
    Ok(Json(Item {
        item: test_detail(&state, id).await?,
    }))
}

// ---- Clusters and alerts ----------------------------------------------------------------------

/// Failure clusters seen in the last 90 days, most occurrences first.
#[utoipa::path(get, path = "/api/v1/clusters", tag = "data", params(crate::api::PageParams),
    responses((status = 200, body = PaginatedItems), (status = 401, body = super::ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn clusters(
    State(state): State<AppState>,
    user: CurrentUser,
    page: PageQuery,
) -> Result<Json<PaginatedItems>, ApiError> {
    let now = Utc::now();
    let q = dashboard::DashboardQuery::new(Period::new(90, now)?, now, user.user.id);
    page_json(&page.slice(dashboard::clusters(state.store(), &q).await?))
}

pub(crate) async fn cluster_detail(state: &AppState, id: uuid::Uuid) -> Result<Value, ApiError> {
    let pattern = state
        .store()
        .patterns_of_kind(CLUSTER_KIND)
        .await?
        .into_iter()
        .find(|p| p.id.as_uuid() == id)
        .ok_or_else(|| ApiError::not_found("no failure cluster with this id"))?;
    to_value(&pattern)
}

/// One failure cluster with its evidence and Jira links.
#[utoipa::path(get, path = "/api/v1/clusters/{id}", tag = "data",
    params(("id" = String, Path, description = "the cluster id")),
    responses((status = 200, body = Item), (status = 400, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn cluster(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Item>, ApiError> {
    let id = parse_id(&id, "cluster")?;
    Ok(Json(Item {
        item: cluster_detail(&state, id).await?,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AlertParams {
    page: Option<u64>,
    page_size: Option<u64>,
    state: Option<String>,
}

/// Alerts, most recently seen first; `state` is new, acknowledged, resolved or muted.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "data",
    params(crate::api::PageParams, ("state" = Option<String>, Query)),
    responses((status = 200, body = PaginatedItems), (status = 400, body = super::ErrorBody),
        (status = 401, body = super::ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn alerts(
    State(state): State<AppState>,
    _user: CurrentUser,
    RawQuery(query): RawQuery,
) -> Result<Json<PaginatedItems>, ApiError> {
    let p: AlertParams = crate::api::serde_urlencoded_params(query.as_deref().unwrap_or(""))?;
    let page = PageQuery::from_params(p.page, p.page_size)?;
    let states = match p.state.as_deref().filter(|s| !s.is_empty()) {
        None => Vec::new(),
        Some(s) => vec![s.parse::<AlertState>().map_err(|e| {
            ApiError::bad_request(e.message().to_owned())
                .with_details(json!({ "parameter": "state" }))
        })?],
    };
    let got = state
        .store()
        .list_alerts(&AlertFilter {
            states,
            page: page_request(page)?,
            ..AlertFilter::default()
        })
        .await?;
    page_json(&Paginated::new(got.items, page, got.total_items))
}

/// One alert.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "data",
    params(("id" = String, Path, description = "the alert id")),
    responses((status = 200, body = Item), (status = 400, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn alert(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Item>, ApiError> {
    let id = AlertId::from_uuid(parse_id(&id, "alert")?);
    Ok(Json(Item {
        item: to_value(&state.store().alert(&id).await?)?,
    }))
}

// ---- Workflows and time entries ---------------------------------------------------------------

/// Whose personal data the caller asked for: a named user (who must be in scope) or
/// everyone in scope.
async fn asked_users(
    state: &AppState,
    user: &CurrentUser,
    name: Option<&str>,
) -> Result<Scope, ApiError> {
    let scope = user.scope(state.store()).await?;
    match name.filter(|n| !n.trim().is_empty()) {
        None => Ok(scope),
        Some(name) => {
            let target = match state.store().user_by_name(name).await {
                Ok(u) => u,
                Err(e) if e.kind() == qapms_core::ErrorKind::NotFound && !user.is_admin() => {
                    return Err(ApiError::forbidden("you may not see this user's data"));
                }
                Err(e) => return Err(e.into()),
            };
            if !scope.includes(&target.id) {
                return Err(ApiError::forbidden("you may not see this user's data"));
            }
            Ok(Scope::Users(vec![target.id]))
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WorkflowParams {
    page: Option<u64>,
    page_size: Option<u64>,
    user: Option<String>,
    ticket: Option<String>,
}

/// Workflows the caller may see, most recently updated first.
#[utoipa::path(get, path = "/api/v1/workflows", tag = "workflows",
    params(crate::api::PageParams, ("user" = Option<String>, Query), ("ticket" = Option<String>, Query)),
    responses((status = 200, body = PaginatedItems), (status = 400, body = super::ErrorBody),
        (status = 403, body = super::ErrorBody, description = "another user's data")),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn workflows(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(query): RawQuery,
) -> Result<Json<PaginatedItems>, ApiError> {
    let p: WorkflowParams = crate::api::serde_urlencoded_params(query.as_deref().unwrap_or(""))?;
    let page = PageQuery::from_params(p.page, p.page_size)?;
    let ticket = match p.ticket.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => {
            Some(IssueKey::parse(t).map_err(|e| ApiError::bad_request(e.message().to_owned()))?)
        }
        None => None,
    };
    let scope = asked_users(&state, &user, p.user.as_deref()).await?;
    let all: Vec<Workflow> = state
        .store()
        .list_workflows(&WorkflowFilter {
            ticket,
            ..WorkflowFilter::default()
        })
        .await?
        .into_iter()
        .filter(|w| scope.includes(&w.owner))
        .collect();
    page_json(&page.slice(all))
}

pub(crate) async fn workflow_detail(
    state: &AppState,
    user: &CurrentUser,
    id: WorkflowId,
) -> Result<(Workflow, Value), ApiError> {
    let workflow = state.store().workflow(&id).await?;
    if !user.scope(state.store()).await?.includes(&workflow.owner) {
        return Err(ApiError::forbidden("you may not see this workflow"));
    }
    let events = state.store().workflow_events(&id).await?;
    let mut value = to_value(&workflow)?;
    value["events"] = to_value(&events)?;
    Ok((workflow, value))
}

/// One workflow with its steps and its transition log.
#[utoipa::path(get, path = "/api/v1/workflows/{id}", tag = "workflows",
    params(("id" = String, Path, description = "the workflow id")),
    responses((status = 200, body = Item), (status = 400, body = super::ErrorBody),
        (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn workflow(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Item>, ApiError> {
    let id = WorkflowId::from_uuid(parse_id(&id, "workflow")?);
    Ok(Json(Item {
        item: workflow_detail(&state, &user, id).await?.1,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TimeParams {
    page: Option<u64>,
    page_size: Option<u64>,
    user: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// The time entries the caller may see, by start time: a QA their own, leads and managers
/// their team's. `from`/`to` bound the start time.
pub(crate) async fn visible_entries(
    state: &AppState,
    user: &CurrentUser,
    name: Option<&str>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<TimeEntry>, ApiError> {
    let scope = asked_users(state, user, name).await?;
    let users: Vec<Option<UserId>> = match scope {
        Scope::Everyone => vec![None],
        Scope::Users(ids) => ids.into_iter().map(Some).collect(),
    };
    let mut out = Vec::new();
    for user_id in users {
        out.extend(
            state
                .store()
                .time_entries(&TimeEntryFilter {
                    user_id,
                    ticket: None,
                    from,
                    to,
                })
                .await?,
        );
    }
    out.sort_by(|a, b| a.started_at.cmp(&b.started_at).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// Time entries the caller may see (corrected ones included; `corrects` links them).
#[utoipa::path(get, path = "/api/v1/time-entries", tag = "time",
    params(crate::api::PageParams, ("user" = Option<String>, Query),
        ("from" = Option<String>, Query), ("to" = Option<String>, Query)),
    responses((status = 200, body = PaginatedItems), (status = 400, body = super::ErrorBody),
        (status = 403, body = super::ErrorBody, description = "another user's entries")),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn time_entries(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(query): RawQuery,
) -> Result<Json<PaginatedItems>, ApiError> {
    let p: TimeParams = crate::api::serde_urlencoded_params(query.as_deref().unwrap_or(""))?;
    let page = PageQuery::from_params(p.page, p.page_size)?;
    let from = p
        .from
        .as_deref()
        .map(|t| parse_time(t, "from"))
        .transpose()?;
    let to = p.to.as_deref().map(|t| parse_time(t, "to")).transpose()?;
    let all = visible_entries(&state, &user, p.user.as_deref(), from, to).await?;
    page_json(&page.slice(all))
}

/// One time entry (its owner, their lead or manager, or an admin).
#[utoipa::path(get, path = "/api/v1/time-entries/{id}", tag = "time",
    params(("id" = String, Path, description = "the entry id")),
    responses((status = 200, body = Item), (status = 400, body = super::ErrorBody),
        (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn time_entry(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Item>, ApiError> {
    let id = TimeEntryId::from_uuid(parse_id(&id, "time entry")?);
    let entry = state.store().time_entry(&id).await?;
    if !user.scope(state.store()).await?.includes(&entry.user_id) {
        return Err(ApiError::forbidden("you may not see this time entry"));
    }
    Ok(Json(Item {
        item: to_value(&entry)?,
    }))
}
