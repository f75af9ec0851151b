//! Search and patterns from Python: `ws.search(query, source=...)`, `ws.related(key)`, and
//! `ws.patterns` (flaky tests, failure clusters, alerts, the persisted recompute).
//!
//! The search index is the one the CLI uses (`search.index_dir`, default `<data_dir>/index`);
//! it is opened once per workspace, rebuilt from the store first when it is missing or stale.
//! `flaky()` and `clusters()` recompute over every stored attempt without writing, as
//! `qapms patterns report` does, so what they return is always current.

use std::future::Future;
use std::path::PathBuf;
use std::str::FromStr as _;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use pyo3::prelude::*;
use qapms_core::model::{IssueKey, PageRequest, RunId};
use qapms_core::patterns::alerts::{
    Alert, AlertAction, AlertFilter, AlertId, AlertKind, AlertSeverity, AlertState,
};
use qapms_core::patterns::analyze::{
    Analysis, AnalyzeOptions, ClusterReport, TestFlakiness, analyze,
};
use qapms_core::search::{
    Grouping, RelatedItems, SearchHit, SearchIndex, SearchRequest, SearchResults,
};

use crate::convert::to_py;
use crate::errors::PyQapmsError;
use crate::records::{invalid, no_nul, record};
use crate::runtime;
use crate::workspace::Inner;

fn core<T>(result: qapms_core::Result<T>) -> PyResult<T> {
    result.map_err(|e| PyQapmsError::from(e).into())
}

/// The index directory the CLI uses too.
fn index_dir(inner: &Inner) -> PyResult<PathBuf> {
    let config = &inner.loaded.config.search;
    Ok(match &config.index_dir {
        Some(dir) => std::env::current_dir()?.join(dir),
        None => inner.loaded.paths.data_dir.join("index"),
    })
}

/// The workspace's index, opened (and if need be rebuilt) on first use, and caught up with
/// the clusters and workflows that analysis and workflow actions changed since (a couple of
/// small store reads when nothing did).
pub(crate) async fn index(inner: &Inner) -> PyResult<Arc<SearchIndex>> {
    let dir = index_dir(inner)?;
    let fuzzy = inner.loaded.config.search.fuzzy_max_distance;
    let index = inner
        .search
        .get_or_try_init(|| async {
            let (index, _status) = SearchIndex::open(&dir, inner.store.as_ref(), &|_| {})
                .await
                .map_err(PyQapmsError::from)?;
            Ok::<_, PyErr>(Arc::new(index.with_fuzzy_distance(fuzzy)))
        })
        .await?;
    if let Err(err) = index.catch_up(inner.store.as_ref()).await {
        // Another process writing the index; the clusters and workflows stay as they were.
        tracing::debug!(error = %err, "search index catch-up skipped");
    }
    Ok(index.clone())
}

/// A search as Python asked for it.
pub(crate) struct Query {
    request: SearchRequest,
}

impl Query {
    pub(crate) fn new(
        inner: &Inner,
        query: String,
        sources: Vec<String>,
        limit: Option<usize>,
        offset: usize,
        group: bool,
    ) -> PyResult<Self> {
        no_nul("query", &query)?;
        let limit = limit.unwrap_or(inner.loaded.config.search.default_limit as usize);
        if limit == 0 {
            return Err(invalid("limit must be at least 1"));
        }
        Ok(Self {
            request: SearchRequest {
                sources,
                offset,
                limit,
                grouping: if group {
                    Grouping::BySource
                } else {
                    Grouping::Interleaved
                },
                ..SearchRequest::new(query)
            },
        })
    }
}

/// Runs a search; a query takes about a millisecond, so it runs inline once the index is open.
pub(crate) async fn search_fut(inner: Arc<Inner>, q: Query) -> PyResult<PySearchResults> {
    let index = index(&inner).await?;
    Ok(PySearchResults(core(index.search(&q.request))?))
}

