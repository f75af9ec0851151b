//! The pages every dashboard panel links down to: a ticket (its workflows and linked cases), a
//! run (every attempt), a test (its history), a failure cluster (its evidence and affected
//! tests), an alert, a workflow (its steps and log, with its report as HTML or Markdown from
//! the core's report module), and the ticket list the bug-inflow panel opens.
//!
//! Each page is one generic template (`detail.html`): a title, a list of fields, downloads and
//! tables; each table has a CSV at `{page}/export/{table}.csv`, built from the same view.
//! Ids: `data-testid="field-{name}"` on each field value, `table-{name}` on each table.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Utc;
use qapms_core::dashboard;
use qapms_core::model::{IssueKey, RunId, TestId, TicketFilter, WorkflowId};
use qapms_core::patterns::alerts::AlertId;
use qapms_core::report::{self, Format};
use serde::Deserialize;

use crate::auth::CurrentUser;
use crate::pages::{Shell, encode, optional_user, page_headers};
use crate::views::{CellView, TableView, table, ticket_link};
use crate::{ApiError, AppState};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/tickets", get(tickets_page))
        .route("/tickets/{key}", get(ticket_page))
        .route("/tickets/{key}/export/{file}", get(ticket_page_csv))
        .route("/runs/{id}", get(run_page))
        .route("/runs/{id}/export/{file}", get(run_page_csv))
        .route("/tests/{id}", get(test_page))
        .route("/tests/{id}/export/{file}", get(test_page_csv))
        .route("/clusters/{id}", get(cluster_page))
        .route("/clusters/{id}/export/{file}", get(cluster_page_csv))
        .route("/alerts/{id}", get(alert_page))
        .route("/workflows/{id}", get(workflow_page))
        .route("/workflows/{id}/export/{file}", get(workflow_page_csv))
        .route("/workflows/{id}/report/{file}", get(workflow_report))
}

pub(crate) struct FieldView {
    id: &'static str,
    label: &'static str,
    value: String,
    href: Option<String>,
}

fn field(id: &'static str, label: &'static str, value: impl Into<String>) -> FieldView {
    FieldView {
        id,
        label,
        value: value.into(),
        href: None,
    }
}

fn link(
    id: &'static str,
    label: &'static str,
    value: impl Into<String>,
    href: String,
) -> FieldView {
    FieldView {
        id,
        label,
        value: value.into(),
        href: Some(href),
    }
}

/// What a detail page shows, before the shell is added.
pub(crate) struct Detail {
    title: String,
    back: (String, String),
    fields: Vec<FieldView>,
    downloads: Vec<(String, String)>,
    tables: Vec<TableView>,
}

#[derive(Template, WebTemplate)]
#[template(path = "detail.html")]
struct DetailPage {
    shell: Shell,
    back_href: String,
    back_label: String,
    fields: Vec<FieldView>,
    downloads: Vec<(String, String)>,
    tables: Vec<TableView>,
    csv_base: String,
    query: String,
}

async fn render(state: &AppState, user: &CurrentUser, path: &str, detail: Detail) -> Response {
    let page = DetailPage {
        shell: Shell::new(state, detail.title, Some(user), None).await,
        back_href: detail.back.0,
        back_label: detail.back.1,
        fields: detail.fields,
        downloads: detail.downloads,
        tables: detail.tables,
        csv_base: format!("{path}/export"),
        query: String::new(),
    };
    page_headers(page.into_response())
}

fn export(detail: &Detail, what: &str, file: &str) -> Result<Response, ApiError> {
    let name = file
        .strip_suffix(".csv")
        .ok_or_else(|| ApiError::not_found("exports are `{table}.csv`"))?;
    let table =
        detail.tables.iter().find(|t| t.id == name).ok_or_else(|| {
            ApiError::not_found(format!("this {what} page has no table `{name}`"))
        })?;
    crate::pages::csv_response(&format!("{what}-{name}.csv"), table.csv())
}

fn bad_id(text: &str, what: &str) -> ApiError {
    ApiError::bad_request(format!("`{text}` is not a {what} id (a UUID)"))
}

fn uuid_of(text: &str, what: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(text.trim()).map_err(|_| bad_id(text, what))
}

