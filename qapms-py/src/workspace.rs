//! `qapms.Workspace`: one opened configuration, its credentials and its store.
//!
//! Opening does what every front-end does at start-up, through the same core calls: find and
//! validate `qapms.yaml`, decrypt the credentials (registering them with the log redactor), and
//! open the store (applying migrations). Later capabilities (integrations, workflows, search)
//! hang off this object.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use pyo3::prelude::*;
use pyo3::types::PyType;
use qapms_core::config::{self, Env, LoadOptions, Loaded};
use qapms_core::logging::Redactor;
use qapms_core::model::{IssueKey, Role, User};
use qapms_core::secrets::{self, KeyLookup, Unlocked};
use qapms_core::store::{self, Store};

use qapms_core::integrations::grafana::Grafana;
use qapms_core::integrations::jira::Jira;
use qapms_core::integrations::postman::Postman;
use qapms_core::integrations::splunk::{SplTemplates, Splunk};
use qapms_core::integrations::testmo::Testmo;

use crate::discover::{self, Patterns, PyRelated, PySearchResults, Query};
use crate::errors::{PyQapmsError, config_error};
use crate::grafana::GrafanaClient;
use crate::jira::JiraClient;
use crate::postman::PostmanClient;
use crate::qa::{self, PyTimer, Results, TimerContext, Workflows};
use crate::runtime;
use crate::splunk::SplunkClient;
use crate::syncing::{self, PySyncReport, SyncRequest};
use crate::testmo::TestmoClient;

pub(crate) struct Inner {
    pub(crate) loaded: Loaded,
    pub(crate) store: Arc<dyn Store>,
    credentials: Unlocked,
    /// The environment the workspace was opened with (the master key for OAuth tokens).
    env: Env,
    /// Who the QA-loop calls act for; created in the store on first use.
    user_name: Option<String>,
    user: tokio::sync::OnceCell<User>,
    /// The search index, opened (and rebuilt if stale) on first search.
    pub(crate) search: tokio::sync::OnceCell<Arc<qapms_core::search::SearchIndex>>,
    /// Clients are built on first use and kept, so every caller shares one rate limiter and
    /// connection pool.
    jira: OnceLock<Py<JiraClient>>,
    postman: OnceLock<Py<PostmanClient>>,
    testmo: OnceLock<Py<TestmoClient>>,
    splunk: OnceLock<Py<SplunkClient>>,
    grafana: OnceLock<Py<GrafanaClient>>,
}

impl Inner {
    /// The acting user, created in the store (role QA) on first use.
    pub(crate) async fn user(&self) -> PyResult<User> {
        let name = self.user_name.as_deref().ok_or_else(|| {
            crate::records::invalid(
                "no user: pass Workspace.open(user=NAME) or set QAPMS_USER (or USER)",
            )
        })?;
        let user = self
            .user
            .get_or_try_init(|| async {
                store::ensure_user(self.store.as_ref(), name, Role::Qa)
                    .await
                    .map_err(PyQapmsError::from)
            })
            .await?;
        Ok(user.clone())
    }

    /// The environment the workspace was opened with.
    pub(crate) fn env(&self) -> &Env {
        &self.env
    }

    /// The unlocked credentials of the configuration (for clients built on demand).
    pub(crate) fn credentials(&self) -> &Unlocked {
        &self.credentials
    }

    /// The name the QA-loop calls act for, if one is known.
    pub(crate) fn user_name(&self) -> Option<&str> {
        self.user_name.as_deref()
    }

    /// The configured Jira project keys (for linking tests and reading branch names).
    pub(crate) fn projects(&self) -> Vec<String> {
        self.loaded
            .config
            .integrations
            .jira
            .as_ref()
            .map(|j| j.projects.iter().map(|p| p.0.clone()).collect())
            .unwrap_or_default()
    }
}

/// `source=` as one name or a list of names.
fn sources(source: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    let Some(source) = source else {
        return Ok(Vec::new());
    };
    if let Ok(one) = source.extract::<String>() {
        return Ok(vec![one]);
    }
    source
        .extract::<Vec<String>>()
        .map_err(|_| crate::records::wrong_type("source", "a source name or a list of names"))
}