/// What belongs to a ticket.
pub(crate) async fn related_fut(inner: Arc<Inner>, key: IssueKey) -> PyResult<PyRelated> {
    let index = index(&inner).await?;
    Ok(PyRelated(core(index.related(&key))?))
}

/// Rebuilds the index from the store, calling `progress(done, total)` after each page.
pub(crate) async fn reindex_fut(inner: Arc<Inner>, progress: Option<Py<PyAny>>) -> PyResult<u64> {
    let index = index(&inner).await?;
    let report = move |p: qapms_core::search::IndexProgress| {
        if let Some(cb) = &progress {
            Python::attach(|py| {
                if let Err(err) = cb.call1(py, (p.done, p.total)) {
                    err.write_unraisable(py, Some(cb.bind(py)));
                }
            });
        }
    };
    core(index.rebuild(inner.store.as_ref(), &report).await)
}

record! {
    /// One search hit: a ticket, test case, request, saved search, report or cluster.
    PySearchHit as "SearchHit" wraps SearchHit;
    repr(source, key, title, score);
    /// `jira`, `testmo`, `postman`, `pytest`, `junit`, `splunk`, `workflow` or `cluster`.
    fn source(&self) -> String { self.0.source.clone() }
    /// `ticket`, `case`, `request`, `cluster`, …
    fn doc_type(&self) -> String { self.0.doc_type.clone() }
    /// The id people use: `PAY-12`, `C1234`, a request id.
    fn key(&self) -> String { self.0.key.clone() }
    fn title(&self) -> String { self.0.title.clone() }
    fn project(&self) -> Option<String> { self.0.project.clone() }
    fn status(&self) -> Option<String> { self.0.status.clone() }
    fn tags(&self) -> Vec<String> { self.0.tags.clone() }
    /// Keys this item links to (tickets, mostly).
    fn links(&self) -> Vec<String> { self.0.links.clone() }
    fn url(&self) -> Option<String> { self.0.url.clone() }
    fn updated_at(&self) -> Option<DateTime<Utc>> { self.0.updated_at }
    fn score(&self) -> f64 { f64::from(self.0.score) }
    /// `text`, `exact_key`, `fuzzy_key`, `typo` or `linked`.
    fn matched(&self) -> String {
        serde_json::to_value(self.0.matched)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
    /// The body snippet with matches wrapped in `**`, if there is one.
    fn snippet(&self) -> Option<String> {
        self.0.body_snippet.as_ref().map(|s| s.render("**", "**"))
    }
    extra {
        /// The hit as JSON.
        fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            to_py(py, &self.0)
        }
    }
}

fn hits(list: &[SearchHit]) -> Vec<PySearchHit> {
    list.iter().cloned().map(PySearchHit).collect()
}

record! {
    /// The results of a search: ranked hits (or per-source groups), near matches of keys,
    /// and notes such as "typos were tolerated".
    PySearchResults as "SearchResults" wraps SearchResults;
    repr(query, total);
    fn query(&self) -> String { self.0.query.clone() }
    /// All matches (when counted), for paging.
    fn total(&self) -> u64 { self.0.total }
    fn offset(&self) -> usize { self.0.offset }
    fn limit(&self) -> usize { self.0.limit }
    /// Interleaved hits, best first (empty when grouped).
    fn hits(&self) -> Vec<PySearchHit> { hits(&self.0.hits) }
    /// `source -> hits` when grouped by source.
    fn groups(&self) -> Vec<(String, Vec<PySearchHit>)> {
        self.0.groups.iter().map(|g| (g.source.clone(), hits(&g.hits))).collect()
    }
    /// Near matches of ids, keys and titles that the ranked hits do not include.
    fn fuzzy(&self) -> Vec<PySearchHit> { hits(&self.0.fuzzy) }
    fn notes(&self) -> Vec<String> { self.0.notes.clone() }
    extra {
        fn __len__(&self) -> usize {
            self.0.hits.len() + self.0.groups.iter().map(|g| g.hits.len()).sum::<usize>()
        }

        fn __iter__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
            let mut all = hits(&self.0.hits);
            for g in &self.0.groups {
                all.extend(hits(&g.hits));
            }
            let list = pyo3::types::PyList::new(py, all)?;
            Ok(list.try_iter()?.into_any().unbind())
        }
    }
}

