//! `ws.sync(progress=..., only=..., full=...)` and `ws.report(workflow, format=...)`.
//!
//! Sync runs `qapms_core::sync::Syncer` exactly as `qapms sync` does (same sources, same index
//! feed), so a script and the CLI leave the store in the same state. Its events reach the
//! `progress` callback as typed records (`SyncStarted`, `SyncProgress`, `SyncFinished`,
//! `SyncIndexed`), one call per stored batch, never per item.
//!
//! Stopping is the core's: Ctrl-C (or an exception raised by the callback) trips the sync's
//! [`CancelToken`], the sync stops between batches or in its current network wait, and every
//! batch already stored stays committed, so the next sync resumes from there. Only a second
//! Ctrl-C drops the sync outright (the batch in flight then rolls back). The async twin runs
//! the sync as its own task on the shared runtime; cancelling the awaitable trips the token and
//! the task winds down the same way, and its events are handed to the event loop with
//! `call_soon_threadsafe`, so the callback runs on the loop's thread like any asyncio callback.

use std::sync::{Arc, OnceLock};

use pyo3::IntoPyObjectExt as _;
use pyo3::prelude::*;
use qapms_core::model::utc_now;
use qapms_core::report;
use qapms_core::sync::{
    CancelToken, Counts, INTEGRATIONS, IndexReport, IntegrationReport, SyncEvent, SyncOptions,
    SyncOutcome, SyncReport, Syncer,
};

use crate::convert::to_py;
use crate::errors::PyQapmsError;
use crate::records::{invalid, record, wrong_type};
use crate::runtime;
use crate::workspace::Inner;

fn core<T>(result: qapms_core::Result<T>) -> PyResult<T> {
    result.map_err(|e| PyQapmsError::from(e).into())
}

/// What Python asked of a sync.
pub(crate) struct SyncRequest {
    options: SyncOptions,
    index: bool,
}

impl SyncRequest {
    /// Checks `only` (one name or a list) against the integrations qapms knows; a typo is an
    /// `InvalidInputError` here rather than a failed line in the report.
    pub(crate) fn new(only: Option<&Bound<'_, PyAny>>, full: bool, index: bool) -> PyResult<Self> {
        let names: Vec<String> = match only {
            None => Vec::new(),
            Some(v) if v.is_none() => Vec::new(),
            Some(v) => match v.extract::<String>() {
                Ok(one) => vec![one],
                Err(_) => v.extract::<Vec<String>>().map_err(|_| {
                    wrong_type("only", "an integration name or a list of integration names")
                })?,
            },
        };
        let mut only = Vec::with_capacity(names.len());
        for name in names {
            let name = name.trim().to_ascii_lowercase();
            if !INTEGRATIONS.contains(&name.as_str()) {
                return Err(invalid(format!(
                    "only: unknown integration {name:?}; known: {}",
                    INTEGRATIONS.join(", ")
                )));
            }
            if !only.contains(&name) {
                only.push(name);
            }
        }
        Ok(Self {
            options: SyncOptions {
                only,
                full,
                ..SyncOptions::default()
            },
            index,
        })
    }
}

/// The workspace's syncer, with the search index attached unless the caller declined it.
async fn syncer(inner: &Inner, request: &SyncRequest) -> PyResult<Syncer> {
    let mut syncer = Syncer::from_config(
        inner.store.clone(),
        &inner.loaded.config,
        inner.credentials(),
        None,
    )
    .options(request.options.clone());
    if syncer.integrations().is_empty() && request.options.only.is_empty() {
        return Err(PyQapmsError::from(qapms_core::Error::config(
            "no integration is configured: add one under `integrations:` in qapms.yaml",
        ))
        .into());
    }
    if request.index {
        syncer = syncer.index(crate::discover::index(inner).await?);
    }
    Ok(syncer)
}

