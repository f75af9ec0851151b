//! The Jira client: one handler per resource, a builder per call with options.
//!
//! `Jira` holds the shared [`HttpClient`] and which product it talks to. Handlers
//! (`issues()`, `agile()`) borrow it and hand out builders, so a call reads like
//! `jira.issues().search(jql).fields(["summary"]).stream()`. Cloud speaks REST v3 and ADF and
//! searches through `POST /rest/api/3/search/jql` with `nextPageToken` (the offset `/search` is
//! gone there); Data Center speaks REST v2 and wiki text and pages by offset, fetching pages in
//! parallel once the first page tells the total. Only the fields a caller names are requested:
//! Jira's `*all` default makes each issue about ten times larger.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::{BoxStream, StreamExt as _, TryStreamExt as _};
use serde_json::{Value, json};

use super::config::JiraBuilder;
use super::error::{explain, missing_required_field, unknown_issue_type};
use super::markup::{to_adf, to_wiki};
use super::models::{
    Attachment, Board, Comment, CreateMetaFields, CreateMetaIssueTypes, CreatedIssue, Field, Issue,
    JqlPage, OffsetList, Project, ServerInfo, Sprint, Transition, Transitions, User, Worklog,
    jira_time,
};
use crate::config::JiraDeployment;
use crate::http::{
    HttpClient, MetricsSnapshot, OffsetPage, TokenPage, offset_stream, token_stream,
};
use crate::integrations::{HealthReport, Integration, TicketSource};
use crate::model::{IssueKey, StatusCategory, Ticket};
use crate::{Error, ErrorKind, Result};

/// The fields a [`Ticket`] is built from; nothing else is requested for it.
pub const TICKET_FIELDS: [&str; 9] = [
    "summary",
    "status",
    "issuetype",
    "priority",
    "assignee",
    "labels",
    "components",
    "fixVersions",
    "updated",
];

/// Jira Cloud never returns more than 100 issues a page, whatever is asked.
const SEARCH_PAGE: u32 = 100;

/// A Jira Cloud or Data Center client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Jira {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: HttpClient,
    deployment: JiraDeployment,
    concurrency: usize,
}