fn when(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The signed-in user, or the sign-in redirect a page answers with.
async fn page_user(state: &AppState, request: Request) -> Result<CurrentUser, Response> {
    optional_user(state, request)
        .await
        .ok_or_else(|| Redirect::to("/login").into_response())
}

macro_rules! page_handlers {
    ($page:ident, $csv:ident, $what:literal, $build:ident, $parse:expr) => {
        async fn $page(
            State(state): State<AppState>,
            Path(id): Path<String>,
            request: Request,
        ) -> Result<Response, ApiError> {
            let id = $parse(&id)?;
            let user = match page_user(&state, request).await {
                Ok(user) => user,
                Err(redirect) => return Ok(redirect),
            };
            let detail = $build(&state, &user, id.clone()).await?;
            let path = format!(concat!("/", $what, "s/{}"), id);
            Ok(render(&state, &user, &path, detail).await)
        }

        async fn $csv(
            State(state): State<AppState>,
            Path((id, file)): Path<(String, String)>,
            user: CurrentUser,
        ) -> Result<Response, ApiError> {
            let id = $parse(&id)?;
            let detail = $build(&state, &user, id).await?;
            export(&detail, $what, &file)
        }
    };
}

// ---- Tickets ----------------------------------------------------------------------------------

fn parse_key(text: &str) -> Result<IssueKey, ApiError> {
    IssueKey::parse(text).map_err(|e| ApiError::bad_request(e.message().to_owned()))
}

async fn ticket_detail(
    state: &AppState,
    user: &CurrentUser,
    key: IssueKey,
) -> Result<Detail, ApiError> {
    let ticket = state.store().ticket(&key).await?;
    let scope = user.scope(state.store()).await?;
    let workflows: Vec<_> = state
        .store()
        .list_workflows(&qapms_core::model::WorkflowFilter {
            ticket: Some(key.clone()),
            ..Default::default()
        })
        .await?
        .into_iter()
        .filter(|w| scope.includes(&w.owner))
        .collect();
    let cases = state.store().test_cases_for_ticket(&key).await?;
    let mut fields = vec![
        field("summary", "Summary", ticket.summary.clone()),
        field("status", "Status", ticket.status.clone()),
        field("type", "Type", ticket.issue_type.clone()),
        field(
            "priority",
            "Priority",
            ticket.priority.clone().unwrap_or_default(),
        ),
        field(
            "assignee",
            "Assignee",
            ticket.assignee.clone().unwrap_or_default(),
        ),
        field(
            "fix-versions",
            "Fix versions",
            ticket.fix_versions.join(", "),
        ),
        field("components", "Components", ticket.components.join(", ")),
        field("updated", "Updated", when(ticket.updated)),
    ];
    if let Some(url) = &ticket.url
        && (url.starts_with("https://") || url.starts_with("http://"))
    {
        fields.push(link("jira", "In Jira", url.clone(), url.clone()));
    }
    Ok(Detail {
        title: format!("{key}: {}", ticket.summary),
        back: (
            format!("/tickets?project={}", encode(key.project())),
            format!("Tickets of {}", key.project()),
        ),
        fields,
        downloads: Vec::new(),
        tables: vec![
            table(
                "workflows",
                "Workflows",
                &["workflow", "state", "version", "owner", "updated"],
                workflows
                    .iter()
                    .map(|w| {
                        vec![
                            CellView::link(w.template.clone(), format!("/workflows/{}", w.id)),
                            CellView::text(w.state.as_str()),
                            CellView::num(w.version),
                            CellView::text(w.owner.to_string()),
                            CellView::text(when(w.updated_at)),
                        ]
                    })
                    .collect(),
            ),
            table(
                "cases",
                "Linked test cases",
                &["test", "source", "title"],
                cases
                    .iter()
                    .map(|c| {
                        vec![
                            CellView::link(c.external_id.clone(), format!("/tests/{}", c.id)),
                            CellView::text(c.source.as_str()),
                            CellView::text(c.title.clone()),
                        ]
                    })
                    .collect(),
            ),
        ],
    })
}

page_handlers!(
    ticket_page,
    ticket_page_csv,
    "ticket",
    ticket_detail,
    parse_key
);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TicketListParams {
    project: Option<String>,
    priority: Option<String>,
    #[serde(rename = "type")]
    issue_type: Option<String>,
}

/// `/tickets?project=&priority=&type=`: the tickets behind a count (the bug-inflow panel).
async fn tickets_page(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Result<Response, ApiError> {
    let p: TicketListParams = crate::api::serde_urlencoded_params(query.as_deref().unwrap_or(""))?;
    let user = match page_user(&state, request).await {
        Ok(user) => user,
        Err(redirect) => return Ok(redirect),
    };
    let project = p.project.filter(|s| !s.trim().is_empty());
    let mut rows = Vec::new();
    let mut page = 1;
    loop {
        let got = state
            .store()
            .list_tickets(&TicketFilter {
                project: project.clone(),
                page: qapms_core::model::PageRequest::new(page, 1000),
                ..TicketFilter::default()
            })
            .await?;
        let n = got.items.len();
        rows.extend(got.items.into_iter().filter(|t| {
            p.priority
                .as_deref()
                .is_none_or(|want| t.priority.as_deref().unwrap_or("None") == want)
                && p.issue_type.as_deref().is_none_or(|want| {
                    want.eq_ignore_ascii_case("bug") && dashboard::is_bug(t)
                        || t.issue_type.eq_ignore_ascii_case(want)
                })
        }));
        if n < 1000 || page >= 100 {
            break;
        }
        page += 1;
    }
    let detail = Detail {
        title: format!(
            "Tickets{}{}",
            project
                .as_deref()
                .map(|p| format!(" of {p}"))
                .unwrap_or_default(),
            p.priority
                .as_deref()
                .map(|p| format!(", priority {p}"))
                .unwrap_or_default()
        ),
        back: ("/".to_owned(), "Dashboards".to_owned()),
        fields: vec![field("count", "Tickets", rows.len().to_string())],
        downloads: Vec::new(),
        tables: vec![table(
            "tickets",
            "Tickets",
            &["key", "summary", "type", "priority", "status", "created"],
            rows.iter()
                .map(|t| {
                    vec![
                        ticket_link(Some(&t.key)),
                        CellView::text(t.summary.clone()),
                        CellView::text(t.issue_type.clone()),
                        CellView::opt(t.priority.as_deref()),
                        CellView::text(t.status.clone()),
                        CellView::text(when(dashboard::created_at(t))),
                    ]
                })
                .collect(),
        )],
    };
    let page = DetailPage {
        shell: Shell::new(&state, detail.title, Some(&user), None).await,
        back_href: detail.back.0,
        back_label: detail.back.1,
        fields: detail.fields,
        downloads: detail.downloads,
        tables: detail.tables,
        csv_base: String::new(),
        query: String::new(),
    };
    Ok(page_headers(page.into_response()))
}

// ---- Runs, tests, clusters, alerts ------------------------------------------------------------

fn parse_run(text: &str) -> Result<RunId, ApiError> {
    uuid_of(text, "run").map(RunId::from_uuid)
}

async fn run_detail(state: &AppState, _user: &CurrentUser, id: RunId) -> Result<Detail, ApiError> {
    let d = crate::routes::resources::RunDetail::load(state, id).await?;
    let (run, summary) = (&d.run, &d.summary);
    Ok(Detail {
        title: format!("Run {}", run.name),
        back: ("/dashboards/qa".to_owned(), "QA dashboard".to_owned()),
        fields: vec![
            field("source", "Source", run.source.as_str()),
            field("started", "Started", when(run.started_at)),
            field(
                "environment",
                "Environment",
                run.environment.clone().unwrap_or_default(),
            ),
            field(
                "revision",
                "Revision",
                run.revision.clone().unwrap_or_default(),
            ),
            field("attempts", "Attempts", summary.attempts.to_string()),
            field("passed", "Passed", summary.passed.to_string()),
            field("failed", "Failed", summary.failed.to_string()),
        ],
        downloads: Vec::new(),
        tables: vec![table(
            "results",
            "Attempts",
            &[
                "test",
                "attempt",
                "status",
                "duration_ms",
                "message",
                "cluster",
            ],
            d.results
                .iter()
                .map(|r| {
                    vec![
                        CellView::link(d.name(r.test_id), format!("/tests/{}", r.test_id)),
                        CellView::num(r.attempt),
                        CellView::text(r.status.as_str()),
                        r.duration_ms
                            .map_or_else(|| CellView::text(""), CellView::num),
                        CellView::opt(r.message.as_deref()),
                        match r.cluster_id {
                            Some(c) => CellView::link("cluster", format!("/clusters/{c}")),
                            None => CellView::text(""),
                        },
                    ]
                })
                .collect(),
        )],
    })
}

page_handlers!(run_page, run_page_csv, "run", run_detail, parse_run);

fn parse_test(text: &str) -> Result<TestId, ApiError> {
    uuid_of(text, "test").map(TestId::from_uuid)
}

async fn test_detail(
    state: &AppState,
    _user: &CurrentUser,
    id: TestId,
) -> Result<Detail, ApiError> {
    let case = state.store().test_case(&id).await?;
    let results = state.store().results_for_test(&id, 100).await?;
    let flaky = dashboard::open_alerts(state.store())
        .await?
        .iter()
        .filter_map(dashboard::FlakyTest::from_alert)
        .find(|f| f.test_id == id);
    let mut fields = vec![
        field("title", "Title", case.title.clone()),
        field("source", "Source", case.source.as_str()),
        field("component", "Component", dashboard::component_of(&case)),
        field(
            "flaky-score",
            "Flakiness score",
            flaky
                .as_ref()
                .map_or_else(|| "not flagged".to_owned(), |f| format!("{:.2}", f.score)),
        ),
    ];
    for key in &case.ticket_keys {
        fields.push(link(
            "ticket",
            "Ticket",
            key.as_str(),
            format!("/tickets/{key}"),
        ));
    }
    Ok(Detail {
        title: format!("Test {}", case.external_id),
        back: (
            "/dashboards/tech-lead".to_owned(),
            "Tech Lead dashboard".to_owned(),
        ),
        fields,
        downloads: Vec::new(),
        tables: vec![table(
            "history",
            "Latest attempts",
            &["run", "attempt", "status", "duration_ms", "message"],
            results
                .iter()
                .map(|r| {
                    vec![
                        CellView::link(r.run_id.to_string(), format!("/runs/{}", r.run_id)),
                        CellView::num(r.attempt),
                        CellView::text(r.status.as_str()),
                        r.duration_ms
                            .map_or_else(|| CellView::text(""), CellView::num),
                        CellView::opt(r.message.as_deref()),
                    ]
                })
                .collect(),
        )],
    })
}

page_handlers!(test_page, test_page_csv, "test", test_detail, parse_test);

fn parse_cluster(text: &str) -> Result<uuid::Uuid, ApiError> {
    uuid_of(text, "cluster")
}

async fn cluster_detail(
    state: &AppState,
    _user: &CurrentUser,
    id: uuid::Uuid,
) -> Result<Detail, ApiError> {
    let pattern = state
        .store()
        .patterns_of_kind(qapms_core::patterns::cluster::CLUSTER_KIND)
        .await?
        .into_iter()
        .find(|p| p.id.as_uuid() == id)
        .ok_or_else(|| ApiError::not_found("no failure cluster with this id"))?;
    let label = pattern
        .evidence
        .pointer("/classification/label")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("unknown")
        .to_owned();
    let samples: Vec<TestId> = pattern
        .evidence
        .get("sampleTests")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str()?.parse::<uuid::Uuid>().ok())
                .map(TestId::from_uuid)
                .collect()
        })
        .unwrap_or_default();
    let cases = state.store().test_cases_by_id(&samples).await?;
    let mut fields = vec![
        field("label", "Classification", label),
        field("severity", "Severity", pattern.severity.clone()),
        field("occurrences", "Failures", pattern.occurrences.to_string()),
        field("first-seen", "First seen", when(pattern.first_seen)),
        field("last-seen", "Last seen", when(pattern.last_seen)),
    ];
    for l in &pattern.links {
        fields.push(link(
            "issue",
            "Linked issue",
            l.issue.as_str(),
            format!("/tickets/{}", l.issue),
        ));
    }
    Ok(Detail {
        title: format!("Cluster: {}", pattern.title),
        back: (
            "/dashboards/tech-lead".to_owned(),
            "Tech Lead dashboard".to_owned(),
        ),
        fields,
        downloads: Vec::new(),
        tables: vec![table(
            "tests",
            "Affected tests (sample)",
            &["test", "component"],
            cases
                .iter()
                .map(|(c, _)| {
                    vec![
                        CellView::link(c.external_id.clone(), format!("/tests/{}", c.id)),
                        CellView::text(dashboard::component_of(c)),
                    ]
                })
                .collect(),
        )],
    })
}

