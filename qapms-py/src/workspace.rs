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
use qapms_core::secrets::{self, KeyLookup, Unlocked};
use qapms_core::store::{self, Store};

use qapms_core::integrations::jira::Jira;

use crate::errors::{PyQapmsError, config_error};
use crate::jira::JiraClient;
use crate::runtime;

struct Inner {
    loaded: Loaded,
    store: Arc<dyn Store>,
    credentials: Unlocked,
    /// Built on first use and kept, so every caller shares one rate limiter and connection pool.
    jira: OnceLock<Py<JiraClient>>,
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

/// Loads the configuration and unlocks its credentials; no I/O beyond local files.
fn prepare(
    py: Python<'_>,
    config: Option<PathBuf>,
    profile: Option<String>,
) -> PyResult<(Loaded, Unlocked)> {
    let cwd = std::env::current_dir()?;
    let env = Env::from_process_with_dotenv(&cwd).map_err(PyQapmsError::from)?;
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
    Ok((loaded, credentials))
}

async fn open_store(loaded: Loaded, credentials: Unlocked) -> PyResult<Workspace> {
    let url = loaded.config.store.resolved_url(&loaded.paths);
    let store = store::open(&url).await.map_err(PyQapmsError::from)?;
    Ok(Workspace {
        inner: Arc::new(Inner {
            loaded,
            store,
            credentials,
            jira: OnceLock::new(),
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
    /// `$QAPMS_PROFILE`). Raises `ConfigError`, `SecretError` or `StoreError`.
    #[classmethod]
    #[pyo3(signature = (config=None, profile=None))]
    fn open(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        config: Option<PathBuf>,
        profile: Option<String>,
    ) -> PyResult<Self> {
        let (loaded, credentials) = prepare(py, config, profile)?;
        runtime::block_on(py, open_store(loaded, credentials))
    }

    /// `open()` as an awaitable, for asyncio programs.
    #[classmethod]
    #[pyo3(signature = (config=None, profile=None))]
    fn async_open<'py>(
        _cls: &Bound<'py, PyType>,
        py: Python<'py>,
        config: Option<PathBuf>,
        profile: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (loaded, credentials) = prepare(py, config, profile)?;
        runtime::awaitable(py, open_store(loaded, credentials))
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
        if let Some(client) = self.inner.jira.get() {
            return Ok(client.clone_ref(py));
        }
        let config = match &self.inner.loaded.config.integrations.jira {
            Some(config) if config.enabled => config,
            Some(_) => {
                return Err(PyQapmsError::from(qapms_core::Error::config(
                    "integrations.jira is disabled (enabled: false)",
                ))
                .into());
            }
            None => {
                return Err(PyQapmsError::from(qapms_core::Error::config(
                    "Jira is not configured: add integrations.jira to qapms.yaml",
                ))
                .into());
            }
        };
        let jira =
            Jira::from_config(config, &self.inner.credentials, None).map_err(PyQapmsError::from)?;
        let client = Py::new(py, JiraClient::new(jira, &config.base_url))?;
        // Two threads may race here; both clients are equivalent and the first one is kept.
        Ok(self.inner.jira.get_or_init(|| client).clone_ref(py))
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