impl Jira {
    /// Starts a client for the site at `base_url`.
    ///
    /// ```no_run
    /// # async fn run() -> qapms_core::Result<()> {
    /// use qapms_core::integrations::jira::Jira;
    /// use secrecy::SecretString;
    ///
    /// let jira = Jira::builder("https://acme.atlassian.net")
    ///     .basic_auth("qa@acme.test", SecretString::from("api-token"))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn builder(base_url: impl Into<String>) -> JiraBuilder {
        JiraBuilder::new(base_url)
    }

    pub(crate) fn from_parts(
        http: HttpClient,
        deployment: JiraDeployment,
        concurrency: usize,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                http,
                deployment,
                concurrency,
            }),
        }
    }

    pub fn deployment(&self) -> JiraDeployment {
        self.inner.deployment
    }

    /// Call counters for the dashboard.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.http.metrics()
    }

    /// The site's base URL, which ticket links are built from ([`to_ticket`]).
    pub fn site(&self) -> &url::Url {
        self.http().base_url()
    }

    fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    fn cloud(&self) -> bool {
        self.inner.deployment == JiraDeployment::Cloud
    }

    /// `/rest/api/3` on Cloud, `/rest/api/2` on Data Center.
    fn api(&self, path: &str) -> String {
        let version = if self.cloud() { 3 } else { 2 };
        format!("/rest/api/{version}{path}")
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str, op: &str) -> Result<T> {
        self.http()
            .get(path)
            .operation(op)
            .json_response()
            .await
            .map_err(explain)
    }

    /// Rich text in the form this deployment stores: ADF on Cloud, wiki markup on Data Center.
    fn rich_text(&self, markdown: &str) -> Value {
        if self.cloud() {
            to_adf(markdown)
        } else {
            Value::String(to_wiki(markdown))
        }
    }

    /// The signed-in user.
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira) -> qapms_core::Result<()> {
    /// let me = jira.myself().await?;
    /// tracing::info!("{:?}", me.display_name);
    /// # Ok(()) }
    /// ```
    pub async fn myself(&self) -> Result<User> {
        self.get_json(&self.api("/myself"), "myself").await
    }

    /// Version and deployment of the site.
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira) -> qapms_core::Result<()> {
    /// let info = jira.server_info().await?;
    /// tracing::info!("{}", info.version);
    /// # Ok(()) }
    /// ```
    pub async fn server_info(&self) -> Result<ServerInfo> {
        self.get_json(&self.api("/serverInfo"), "server_info").await
    }

    /// Issues: get, search, create, comments, transitions, worklogs.
    pub fn issues(&self) -> IssueHandler<'_> {
        IssueHandler { jira: self }
    }

    /// Agile boards and sprints.
    pub fn agile(&self) -> AgileHandler<'_> {
        AgileHandler { jira: self }
    }

    /// Every project the account can browse.
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira) -> qapms_core::Result<()> {
    /// for project in jira.projects().await? {
    ///     tracing::info!("{} {}", project.key, project.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn projects(&self) -> Result<Vec<Project>> {
        if !self.cloud() {
            return self.get_json(&self.api("/project"), "projects").await;
        }
        let jira = self.clone();
        let path = self.api("/project/search");
        offset_stream(50, self.inner.concurrency, move |start, max| {
            let jira = jira.clone();
            let path = path.clone();
            async move {
                let list: OffsetList<Project> = jira
                    .http()
                    .get(&path)
                    .query("startAt", start)
                    .query("maxResults", max)
                    .operation("projects")
                    .json_response()
                    .await
                    .map_err(explain)?;
                Ok(OffsetPage {
                    items: list.items,
                    total: list.total,
                })
            }
        })
        .try_collect()
        .await
    }

    /// Every field definition, system and custom. Only called when asked: qapms never
    /// fetches `/field` behind the caller's back.
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira) -> qapms_core::Result<()> {
    /// let fields = jira.fields().await?;
    /// # Ok(()) }
    /// ```
    pub async fn fields(&self) -> Result<Vec<Field>> {
        self.get_json(&self.api("/field"), "fields").await
    }

    /// Metadata of one attachment (not its content).
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira) -> qapms_core::Result<()> {
    /// let meta = jira.attachment("10000").await?;
    /// tracing::info!("{} ({:?} bytes)", meta.filename, meta.size);
    /// # Ok(()) }
    /// ```
    pub async fn attachment(&self, id: &str) -> Result<Attachment> {
        self.get_json(
            &self.api(&format!("/attachment/{}", segment(id))),
            "attachment",
        )
        .await
    }
}

/// Percent-encodes one path segment (ids and keys come from users).
fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Issue operations; from [`Jira::issues`].
#[derive(Debug)]
pub struct IssueHandler<'j> {
    jira: &'j Jira,
}