record! {
    /// What belongs to a ticket: its test cases, requests and failure clusters, linked ones
    /// first, then the most similar.
    PyRelated as "RelatedItems" wraps RelatedItems;
    repr(ticket);
    fn ticket(&self) -> PySearchHit { PySearchHit(self.0.ticket.clone()) }
    fn test_cases(&self) -> Vec<PySearchHit> { hits(&self.0.test_cases) }
    fn requests(&self) -> Vec<PySearchHit> { hits(&self.0.requests) }
    fn clusters(&self) -> Vec<PySearchHit> { hits(&self.0.clusters) }
    /// Anything else linked or similar (Splunk searches, workflow reports).
    fn other(&self) -> Vec<PySearchHit> { hits(&self.0.other) }
}

impl crate::records::ReprArg for PySearchHit {
    fn repr_arg(&self) -> String {
        format!("SearchHit(key={})", self.0.key.repr_arg())
    }
}

/// Pattern detection over the stored results: flaky tests, failure clusters and alerts.
#[pyclass(module = "qapms", name = "Patterns", frozen)]
pub(crate) struct Patterns {
    inner: Arc<Inner>,
}

fn options(inner: &Inner, run: Option<&str>, persist: bool) -> PyResult<AnalyzeOptions> {
    let mut options = core(AnalyzeOptions::from_config(&inner.loaded.config.patterns))?;
    options.persist = persist;
    options.focus_run = run.map(|r| core(r.parse::<RunId>())).transpose()?;
    Ok(options)
}

async fn analyze_fut(inner: Arc<Inner>, options: AnalyzeOptions) -> PyResult<Analysis> {
    core(analyze(inner.store.as_ref(), &options).await)
}

fn parse_all<T>(values: &[String], what: &str, parse: fn(&str) -> Option<T>) -> PyResult<Vec<T>> {
    values
        .iter()
        .map(|v| parse(v).ok_or_else(|| invalid(format!("{what}: unknown value {v:?}"))))
        .collect()
}

fn alert_state(s: &str) -> Option<AlertState> {
    AlertState::ALL.iter().copied().find(|x| x.as_str() == s)
}

fn alert_kind(s: &str) -> Option<AlertKind> {
    AlertKind::ALL.iter().copied().find(|x| x.as_str() == s)
}

fn alert_severity(s: &str) -> Option<AlertSeverity> {
    AlertSeverity::ALL.iter().copied().find(|x| x.as_str() == s)
}

async fn alerts_fut(inner: Arc<Inner>, mut filter: AlertFilter) -> PyResult<Vec<PyAlert>> {
    let store = inner.store.as_ref();
    let mut out = Vec::new();
    filter.page = PageRequest {
        page: 1,
        page_size: 200,
    };
    loop {
        let page = core(store.list_alerts(&filter).await)?;
        let got = page.items.len();
        out.extend(page.items.into_iter().map(PyAlert));
        if got == 0 || out.len() as u64 >= page.total_items {
            return Ok(out);
        }
        filter.page.page += 1;
    }
}

async fn alert_action_fut(
    inner: Arc<Inner>,
    id: AlertId,
    action: AlertAction,
) -> PyResult<PyAlert> {
    let user = inner.user().await.ok();
    let by = user.as_ref().map(|u| u.id);
    Ok(PyAlert(core(
        inner.store.update_alert(&id, action, by.as_ref()).await,
    )?))
}

fn alert_action(action: &str, until: Option<DateTime<Utc>>) -> PyResult<AlertAction> {
    Ok(match action {
        "acknowledge" | "ack" => AlertAction::Acknowledge,
        "resolve" => AlertAction::Resolve,
        "mute" => AlertAction::Mute { until },
        "unmute" => AlertAction::Unmute,
        "reopen" => AlertAction::Reopen,
        other => {
            return Err(invalid(format!(
                "action must be acknowledge, resolve, mute, unmute or reopen, not {other:?}"
            )));
        }
    })
}