/// The configuration of an integration, or the `ConfigError` saying why there is none.
fn enabled<'c, T>(
    config: Option<&'c T>,
    is_enabled: impl Fn(&T) -> bool,
    name: &str,
) -> PyResult<&'c T> {
    match config {
        Some(config) if is_enabled(config) => Ok(config),
        Some(_) => Err(PyQapmsError::from(qapms_core::Error::config(format!(
            "integrations.{name} is disabled (enabled: false)"
        )))
        .into()),
        None => Err(PyQapmsError::from(qapms_core::Error::config(format!(
            "{name} is not configured: add integrations.{name} to qapms.yaml"
        )))
        .into()),
    }
}

/// The kept client, or a new one from `build` (two threads may race; the first one is kept).
fn cached<T>(
    py: Python<'_>,
    cell: &OnceLock<Py<T>>,
    build: impl FnOnce() -> PyResult<T>,
) -> PyResult<Py<T>>
where
    T: pyo3::PyClass + Sync + Into<pyo3::PyClassInitializer<T>>,
{
    if let Some(client) = cell.get() {
        return Ok(client.clone_ref(py));
    }
    let client = Py::new(py, build()?)?;
    Ok(cell.get_or_init(|| client).clone_ref(py))
}

/// An opened qapms workspace. Use `Workspace.open()`, ideally as a context manager.
#[pyclass(module = "qapms", frozen)]
pub(crate) struct Workspace {
    inner: Arc<Inner>,
}

/// What the store reports about itself.
#[pyclass(module = "qapms", frozen, get_all)]
#[derive(Debug, Clone)]
pub(crate) struct StoreInfo {
    backend: String,
    location: String,
    schema_version: i64,
    tables: Vec<(String, i64)>,
}

#[pymethods]
impl StoreInfo {
    fn __repr__(&self) -> String {
        format!(
            "StoreInfo(backend={:?}, location={:?}, schema_version={})",
            self.backend, self.location, self.schema_version
        )
    }
}

impl From<store::StoreInfo> for StoreInfo {
    fn from(info: store::StoreInfo) -> Self {
        Self {
            backend: info.backend.to_string(),
            location: info.location,
            schema_version: info.schema_version,
            tables: info.tables,
        }
    }
}

/// What `open` found before touching the store.
struct Prepared {
    loaded: Loaded,
    credentials: Unlocked,
    env: Env,
    user_name: Option<String>,
}

/// Loads the configuration and unlocks its credentials; no I/O beyond local files.
fn prepare(
    py: Python<'_>,
    config: Option<PathBuf>,
    profile: Option<String>,
    user: Option<String>,
) -> PyResult<Prepared> {
    if let Some(name) = &user {
        crate::records::no_nul("user", name)?;
    }
    let cwd = std::env::current_dir()?;
    let env = Env::from_process_with_dotenv(&cwd).map_err(PyQapmsError::from)?;
    let user_name = user
        .or_else(|| env.get_non_empty("QAPMS_USER").map(str::to_owned))
        .or_else(|| env.get_non_empty("USER").map(str::to_owned));
    let profile = profile.or_else(|| env.get_non_empty("QAPMS_PROFILE").map(str::to_owned));
    let loaded = match config::load(&LoadOptions {
        path: config,
        profile,
        cwd,
        env: env.clone(),
    }) {
        Ok(loaded) => loaded,
        Err(errors) => {
            let diagnostics = errors.diagnostics.iter().map(Into::into).collect();
            return Err(config_error(py, &errors, diagnostics));
        }
    };
    // The Python process has no log subscriber of ours yet; the redactor still records the
    // secrets so that one installed later redacts them.
    let credentials = secrets::unlock(
        &loaded.config,
        &KeyLookup {
            env: &env,
            config_dir: &loaded.paths.config_dir,
            passphrase: None,
        },
        &Redactor::new(),
    )
    .map_err(PyQapmsError::from)?;
    Ok(Prepared {
        loaded,
        credentials,
        env,
        user_name,
    })
}

async fn open_store(prepared: Prepared) -> PyResult<Workspace> {
    let Prepared {
        loaded,
        credentials,
        env,
        user_name,
    } = prepared;
    let url = loaded.config.store.resolved_url(&loaded.paths);
    let store = store::open(&url).await.map_err(PyQapmsError::from)?;
    Ok(Workspace {
        inner: Arc::new(Inner {
            loaded,
            store,
            credentials,
            env,
            user_name,
            user: tokio::sync::OnceCell::new(),
            search: tokio::sync::OnceCell::new(),
            jira: OnceLock::new(),
            postman: OnceLock::new(),
            testmo: OnceLock::new(),
            splunk: OnceLock::new(),
            grafana: OnceLock::new(),
        }),
    })
}