impl<'j> IssueHandler<'j> {
    /// One issue; name the fields to fetch with [`GetIssue::fields`].
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira) -> qapms_core::Result<()> {
    /// use qapms_core::model::IssueKey;
    /// let key = IssueKey::parse("PAY-12")?;
    /// let issue = jira.issues().get(&key).fields(["summary", "status"]).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn get(&self, key: &IssueKey) -> GetIssue<'j> {
        GetIssue {
            jira: self.jira,
            key: key.clone(),
            fields: Vec::new(),
        }
    }

    /// A JQL search; stream the results with [`Search::stream`].
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira) -> qapms_core::Result<()> {
    /// use futures::TryStreamExt as _;
    /// let issues: Vec<_> = jira
    ///     .issues()
    ///     .search("project = PAY AND statusCategory != Done")
    ///     .fields(["summary", "status"])
    ///     .stream()
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn search(&self, jql: impl Into<String>) -> Search {
        Search {
            jira: self.jira.clone(),
            jql: jql.into(),
            fields: Vec::new(),
            page_size: SEARCH_PAGE,
        }
    }

    /// A new issue, checked against createmeta before it is sent.
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira) -> qapms_core::Result<()> {
    /// let created = jira
    ///     .issues()
    ///     .create("PAY", "Bug", "Refund button does nothing")
    ///     .description("Steps:\n\n1. open an order\n2. press **Refund**")
    ///     .send()
    ///     .await?;
    /// tracing::info!("{}", created.key);
    /// # Ok(()) }
    /// ```
    pub fn create(
        &self,
        project: impl Into<String>,
        issue_type: impl Into<String>,
        summary: impl Into<String>,
    ) -> CreateIssue<'j> {
        CreateIssue {
            jira: self.jira,
            project: project.into(),
            issue_type: issue_type.into(),
            summary: summary.into(),
            description: None,
            fields: BTreeMap::new(),
        }
    }

    /// Every comment on an issue, oldest first.
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira, key: qapms_core::model::IssueKey) -> qapms_core::Result<()> {
    /// let comments = jira.issues().comments(&key).await?;
    /// # Ok(()) }
    /// ```
    pub async fn comments(&self, key: &IssueKey) -> Result<Vec<Comment>> {
        let path = self.jira.api(&format!("/issue/{key}/comment"));
        self.jira
            .offset_list(path, "issues.comments", 100)
            .try_collect()
            .await
    }

    /// Adds a comment written in Markdown-ish text (ADF on Cloud, wiki text on Data Center).
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira, key: qapms_core::model::IssueKey) -> qapms_core::Result<()> {
    /// jira.issues().add_comment(&key, "Verified on **staging**").await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_comment(&self, key: &IssueKey, markdown: &str) -> Result<Comment> {
        let body = json!({ "body": self.jira.rich_text(markdown) });
        self.jira
            .http()
            .post(&self.jira.api(&format!("/issue/{key}/comment")))
            .operation("issues.add_comment")
            .json(&body)
            .json_response()
            .await
            .map_err(explain)
    }

    /// The transitions available to the account on an issue now.
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira, key: qapms_core::model::IssueKey) -> qapms_core::Result<()> {
    /// for t in jira.issues().transitions(&key).await? {
    ///     tracing::info!("{} {}", t.id, t.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn transitions(&self, key: &IssueKey) -> Result<Vec<Transition>> {
        let list: Transitions = self
            .jira
            .get_json(
                &self.jira.api(&format!("/issue/{key}/transitions")),
                "issues.transitions",
            )
            .await?;
        Ok(list.transitions)
    }

    /// Moves an issue through the transition with `transition_id`.
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira, key: qapms_core::model::IssueKey) -> qapms_core::Result<()> {
    /// jira.issues().transition(&key, "31").await?;
    /// # Ok(()) }
    /// ```
    pub async fn transition(&self, key: &IssueKey, transition_id: &str) -> Result<()> {
        self.jira
            .http()
            .post(&self.jira.api(&format!("/issue/{key}/transitions")))
            .operation("issues.transition")
            .json(&json!({ "transition": { "id": transition_id } }))
            .send()
            .await
            .map_err(explain)?;
        Ok(())
    }

    /// Every worklog on an issue.
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira, key: qapms_core::model::IssueKey) -> qapms_core::Result<()> {
    /// let logs = jira.issues().worklogs(&key).await?;
    /// # Ok(()) }
    /// ```
    pub async fn worklogs(&self, key: &IssueKey) -> Result<Vec<Worklog>> {
        let path = self.jira.api(&format!("/issue/{key}/worklog"));
        self.jira
            .offset_list(path, "issues.worklogs", 1000)
            .try_collect()
            .await
    }

    /// Logs `seconds` of work that started at `started`, with an optional Markdown-ish comment.
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira, key: qapms_core::model::IssueKey) -> qapms_core::Result<()> {
    /// let started = chrono::Utc::now() - chrono::Duration::minutes(45);
    /// jira.issues().add_worklog(&key, started, 45 * 60, Some("Regression pass")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn add_worklog(
        &self,
        key: &IssueKey,
        started: DateTime<Utc>,
        seconds: u64,
        comment: Option<&str>,
    ) -> Result<Worklog> {
        if seconds < 60 {
            return Err(Error::invalid_input(
                "a worklog must be at least one minute (Jira rejects shorter ones)",
            ));
        }
        let mut body = json!({
            "started": jira_time::format(&started),
            "timeSpentSeconds": seconds,
        });
        if let Some(comment) = comment {
            body["comment"] = self.jira.rich_text(comment);
        }
        self.jira
            .http()
            .post(&self.jira.api(&format!("/issue/{key}/worklog")))
            .operation("issues.add_worklog")
            .json(&body)
            .json_response()
            .await
            .map_err(explain)
    }
}

