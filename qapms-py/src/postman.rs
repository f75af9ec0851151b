//! `ws.postman`: the core Postman client (API and exported collection files), as Python sees it.
//!
//! Each method is the core call plus conversion into record classes; collection lists are
//! streamed into a [`ResultIterator`] a page at a time. Secret environment values never
//! cross: Python sees that a variable is secret, not its value.

use std::future::Future;
use std::path::PathBuf;

use pyo3::prelude::*;
use qapms_core::integrations::postman::models::{
    CollectionSummary, Environment, EnvironmentSummary, Me, WorkspaceSummary,
};
use qapms_core::integrations::postman::{
    Collection, CollectionId, EnvironmentId, Postman, WorkspaceId, read_collection_file,
};
use qapms_core::integrations::{CatalogRequest, Integration as _, RequestCatalog as _};
use secrecy::SecretString;

use crate::convert::to_py;
use crate::errors::PyQapmsError;
use crate::records::{
    AsyncResultIterator, PyHealth, ReprArg as _, ResultIterator, no_nul, ready, record,
    spawn_stream, timeout,
};
use crate::runtime;

/// Collections per batch handed to Python: Postman's page size.
const BATCH: usize = 100;

fn core<T>(result: qapms_core::Result<T>) -> PyResult<T> {
    result.map_err(|e| PyQapmsError::from(e).into())
}

/// A Postman API client that also reads exported collection files (format v2.1). Get one as
/// `Workspace.postman`, or build one directly.
#[pyclass(module = "qapms", name = "PostmanClient", frozen)]
pub(crate) struct PostmanClient {
    postman: Postman,
}

impl PostmanClient {
    pub(crate) fn new(postman: Postman) -> Self {
        Self { postman }
    }

    fn me_fut(&self) -> impl Future<Output = PyResult<PostmanUser>> + Send + 'static {
        let p = self.postman.clone();
        async move { Ok(PostmanUser(core(p.me().await)?)) }
    }

    fn workspaces_fut(
        &self,
    ) -> impl Future<Output = PyResult<Vec<PostmanWorkspace>>> + Send + 'static {
        let p = self.postman.clone();
        async move {
            let list = core(p.workspaces().list().await)?;
            Ok(list.into_iter().map(PostmanWorkspace).collect())
        }
    }

    fn collection_fut(
        &self,
        id: &str,
    ) -> PyResult<impl Future<Output = PyResult<PostmanCollection>> + Send + 'static> {
        no_nul("id", id)?;
        let p = self.postman.clone();
        let id = CollectionId::new(id);
        Ok(async move { Ok(PostmanCollection(core(p.collections().get(&id).await)?)) })
    }

    fn environments_fut(
        &self,
    ) -> impl Future<Output = PyResult<Vec<PostmanEnvironmentSummary>>> + Send + 'static {
        let p = self.postman.clone();
        async move {
            let list = core(p.environments().list().await)?;
            Ok(list.into_iter().map(PostmanEnvironmentSummary).collect())
        }
    }

    fn environment_fut(
        &self,
        id: &str,
    ) -> PyResult<impl Future<Output = PyResult<PostmanEnvironment>> + Send + 'static> {
        no_nul("id", id)?;
        let p = self.postman.clone();
        let id = EnvironmentId::new(id);
        Ok(async move { Ok(PostmanEnvironment(core(p.environments().get(&id).await)?)) })
    }

    fn requests_fut(&self) -> impl Future<Output = PyResult<Vec<PostmanRequest>>> + Send + 'static {
        let p = self.postman.clone();
        async move {
            let list = core(p.requests().await)?;
            Ok(list.into_iter().map(PostmanRequest).collect())
        }
    }

    fn health_fut(&self) -> impl Future<Output = PyResult<PyHealth>> + Send + 'static {
        let p = self.postman.clone();
        async move { Ok(PyHealth(p.health().await)) }
    }

    fn list_collections(
        &self,
        workspace: Option<String>,
        name: Option<String>,
        all_workspaces: bool,
    ) -> PyResult<qapms_core::integrations::postman::ListCollections> {
        let mut list = self.postman.collections().list();
        if let Some(workspace) = workspace {
            no_nul("workspace", &workspace)?;
            list = list.workspace(WorkspaceId::new(workspace));
        }
        if all_workspaces {
            list = list.all_workspaces();
        }
        if let Some(name) = name {
            no_nul("name", &name)?;
            list = list.name(name);
        }
        Ok(list)
    }
}

