//! `ws.jira`: the core Jira client, as Python sees it.
//!
//! Every method is the core call plus conversion; nothing here decides anything about Jira.
//! Issues cross into Python as `Issue` objects that keep the core model inside and convert a
//! field only when it is read, so materialising ten thousand issues costs one allocation each.
//! A search is a lazy iterator fed by a background task on the shared runtime: pages are
//! fetched ahead while Python works through the current one, and each page crosses the
//! boundary once, as a batch, not issue by issue.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use pyo3::exceptions::{PyStopAsyncIteration, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use qapms_core::config::JiraDeployment;
use qapms_core::integrations::jira::Jira;
use qapms_core::integrations::jira::models::{
    Comment, CreatedIssue, Issue, Project, Transition, User, Worklog,
};
use qapms_core::model::IssueKey;
use secrecy::SecretString;
use tokio::sync::{Mutex, mpsc};

use crate::convert::{json_to_py, py_to_json, to_py};
use crate::errors::PyQapmsError;
use crate::runtime;

/// Pages a search keeps fetched ahead of the consumer: enough to hide one page's latency,
/// few enough that an abandoned iterator holds little memory.
const PAGES_AHEAD: usize = 2;

fn issue_key(key: &str) -> PyResult<IssueKey> {
    IssueKey::parse(key).map_err(|e| PyQapmsError::from(e).into())
}

fn deployment(name: Option<&str>) -> PyResult<JiraDeployment> {
    match name.map(str::to_ascii_lowercase).as_deref() {
        None | Some("cloud") => Ok(JiraDeployment::Cloud),
        Some("data_center" | "datacenter" | "server" | "dc") => Ok(JiraDeployment::DataCenter),
        Some(other) => Err(PyValueError::new_err(format!(
            "deployment must be \"cloud\" or \"data_center\", not {other:?}"
        ))),
    }
}

/// A Jira Cloud or Data Center client. Get one as `Workspace.jira`, or build one directly.
#[pyclass(module = "qapms", name = "JiraClient", frozen)]
pub(crate) struct JiraClient {
    jira: Jira,
    site: Arc<Option<url::Url>>,
}

impl JiraClient {
    pub(crate) fn new(jira: Jira, base_url: &str) -> Self {
        Self {
            jira,
            site: Arc::new(url::Url::parse(base_url).ok()),
        }
    }

    fn issue_obj(&self, issue: Issue) -> PyIssue {
        PyIssue {
            inner: issue,
            site: self.site.clone(),
        }
    }
}

#[pymethods]
impl JiraClient {
    /// A client for the site at `base_url`.
    ///
    /// Give `email` and `api_token` for Basic auth (Cloud), or `token` for a personal access
    /// token (Data Center). `deployment` is `"cloud"` (REST v3, ADF) or `"data_center"` (REST
    /// v2, wiki text).
    #[new]
    #[pyo3(signature = (base_url, *, email=None, api_token=None, token=None, deployment=None, timeout=None))]
    fn py_new(
        base_url: &str,
        email: Option<String>,
        api_token: Option<String>,
        token: Option<String>,
        deployment: Option<&str>,
        timeout: Option<f64>,
    ) -> PyResult<Self> {
        let mut builder = Jira::builder(base_url).deployment(self::deployment(deployment)?);
        builder = match (email, api_token, token) {
            (Some(email), Some(api_token), None) => {
                builder.basic_auth(email, SecretString::from(api_token))
            }
            (None, None, Some(token)) => builder.bearer_auth(SecretString::from(token)),
            (None, None, None) => builder,
            _ => {
                return Err(PyTypeError::new_err(
                    "give either email and api_token (Basic) or token (Bearer), not a mix",
                ));
            }
        };
        if let Some(seconds) = timeout {
            if !(seconds.is_finite() && seconds > 0.0) {
                return Err(PyValueError::new_err(
                    "timeout must be a positive number of seconds",
                ));
            }
            builder = builder.timeout(Some(std::time::Duration::from_secs_f64(seconds)));
        }
        let jira = builder.build().map_err(PyQapmsError::from)?;
        Ok(Self::new(jira, base_url))
    }