/// The filter of `alerts()`; by default the open ones (new and acknowledged).
fn alert_filter(
    states: Option<Vec<String>>,
    kinds: &[String],
    min_severity: Option<String>,
) -> PyResult<AlertFilter> {
    let mut filter = AlertFilter::open();
    if let Some(states) = states {
        filter.states = parse_all(&states, "states", alert_state)?;
    }
    filter.kinds = parse_all(kinds, "kinds", alert_kind)?;
    filter.min_severity = min_severity
        .map(|s| {
            alert_severity(&s).ok_or_else(|| invalid(format!("min_severity: unknown value {s:?}")))
        })
        .transpose()?;
    Ok(filter)
}

impl Patterns {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        Self { inner }
    }

    fn flaky_fut(
        &self,
        all: bool,
    ) -> impl Future<Output = PyResult<Vec<PyFlakyTest>>> + Send + 'static {
        let opts = options(&self.inner, None, false);
        let inner = self.inner.clone();
        async move {
            let analysis = analyze_fut(inner, opts?).await?;
            Ok(analysis
                .tests
                .into_iter()
                .filter(|t| all || t.verdict == "flaky")
                .map(PyFlakyTest)
                .collect())
        }
    }

    fn clusters_fut(
        &self,
        run: Option<&str>,
    ) -> impl Future<Output = PyResult<Vec<PyCluster>>> + Send + 'static {
        let opts = options(&self.inner, run, false);
        let inner = self.inner.clone();
        async move {
            let analysis = analyze_fut(inner, opts?).await?;
            Ok(analysis.clusters.into_iter().map(PyCluster).collect())
        }
    }

    fn analyze_fut(
        &self,
        run: Option<&str>,
        persist: bool,
    ) -> impl Future<Output = PyResult<PyAnalysis>> + Send + 'static {
        let opts = options(&self.inner, run, persist);
        let inner = self.inner.clone();
        async move { Ok(PyAnalysis(analyze_fut(inner, opts?).await?)) }
    }
}

#[pymethods]
impl Patterns {
    /// Flaky tests, most flaky first, scored from every stored attempt (retries included);
    /// `all=True` also lists tests that failed without a flaky verdict.
    #[pyo3(signature = (*, all=false))]
    fn flaky(&self, py: Python<'_>, all: bool) -> PyResult<Vec<PyFlakyTest>> {
        runtime::block_on(py, self.flaky_fut(all))
    }