#[pymethods]
impl PostmanClient {
    /// A client for the Postman API at `base_url`, with an API key (`PMAK-…`) and optionally a
    /// default workspace and exported collection files. `pace_lists=False` drops the client's
    /// own pacing to Postman's published limits (for a local mock or a raised quota).
    #[new]
    #[pyo3(signature = (base_url="https://api.getpostman.com", *, api_key=None, workspace=None, collection_files=None, timeout=None, pace_lists=true))]
    fn py_new(
        base_url: &str,
        api_key: Option<String>,
        workspace: Option<String>,
        collection_files: Option<Vec<PathBuf>>,
        timeout: Option<f64>,
        pace_lists: bool,
    ) -> PyResult<Self> {
        let mut builder = Postman::builder(base_url).timeout(self::timeout(timeout)?);
        if !pace_lists {
            builder = builder.rate_limit(None).list_rate_limit(None);
        }
        if let Some(key) = api_key {
            no_nul("api_key", &key)?;
            builder = builder.api_key(SecretString::from(key));
        }
        if let Some(workspace) = workspace {
            builder = builder.workspace(WorkspaceId::new(workspace));
        }
        if let Some(files) = collection_files {
            builder = builder.collection_files(files);
        }
        Ok(Self::new(core(builder.build())?))
    }

    /// The user the API key belongs to.
    fn me(&self, py: Python<'_>) -> PyResult<PostmanUser> {
        runtime::block_on(py, self.me_fut())
    }

    /// `me()` as an awaitable.
    fn async_me<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.me_fut())
    }

    /// Every workspace the key can see (cursor-paged until the end).
    fn workspaces(&self, py: Python<'_>) -> PyResult<Vec<PostmanWorkspace>> {
        runtime::block_on(py, self.workspaces_fut())
    }

    /// `workspaces()` as an awaitable.
    fn async_workspaces<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.workspaces_fut())
    }

    /// Collection summaries of `workspace` (default: the configured one), optionally only
    /// those named `name`, as a lazy iterator; `all_workspaces=True` ignores the default.
    #[pyo3(signature = (workspace=None, *, name=None, all_workspaces=false))]
    fn collections(
        &self,
        workspace: Option<String>,
        name: Option<String>,
        all_workspaces: bool,
    ) -> PyResult<ResultIterator> {
        let list = self.list_collections(workspace, name, all_workspaces)?;
        Ok(ResultIterator::new(spawn_stream(
            list.stream(),
            BATCH,
            PostmanCollectionSummary,
        )?))
    }

    /// `collections()` as an async iterator.
    #[pyo3(signature = (workspace=None, *, name=None, all_workspaces=false))]
    fn async_collections(
        &self,
        workspace: Option<String>,
        name: Option<String>,
        all_workspaces: bool,
    ) -> PyResult<AsyncResultIterator> {
        let list = self.list_collections(workspace, name, all_workspaces)?;
        Ok(AsyncResultIterator::new(spawn_stream(
            list.stream(),
            BATCH,
            PostmanCollectionSummary,
        )?))
    }

    /// A whole collection by id or uid.
    fn collection(&self, py: Python<'_>, id: &str) -> PyResult<PostmanCollection> {
        runtime::block_on(py, self.collection_fut(id)?)
    }

    /// `collection()` as an awaitable.
    fn async_collection<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.collection_fut(id)?)
    }

    /// Every environment of the workspace (without values).
    fn environments(&self, py: Python<'_>) -> PyResult<Vec<PostmanEnvironmentSummary>> {
        runtime::block_on(py, self.environments_fut())
    }

    /// `environments()` as an awaitable.
    fn async_environments<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.environments_fut())
    }

    /// One environment with its variables; secret values are not handed over.
    fn environment(&self, py: Python<'_>, id: &str) -> PyResult<PostmanEnvironment> {
        runtime::block_on(py, self.environment_fut(id)?)
    }

    /// `environment()` as an awaitable.
    fn async_environment<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.environment_fut(id)?)
    }

    /// Every request of every collection (API workspace, then configured files), flattened
    /// with its folder path, as a lazy iterator.
    fn requests(&self, py: Python<'_>) -> PyResult<ResultIterator> {
        let list = runtime::block_on(py, self.requests_fut())?;
        Ok(ResultIterator::new(ready(list)))
    }

    /// `requests()` as an awaitable that yields the list.
    fn async_requests<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.requests_fut())
    }

    /// A cheap authenticated call (`/me`), or without a key, whether every file reads.
    fn health(&self, py: Python<'_>) -> PyResult<PyHealth> {
        runtime::block_on(py, self.health_fut())
    }

    /// `health()` as an awaitable.
    fn async_health<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.health_fut())
    }

    /// Calls, errors and latency of this client so far.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.postman.metrics())
    }

    fn __repr__(&self) -> String {
        format!("PostmanClient({})", self.postman.endpoint().repr_arg())
    }
}