    /// `"cloud"` or `"data_center"`.
    #[getter]
    fn deployment(&self) -> &'static str {
        match self.jira.deployment() {
            JiraDeployment::Cloud => "cloud",
            JiraDeployment::DataCenter => "data_center",
        }
    }

    /// One issue by key. `fields` names the fields to fetch; by default those qapms shows.
    #[pyo3(signature = (key, fields=None))]
    fn issue(&self, py: Python<'_>, key: &str, fields: Option<Vec<String>>) -> PyResult<PyIssue> {
        let key = issue_key(key)?;
        let jira = self.jira.clone();
        let issue = runtime::block_on(py, async move { get_issue(&jira, &key, fields).await })?;
        Ok(self.issue_obj(issue))
    }

    /// `issue()` as an awaitable.
    #[pyo3(signature = (key, fields=None))]
    fn async_issue<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        fields: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let key = issue_key(key)?;
        let jira = self.jira.clone();
        let site = self.site.clone();
        runtime::awaitable(py, async move {
            let inner = get_issue(&jira, &key, fields).await?;
            Ok(PyIssue { inner, site })
        })
    }

    /// Every issue a JQL query matches, as a lazy iterator. Pages are fetched ahead in the
    /// background; nothing is truncated (Cloud pages by `nextPageToken`, Data Center by offset).
    #[pyo3(signature = (jql, fields=None, page_size=100))]
    fn search(
        &self,
        jql: String,
        fields: Option<Vec<String>>,
        page_size: u32,
    ) -> PyResult<IssueIterator> {
        Ok(IssueIterator {
            rx: start_search(&self.jira, jql, fields, page_size)?,
            buffer: VecDeque::new(),
            done: false,
            site: self.site.clone(),
        })
    }

    /// `search()` as an async iterator: `async for issue in jira.async_search(jql)`.
    #[pyo3(signature = (jql, fields=None, page_size=100))]
    fn async_search(
        &self,
        jql: String,
        fields: Option<Vec<String>>,
        page_size: u32,
    ) -> PyResult<AsyncIssueIterator> {
        let rx = start_search(&self.jira, jql, fields, page_size)?;
        Ok(AsyncIssueIterator {
            state: Arc::new(Mutex::new(AsyncState {
                rx,
                buffer: VecDeque::new(),
                done: false,
            })),
            site: self.site.clone(),
        })
    }

    /// The signed-in user, as Jira's JSON.
    fn myself<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let jira = self.jira.clone();
        let me = runtime::block_on(py, async move {
            jira.myself()
                .await
                .map_err(|e| PyQapmsError::from(e).into())
        })?;
        to_py(py, &me)
    }

    /// `myself()` as an awaitable.
    fn async_myself<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let jira = self.jira.clone();
        runtime::awaitable(py, async move {
            let me = jira.myself().await.map_err(PyQapmsError::from)?;
            let json = serde_json::to_value(me)
                .map_err(|e| PyValueError::new_err(format!("cannot convert the user: {e}")))?;
            Ok(JsonObject(json))
        })
    }

    /// Version and deployment of the site, as Jira's JSON.
    fn server_info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let jira = self.jira.clone();
        let info = runtime::block_on(py, async move {
            jira.server_info()
                .await
                .map_err(|e| PyQapmsError::from(e).into())
        })?;
        to_py(py, &info)
    }

    /// Every project the account can browse.
    fn projects(&self, py: Python<'_>) -> PyResult<Vec<JiraProject>> {
        let jira = self.jira.clone();
        let projects = runtime::block_on(py, async move {
            jira.projects()
                .await
                .map_err(|e| PyQapmsError::from(e).into())
        })?;
        Ok(projects.into_iter().map(JiraProject::from).collect())
    }

    /// Every field definition, system and custom, as Jira's JSON.
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let jira = self.jira.clone();
        let fields = runtime::block_on(py, async move {
            jira.fields()
                .await
                .map_err(|e| PyQapmsError::from(e).into())
        })?;
        to_py(py, &fields)
    }

    /// Every comment on an issue, oldest first.
    fn comments(&self, py: Python<'_>, key: &str) -> PyResult<Vec<JiraComment>> {
        let key = issue_key(key)?;
        let jira = self.jira.clone();
        let comments = runtime::block_on(py, async move {
            jira.issues()
                .comments(&key)
                .await
                .map_err(|e| PyQapmsError::from(e).into())
        })?;
        Ok(comments.into_iter().map(JiraComment::from).collect())
    }

    /// Adds a comment written in Markdown (sent as ADF on Cloud, wiki text on Data Center).
    fn add_comment(&self, py: Python<'_>, key: &str, body: &str) -> PyResult<JiraComment> {
        let key = issue_key(key)?;
        let jira = self.jira.clone();
        let body = body.to_owned();
        let comment = runtime::block_on(py, async move {
            jira.issues()
                .add_comment(&key, &body)
                .await
                .map_err(|e| PyQapmsError::from(e).into())
        })?;
        Ok(comment.into())
    }

    /// `add_comment()` as an awaitable.
    fn async_add_comment<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        body: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let key = issue_key(key)?;
        let jira = self.jira.clone();
        runtime::awaitable(py, async move {
            let comment = jira
                .issues()
                .add_comment(&key, &body)
                .await
                .map_err(PyQapmsError::from)?;
            Ok(JiraComment::from(comment))
        })
    }

    /// The transitions available on an issue now.
    fn transitions(&self, py: Python<'_>, key: &str) -> PyResult<Vec<JiraTransition>> {
        let key = issue_key(key)?;
        let jira = self.jira.clone();
        let list = runtime::block_on(py, async move {
            jira.issues()
                .transitions(&key)
                .await
                .map_err(|e| PyQapmsError::from(e).into())
        })?;
        Ok(list.into_iter().map(JiraTransition::from).collect())
    }

    /// Moves an issue through a transition, named by id or by name (either the transition's
    /// name or the status it leads to, case-insensitively). Returns the transition's id.
    fn transition(&self, py: Python<'_>, key: &str, transition: &str) -> PyResult<String> {
        let key = issue_key(key)?;
        let jira = self.jira.clone();
        let wanted = transition.to_owned();
        runtime::block_on(py, async move {
            let id = resolve_transition(&jira, &key, &wanted).await?;
            jira.issues()
                .transition(&key, &id)
                .await
                .map_err(PyQapmsError::from)?;
            Ok(id)
        })
    }

    /// Every worklog on an issue.
    fn worklogs(&self, py: Python<'_>, key: &str) -> PyResult<Vec<JiraWorklog>> {
        let key = issue_key(key)?;
        let jira = self.jira.clone();
        let logs = runtime::block_on(py, async move {
            jira.issues()
                .worklogs(&key)
                .await
                .map_err(|e| PyQapmsError::from(e).into())
        })?;
        Ok(logs.into_iter().map(JiraWorklog::from).collect())
    }

    /// Logs `seconds` of work (at least 60) that started at `started` (an aware datetime;
    /// default: `seconds` ago), with an optional Markdown comment.
    #[pyo3(signature = (key, seconds, started=None, comment=None))]
    fn add_worklog(
        &self,
        py: Python<'_>,
        key: &str,
        seconds: u64,
        started: Option<DateTime<Utc>>,
        comment: Option<String>,
    ) -> PyResult<JiraWorklog> {
        let key = issue_key(key)?;
        let jira = self.jira.clone();
        let started = started.unwrap_or_else(|| {
            Utc::now() - chrono::Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX))
        });
        let log = runtime::block_on(py, async move {
            jira.issues()
                .add_worklog(&key, started, seconds, comment.as_deref())
                .await
                .map_err(|e| PyQapmsError::from(e).into())
        })?;
        Ok(log.into())
    }

    /// Creates an issue after checking createmeta's required fields. `description` is
    /// Markdown; `fields` holds any other field by id, as Jira's JSON.
    #[pyo3(signature = (project, issue_type, summary, description=None, fields=None))]
    fn create_issue(
        &self,
        py: Python<'_>,
        project: String,
        issue_type: String,
        summary: String,
        description: Option<String>,
        fields: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<JiraCreatedIssue> {
        let mut extra = Vec::new();
        if let Some(fields) = fields {
            for (k, v) in fields.iter() {
                let key: String = k
                    .extract()
                    .map_err(|_| PyTypeError::new_err("fields: keys must be str"))?;
                let value = py_to_json(&v, &format!("fields[{key:?}]"))?;
                extra.push((key, value));
            }
        }
        let jira = self.jira.clone();
        let created = runtime::block_on(py, async move {
            let handler = jira.issues();
            let mut create = handler.create(project, issue_type, summary);
            if let Some(description) = description {
                create = create.description(description);
            }
            for (key, value) in extra {
                create = create.field(key, value);
            }
            create
                .send()
                .await
                .map_err(|e| PyQapmsError::from(e).into())
        })?;
        Ok(created.into())
    }

    /// Calls, errors and latency of this client so far.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.jira.metrics())
    }

    fn __repr__(&self) -> String {
        let site = self
            .site
            .as_ref()
            .as_ref()
            .map_or_else(String::new, |u| u.origin().ascii_serialization());
        format!("JiraClient({site:?}, deployment={:?})", self.deployment())
    }
}