#[pymethods]
impl Workspace {
    /// Opens the workspace: finds and validates qapms.yaml (or runs on defaults without one),
    /// decrypts its credentials and opens the store.
    ///
    /// `config` is the path of qapms.yaml (default: `$QAPMS_CONFIG`, else `qapms.yaml` in the
    /// working directory or a parent); `profile` the overlay to apply (default:
    /// `$QAPMS_PROFILE`); `user` who workflows, timers and recorded runs act for (default:
    /// `$QAPMS_USER`, else `$USER`). Raises `ConfigError`, `SecretError` or `StoreError`.
    #[classmethod]
    #[pyo3(signature = (config=None, profile=None, *, user=None))]
    fn open(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        config: Option<PathBuf>,
        profile: Option<String>,
        user: Option<String>,
    ) -> PyResult<Self> {
        let prepared = prepare(py, config, profile, user)?;
        runtime::block_on(py, open_store(prepared))
    }

    /// `open()` as an awaitable, for asyncio programs.
    #[classmethod]
    #[pyo3(signature = (config=None, profile=None, *, user=None))]
    fn async_open<'py>(
        _cls: &Bound<'py, PyType>,
        py: Python<'py>,
        config: Option<PathBuf>,
        profile: Option<String>,
        user: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let prepared = prepare(py, config, profile, user)?;
        runtime::awaitable(py, open_store(prepared))
    }

    /// The name workflows, timers and recorded runs act for, if one is known.
    #[getter]
    fn user(&self) -> Option<String> {
        self.inner.user_name.clone()
    }

    /// The path of the qapms.yaml in use, or None when running on defaults.
    #[getter]
    fn config_path(&self) -> Option<PathBuf> {
        self.inner.loaded.path.clone()
    }

    /// The profile overlay in use, if any.
    #[getter]
    fn profile(&self) -> Option<String> {
        self.inner.loaded.profile.clone()
    }

    /// The key paths of the credentials the configuration holds (never their values).
    #[getter]
    fn credential_paths(&self) -> Vec<String> {
        self.inner
            .credentials
            .key_paths()
            .map(str::to_owned)
            .collect()
    }

    /// The Jira client for `integrations.jira`; raises `ConfigError` when Jira is not
    /// configured or is disabled.
    #[getter]
    fn jira(&self, py: Python<'_>) -> PyResult<Py<JiraClient>> {
        let inner = &self.inner;
        cached(py, &inner.jira, || {
            let config = enabled(
                inner.loaded.config.integrations.jira.as_ref(),
                |c| c.enabled,
                "jira",
            )?;
            // OAuth tokens from `qapms auth login jira`, shared with the CLI and renewed in place.
            let lookup = KeyLookup {
                env: &inner.env,
                config_dir: &inner.loaded.paths.config_dir,
                passphrase: None,
            };
            let jira = Jira::from_config_in(
                config,
                &inner.credentials,
                None,
                &inner.loaded.paths.data_dir,
                &lookup,
            )
            .map_err(PyQapmsError::from)?;
            Ok(JiraClient::new(jira, &config.base_url))
        })
    }

    /// The Postman client for `integrations.postman`; raises `ConfigError` when Postman is not
    /// configured or is disabled.
    #[getter]
    fn postman(&self, py: Python<'_>) -> PyResult<Py<PostmanClient>> {
        let inner = &self.inner;
        cached(py, &inner.postman, || {
            let config = enabled(
                inner.loaded.config.integrations.postman.as_ref(),
                |c| c.enabled,
                "postman",
            )?;
            let postman = Postman::from_config(config, &inner.credentials, None)
                .map_err(PyQapmsError::from)?;
            Ok(PostmanClient::new(postman))
        })
    }

    /// The Testmo client for `integrations.testmo` (its first project is the default one);
    /// raises `ConfigError` when Testmo is not configured or is disabled.
    #[getter]
    fn testmo(&self, py: Python<'_>) -> PyResult<Py<TestmoClient>> {
        let inner = &self.inner;
        cached(py, &inner.testmo, || {
            let config = enabled(
                inner.loaded.config.integrations.testmo.as_ref(),
                |c| c.enabled,
                "testmo",
            )?;
            let testmo = Testmo::from_config(config, &inner.credentials, None)
                .map_err(PyQapmsError::from)?;
            Ok(TestmoClient::new(testmo, config.projects.first().copied()))
        })
    }

    /// The Splunk client for `integrations.splunk`: templates always, REST calls in `rest`
    /// mode; raises `ConfigError` when Splunk is not configured or is disabled.
    #[getter]
    fn splunk(&self, py: Python<'_>) -> PyResult<Py<SplunkClient>> {
        let inner = &self.inner;
        cached(py, &inner.splunk, || {
            let config = enabled(
                inner.loaded.config.integrations.splunk.as_ref(),
                |c| c.enabled,
                "splunk",
            )?;
            let rest = match config.mode {
                qapms_core::config::SplunkMode::Rest => Some(
                    Splunk::from_config(config, &inner.credentials, None)
                        .map_err(PyQapmsError::from)?,
                ),
                qapms_core::config::SplunkMode::Manual => None,
            };
            Ok(SplunkClient::new(rest, SplTemplates::from_config(config)))
        })
    }

    /// The Grafana client for `integrations.grafana`; raises `ConfigError` when Grafana is not
    /// configured or is disabled.
    #[getter]
    fn grafana(&self, py: Python<'_>) -> PyResult<Py<GrafanaClient>> {
        let inner = &self.inner;
        cached(py, &inner.grafana, || {
            let config = enabled(
                inner.loaded.config.integrations.grafana.as_ref(),
                |c| c.enabled,
                "grafana",
            )?;
            let grafana = Grafana::from_config(config, &inner.credentials, None)
                .map_err(PyQapmsError::from)?;
            Ok(GrafanaClient::new(grafana))
        })
    }

    /// Guided workflows: templates, `start(template, ticket)` and step control.
    #[getter]
    fn workflows(&self) -> Workflows {
        Workflows::new(self.inner.clone())
    }

    /// Test results: `import_junit`, `record_run` and test identity.
    #[getter]
    fn results(&self) -> Results {
        Results::new(self.inner.clone())
    }

    /// A context manager that runs a timer on `ticket` for the block (`with` or `async with`).
    #[pyo3(signature = (ticket=None))]
    fn timer(&self, ticket: Option<&str>) -> PyResult<TimerContext> {
        TimerContext::new(self.inner.clone(), ticket)
    }

    /// Your running timer, or None.
    fn timer_status(&self, py: Python<'_>) -> PyResult<Option<PyTimer>> {
        runtime::block_on(py, qa::timer_status_fut(self.inner.clone()))
    }

    /// `timer_status()` as an awaitable.
    fn async_timer_status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, qa::timer_status_fut(self.inner.clone()))
    }

    /// Pattern detection: `flaky()`, `clusters()`, `alerts()` and `analyze()`.
    #[getter]
    fn patterns(&self) -> Patterns {
        Patterns::new(self.inner.clone())
    }

    /// Ranked search over Jira tickets, test cases, Postman requests, Splunk searches,
    /// workflow reports and failure clusters. `source` narrows it to one source or a list;
    /// the query language takes words, "phrases", prefix*, -exclusions and filters such as
    /// `project:PAY`. Ids and keys match exactly and approximately.
    #[pyo3(signature = (query, source=None, *, limit=None, offset=0, group=false))]
    fn search(
        &self,
        py: Python<'_>,
        query: String,
        source: Option<&Bound<'_, PyAny>>,
        limit: Option<usize>,
        offset: usize,
        group: bool,
    ) -> PyResult<PySearchResults> {
        let q = Query::new(&self.inner, query, sources(source)?, limit, offset, group)?;
        runtime::block_on(py, discover::search_fut(self.inner.clone(), q))
    }

    /// `search()` as an awaitable.
    #[pyo3(signature = (query, source=None, *, limit=None, offset=0, group=false))]
    fn async_search<'py>(
        &self,
        py: Python<'py>,
        query: String,
        source: Option<&Bound<'py, PyAny>>,
        limit: Option<usize>,
        offset: usize,
        group: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let q = Query::new(&self.inner, query, sources(source)?, limit, offset, group)?;
        runtime::awaitable(py, discover::search_fut(self.inner.clone(), q))
    }

    /// What belongs to a ticket: its test cases, requests and failure clusters.
    fn related(&self, py: Python<'_>, key: &str) -> PyResult<PyRelated> {
        let key = IssueKey::parse(key).map_err(PyQapmsError::from)?;
        runtime::block_on(py, discover::related_fut(self.inner.clone(), key))
    }

    /// `related()` as an awaitable.
    fn async_related<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        let key = IssueKey::parse(key).map_err(PyQapmsError::from)?;
        runtime::awaitable(py, discover::related_fut(self.inner.clone(), key))
    }

    /// Rebuilds the search index from the store; `progress(done, total)` is called after each
    /// page. Returns the number of documents indexed.
    #[pyo3(signature = (*, progress=None))]
    fn reindex(&self, py: Python<'_>, progress: Option<Py<PyAny>>) -> PyResult<u64> {
        runtime::block_on(py, discover::reindex_fut(self.inner.clone(), progress))
    }

    /// `reindex()` as an awaitable.
    #[pyo3(signature = (*, progress=None))]
    fn async_reindex<'py>(
        &self,
        py: Python<'py>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, discover::reindex_fut(self.inner.clone(), progress))
    }

    /// Syncs the configured integrations into the store (and the search index), as
    /// `qapms sync` does, and returns what each one did.
    ///
    /// `progress(event)` is called after each stored batch with a `SyncStarted`,
    /// `SyncProgress`, `SyncFinished`, `SyncIndexed` or `SyncEmbedded`; `only` limits it to one integration
    /// or a list; `full=True` reads everything again and reconciles deletions; `index=False`
    /// leaves the search index alone. Ctrl-C, or an exception raised by `progress`, stops the
    /// sync after its current batch (everything stored so far stays, the next sync resumes)
    /// and is then raised. The GIL is released while the sync runs.
    #[pyo3(signature = (progress=None, *, only=None, full=false, index=true))]
    fn sync(
        &self,
        py: Python<'_>,
        progress: Option<Py<PyAny>>,
        only: Option<&Bound<'_, PyAny>>,
        full: bool,
        index: bool,
    ) -> PyResult<PySyncReport> {
        let request = SyncRequest::new(only, full, index)?;
        let progress = progress.filter(|p| !p.is_none(py));
        syncing::sync_blocking(py, &self.inner, &request, progress.as_ref())
    }

    /// `sync()` as an awaitable. `progress` runs on the event loop (scheduled with
    /// `call_soon_threadsafe`); cancelling the awaitable stops the sync after its current
    /// batch.
    #[pyo3(signature = (progress=None, *, only=None, full=false, index=true))]
    fn async_sync<'py>(
        &self,
        py: Python<'py>,
        progress: Option<Py<PyAny>>,
        only: Option<&Bound<'py, PyAny>>,
        full: bool,
        index: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = SyncRequest::new(only, full, index)?;
        let progress = progress.filter(|p| !p.is_none(py));
        syncing::sync_awaitable(py, self.inner.clone(), request, progress)
    }

    /// The report of a workflow (a `Workflow` or its id): time per step against the
    /// estimate, checklist, test coverage, findings, evidence and history, as `format` `md`
    /// (Markdown), `html` (self-contained), `json` or `csv`. The same text as `qapms report`.
    #[pyo3(signature = (workflow, format="md"))]
    fn report(
        &self,
        py: Python<'_>,
        workflow: qa::WorkflowArg<'_>,
        format: &str,
    ) -> PyResult<String> {
        let format = syncing::report_format(format)?;
        let id = workflow.id()?;
        runtime::block_on(py, syncing::report_fut(self.inner.clone(), id, format))
    }

    /// `report()` as an awaitable.
    #[pyo3(signature = (workflow, format="md"))]
    fn async_report<'py>(
        &self,
        py: Python<'py>,
        workflow: qa::WorkflowArg<'_>,
        format: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let format = syncing::report_format(format)?;
        let id = workflow.id()?;
        runtime::awaitable(py, syncing::report_fut(self.inner.clone(), id, format))
    }

    /// Backend, location (password removed), schema version and row counts of the store.
    fn store_info(&self, py: Python<'_>) -> PyResult<StoreInfo> {
        let store = self.inner.store.clone();
        runtime::block_on(py, async move {
            Ok(store.info().await.map_err(PyQapmsError::from)?.into())
        })
    }

    /// `store_info()` as an awaitable.
    fn async_store_info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let store = self.inner.store.clone();
        runtime::awaitable(py, async move {
            Ok(StoreInfo::from(
                store.info().await.map_err(PyQapmsError::from)?,
            ))
        })
    }

    /// Closes the store's connections. The workspace is unusable afterwards.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let store = self.inner.store.clone();
        runtime::block_on(py, async move {
            store.close().await;
            Ok(())
        })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        let path = self
            .inner
            .loaded
            .path
            .as_ref()
            .map_or_else(|| "defaults".to_owned(), |p| p.display().to_string());
        format!(
            "Workspace(config={path:?}, store={:?})",
            self.inner.store.backend().to_string()
        )
    }
}