/// `GET /issue/{key}`; from [`IssueHandler::get`].
#[derive(Debug)]
#[must_use = "call .send() to fetch the issue"]
pub struct GetIssue<'j> {
    jira: &'j Jira,
    key: IssueKey,
    fields: Vec<String>,
}

impl GetIssue<'_> {
    /// Fields to fetch; without this, those a [`Ticket`] needs.
    pub fn fields<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fields = fields.into_iter().map(Into::into).collect();
        self
    }

    /// Fetches the issue.
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira, key: qapms_core::model::IssueKey) -> qapms_core::Result<()> {
    /// let issue = jira.issues().get(&key).send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<Issue> {
        let fields = if self.fields.is_empty() {
            TICKET_FIELDS.join(",")
        } else {
            self.fields.join(",")
        };
        self.jira
            .http()
            .get(&self.jira.api(&format!("/issue/{}", self.key)))
            .query("fields", fields)
            .operation("issues.get")
            .json_response()
            .await
            .map_err(explain)
    }
}

/// A JQL search; from [`IssueHandler::search`].
#[derive(Debug)]
#[must_use = "call .stream() to run the search"]
pub struct Search {
    jira: Jira,
    jql: String,
    fields: Vec<String>,
    page_size: u32,
}

impl Search {
    /// Fields to fetch; without this, those a [`Ticket`] needs.
    pub fn fields<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fields = fields.into_iter().map(Into::into).collect();
        self
    }

    /// Issues per page to ask for (Jira may return fewer; paging copes).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size.clamp(1, 5000);
        self
    }

    /// The JSON body of one Cloud `search/jql` request, as sent (also used by contract tests).
    pub fn jql_request_body(&self, next_page_token: Option<&str>) -> Value {
        let mut body = json!({
            "jql": self.jql,
            "maxResults": self.page_size,
            "fields": self.field_list(),
        });
        if let Some(token) = next_page_token {
            body["nextPageToken"] = Value::String(token.to_owned());
        }
        body
    }

    fn field_list(&self) -> Vec<String> {
        if self.fields.is_empty() {
            TICKET_FIELDS.iter().map(|f| (*f).to_owned()).collect()
        } else {
            self.fields.clone()
        }
    }

    /// Every matching issue, page after page, as a stream.
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira) -> qapms_core::Result<()> {
    /// use futures::TryStreamExt as _;
    /// let mut issues = jira.issues().search("project = PAY").stream();
    /// while let Some(issue) = issues.try_next().await? {
    ///     tracing::info!("{}", issue.key);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream(self) -> BoxStream<'static, Result<Issue>> {
        if self.jira.cloud() {
            let search = Arc::new(self);
            token_stream(move |token: Option<String>| {
                let search = search.clone();
                async move {
                    let body = search.jql_request_body(token.as_deref());
                    let page: JqlPage = search
                        .jira
                        .http()
                        .post("/rest/api/3/search/jql")
                        .operation("issues.search")
                        // A search reads only, so resending it is safe.
                        .idempotent()
                        .json(&body)
                        .json_response()
                        .await
                        .map_err(explain)?;
                    // `isLast: true` ends paging even if a token is present.
                    let next = if page.is_last == Some(true) {
                        None
                    } else {
                        page.next_page_token
                    };
                    Ok(TokenPage {
                        items: page.issues,
                        next,
                    })
                }
            })
        } else {
            let fields = self.field_list().join(",");
            let jql = self.jql.clone();
            let jira = self.jira.clone();
            let concurrency = jira.inner.concurrency;
            offset_stream(self.page_size, concurrency, move |start, max| {
                let jira = jira.clone();
                let fields = fields.clone();
                let jql = jql.clone();
                async move {
                    let list: OffsetList<Issue> = jira
                        .http()
                        .get("/rest/api/2/search")
                        .query("jql", jql)
                        .query("startAt", start)
                        .query("maxResults", max)
                        .query("fields", fields)
                        .operation("issues.search")
                        .json_response()
                        .await
                        .map_err(explain)?;
                    Ok(OffsetPage {
                        items: list.items,
                        total: list.total,
                    })
                }
            })
        }
    }
}