async fn get_issue(jira: &Jira, key: &IssueKey, fields: Option<Vec<String>>) -> PyResult<Issue> {
    let handler = jira.issues();
    let mut get = handler.get(key);
    if let Some(fields) = fields {
        get = get.fields(fields);
    }
    get.send().await.map_err(|e| PyQapmsError::from(e).into())
}

async fn resolve_transition(jira: &Jira, key: &IssueKey, wanted: &str) -> PyResult<String> {
    let available = jira
        .issues()
        .transitions(key)
        .await
        .map_err(PyQapmsError::from)?;
    let found = available.iter().find(|t| {
        t.id == wanted
            || t.name.eq_ignore_ascii_case(wanted)
            || t.to
                .as_ref()
                .is_some_and(|s| s.name.eq_ignore_ascii_case(wanted))
    });
    match found {
        Some(t) => Ok(t.id.clone()),
        None => {
            let names: Vec<&str> = available.iter().map(|t| t.name.as_str()).collect();
            Err(PyQapmsError::from(qapms_core::Error::invalid_input(format!(
                "{key} has no transition {wanted:?} now; available: {}",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            )))
            .into())
        }
    }
}

/// Starts the background task that runs a search and sends its pages, a batch at a time.
fn start_search(
    jira: &Jira,
    jql: String,
    fields: Option<Vec<String>>,
    page_size: u32,
) -> PyResult<mpsc::Receiver<qapms_core::Result<Vec<Issue>>>> {
    let mut search = jira.issues().search(jql).page_size(page_size);
    if let Some(fields) = fields {
        search = search.fields(fields);
    }
    let (tx, rx) = mpsc::channel(PAGES_AHEAD);
    let batch = page_size.max(1) as usize;
    runtime::get()?.spawn(async move {
        let mut pages = search.stream().ready_chunks(batch);
        while let Some(chunk) = pages.next().await {
            let mut issues = Vec::with_capacity(chunk.len());
            let mut failure = None;
            for item in chunk {
                match item {
                    Ok(issue) => issues.push(issue),
                    Err(err) => {
                        failure = Some(err);
                        break;
                    }
                }
            }
            // A closed channel means the iterator was dropped: stop fetching.
            if !issues.is_empty() && tx.send(Ok(issues)).await.is_err() {
                return;
            }
            if let Some(err) = failure {
                let _ = tx.send(Err(err)).await;
                return;
            }
        }
    });
    Ok(rx)
}

