//! `ws.grafana`: the core Grafana client (health, dashboards, annotations, datasource
//! queries), as Python sees it.
//!
//! Query results arrive decoded by the core's data-frame reader as series of
//! `(timestamps, values)`; Python gets them as `MetricSeries` records whose lists are built
//! only when read.

use std::future::Future;

use chrono::{DateTime, Utc};
use pyo3::prelude::*;
use qapms_core::integrations::grafana::models::{AnnotationRecord, DashboardWithMeta, SearchHit};
use qapms_core::integrations::grafana::{DashboardUid, Grafana};
use qapms_core::integrations::{AnnotationFilter, Integration as _, MetricSeries};
use secrecy::SecretString;

use crate::convert::{json_to_py, py_to_json, to_py};
use crate::errors::PyQapmsError;
use crate::records::{Json, PyHealth, ReprArg as _, invalid, no_nul, record, timeout};
use crate::runtime;

fn core<T>(result: qapms_core::Result<T>) -> PyResult<T> {
    result.map_err(|e| PyQapmsError::from(e).into())
}

/// What `dashboards()` filters by.
struct Search {
    query: Option<String>,
    tags: Vec<String>,
    folder: Option<String>,
    starred: bool,
    limit: Option<u32>,
}

/// What `annotate()` sends.
struct NewAnnotation {
    text: String,
    time: DateTime<Utc>,
    time_end: Option<DateTime<Utc>>,
    tags: Vec<String>,
    dashboard: Option<String>,
    panel: Option<u64>,
}

/// What `query()` sends.
struct Query {
    datasource: String,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    targets: Vec<(String, serde_json::Value)>,
    interval: Option<std::time::Duration>,
    max_data_points: Option<u32>,
}

/// A Grafana HTTP API client. Get one as `Workspace.grafana`, or build one directly.
#[pyclass(module = "qapms", name = "GrafanaClient", frozen)]
pub(crate) struct GrafanaClient {
    grafana: Grafana,
}

impl GrafanaClient {
    pub(crate) fn new(grafana: Grafana) -> Self {
        Self { grafana }
    }

    fn health_fut(&self) -> impl Future<Output = PyResult<PyHealth>> + Send + 'static {
        let g = self.grafana.clone();
        async move { Ok(PyHealth(g.health().await)) }
    }

    fn server_health_fut(&self) -> impl Future<Output = PyResult<Json>> + Send + 'static {
        let g = self.grafana.clone();
        async move { Json::of(&core(g.server_health().await)?) }
    }

    fn dashboards_fut(
        &self,
        s: Search,
    ) -> impl Future<Output = PyResult<Vec<GrafanaDashboardHit>>> + Send + 'static {
        let g = self.grafana.clone();
        async move {
            let handler = g.dashboards();
            let mut search = handler.search();
            if let Some(q) = s.query {
                search = search.query(q);
            }
            for tag in s.tags {
                search = search.tag(tag);
            }
            if let Some(folder) = s.folder {
                search = search.folder(folder);
            }
            if s.starred {
                search = search.starred();
            }
            if let Some(limit) = s.limit {
                search = search.limit(limit);
            }
            let hits = core(search.send().await)?;
            Ok(hits.into_iter().map(GrafanaDashboardHit).collect())
        }
    }

    fn dashboard_fut(
        &self,
        uid: &str,
    ) -> PyResult<impl Future<Output = PyResult<GrafanaDashboard>> + Send + 'static> {
        no_nul("uid", uid)?;
        let g = self.grafana.clone();
        let uid = DashboardUid::new(uid);
        Ok(async move { Ok(GrafanaDashboard(core(g.dashboards().get(&uid).await)?)) })
    }

    fn annotate_fut(
        &self,
        a: NewAnnotation,
    ) -> impl Future<Output = PyResult<u64>> + Send + 'static {
        let g = self.grafana.clone();
        async move {
            let handler = g.annotations();
            let mut create = handler.create(a.text, a.time).tags(a.tags);
            if let Some(end) = a.time_end {
                create = create.time_end(end);
            }
            if let Some(uid) = a.dashboard {
                create = create.dashboard(uid);
            }
            if let Some(panel) = a.panel {
                create = create.panel(panel);
            }
            core(create.send().await)
        }
    }

    fn annotations_fut(
        &self,
        filter: AnnotationFilter,
    ) -> impl Future<Output = PyResult<Vec<GrafanaAnnotation>>> + Send + 'static {
        let g = self.grafana.clone();
        async move {
            let list = core(g.annotations().list(&filter).await)?;
            Ok(list.into_iter().map(GrafanaAnnotation).collect())
        }
    }

    fn query_fut(
        &self,
        q: Query,
    ) -> impl Future<Output = PyResult<Vec<PyMetricSeries>>> + Send + 'static {
        let g = self.grafana.clone();
        async move {
            let handler = g.datasources();
            let mut query = handler.query(q.datasource, q.start, q.end);
            for (ref_id, target) in q.targets {
                query = query.target(ref_id, target);
            }
            if let Some(i) = q.interval {
                query = query.interval(i);
            }
            if let Some(n) = q.max_data_points {
                query = query.max_data_points(n);
            }
            let series = core(query.send().await)?;
            Ok(series.into_iter().map(PyMetricSeries).collect())
        }
    }
}