impl Jira {
    /// An offset-paged list (`startAt`/`maxResults`) as a stream.
    fn offset_list<T>(
        &self,
        path: String,
        op: &'static str,
        page: u32,
    ) -> BoxStream<'static, Result<T>>
    where
        T: serde::de::DeserializeOwned + Send + 'static,
    {
        let jira = self.clone();
        offset_stream(page, self.inner.concurrency, move |start, max| {
            let jira = jira.clone();
            let path = path.clone();
            async move {
                let list: OffsetList<T> = jira
                    .http()
                    .get(&path)
                    .query("startAt", start)
                    .query("maxResults", max)
                    .operation(op)
                    .json_response()
                    .await
                    .map_err(explain)?;
                // Agile lists say `isLast` instead of (or as well as) `total`.
                let total = match (list.total, list.is_last) {
                    (Some(total), _) => Some(total),
                    (None, Some(true)) => Some(start + list.items.len() as u64),
                    (None, _) => None,
                };
                Ok(OffsetPage {
                    items: list.items,
                    total,
                })
            }
        })
    }
}

/// A new issue; from [`IssueHandler::create`].
#[derive(Debug)]
#[must_use = "call .send() to create the issue"]
pub struct CreateIssue<'j> {
    jira: &'j Jira,
    project: String,
    issue_type: String,
    summary: String,
    description: Option<String>,
    fields: BTreeMap<String, Value>,
}

impl CreateIssue<'_> {
    /// The description, in Markdown-ish text.
    pub fn description(mut self, markdown: impl Into<String>) -> Self {
        self.description = Some(markdown.into());
        self
    }

    /// Any other field, by id, as Jira's JSON (e.g. `"components", json!([{"name": "API"}])`).
    pub fn field(mut self, key: impl Into<String>, value: Value) -> Self {
        self.fields.insert(key.into(), value);
        self
    }

    /// Looks up createmeta, checks every required field is set, and creates the issue.
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira) -> qapms_core::Result<()> {
    /// let created = jira.issues().create("PAY", "Task", "Smoke test 1.4").send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<CreatedIssue> {
        let jira = self.jira;
        let project = segment(&self.project);
        let types: CreateMetaIssueTypes = jira
            .get_json(
                &jira.api(&format!("/issue/createmeta/{project}/issuetypes")),
                "issues.createmeta",
            )
            .await?;
        let Some(issue_type) = types
            .issue_types
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(&self.issue_type) || t.id == self.issue_type)
        else {
            let known: Vec<String> = types.issue_types.iter().map(|t| t.name.clone()).collect();
            return Err(unknown_issue_type(&self.project, &self.issue_type, &known));
        };
        let meta: CreateMetaFields = jira
            .get_json(
                &jira.api(&format!(
                    "/issue/createmeta/{project}/issuetypes/{}",
                    segment(&issue_type.id)
                )),
                "issues.createmeta",
            )
            .await?;
        let body = self.body(&issue_type.id);
        let given = body["fields"].as_object().cloned().unwrap_or_default();
        for field in meta
            .fields
            .iter()
            .filter(|f| f.required && !f.has_default_value)
        {
            let Some(key) = field.key.as_ref().or(field.field_id.as_ref()) else {
                continue;
            };
            if !given.contains_key(key) {
                return Err(missing_required_field(
                    &self.project,
                    &issue_type.name,
                    key,
                    &field.name,
                ));
            }
        }
        jira.http()
            .post(&jira.api("/issue"))
            .operation("issues.create")
            .json(&body)
            .json_response()
            .await
            .map_err(explain)
    }

    /// The request body for issue type `issue_type_id`.
    pub fn body(&self, issue_type_id: &str) -> Value {
        let mut fields = serde_json::Map::new();
        fields.insert("project".to_owned(), json!({ "key": self.project }));
        fields.insert("issuetype".to_owned(), json!({ "id": issue_type_id }));
        fields.insert("summary".to_owned(), Value::String(self.summary.clone()));
        if let Some(description) = &self.description {
            fields.insert("description".to_owned(), self.jira.rich_text(description));
        }
        for (key, value) in &self.fields {
            fields.insert(key.clone(), value.clone());
        }
        json!({ "fields": fields })
    }
}