/// The issues of a search, in order. Iterating may raise any qapms error the search meets.
#[pyclass(module = "qapms", name = "IssueIterator")]
pub(crate) struct IssueIterator {
    rx: mpsc::Receiver<qapms_core::Result<Vec<Issue>>>,
    buffer: VecDeque<Issue>,
    done: bool,
    site: Arc<Option<url::Url>>,
}

#[pymethods]
impl IssueIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<PyIssue>> {
        loop {
            if let Some(issue) = self.buffer.pop_front() {
                return Ok(Some(PyIssue {
                    inner: issue,
                    site: self.site.clone(),
                }));
            }
            if self.done {
                return Ok(None);
            }
            let rx = &mut self.rx;
            let next = runtime::block_on(py, async move { Ok(rx.recv().await) })?;
            match next {
                Some(Ok(batch)) => self.buffer.extend(batch),
                Some(Err(err)) => {
                    self.done = true;
                    return Err(PyQapmsError::from(err).into());
                }
                None => self.done = true,
            }
        }
    }
}

struct AsyncState {
    rx: mpsc::Receiver<qapms_core::Result<Vec<Issue>>>,
    buffer: VecDeque<Issue>,
    done: bool,
}

/// The issues of a search, for `async for`.
#[pyclass(module = "qapms", name = "AsyncIssueIterator", frozen)]
pub(crate) struct AsyncIssueIterator {
    state: Arc<Mutex<AsyncState>>,
    site: Arc<Option<url::Url>>,
}

#[pymethods]
impl AsyncIssueIterator {
    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let state = self.state.clone();
        let site = self.site.clone();
        runtime::awaitable(py, async move {
            let mut state = state.lock().await;
            loop {
                if let Some(inner) = state.buffer.pop_front() {
                    return Ok(PyIssue { inner, site });
                }
                if state.done {
                    return Err(PyStopAsyncIteration::new_err(()));
                }
                match state.rx.recv().await {
                    Some(Ok(batch)) => state.buffer.extend(batch),
                    Some(Err(err)) => {
                        state.done = true;
                        return Err(PyQapmsError::from(err).into());
                    }
                    None => state.done = true,
                }
            }
        })
    }
}