page_handlers!(
    cluster_page,
    cluster_page_csv,
    "cluster",
    cluster_detail,
    parse_cluster
);

async fn alert_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let id = AlertId::from_uuid(uuid_of(&id, "alert")?);
    let user = match page_user(&state, request).await {
        Ok(user) => user,
        Err(redirect) => return Ok(redirect),
    };
    let a = state.store().alert(&id).await?;
    let mut fields = vec![
        field("kind", "Kind", a.kind.as_str()),
        field("severity", "Severity", a.severity.as_str()),
        field("state", "State", a.state.as_str()),
        field("occurrences", "Occurrences", a.occurrences.to_string()),
        field("first-seen", "First seen", when(a.first_seen)),
        field("last-seen", "Last seen", when(a.last_seen)),
    ];
    if let Some(p) = a.pattern_id {
        fields.push(link(
            "cluster",
            "Cluster",
            "failure cluster",
            format!("/clusters/{p}"),
        ));
    }
    if let Some(t) = dashboard::FlakyTest::from_alert(&a) {
        fields.push(link(
            "test",
            "Test",
            t.external_id.clone(),
            format!("/tests/{}", t.test_id),
        ));
    }
    let detail = Detail {
        title: a.title.clone(),
        back: (
            "/dashboards/qa-manager".to_owned(),
            "QA Manager dashboard".to_owned(),
        ),
        fields,
        downloads: Vec::new(),
        tables: Vec::new(),
    };
    Ok(render(&state, &user, &format!("/alerts/{id}"), detail).await)
}