fn annotation(
    text: String,
    time: Option<DateTime<Utc>>,
    time_end: Option<DateTime<Utc>>,
    tags: Vec<String>,
    dashboard: Option<String>,
    panel: Option<u64>,
) -> PyResult<NewAnnotation> {
    no_nul("text", &text)?;
    let time = time.unwrap_or_else(Utc::now);
    if time_end.is_some_and(|end| end < time) {
        return Err(invalid("time_end is before time"));
    }
    Ok(NewAnnotation {
        text,
        time,
        time_end,
        tags,
        dashboard,
        panel,
    })
}

fn query(
    datasource: String,
    targets: &Bound<'_, PyAny>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    interval: Option<f64>,
    max_data_points: Option<u32>,
) -> PyResult<Query> {
    if end <= start {
        return Err(invalid("end must be after start"));
    }
    let dict = targets
        .cast::<pyo3::types::PyDict>()
        .map_err(|_| crate::records::wrong_type("targets", "a dict of refId to query dict"))?;
    let mut list = Vec::with_capacity(dict.len());
    for (k, v) in dict.iter() {
        let ref_id: String = k
            .extract()
            .map_err(|_| crate::records::wrong_type("targets keys", "str (the refId)"))?;
        list.push((
            ref_id.clone(),
            py_to_json(&v, &format!("targets[{ref_id:?}]"))?,
        ));
    }
    Ok(Query {
        datasource,
        start,
        end,
        targets: list,
        interval: timeout(interval)?,
        max_data_points,
    })
}

#[pymethods]
impl GrafanaClient {
    /// A client for Grafana at `base_url`, with a service account token.
    #[new]
    #[pyo3(signature = (base_url, *, token, timeout=None))]
    fn py_new(base_url: &str, token: &str, timeout: Option<f64>) -> PyResult<Self> {
        no_nul("token", token)?;
        let grafana = Grafana::builder(base_url)
            .token(SecretString::from(token.to_owned()))
            .timeout(self::timeout(timeout)?)
            .build();
        Ok(Self::new(core(grafana)?))
    }

    /// A cheap authenticated call, classified.
    fn health(&self, py: Python<'_>) -> PyResult<PyHealth> {
        runtime::block_on(py, self.health_fut())
    }

