//! `ws.splunk`: SPL templates (manual mode) and the Splunk Enterprise REST client, as Python
//! sees them.
//!
//! Rendering a template needs no connection, so it works in both modes. Search results and
//! the export stream are core streams of rows; each row crosses as a dict (`field -> str`, or
//! a list of str for Splunk's multivalue fields), a page of rows per batch.

use std::collections::BTreeMap;
use std::future::Future;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use qapms_core::config::SplunkTemplate;
use qapms_core::integrations::splunk::{RenderedSearch, SplTemplates, Splunk};
use qapms_core::integrations::{FieldValue, Integration as _, LogRecord, TimeRange};
use secrecy::SecretString;

use crate::convert::to_py;
use crate::errors::PyQapmsError;
use crate::records::{
    AsyncResultIterator, Json, PyBatch, PyHealth, ReprArg as _, ResultIterator, no_nul, record,
    spawn_stream, timeout,
};
use crate::runtime;

/// Rows per batch handed to Python.
const BATCH: usize = 500;

fn core<T>(result: qapms_core::Result<T>) -> PyResult<T> {
    result.map_err(|e| PyQapmsError::from(e).into())
}

/// One result row on its way to Python, as a dict.
pub(crate) struct Row(LogRecord);

impl<'py> IntoPyObject<'py> for Row {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let dict = PyDict::new(py);
        for (key, value) in self.0 {
            match value {
                FieldValue::Single(text) => dict.set_item(key, text)?,
                FieldValue::Multi(items) => dict.set_item(key, PyList::new(py, items)?)?,
            }
        }
        Ok(dict.into_any())
    }
}

type Feed = tokio::sync::mpsc::Receiver<qapms_core::Result<Box<dyn PyBatch>>>;

/// Splunk: templates always, and REST search jobs and exports when connected.
#[pyclass(module = "qapms", name = "SplunkClient", frozen)]
pub(crate) struct SplunkClient {
    rest: Option<Splunk>,
    templates: SplTemplates,
}

impl SplunkClient {
    pub(crate) fn new(rest: Option<Splunk>, templates: SplTemplates) -> Self {
        Self { rest, templates }
    }

    fn rest(&self) -> PyResult<&Splunk> {
        self.rest.as_ref().ok_or_else(|| {
            PyQapmsError::from(qapms_core::Error::config(
                "Splunk is in manual mode: there is no connection; use render() for ready-to-paste SPL, or set integrations.splunk.mode: rest",
            ))
            .into()
        })
    }

    fn search_feed(
        &self,
        spl: &str,
        earliest: Option<String>,
        latest: Option<String>,
        max_count: Option<u64>,
    ) -> PyResult<Feed> {
        no_nul("spl", spl)?;
        let mut job = self
            .rest()?
            .jobs()
            .create(spl)
            .range(TimeRange { earliest, latest });
        if let Some(n) = max_count {
            job = job.max_count(n);
        }
        spawn_stream(job.rows(), BATCH, Row)
    }

    fn export_feed(
        &self,
        spl: &str,
        earliest: Option<String>,
        latest: Option<String>,
    ) -> PyResult<Feed> {
        use futures::StreamExt as _;
        no_nul("spl", spl)?;
        let export = self
            .rest()?
            .export(spl)
            .range(TimeRange { earliest, latest })
            .preview(false);
        // Without preview every row is final; preview rows are dropped should a server send any.
        let rows = export
            .stream()
            .filter_map(|row| async move {
                match row {
                    Ok(row) if row.preview => None,
                    Ok(row) => Some(Ok(row.fields)),
                    Err(e) => Some(Err(e)),
                }
            })
            .boxed();
        spawn_stream(rows, BATCH, Row)
    }

    fn server_info_fut(&self) -> PyResult<impl Future<Output = PyResult<Json>> + Send + 'static> {
        let s = self.rest()?.clone();
        Ok(async move { Json::of(&core(s.server_info().await)?) })
    }

    fn health_fut(&self) -> PyResult<impl Future<Output = PyResult<PyHealth>> + Send + 'static> {
        let s = self.rest()?.clone();
        Ok(async move { Ok(PyHealth(s.health().await)) })
    }
}