/// A JSON value handed back from an awaitable, converted once it is back in Python.
struct JsonObject(serde_json::Value);

impl<'py> IntoPyObject<'py> for JsonObject {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        json_to_py(py, &self.0)
    }
}

fn user_name(user: Option<&User>) -> Option<String> {
    user.and_then(|u| u.display_name.clone().or_else(|| u.name.clone()))
}

/// One Jira issue with the fields that were fetched. Attributes read the core model on
/// access; a field that was not fetched reads as None (or an empty list).
#[pyclass(module = "qapms", name = "Issue", frozen)]
pub(crate) struct PyIssue {
    pub(crate) inner: Issue,
    site: Arc<Option<url::Url>>,
}

#[pymethods]
impl PyIssue {
    #[getter]
    fn key(&self) -> String {
        self.inner.key.to_string()
    }

    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }

    /// The issue's page in Jira (`…/browse/KEY`).
    #[getter]
    fn url(&self) -> Option<String> {
        let site = self.site.as_ref().as_ref()?;
        site.join(&format!("browse/{}", self.inner.key))
            .ok()
            .map(String::from)
    }

    #[getter]
    fn summary(&self) -> Option<&str> {
        self.inner.fields.summary.as_deref()
    }

    #[getter]
    fn status(&self) -> Option<&str> {
        self.inner.fields.status.as_ref().map(|s| s.name.as_str())
    }

    /// `new`, `indeterminate` or `done`.
    #[getter]
    fn status_category(&self) -> Option<&str> {
        self.inner
            .fields
            .status
            .as_ref()
            .and_then(|s| s.status_category.as_ref())
            .map(|c| c.key.as_str())
    }

    #[getter]
    fn issue_type(&self) -> Option<&str> {
        self.inner
            .fields
            .issuetype
            .as_ref()
            .map(|n| n.name.as_str())
    }

    #[getter]
    fn priority(&self) -> Option<&str> {
        self.inner.fields.priority.as_ref().map(|n| n.name.as_str())
    }

    /// The assignee's display name.
    #[getter]
    fn assignee(&self) -> Option<String> {
        user_name(self.inner.fields.assignee.as_ref())
    }

    /// The reporter's display name.
    #[getter]
    fn reporter(&self) -> Option<String> {
        user_name(self.inner.fields.reporter.as_ref())
    }

    #[getter]
    fn labels(&self) -> Vec<String> {
        self.inner.fields.labels.clone().unwrap_or_default()
    }

    #[getter]
    fn components(&self) -> Vec<String> {
        names(self.inner.fields.components.as_deref())
    }

    #[getter]
    fn fix_versions(&self) -> Vec<String> {
        names(self.inner.fields.fix_versions.as_deref())
    }

    #[getter]
    fn created(&self) -> Option<DateTime<Utc>> {
        self.inner.fields.created
    }

    #[getter]
    fn updated(&self) -> Option<DateTime<Utc>> {
        self.inner.fields.updated
    }

    /// The description as sent: an ADF dict on Cloud, wiki text on Data Center.
    #[getter]
    fn description<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.inner.fields.description {
            Some(value) => json_to_py(py, value),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// Any fetched field by id, e.g. `issue.field("customfield_10010")`, as Jira's JSON;
    /// None when it was not fetched.
    fn field<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        match self.inner.field(name) {
            Some(value) => json_to_py(py, &value),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// The whole issue as Jira sent it (`{"id", "key", "self", "fields": {...}}`).
    fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.inner.raw.to_value())
    }

    fn __repr__(&self) -> String {
        format!(
            "Issue({:?}, summary={:?}, status={:?})",
            self.inner.key.to_string(),
            self.inner.fields.summary.as_deref().unwrap_or(""),
            self.status().unwrap_or("")
        )
    }
}

fn names(list: Option<&[qapms_core::integrations::jira::models::Named]>) -> Vec<String> {
    list.unwrap_or_default()
        .iter()
        .map(|n| n.name.clone())
        .collect()
}

/// A comment on an issue.
#[pyclass(module = "qapms", name = "JiraComment", frozen)]
pub(crate) struct JiraComment(Comment);

#[pymethods]
impl JiraComment {
    #[getter]
    fn id(&self) -> &str {
        &self.0.id
    }

    /// The author's display name.
    #[getter]
    fn author(&self) -> Option<String> {
        user_name(self.0.author.as_ref())
    }