/// Reads an exported collection file (format v2.1).
#[pyfunction]
pub(crate) fn read_collection(py: Python<'_>, path: PathBuf) -> PyResult<PostmanCollection> {
    runtime::block_on(py, async move {
        Ok(PostmanCollection(core(read_collection_file(&path).await)?))
    })
}

/// `read_collection()` as an awaitable.
#[pyfunction]
pub(crate) fn async_read_collection(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    runtime::awaitable(py, async move {
        Ok(PostmanCollection(core(read_collection_file(&path).await)?))
    })
}

record! {
    /// The Postman user an API key belongs to.
    PostmanUser as "PostmanUser" wraps Me;
    repr(id, username);
    fn id(&self) -> u64 { self.0.user.id }
    fn username(&self) -> Option<String> { self.0.user.username.clone() }
    fn email(&self) -> Option<String> { self.0.user.email.clone() }
    fn full_name(&self) -> Option<String> { self.0.user.full_name.clone() }
    fn team_name(&self) -> Option<String> { self.0.user.team_name.clone() }
}

record! {
    /// A Postman workspace as listed.
    PostmanWorkspace as "PostmanWorkspace" wraps WorkspaceSummary;
    repr(id, name, kind);
    fn id(&self) -> String { self.0.id.to_string() }
    fn name(&self) -> String { self.0.name.clone() }
    /// `personal` or `team`.
    fn kind(&self) -> Option<String> { self.0.kind.clone() }
    fn visibility(&self) -> Option<String> { self.0.visibility.clone() }
    fn updated_at(&self) -> Option<chrono::DateTime<chrono::Utc>> { self.0.updated_at }
}

record! {
    /// A collection as listed (without its requests); `collection(c.uid or c.id)` fetches it.
    PostmanCollectionSummary as "PostmanCollectionSummary" wraps CollectionSummary;
    repr(id, name);
    fn id(&self) -> String { self.0.id.clone() }
    fn name(&self) -> String { self.0.name.clone() }
    /// `owner-id`: what other Postman endpoints and links use.
    fn uid(&self) -> Option<String> { self.0.uid.as_ref().map(ToString::to_string) }
    fn owner(&self) -> Option<String> { self.0.owner.clone() }
    fn created_at(&self) -> Option<chrono::DateTime<chrono::Utc>> { self.0.created_at }
    fn updated_at(&self) -> Option<chrono::DateTime<chrono::Utc>> { self.0.updated_at }
}