#[pymethods]
impl SplunkClient {
    /// A Splunk client. With `base_url` (the management port, `https://splunk:8089`) and a
    /// `token` or `username` and `password`, REST calls work; without, only templates render.
    /// `templates` maps names to SPL with `{param}` placeholders.
    #[new]
    #[pyo3(signature = (base_url=None, *, token=None, username=None, password=None, app=None, verify_tls=true, templates=None, timeout=None))]
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the configuration's keys"
    )]
    fn py_new(
        base_url: Option<&str>,
        token: Option<&str>,
        username: Option<String>,
        password: Option<&str>,
        app: Option<String>,
        verify_tls: bool,
        templates: Option<BTreeMap<String, String>>,
        timeout: Option<f64>,
    ) -> PyResult<Self> {
        let templates = templates
            .unwrap_or_default()
            .into_iter()
            .map(|(name, spl)| {
                (
                    name,
                    SplunkTemplate {
                        spl,
                        description: None,
                        earliest: None,
                        latest: None,
                    },
                )
            })
            .collect();
        let rest = match base_url {
            None => None,
            Some(url) => {
                let mut builder = Splunk::builder(url)
                    .verify_tls(qapms_core::config::TlsVerify::Enabled(verify_tls))
                    .timeout(self::timeout(timeout)?);
                builder = match (token, username, password) {
                    (Some(token), None, None) => {
                        no_nul("token", token)?;
                        builder.token(SecretString::from(token.to_owned()))
                    }
                    (None, Some(user), Some(password)) => {
                        no_nul("password", password)?;
                        builder.basic_auth(user, SecretString::from(password.to_owned()))
                    }
                    _ => {
                        return Err(pyo3::exceptions::PyTypeError::new_err(
                            "give either token, or username and password",
                        ));
                    }
                };
                if let Some(app) = app {
                    builder = builder.app(app);
                }
                Some(core(builder.build())?)
            }
        };
        Ok(Self::new(rest, SplTemplates::new(templates)))
    }

    /// `rest` when connected, `manual` when only templates render.
    #[getter]
    fn mode(&self) -> &'static str {
        if self.rest.is_some() {
            "rest"
        } else {
            "manual"
        }
    }

    /// The names of the configured templates.
    fn templates(&self) -> Vec<String> {
        self.templates.names().map(str::to_owned).collect()
    }

    /// The parameters a template takes, in order of first use.
    fn template_parameters(&self, name: &str) -> PyResult<Vec<String>> {
        core(self.templates.parameters(name))
    }

    /// Renders a template with `params` (each value quoted so it stays a string) and a time
    /// range; no connection needed.
    #[pyo3(signature = (template, params=None, *, earliest=None, latest=None))]
    fn render(
        &self,
        template: &str,
        params: Option<BTreeMap<String, String>>,
        earliest: Option<String>,
        latest: Option<String>,
    ) -> PyResult<SplunkSearch> {
        let params = params.unwrap_or_default();
        for value in params.values() {
            no_nul("params", value)?;
        }
        let range = TimeRange { earliest, latest };
        Ok(SplunkSearch(core(
            self.templates.render(template, &params, &range),
        )?))
    }

    /// Version and name of the server, as Splunk's JSON.
    fn server_info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let json = runtime::block_on(py, self.server_info_fut()?)?;
        json.into_pyobject(py)
    }

    /// `server_info()` as an awaitable.
    fn async_server_info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.server_info_fut()?)
    }

    /// Runs `spl` as a search job (polled until done) and iterates its result rows as dicts.
    #[pyo3(signature = (spl, *, earliest=None, latest=None, max_count=None))]
    fn search(
        &self,
        spl: &str,
        earliest: Option<String>,
        latest: Option<String>,
        max_count: Option<u64>,
    ) -> PyResult<ResultIterator> {
        Ok(ResultIterator::new(
            self.search_feed(spl, earliest, latest, max_count)?,
        ))
    }

    /// `search()` as an async iterator.
    #[pyo3(signature = (spl, *, earliest=None, latest=None, max_count=None))]
    fn async_search(
        &self,
        spl: &str,
        earliest: Option<String>,
        latest: Option<String>,
        max_count: Option<u64>,
    ) -> PyResult<AsyncResultIterator> {
        Ok(AsyncResultIterator::new(
            self.search_feed(spl, earliest, latest, max_count)?,
        ))
    }

    /// Streams `spl` through the export endpoint: rows arrive as Splunk produces them, and
    /// memory does not grow with their number.
    #[pyo3(signature = (spl, *, earliest=None, latest=None))]
    fn export(
        &self,
        spl: &str,
        earliest: Option<String>,
        latest: Option<String>,
    ) -> PyResult<ResultIterator> {
        Ok(ResultIterator::new(
            self.export_feed(spl, earliest, latest)?,
        ))
    }

    /// `export()` as an async iterator.
    #[pyo3(signature = (spl, *, earliest=None, latest=None))]
    fn async_export(
        &self,
        spl: &str,
        earliest: Option<String>,
        latest: Option<String>,
    ) -> PyResult<AsyncResultIterator> {
        Ok(AsyncResultIterator::new(
            self.export_feed(spl, earliest, latest)?,
        ))
    }

    /// A cheap authenticated call (REST mode only).
    fn health(&self, py: Python<'_>) -> PyResult<PyHealth> {
        runtime::block_on(py, self.health_fut()?)
    }

    /// `health()` as an awaitable.
    fn async_health<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.health_fut()?)
    }

    /// Calls, errors and latency of this client so far (REST mode only).
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.rest()?.metrics())
    }

    fn __repr__(&self) -> String {
        let endpoint = self
            .rest
            .as_ref()
            .map(qapms_core::integrations::Integration::endpoint);
        format!(
            "SplunkClient(mode={}, endpoint={}, templates={})",
            self.mode().repr_arg(),
            endpoint.repr_arg(),
            self.templates().len()
        )
    }
}

record! {
    /// A rendered SPL template.
    SplunkSearch as "SplunkSearch" wraps RenderedSearch;
    repr(template, pasteable);
    fn template(&self) -> String { self.0.template.clone() }
    /// The SPL with parameters filled in, without the time range.
    fn spl(&self) -> String { self.0.spl.clone() }
    fn earliest(&self) -> Option<String> { self.0.earliest.clone() }
    fn latest(&self) -> Option<String> { self.0.latest.clone() }
    /// What to paste into the search bar: the SPL with the time range inline where SPL allows.
    fn pasteable(&self) -> String { self.0.pasteable.clone() }
    /// Whether `pasteable` carries the time range; if not, set it in the time picker.
    fn time_inline(&self) -> bool { self.0.time_inline }
    extra {
        fn __str__(&self) -> String {
            self.0.pasteable.clone()
        }
    }
}

/// Registers the Splunk classes on the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SplunkClient>()?;
    m.add_class::<SplunkSearch>()?;
    Ok(())
}