// ---- Workflows --------------------------------------------------------------------------------

fn parse_workflow(text: &str) -> Result<WorkflowId, ApiError> {
    uuid_of(text, "workflow").map(WorkflowId::from_uuid)
}

async fn workflow_detail(
    state: &AppState,
    user: &CurrentUser,
    id: WorkflowId,
) -> Result<Detail, ApiError> {
    let (w, _) = crate::routes::resources::workflow_detail(state, user, id).await?;
    let events = state.store().workflow_events(&id).await?;
    let mut fields = vec![
        field("template", "Template", w.template.clone()),
        field("state", "State", w.state.as_str()),
        field("version", "Version", w.version.to_string()),
        field("updated", "Updated", when(w.updated_at)),
    ];
    if let Some(t) = &w.ticket {
        fields.insert(
            0,
            link("ticket", "Ticket", t.as_str(), format!("/tickets/{t}")),
        );
    }
    Ok(Detail {
        title: format!(
            "Workflow {}{}",
            w.template,
            w.ticket
                .as_ref()
                .map(|t| format!(" for {t}"))
                .unwrap_or_default()
        ),
        back: ("/dashboards/qa".to_owned(), "QA dashboard".to_owned()),
        fields,
        downloads: vec![
            (
                "Report (HTML)".to_owned(),
                format!("/workflows/{id}/report/report.html"),
            ),
            (
                "Report (Markdown)".to_owned(),
                format!("/workflows/{id}/report/report.md"),
            ),
        ],
        tables: vec![
            table(
                "steps",
                "Steps",
                &["position", "step", "state", "estimate_seconds", "reason"],
                w.steps
                    .iter()
                    .map(|s| {
                        vec![
                            CellView::num(s.position),
                            CellView::text(s.name.clone()),
                            CellView::text(s.state.as_str()),
                            s.estimate_secs.map_or_else(
                                || CellView::text(""),
                                |e| CellView::secs(i64::try_from(e).unwrap_or(i64::MAX)),
                            ),
                            CellView::opt(s.reason.as_deref()),
                        ]
                    })
                    .collect(),
            ),
            table(
                "events",
                "History",
                &["version", "at", "event", "step"],
                events
                    .iter()
                    .map(|e| {
                        vec![
                            CellView::num(e.version),
                            CellView::text(when(e.at)),
                            CellView::text(e.kind.clone()),
                            CellView::opt(e.step),
                        ]
                    })
                    .collect(),
            ),
        ],
    })
}

page_handlers!(
    workflow_page,
    workflow_page_csv,
    "workflow",
    workflow_detail,
    parse_workflow
);

/// `/workflows/{id}/report/report.html|report.md`: the core's workflow report.
async fn workflow_report(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    user: CurrentUser,
) -> Result<Response, ApiError> {
    let id = parse_workflow(&id)?;
    let format = match file.as_str() {
        "report.html" => Format::Html,
        "report.md" => Format::Markdown,
        _ => return Err(ApiError::not_found("reports are report.html or report.md")),
    };
    // Access as for the workflow itself.
    crate::routes::resources::workflow_detail(&state, &user, id).await?;
    let data = report::workflow_data(state.store(), &id, Utc::now()).await?;
    let text = report::render_workflow(&report::workflow_report(&data), format)?;
    let mut response = text.into_response();
    let (mime, name) = match format {
        Format::Html => ("text/html; charset=utf-8", "html"),
        _ => ("text/markdown; charset=utf-8", "md"),
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"workflow-{id}.{name}\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src data:"),
    );
    Ok(response)
}