/// Agile (Jira Software) boards and sprints; from [`Jira::agile`].
#[derive(Debug)]
pub struct AgileHandler<'j> {
    jira: &'j Jira,
}

impl AgileHandler<'_> {
    /// Every board the account can see.
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira) -> qapms_core::Result<()> {
    /// let boards = jira.agile().boards().await?;
    /// # Ok(()) }
    /// ```
    pub async fn boards(&self) -> Result<Vec<Board>> {
        self.jira
            .offset_list("/rest/agile/1.0/board".to_owned(), "agile.boards", 50)
            .try_collect()
            .await
    }

    /// Every sprint of a board.
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira) -> qapms_core::Result<()> {
    /// let sprints = jira.agile().sprints(42).await?;
    /// # Ok(()) }
    /// ```
    pub async fn sprints(&self, board_id: u64) -> Result<Vec<Sprint>> {
        self.jira
            .offset_list(
                format!("/rest/agile/1.0/board/{board_id}/sprint"),
                "agile.sprints",
                50,
            )
            .try_collect()
            .await
    }

    /// One sprint.
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira) -> qapms_core::Result<()> {
    /// let sprint = jira.agile().sprint(7).await?;
    /// # Ok(()) }
    /// ```
    pub async fn sprint(&self, sprint_id: u64) -> Result<Sprint> {
        self.jira
            .get_json(
                &format!("/rest/agile/1.0/sprint/{sprint_id}"),
                "agile.sprint",
            )
            .await
    }

    /// The issues of a sprint, with the fields a [`Ticket`] needs.
    ///
    /// ```no_run
    /// # async fn run(jira: qapms_core::integrations::jira::Jira) -> qapms_core::Result<()> {
    /// use futures::TryStreamExt as _;
    /// let issues: Vec<_> = jira.agile().sprint_issues(7).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn sprint_issues(&self, sprint_id: u64) -> BoxStream<'static, Result<Issue>> {
        let jira = self.jira.clone();
        let fields = TICKET_FIELDS.join(",");
        offset_stream(50, self.jira.inner.concurrency, move |start, max| {
            let jira = jira.clone();
            let fields = fields.clone();
            async move {
                let list: OffsetList<Issue> = jira
                    .http()
                    .get(&format!("/rest/agile/1.0/sprint/{sprint_id}/issue"))
                    .query("startAt", start)
                    .query("maxResults", max)
                    .query("fields", fields)
                    .operation("agile.sprint_issues")
                    .json_response()
                    .await
                    .map_err(explain)?;
                Ok(OffsetPage {
                    items: list.items,
                    total: list.total,
                })
            }
        })
    }
}

/// The page people open for an issue: `{site}/browse/{key}`.
pub fn browse_url(site: &url::Url, key: &IssueKey) -> String {
    let mut url = site.clone();
    url.set_path(&format!("/browse/{key}"));
    url.to_string()
}