    /// `health()` as an awaitable.
    fn async_health<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.health_fut())
    }

    /// `GET /api/health`: database state, version and commit, as Grafana's JSON.
    fn server_health<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        runtime::block_on(py, self.server_health_fut())?.into_pyobject(py)
    }

    /// `server_health()` as an awaitable.
    fn async_server_health<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.server_health_fut())
    }

    /// Dashboards matching a text `query`, carrying every one of `tags`, in a folder, or
    /// starred.
    #[pyo3(signature = (query=None, *, tags=None, folder=None, starred=false, limit=None))]
    fn dashboards(
        &self,
        py: Python<'_>,
        query: Option<String>,
        tags: Option<Vec<String>>,
        folder: Option<String>,
        starred: bool,
        limit: Option<u32>,
    ) -> PyResult<Vec<GrafanaDashboardHit>> {
        let s = Search {
            query,
            tags: tags.unwrap_or_default(),
            folder,
            starred,
            limit,
        };
        runtime::block_on(py, self.dashboards_fut(s))
    }

    /// `dashboards()` as an awaitable.
    #[pyo3(signature = (query=None, *, tags=None, folder=None, starred=false, limit=None))]
    fn async_dashboards<'py>(
        &self,
        py: Python<'py>,
        query: Option<String>,
        tags: Option<Vec<String>>,
        folder: Option<String>,
        starred: bool,
        limit: Option<u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let s = Search {
            query,
            tags: tags.unwrap_or_default(),
            folder,
            starred,
            limit,
        };
        runtime::awaitable(py, self.dashboards_fut(s))
    }

    /// One dashboard by uid, with its panels.
    fn dashboard(&self, py: Python<'_>, uid: &str) -> PyResult<GrafanaDashboard> {
        runtime::block_on(py, self.dashboard_fut(uid)?)
    }

    /// `dashboard()` as an awaitable.
    fn async_dashboard<'py>(&self, py: Python<'py>, uid: &str) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.dashboard_fut(uid)?)
    }

    /// Marks an event (a test run, a deploy) on the timeline: at `time` (default now), or a
    /// region up to `time_end`; on one dashboard and panel, or organisation-wide. Returns the
    /// annotation's id.
    #[pyo3(signature = (text, *, time=None, time_end=None, tags=None, dashboard=None, panel=None))]
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors Grafana's annotation fields"
    )]
    fn annotate(
        &self,
        py: Python<'_>,
        text: String,
        time: Option<DateTime<Utc>>,
        time_end: Option<DateTime<Utc>>,
        tags: Option<Vec<String>>,
        dashboard: Option<String>,
        panel: Option<u64>,
    ) -> PyResult<u64> {
        let a = annotation(
            text,
            time,
            time_end,
            tags.unwrap_or_default(),
            dashboard,
            panel,
        )?;
        runtime::block_on(py, self.annotate_fut(a))
    }

    /// `annotate()` as an awaitable.
    #[pyo3(signature = (text, *, time=None, time_end=None, tags=None, dashboard=None, panel=None))]
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors Grafana's annotation fields"
    )]
    fn async_annotate<'py>(
        &self,
        py: Python<'py>,
        text: String,
        time: Option<DateTime<Utc>>,
        time_end: Option<DateTime<Utc>>,
        tags: Option<Vec<String>>,
        dashboard: Option<String>,
        panel: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let a = annotation(
            text,
            time,
            time_end,
            tags.unwrap_or_default(),
            dashboard,
            panel,
        )?;
        runtime::awaitable(py, self.annotate_fut(a))
    }

    /// Annotations between `start` and `end`, carrying every one of `tags`, of a dashboard or
    /// panel.
    #[pyo3(signature = (*, start=None, end=None, tags=None, dashboard=None, panel=None, limit=None))]
    #[expect(clippy::too_many_arguments, reason = "mirrors Grafana's filters")]
    fn annotations(
        &self,
        py: Python<'_>,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
        tags: Option<Vec<String>>,
        dashboard: Option<String>,
        panel: Option<u64>,
        limit: Option<u32>,
    ) -> PyResult<Vec<GrafanaAnnotation>> {
        let filter = AnnotationFilter {
            from: start,
            to: end,
            tags: tags.unwrap_or_default(),
            dashboard_uid: dashboard,
            panel_id: panel,
            limit,
        };
        runtime::block_on(py, self.annotations_fut(filter))
    }

    /// `annotations()` as an awaitable.
    #[pyo3(signature = (*, start=None, end=None, tags=None, dashboard=None, panel=None, limit=None))]
    #[expect(clippy::too_many_arguments, reason = "mirrors Grafana's filters")]
    fn async_annotations<'py>(
        &self,
        py: Python<'py>,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
        tags: Option<Vec<String>>,
        dashboard: Option<String>,
        panel: Option<u64>,
        limit: Option<u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let filter = AnnotationFilter {
            from: start,
            to: end,
            tags: tags.unwrap_or_default(),
            dashboard_uid: dashboard,
            panel_id: panel,
            limit,
        };
        runtime::awaitable(py, self.annotations_fut(filter))
    }

    /// Runs datasource queries (`targets` maps refId to the datasource's query JSON) over
    /// `[start, end]` and returns every series, decoded from Grafana's data frames.
    /// `datasource` is a configured datasource name or a datasource uid.
    #[pyo3(signature = (datasource, targets, *, start, end, interval=None, max_data_points=None))]
    #[expect(clippy::too_many_arguments, reason = "mirrors Grafana's query body")]
    fn query(
        &self,
        py: Python<'_>,
        datasource: String,
        targets: &Bound<'_, PyAny>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        interval: Option<f64>,
        max_data_points: Option<u32>,
    ) -> PyResult<Vec<PyMetricSeries>> {
        let q = query(datasource, targets, start, end, interval, max_data_points)?;
        runtime::block_on(py, self.query_fut(q))
    }

    /// `query()` as an awaitable.
    #[pyo3(signature = (datasource, targets, *, start, end, interval=None, max_data_points=None))]
    #[expect(clippy::too_many_arguments, reason = "mirrors Grafana's query body")]
    fn async_query<'py>(
        &self,
        py: Python<'py>,
        datasource: String,
        targets: &Bound<'_, PyAny>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        interval: Option<f64>,
        max_data_points: Option<u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let q = query(datasource, targets, start, end, interval, max_data_points)?;
        runtime::awaitable(py, self.query_fut(q))
    }

    /// Calls, errors and latency of this client so far.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.grafana.metrics())
    }

    fn __repr__(&self) -> String {
        format!("GrafanaClient({})", self.grafana.endpoint().repr_arg())
    }
}