/// A core event as the record Python sees.
fn event_object(py: Python<'_>, event: SyncEvent) -> PyResult<Py<PyAny>> {
    match event {
        SyncEvent::Started { integration } => {
            PySyncStarted(Started { integration }).into_py_any(py)
        }
        SyncEvent::Progress {
            integration,
            scope,
            counts,
        } => PySyncProgress(Progress {
            integration,
            scope,
            counts,
        })
        .into_py_any(py),
        SyncEvent::Finished { report } => PySyncFinished(report).into_py_any(py),
        SyncEvent::Indexed { upserted, deleted } => {
            PySyncIndexed(Indexed { upserted, deleted }).into_py_any(py)
        }
        SyncEvent::Embedded {
            integration,
            embedded,
            warning,
        } => PySyncEmbedded(EmbedPass {
            integration,
            embedded,
            warning,
        })
        .into_py_any(py),
    }
}

/// Runs a sync with the GIL released, calling `progress` with each event.
pub(crate) fn sync_blocking(
    py: Python<'_>,
    inner: &Inner,
    request: &SyncRequest,
    progress: Option<&Py<PyAny>>,
) -> PyResult<PySyncReport> {
    let cancel = CancelToken::new();
    // The first exception the callback raised (a KeyboardInterrupt inside it, say): it stops
    // the sync and is raised once the sync has wound down.
    let failed: OnceLock<PyErr> = OnceLock::new();
    let on_event = |event: SyncEvent| {
        let Some(callback) = progress else {
            return;
        };
        if failed.get().is_some() {
            return;
        }
        // After a Ctrl-C the batch in flight still commits and reports itself; the script has
        // asked to stop, so only the closing events (index, finish) reach its callback.
        if cancel.is_cancelled()
            && matches!(
                event,
                SyncEvent::Started { .. } | SyncEvent::Progress { .. }
            )
        {
            return;
        }
        Python::attach(|py| {
            let called = event_object(py, event).and_then(|e| callback.call1(py, (e,)));
            if let Err(err) = called {
                let _ = failed.set(err);
                cancel.cancel();
            }
        });
    };
    let report = runtime::block_on_graceful(
        py,
        async {
            let syncer = syncer(inner, request).await?;
            Ok(syncer.run(&on_event, &cancel).await)
        },
        &|| cancel.cancel(),
    );
    let report = report?;
    if let Some(err) = failed.into_inner() {
        return Err(err);
    }
    Ok(PySyncReport(report))
}

/// Trips the token when the awaitable is dropped (asyncio cancelled it, or the loop closed),
/// so the sync task stops between batches instead of running on unobserved.
struct CancelOnDrop(CancelToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// `sync()` as an awaitable: the sync is its own task, its events go to the running loop.
pub(crate) fn sync_awaitable(
    py: Python<'_>,
    inner: Arc<Inner>,
    request: SyncRequest,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'_, PyAny>> {
    // The loop of the caller: events are scheduled on it, in order, from the sync task.
    let schedule: Option<(Py<PyAny>, Py<PyAny>)> = match progress {
        None => None,
        Some(callback) => {
            let asyncio = py.import("asyncio")?;
            let event_loop = asyncio.call_method0("get_running_loop")?;
            let call_soon = event_loop.getattr("call_soon_threadsafe")?.unbind();
            Some((call_soon, callback))
        }
    };
    let rt = runtime::get()?;
    let cancel = CancelToken::new();
    let guard = CancelOnDrop(cancel.clone());
    let task = rt.spawn(async move {
        let on_event = |event: SyncEvent| {
            let Some((call_soon, callback)) = &schedule else {
                return;
            };
            Python::attach(|py| {
                let scheduled =
                    event_object(py, event).and_then(|e| call_soon.call1(py, (callback, e)));
                // A closed loop cannot take events any more; the sync itself carries on.
                if let Err(err) = scheduled {
                    tracing::debug!(error = %err, "a sync event could not reach the event loop");
                }
            });
        };
        let syncer = syncer(&inner, &request).await?;
        Ok::<_, PyErr>(syncer.run(&on_event, &cancel).await)
    });
    runtime::awaitable(py, async move {
        let _guard = guard;
        let report = task.await.map_err(|e| {
            pyo3::exceptions::PyRuntimeError::new_err(format!("the sync task failed: {e}"))
        })??;
        Ok(PySyncReport(report))
    })
}

/// Renders the report of one workflow.
pub(crate) async fn report_fut(
    inner: Arc<Inner>,
    id: qapms_core::model::WorkflowId,
    format: report::Format,
) -> PyResult<String> {
    let store = inner.store.as_ref();
    let data = core(report::workflow_data(store, &id, utc_now()).await)?;
    core(report::render_workflow(
        &report::workflow_report(&data),
        format,
    ))
}

/// `format=` as the core's report format.
pub(crate) fn report_format(format: &str) -> PyResult<report::Format> {
    core(format.parse::<report::Format>())
}

fn outcome(outcome: SyncOutcome) -> &'static str {
    match outcome {
        SyncOutcome::Ok => "ok",
        SyncOutcome::Failed => "failed",
        SyncOutcome::Cancelled => "cancelled",
    }
}