    /// `flaky()` as an awaitable.
    #[pyo3(signature = (*, all=false))]
    fn async_flaky<'py>(&self, py: Python<'py>, all: bool) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.flaky_fut(all))
    }

    /// Failure clusters with their labels in `run` (default: the latest run), those in that
    /// run first, then by failures.
    #[pyo3(signature = (*, run=None))]
    fn clusters(&self, py: Python<'_>, run: Option<&str>) -> PyResult<Vec<PyCluster>> {
        runtime::block_on(py, self.clusters_fut(run))
    }

    /// `clusters()` as an awaitable.
    #[pyo3(signature = (*, run=None))]
    fn async_clusters<'py>(
        &self,
        py: Python<'py>,
        run: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.clusters_fut(run))
    }

    /// The whole recompute; with `persist=True` (as `qapms patterns analyze`) clusters,
    /// assignments, Jira links and alerts are saved in one transaction.
    #[pyo3(signature = (*, run=None, persist=true))]
    fn analyze(&self, py: Python<'_>, run: Option<&str>, persist: bool) -> PyResult<PyAnalysis> {
        runtime::block_on(py, self.analyze_fut(run, persist))
    }

    /// `analyze()` as an awaitable.
    #[pyo3(signature = (*, run=None, persist=true))]
    fn async_analyze<'py>(
        &self,
        py: Python<'py>,
        run: Option<&str>,
        persist: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.analyze_fut(run, persist))
    }

    /// Stored alerts: by default the open ones (`new`, `acknowledged`); `states`, `kinds` and
    /// `min_severity` filter them.
    #[pyo3(signature = (*, states=None, kinds=None, min_severity=None))]
    fn alerts(
        &self,
        py: Python<'_>,
        states: Option<Vec<String>>,
        kinds: Option<Vec<String>>,
        min_severity: Option<String>,
    ) -> PyResult<Vec<PyAlert>> {
        let filter = alert_filter(states, &kinds.unwrap_or_default(), min_severity)?;
        runtime::block_on(py, alerts_fut(self.inner.clone(), filter))
    }

    /// `alerts()` as an awaitable.
    #[pyo3(signature = (*, states=None, kinds=None, min_severity=None))]
    fn async_alerts<'py>(
        &self,
        py: Python<'py>,
        states: Option<Vec<String>>,
        kinds: Option<Vec<String>>,
        min_severity: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let filter = alert_filter(states, &kinds.unwrap_or_default(), min_severity)?;
        runtime::awaitable(py, alerts_fut(self.inner.clone(), filter))
    }

    /// Acts on an alert: `acknowledge`, `resolve`, `mute` (until `until`, or for good),
    /// `unmute` or `reopen`. An action its state does not allow raises `InvalidInputError`.
    #[pyo3(signature = (alert_id, action, *, until=None))]
    fn update_alert(
        &self,
        py: Python<'_>,
        alert_id: &str,
        action: &str,
        until: Option<DateTime<Utc>>,
    ) -> PyResult<PyAlert> {
        let id = core(AlertId::from_str(alert_id))?;
        runtime::block_on(
            py,
            alert_action_fut(self.inner.clone(), id, alert_action(action, until)?),
        )
    }

    /// `update_alert()` as an awaitable.
    #[pyo3(signature = (alert_id, action, *, until=None))]
    fn async_update_alert<'py>(
        &self,
        py: Python<'py>,
        alert_id: &str,
        action: &str,
        until: Option<DateTime<Utc>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = core(AlertId::from_str(alert_id))?;
        runtime::awaitable(
            py,
            alert_action_fut(self.inner.clone(), id, alert_action(action, until)?),
        )
    }

    #[expect(clippy::unused_self, reason = "Python calls it on the instance")]
    fn __repr__(&self) -> &'static str {
        "Patterns()"
    }
}

record! {
    /// One test's flakiness, from every stored attempt.
    PyFlakyTest as "FlakyTest" wraps TestFlakiness;
    repr(external_id, verdict, score);
    fn test_id(&self) -> String { self.0.test_id.to_string() }
    /// The test's name in its first system (a pytest node id, `class::name`).
    fn external_id(&self) -> String { self.0.external_id.clone() }
    /// `flaky`, `stable` or `not enough runs`.
    fn verdict(&self) -> &'static str { self.0.verdict }
    fn runs(&self) -> u64 { self.0.runs }
    fn failures(&self) -> u64 { self.0.failures }
    /// Pass/fail changes between consecutive runs.
    fn flips(&self) -> u64 { self.0.flips }
    fn passes_on_retry(&self) -> u64 { self.0.passes_on_retry }
    fn failure_rate(&self) -> f64 { self.0.failure_rate }
    fn failure_interval(&self) -> (f64, f64) { self.0.failure_interval }
    /// The flakiness score in [0, 1].
    fn score(&self) -> f64 { self.0.score }
    /// Its 95% interval.
    fn score_interval(&self) -> (f64, f64) { self.0.score_interval }
}