/// Builds the store's [`Ticket`] from an issue fetched with [`TICKET_FIELDS`].
pub fn to_ticket(issue: Issue, site: &url::Url) -> Result<Ticket> {
    // The issue is taken apart rather than cloned from: sync calls this for every issue.
    let Issue {
        key, fields, raw, ..
    } = issue;
    let missing = |name: &str| {
        Error::new(
            ErrorKind::Upstream,
            format!("Jira returned {key} without the `{name}` field"),
        )
        .with_context("field", format!("fields.{name}"))
    };
    let status = fields.status.ok_or_else(|| missing("status"))?;
    let category = match status.status_category.as_ref().map(|c| c.key.as_str()) {
        Some("new") => StatusCategory::ToDo,
        Some("indeterminate") => StatusCategory::InProgress,
        Some("done") => StatusCategory::Done,
        _ => StatusCategory::Unknown,
    };
    let names = |list: Option<Vec<super::models::Named>>| {
        list.into_iter()
            .flatten()
            .map(|n| n.name)
            .collect::<Vec<_>>()
    };
    let summary = fields.summary.ok_or_else(|| missing("summary"))?;
    let issue_type = fields.issuetype.ok_or_else(|| missing("issuetype"))?.name;
    let updated = fields.updated.ok_or_else(|| missing("updated"))?;
    let url = browse_url(site, &key);
    Ok(Ticket {
        summary,
        status: status.name,
        status_category: category,
        issue_type,
        priority: fields.priority.map(|p| p.name),
        assignee: fields.assignee.and_then(|a| a.display_name),
        labels: fields.labels.unwrap_or_default(),
        components: names(fields.components),
        fix_versions: names(fields.fix_versions),
        updated,
        url: Some(url),
        key,
        raw,
    })
}

#[async_trait]
impl Integration for Jira {
    fn kind(&self) -> &'static str {
        "jira"
    }

    fn endpoint(&self) -> String {
        crate::http::redact_url(self.http().base_url())
    }

    /// `/myself`: cheap, and it needs valid credentials.
    async fn health(&self) -> HealthReport {
        let started = Instant::now();
        let outcome = self.myself().await.map(|_| ());
        HealthReport::from_outcome(&outcome, started.elapsed())
    }
}

#[async_trait]
impl TicketSource for Jira {
    async fn ticket(&self, key: &IssueKey) -> Result<Ticket> {
        let issue = self.issues().get(key).send().await?;
        to_ticket(issue, self.http().base_url())
    }

    fn search_tickets(&self, query: &str) -> BoxStream<'static, Result<Ticket>> {
        let site = self.http().base_url().clone();
        self.issues()
            .search(query)
            .stream()
            .map(move |issue| issue.and_then(|i| to_ticket(i, &site)))
            .boxed()
    }
}

/// Time tracking's worklog export goes through the issue worklog endpoints.
#[async_trait]
impl crate::tracking::WorklogSink for Jira {
    async fn worklogs(&self, issue: &IssueKey) -> Result<Vec<crate::tracking::ExistingWorklog>> {
        Ok(self
            .issues()
            .worklogs(issue)
            .await?
            .into_iter()
            .map(|w| crate::tracking::ExistingWorklog {
                // The comment is ADF on Cloud and text on Data Center; its JSON form holds the
                // marker either way.
                comment_text: w.comment.map(|c| c.to_string()).unwrap_or_default(),
                id: w.id,
            })
            .collect())
    }

    async fn add_worklog(
        &self,
        issue: &IssueKey,
        started: DateTime<Utc>,
        seconds: u64,
        comment: &str,
    ) -> Result<String> {
        Ok(self
            .issues()
            .add_worklog(issue, started, seconds, Some(comment))
            .await?
            .id)
    }
}

/// Reports are posted as issue comments (ADF on Cloud, wiki text on Data Center).
#[async_trait]
impl crate::report::CommentSink for Jira {
    async fn comment_texts(&self, issue: &IssueKey) -> Result<Vec<(String, String)>> {
        Ok(self
            .issues()
            .comments(issue)
            .await?
            .into_iter()
            .map(|c| {
                // ADF on Cloud, a string on Data Center: the JSON text holds the marker either way.
                let text = match c.body {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (c.id, text)
            })
            .collect())
    }

    async fn add_comment(&self, issue: &IssueKey, text: &str) -> Result<String> {
        Ok(self.issues().add_comment(issue, text).await?.id)
    }
}