    #[getter]
    fn created(&self) -> Option<DateTime<Utc>> {
        self.0.created
    }

    #[getter]
    fn updated(&self) -> Option<DateTime<Utc>> {
        self.0.updated
    }

    /// The body as sent: an ADF dict on Cloud, wiki text on Data Center.
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.0.body)
    }

    /// The comment as Jira's JSON.
    fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.0)
    }

    fn __repr__(&self) -> String {
        format!(
            "JiraComment(id={:?}, author={:?})",
            self.0.id,
            self.author()
        )
    }
}

impl From<Comment> for JiraComment {
    fn from(c: Comment) -> Self {
        Self(c)
    }
}

/// A transition available on an issue.
#[pyclass(module = "qapms", name = "JiraTransition", frozen)]
pub(crate) struct JiraTransition(Transition);

#[pymethods]
impl JiraTransition {
    #[getter]
    fn id(&self) -> &str {
        &self.0.id
    }

    #[getter]
    fn name(&self) -> &str {
        &self.0.name
    }

    /// The status it leads to.
    #[getter]
    fn to_status(&self) -> Option<&str> {
        self.0.to.as_ref().map(|s| s.name.as_str())
    }

    /// The transition as Jira's JSON.
    fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.0)
    }

    fn __repr__(&self) -> String {
        format!(
            "JiraTransition(id={:?}, name={:?}, to_status={:?})",
            self.0.id,
            self.0.name,
            self.to_status()
        )
    }
}

impl From<Transition> for JiraTransition {
    fn from(t: Transition) -> Self {
        Self(t)
    }
}

/// Time logged on an issue.
#[pyclass(module = "qapms", name = "JiraWorklog", frozen)]
pub(crate) struct JiraWorklog(Worklog);

#[pymethods]
impl JiraWorklog {
    #[getter]
    fn id(&self) -> &str {
        &self.0.id
    }

    /// The author's display name.
    #[getter]
    fn author(&self) -> Option<String> {
        user_name(self.0.author.as_ref())
    }

    #[getter]
    fn started(&self) -> Option<DateTime<Utc>> {
        self.0.started
    }

    /// Time spent, in seconds.
    #[getter]
    fn seconds(&self) -> Option<u64> {
        self.0.time_spent_seconds
    }

    /// The worklog as Jira's JSON.
    fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.0)
    }

    fn __repr__(&self) -> String {
        format!(
            "JiraWorklog(id={:?}, seconds={:?}, started={:?})",
            self.0.id,
            self.0.time_spent_seconds,
            self.0.started.map(|s| s.to_rfc3339())
        )
    }
}

impl From<Worklog> for JiraWorklog {
    fn from(w: Worklog) -> Self {
        Self(w)
    }
}

/// A Jira project.
#[pyclass(module = "qapms", name = "JiraProject", frozen)]
pub(crate) struct JiraProject(Project);

#[pymethods]
impl JiraProject {
    #[getter]
    fn id(&self) -> &str {
        &self.0.id
    }

    #[getter]
    fn key(&self) -> &str {
        &self.0.key
    }

    #[getter]
    fn name(&self) -> &str {
        &self.0.name
    }

    /// The project as Jira's JSON.
    fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.0)
    }

    fn __repr__(&self) -> String {
        format!("JiraProject(key={:?}, name={:?})", self.0.key, self.0.name)
    }
}

impl From<Project> for JiraProject {
    fn from(p: Project) -> Self {
        Self(p)
    }
}

/// The issue `create_issue` made.
#[pyclass(module = "qapms", name = "JiraCreatedIssue", frozen, get_all)]
pub(crate) struct JiraCreatedIssue {
    id: String,
    key: String,
}

#[pymethods]
impl JiraCreatedIssue {
    fn __repr__(&self) -> String {
        format!("JiraCreatedIssue(key={:?}, id={:?})", self.key, self.id)
    }
}

impl From<CreatedIssue> for JiraCreatedIssue {
    fn from(c: CreatedIssue) -> Self {
        Self {
            id: c.id,
            key: c.key.to_string(),
        }
    }
}

/// Registers the Jira classes on the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<JiraClient>()?;
    m.add_class::<PyIssue>()?;
    m.add_class::<IssueIterator>()?;
    m.add_class::<AsyncIssueIterator>()?;
    m.add_class::<JiraComment>()?;
    m.add_class::<JiraTransition>()?;
    m.add_class::<JiraWorklog>()?;
    m.add_class::<JiraProject>()?;
    m.add_class::<JiraCreatedIssue>()?;
    Ok(())
}