record! {
    /// A whole collection (format v2.1), from the API or a file.
    PostmanCollection as "PostmanCollection" wraps Collection;
    repr(name, id);
    fn name(&self) -> String { self.0.info.name.clone() }
    /// The collection's `_postman_id`, when it has one.
    fn id(&self) -> Option<String> { self.0.info.postman_id.clone() }
    fn uid(&self) -> Option<String> { self.0.info.uid.clone() }
    extra {
        /// Every request, depth first in collection order, with its folder path.
        fn requests(&self) -> Vec<PostmanRequest> {
            self.0.flatten().into_iter().map(PostmanRequest).collect()
        }
    }
}

record! {
    /// One request of a collection, flattened with its folder path. Variables stay as
    /// written (`{{baseUrl}}`).
    PostmanRequest as "PostmanRequest" wraps CatalogRequest;
    repr(method, name, url);
    /// A stable id: the request's own, else derived from collection and path.
    fn id(&self) -> String { self.0.id.to_string() }
    fn name(&self) -> String { self.0.name.clone() }
    /// Upper-case, e.g. `GET`.
    fn method(&self) -> String { self.0.method.clone() }
    /// The raw URL.
    fn url(&self) -> String { self.0.url.raw.clone() }
    /// The `{{variables}}` the URL uses, in order of first use.
    fn url_variables(&self) -> Vec<String> { self.0.url.variables.clone() }
    /// `(key, value)` query pairs in order, disabled ones left out.
    fn query(&self) -> Vec<(String, String)> { self.0.url.query.clone() }
    /// The collection it came from, by name.
    fn collection(&self) -> String { self.0.collection.clone() }
    fn collection_id(&self) -> Option<String> { self.0.collection_id.clone() }
    /// Folder names from the collection root down to the request's folder.
    fn folder_path(&self) -> Vec<String> { self.0.folder_path.clone() }
    fn description(&self) -> Option<String> { self.0.description.clone() }
    fn pre_request_script(&self) -> Option<String> { self.0.pre_request_script.clone() }
    fn test_script(&self) -> Option<String> { self.0.test_script.clone() }
    extra {
        /// The request as JSON.
        fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            to_py(py, &self.0)
        }
    }
}

record! {
    /// An environment as listed (without values).
    PostmanEnvironmentSummary as "PostmanEnvironmentSummary" wraps EnvironmentSummary;
    repr(id, name);
    fn id(&self) -> String { self.0.id.clone() }
    fn name(&self) -> String { self.0.name.clone() }
    fn uid(&self) -> Option<String> { self.0.uid.as_ref().map(ToString::to_string) }
    fn owner(&self) -> Option<String> { self.0.owner.clone() }
    fn updated_at(&self) -> Option<chrono::DateTime<chrono::Utc>> { self.0.updated_at }
}

record! {
    /// An environment with its variables.
    PostmanEnvironment as "PostmanEnvironment" wraps Environment;
    repr(id, name);
    fn id(&self) -> String { self.0.id.clone() }
    fn name(&self) -> String { self.0.name.clone() }
    /// Enabled plain variables as a dict; secret ones are left out (see `secret_keys`).
    fn values(&self) -> std::collections::BTreeMap<String, String> {
        self.0
            .values
            .iter()
            .filter(|v| v.enabled && !v.is_secret())
            .map(|v| (v.key.clone(), v.value.clone().unwrap_or_default()))
            .collect()
    }
    /// Names of the secret variables, whose values never reach Python.
    fn secret_keys(&self) -> Vec<String> {
        self.0.values.iter().filter(|v| v.is_secret()).map(|v| v.key.clone()).collect()
    }
}

/// Registers the Postman classes and functions on the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PostmanClient>()?;
    m.add_class::<PostmanUser>()?;
    m.add_class::<PostmanWorkspace>()?;
    m.add_class::<PostmanCollectionSummary>()?;
    m.add_class::<PostmanCollection>()?;
    m.add_class::<PostmanRequest>()?;
    m.add_class::<PostmanEnvironmentSummary>()?;
    m.add_class::<PostmanEnvironment>()?;
    m.add_function(wrap_pyfunction!(read_collection, m)?)?;
    m.add_function(wrap_pyfunction!(async_read_collection, m)?)?;
    Ok(())
}