record! {
    /// A dashboard (or folder) as the search lists it.
    GrafanaDashboardHit as "GrafanaDashboardHit" wraps SearchHit;
    repr(uid, title);
    fn uid(&self) -> String { self.0.uid.to_string() }
    fn title(&self) -> String { self.0.title.clone() }
    fn url(&self) -> Option<String> { self.0.url.clone() }
    /// `dash-db` or `dash-folder`.
    fn kind(&self) -> Option<String> { self.0.kind.clone() }
    fn tags(&self) -> Vec<String> { self.0.tags.clone() }
    fn is_starred(&self) -> bool { self.0.is_starred }
    fn folder_uid(&self) -> Option<String> { self.0.folder_uid.clone() }
    fn folder_title(&self) -> Option<String> { self.0.folder_title.clone() }
}

record! {
    /// A dashboard with its panels and metadata.
    GrafanaDashboard as "GrafanaDashboard" wraps DashboardWithMeta;
    repr(uid, title, version);
    fn uid(&self) -> String { self.0.dashboard.uid.to_string() }
    fn title(&self) -> String { self.0.dashboard.title.clone() }
    fn tags(&self) -> Vec<String> { self.0.dashboard.tags.clone() }
    fn version(&self) -> Option<u64> { self.0.dashboard.version }
    /// `(panel id, title)` of every panel, rows' panels included.
    fn panels(&self) -> Vec<(u64, String)> {
        self.0.dashboard.panels.iter().map(|p| (p.id, p.title.clone())).collect()
    }
    fn url(&self) -> Option<String> { self.0.meta.url.clone() }
    fn folder_title(&self) -> Option<String> { self.0.meta.folder_title.clone() }
    extra {
        /// The dashboard model as Grafana's JSON.
        fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            json_to_py(py, &self.0.dashboard.raw)
        }
    }
}

record! {
    /// An annotation on the timeline.
    GrafanaAnnotation as "GrafanaAnnotation" wraps AnnotationRecord;
    repr(id, text, tags);
    fn id(&self) -> u64 { self.0.id }
    fn text(&self) -> String { self.0.text.clone() }
    fn tags(&self) -> Vec<String> { self.0.tags.clone() }
    /// When it starts.
    fn time(&self) -> Option<DateTime<Utc>> { DateTime::from_timestamp_millis(self.0.time) }
    /// When a region ends.
    fn time_end(&self) -> Option<DateTime<Utc>> {
        self.0.time_end.and_then(DateTime::from_timestamp_millis)
    }
    fn dashboard_uid(&self) -> Option<String> { self.0.dashboard_uid.clone() }
    fn panel_id(&self) -> Option<u64> { self.0.panel_id }
    /// Who made it.
    fn login(&self) -> Option<String> { self.0.login.clone() }
}

record! {
    /// One time series from a datasource query.
    PyMetricSeries as "MetricSeries" wraps MetricSeries;
    repr(name, labels);
    /// The display name Grafana would show, else the field name.
    fn name(&self) -> String { self.0.name.clone() }
    fn labels(&self) -> std::collections::BTreeMap<String, String> { self.0.labels.clone() }
    fn timestamps(&self) -> Vec<DateTime<Utc>> { self.0.timestamps.clone() }
    /// One per timestamp; None where the datasource had no value.
    fn values(&self) -> Vec<Option<f64>> { self.0.values.clone() }
    extra {
        fn __len__(&self) -> usize {
            self.0.values.len()
        }
    }
}

impl crate::records::ReprArg for std::collections::BTreeMap<String, String> {
    fn repr_arg(&self) -> String {
        let items: Vec<String> = self
            .iter()
            .map(|(k, v)| format!("{}: {}", k.repr_arg(), v.repr_arg()))
            .collect();
        format!("{{{}}}", items.join(", "))
    }
}

/// Registers the Grafana classes on the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<GrafanaClient>()?;
    m.add_class::<GrafanaDashboardHit>()?;
    m.add_class::<GrafanaDashboard>()?;
    m.add_class::<GrafanaAnnotation>()?;
    m.add_class::<PyMetricSeries>()?;
    Ok(())
}