record! {
    /// A failure cluster: failures sharing a message template and stack, with a stable id,
    /// where it occurred, its label and its Jira link.
    PyCluster as "FailureCluster" wraps ClusterReport;
    repr(key, label, failures, template);
    /// The stable pattern id (the same on every machine).
    fn id(&self) -> String { self.0.id.to_string() }
    /// The short cluster key people quote.
    fn key(&self) -> String { self.0.shape.key.to_string() }
    /// The mined message template (`<*>` where messages vary).
    fn template(&self) -> String { self.0.shape.template.clone() }
    fn exception(&self) -> Option<String> { self.0.shape.exception.clone() }
    fn failures(&self) -> u64 { self.0.failures }
    fn tests(&self) -> u64 { self.0.tests }
    fn runs(&self) -> u64 { self.0.runs }
    fn environments(&self) -> Vec<String> { self.0.environments.clone() }
    fn first_seen(&self) -> DateTime<Utc> { self.0.first_seen }
    fn last_seen(&self) -> DateTime<Utc> { self.0.last_seen }
    /// Seen for the first time in the focus run.
    fn new_in_run(&self) -> bool { self.0.new_in_run }
    fn in_run(&self) -> bool { self.0.in_run }
    /// `systemic`, `recurring_defect`, `flaky` or `one_off`.
    fn label(&self) -> &'static str { self.0.classification.label.as_str() }
    /// Why it got its label.
    fn reason(&self) -> String { self.0.classification.reason.clone() }
    /// The Jira key of a known-issue rule that matched: the failures are expected.
    fn known_issue(&self) -> Option<String> { self.0.known_issue.as_ref().map(ToString::to_string) }
    /// The linked Jira issue, if one was found.
    fn ticket(&self) -> Option<String> { self.0.link.as_ref().map(|l| l.issue.to_string()) }
    extra {
        /// The cluster as JSON (evidence, frames, sample tests included).
        fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            to_py(py, &self.0)
        }
    }
}

record! {
    /// A stored alert.
    PyAlert as "Alert" wraps Alert;
    repr(kind, state, severity, title);
    fn id(&self) -> String { self.0.id.to_string() }
    fn kind(&self) -> &'static str { self.0.kind.as_str() }
    fn title(&self) -> String { self.0.title.clone() }
    fn severity(&self) -> &'static str { self.0.severity.as_str() }
    /// `new`, `acknowledged`, `resolved` or `muted`.
    fn state(&self) -> &'static str { self.0.state.as_str() }
    fn occurrences(&self) -> u64 { self.0.occurrences }
    fn first_seen(&self) -> DateTime<Utc> { self.0.first_seen }
    fn last_seen(&self) -> DateTime<Utc> { self.0.last_seen }
    fn muted_until(&self) -> Option<DateTime<Utc>> { self.0.muted_until }
    extra {
        /// The alert's evidence as JSON.
        fn evidence<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            crate::convert::json_to_py(py, &self.0.evidence)
        }
    }
}

record! {
    /// A whole recompute: counts, clusters, flakiness and the alerts raised.
    PyAnalysis as "Analysis" wraps Analysis;
    repr(runs, attempts, failures);
    fn runs(&self) -> u64 { self.0.runs }
    fn attempts(&self) -> u64 { self.0.attempts }
    fn failures(&self) -> u64 { self.0.failures }
    /// The run labels and "new" flags refer to.
    fn focus_run(&self) -> Option<String> { self.0.focus_run.map(|r| r.to_string()) }
    fn clusters(&self) -> Vec<PyCluster> { self.0.clusters.iter().cloned().map(PyCluster).collect() }
    fn tests(&self) -> Vec<PyFlakyTest> { self.0.tests.iter().cloned().map(PyFlakyTest).collect() }
    /// Attempts whose cluster assignment changed and was written.
    fn reassigned(&self) -> u64 { self.0.reassigned }
    /// Alerts raised or updated (when persisted).
    fn raised(&self) -> usize { self.0.raised.len() }
    extra {
        /// The analysis as JSON.
        fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            to_py(py, &self.0)
        }
    }
}

/// Registers the search and pattern classes on the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySearchHit>()?;
    m.add_class::<PySearchResults>()?;
    m.add_class::<PyRelated>()?;
    m.add_class::<Patterns>()?;
    m.add_class::<PyFlakyTest>()?;
    m.add_class::<PyCluster>()?;
    m.add_class::<PyAlert>()?;
    m.add_class::<PyAnalysis>()?;
    Ok(())
}