/// The fields of a `SyncStarted` event.
#[derive(Debug, Clone)]
pub(crate) struct Started {
    integration: String,
}

/// The fields of a `SyncProgress` event.
#[derive(Debug, Clone)]
pub(crate) struct Progress {
    integration: String,
    scope: String,
    counts: Counts,
}

/// The fields of a `SyncIndexed` event.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Indexed {
    upserted: u64,
    deleted: u64,
}

record! {
    /// What an integration's sync did so far (or in all).
    PySyncCounts as "SyncCounts" wraps Counts;
    repr(seen, written, unchanged, deleted);
    /// Items read from the source.
    fn seen(&self) -> u64 { self.0.seen }
    /// Items written (new or changed).
    fn written(&self) -> u64 { self.0.written }
    /// Items read but unchanged, so not written.
    fn unchanged(&self) -> u64 { self.0.unchanged }
    /// Items deleted because the source no longer has them.
    fn deleted(&self) -> u64 { self.0.deleted }
    /// Items that moved to a new key (Jira moves and key changes).
    fn renamed(&self) -> u64 { self.0.renamed }
    /// Test cases the source dropped but kept because results refer to them.
    fn kept(&self) -> u64 { self.0.kept }
    /// Scopes (projects, collections, ...) synced.
    fn scopes(&self) -> u64 { self.0.scopes }
}

record! {
    /// Sync event: an integration's sync started.
    PySyncStarted as "SyncStarted" wraps Started;
    repr(integration);
    /// `jira`, `testmo`, `postman`, `splunk` or `grafana`.
    fn integration(&self) -> String { self.0.integration.clone() }
}

record! {
    /// Sync event: a batch was stored; the integration's totals so far.
    PySyncProgress as "SyncProgress" wraps Progress;
    repr(integration, scope, counts);
    fn integration(&self) -> String { self.0.integration.clone() }
    /// The project, collection or other part of the integration the batch belongs to.
    fn scope(&self) -> String { self.0.scope.clone() }
    fn counts(&self) -> PySyncCounts { PySyncCounts(self.0.counts) }
}

record! {
    /// Sync event: an integration's sync ended (ok, failed or cancelled).
    PySyncFinished as "SyncFinished" wraps IntegrationReport;
    repr(integration, outcome);
    fn integration(&self) -> String { self.0.integration.clone() }
    /// `ok`, `failed` or `cancelled`.
    fn outcome(&self) -> &'static str { outcome(self.0.outcome) }
    /// The integration's whole report.
    fn report(&self) -> PyIntegrationSyncReport { PyIntegrationSyncReport(self.0.clone()) }
}

record! {
    /// Sync event: the search index took a set of changes.
    PySyncIndexed as "SyncIndexed" wraps Indexed;
    repr(upserted, deleted);
    fn upserted(&self) -> u64 { self.0.upserted }
    fn deleted(&self) -> u64 { self.0.deleted }
}

/// The fields of a `SyncEmbedded` event.
#[derive(Debug, Clone)]
pub(crate) struct EmbedPass {
    integration: String,
    embedded: u64,
    warning: Option<String>,
}

record! {
    /// Sync event: an embedding pass ran after an integration's batches.
    PySyncEmbedded as "SyncEmbedded" wraps EmbedPass;
    repr(integration, embedded, warning);
    fn integration(&self) -> String { self.0.integration.clone() }
    /// Documents embedded in this pass.
    fn embedded(&self) -> u64 { self.0.embedded }
    /// Why the pass stopped early (the endpoint failed); keyword search is unaffected.
    fn warning(&self) -> Option<String> { self.0.warning.clone() }
}

record! {
    /// One integration's part of a sync report.
    PyIntegrationSyncReport as "IntegrationSyncReport" wraps IntegrationReport;
    repr(integration, outcome, counts);
    fn integration(&self) -> String { self.0.integration.clone() }
    /// `ok`, `failed` or `cancelled`.
    fn outcome(&self) -> &'static str { outcome(self.0.outcome) }
    fn counts(&self) -> PySyncCounts { PySyncCounts(self.0.counts) }
    /// Why it failed, in words a user can act on.
    fn error(&self) -> Option<String> { self.0.error.clone() }
    /// How long it took, in seconds.
    fn elapsed(&self) -> f64 { self.0.elapsed_ms as f64 / 1000.0 }
}

record! {
    /// The search index's part of a sync report.
    PyIndexSyncReport as "IndexSyncReport" wraps IndexReport;
    repr(upserted, deleted, error);
    fn upserted(&self) -> u64 { self.0.upserted }
    fn deleted(&self) -> u64 { self.0.deleted }
    /// Set when an update failed: the store is current, the index lags until a reindex.
    fn error(&self) -> Option<String> { self.0.error.clone() }
}

record! {
    /// What a whole sync did: one report per integration, and the index's.
    PySyncReport as "SyncReport" wraps SyncReport;
    repr(ok, integrations);
    /// Every integration synced and the index (if any) took every change.
    fn ok(&self) -> bool { self.0.is_ok() }
    fn integrations(&self) -> Vec<PyIntegrationSyncReport> {
        self.0.integrations.iter().cloned().map(PyIntegrationSyncReport).collect()
    }
    /// None when the sync ran without the search index.
    fn index(&self) -> Option<PyIndexSyncReport> { self.0.index.clone().map(PyIndexSyncReport) }
    extra {
        /// The report as JSON (what `qapms sync --json` prints).
        fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            to_py(py, &self.0)
        }

        fn __bool__(&self) -> bool {
            self.0.is_ok()
        }
    }
}

impl crate::records::ReprArg for PySyncCounts {
    fn repr_arg(&self) -> String {
        format!(
            "SyncCounts(seen={}, written={}, deleted={})",
            self.0.seen, self.0.written, self.0.deleted
        )
    }
}

impl crate::records::ReprArg for PyIntegrationSyncReport {
    fn repr_arg(&self) -> String {
        format!(
            "IntegrationSyncReport(integration={:?}, outcome={:?})",
            self.0.integration,
            outcome(self.0.outcome)
        )
    }
}

/// Registers the sync classes on the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySyncCounts>()?;
    m.add_class::<PySyncStarted>()?;
    m.add_class::<PySyncProgress>()?;
    m.add_class::<PySyncFinished>()?;
    m.add_class::<PySyncIndexed>()?;
    m.add_class::<PySyncEmbedded>()?;
    m.add_class::<PyIntegrationSyncReport>()?;
    m.add_class::<PyIndexSyncReport>()?;
    m.add_class::<PySyncReport>()?;
    Ok(())
}
