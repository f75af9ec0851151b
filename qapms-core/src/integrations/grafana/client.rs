//! The Grafana client: dashboards, annotations and datasource queries.
//!
//! `Grafana` holds the shared [`HttpClient`], whose base URL is Grafana's API root (the
//! server URL plus `/api`, see [`super::config`]), so every path here is written as the
//! swagger writes it (`/search`, `/annotations`, `/ds/query`). Handlers (`dashboards()`,
//! `annotations()`, `datasources()`) hand out builders; each builder can show the request
//! body it sends, which the contract tests validate against the swagger's request schemas.
//!
//! `/api/ds/query` is a read, so it is marked idempotent and retried like a GET; creating an
//! annotation is not, so a 5xx there is reported, not resent (it might have been stored).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::config::GrafanaBuilder;
use super::error::{explain, query_failed};
use super::models::{
    AnnotationRecord, CreatedAnnotation, DashboardUid, DashboardWithMeta, HealthInfo,
    QueryResponse, SearchHit, frames_to_series,
};
use crate::config::GrafanaDatasource;
use crate::http::{HttpClient, MetricsSnapshot};
use crate::integrations::{
    Annotation, AnnotationFilter, Annotations, HealthReport, Integration, MetricQuery,
    MetricSeries, MetricSource, segment,
};
use crate::logging::Redactor;
use crate::{Error, ErrorKind, Result};

/// Search hits asked for per page (Grafana's maximum is 5000).
const SEARCH_PAGE: u32 = 1000;

/// A Grafana client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Grafana {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: HttpClient,
    datasources: BTreeMap<String, GrafanaDatasource>,
    /// Per-query error text is Grafana's (or the datasource's) own words, quoted into
    /// messages, so it passes the process redactor like HTTP error bodies do.
    redactor: Option<Redactor>,
}

impl Grafana {
    /// Starts a client for the Grafana at `base_url` (with or without the trailing `/api`).
    ///
    /// ```no_run
    /// # fn run() -> qapms_core::Result<()> {
    /// use qapms_core::integrations::grafana::Grafana;
    /// use secrecy::SecretString;
    ///
    /// let grafana = Grafana::builder("https://grafana.acme.test")
    ///     .token(SecretString::from("glsa_..."))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn builder(base_url: impl Into<String>) -> GrafanaBuilder {
        GrafanaBuilder::new(base_url)
    }

    pub(crate) fn from_parts(
        http: HttpClient,
        datasources: BTreeMap<String, GrafanaDatasource>,
        redactor: Option<Redactor>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                http,
                datasources,
                redactor,
            }),
        }
    }

    /// Call counters for the dashboard.
    ///
    /// ```no_run
    /// # fn run(grafana: qapms_core::integrations::grafana::Grafana) {
    /// let calls = grafana.metrics().calls;
    /// # }
    /// ```
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.http.metrics()
    }

    fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    /// `GET /api/health`: version and database state. Needs no credentials.
    ///
    /// ```no_run
    /// # async fn run(grafana: qapms_core::integrations::grafana::Grafana) -> qapms_core::Result<()> {
    /// let info = grafana.server_health().await?;
    /// tracing::info!("{:?} {:?}", info.version, info.database);
    /// # Ok(()) }
    /// ```
    pub async fn server_health(&self) -> Result<HealthInfo> {
        self.http()
            .get("/health")
            .operation("health")
            .json_response()
            .await
            .map_err(explain)
    }

    /// Dashboards: search and get.
    ///
    /// ```no_run
    /// # async fn run(grafana: qapms_core::integrations::grafana::Grafana) -> qapms_core::Result<()> {
    /// let hits = grafana.dashboards().search().tag("qa").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn dashboards(&self) -> DashboardHandler<'_> {
        DashboardHandler { grafana: self }
    }

    /// Annotations: create and list.
    ///
    /// ```no_run
    /// # async fn run(grafana: qapms_core::integrations::grafana::Grafana) -> qapms_core::Result<()> {
    /// let id = grafana.annotations().create("Smoke test passed", chrono::Utc::now()).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn annotations(&self) -> AnnotationHandler<'_> {
        AnnotationHandler { grafana: self }
    }

    /// Datasource queries through `/api/ds/query`.
    ///
    /// ```no_run
    /// # async fn run(grafana: qapms_core::integrations::grafana::Grafana) -> qapms_core::Result<()> {
    /// let to = chrono::Utc::now();
    /// let series = grafana
    ///     .datasources()
    ///     .query("prometheus", to - chrono::Duration::hours(1), to)
    ///     .target("A", serde_json::json!({"expr": "up"}))
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn datasources(&self) -> DatasourceHandler<'_> {
        DatasourceHandler { grafana: self }
    }

    /// The datasource uid and type for a configured name; an unknown name is taken as a uid.
    fn resolve(&self, datasource: &str) -> (String, Option<String>) {
        match self.inner.datasources.get(datasource) {
            Some(ds) => {
                let kind = serde_json::to_value(ds.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned));
                (ds.uid.clone(), kind)
            }
            None => (datasource.to_owned(), None),
        }
    }
}

fn millis(at: &DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// Dashboard operations; from [`Grafana::dashboards`].
#[derive(Debug)]
pub struct DashboardHandler<'g> {
    grafana: &'g Grafana,
}

impl<'g> DashboardHandler<'g> {
    /// A dashboard search; narrow it with the builder, run it with [`SearchDashboards::send`].
    ///
    /// ```no_run
    /// # async fn run(grafana: qapms_core::integrations::grafana::Grafana) -> qapms_core::Result<()> {
    /// let hits = grafana.dashboards().search().query("checkout").tag("prod").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn search(&self) -> SearchDashboards<'g> {
        SearchDashboards {
            grafana: self.grafana,
            query: None,
            tags: Vec::new(),
            folder_uids: Vec::new(),
            starred: false,
            include_folders: false,
            limit: None,
        }
    }

    /// One dashboard by uid, with its metadata.
    ///
    /// ```no_run
    /// # async fn run(grafana: qapms_core::integrations::grafana::Grafana) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::grafana::DashboardUid;
    /// let found = grafana.dashboards().get(&DashboardUid::new("cIBgcSjkk")).await?;
    /// tracing::info!("{} has {} panels", found.dashboard.title, found.dashboard.panels.len());
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, uid: &DashboardUid) -> Result<DashboardWithMeta> {
        self.grafana
            .http()
            .get(&format!("/dashboards/uid/{}", segment(uid.as_str())))
            .operation("dashboards.get")
            .json_response()
            .await
            .map_err(explain)
    }
}

/// `GET /api/search`; from [`DashboardHandler::search`].
#[derive(Debug)]
#[must_use = "call .send() to run the search"]
pub struct SearchDashboards<'g> {
    grafana: &'g Grafana,
    query: Option<String>,
    tags: Vec<String>,
    folder_uids: Vec<String>,
    starred: bool,
    include_folders: bool,
    limit: Option<u32>,
}

impl SearchDashboards<'_> {
    /// Titles containing `text`.
    pub fn query(mut self, text: impl Into<String>) -> Self {
        self.query = Some(text.into());
        self
    }

    /// Dashboards carrying this tag (repeat for several; all must match).
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Dashboards in this folder (repeat for several).
    pub fn folder(mut self, folder_uid: impl Into<String>) -> Self {
        self.folder_uids.push(folder_uid.into());
        self
    }

    pub fn starred(mut self) -> Self {
        self.starred = true;
        self
    }

    /// Return folders as well as dashboards.
    pub fn include_folders(mut self) -> Self {
        self.include_folders = true;
        self
    }

    /// At most this many hits; without it, every hit, page by page.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit.max(1));
        self
    }

    /// Runs the search, following pages until a short one.
    ///
    /// ```no_run
    /// # async fn run(grafana: qapms_core::integrations::grafana::Grafana) -> qapms_core::Result<()> {
    /// for hit in grafana.dashboards().search().send().await? {
    ///     tracing::info!("{} {}", hit.uid, hit.title);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<Vec<SearchHit>> {
        let wanted = self.limit.map_or(usize::MAX, |l| l as usize);
        let page_size = self.limit.map_or(SEARCH_PAGE, |l| l.min(SEARCH_PAGE));
        let mut out: Vec<SearchHit> = Vec::new();
        let mut page: u32 = 1;
        loop {
            let mut request = self
                .grafana
                .http()
                .get("/search")
                .query("limit", page_size)
                .query("page", page)
                .operation("dashboards.search");
            if !self.include_folders {
                request = request.query("type", "dash-db");
            }
            if let Some(q) = &self.query {
                request = request.query("query", q);
            }
            for tag in &self.tags {
                request = request.query("tag", tag);
            }
            for folder in &self.folder_uids {
                request = request.query("folderUIDs", folder);
            }
            if self.starred {
                request = request.query("starred", true);
            }
            let hits: Vec<SearchHit> = request.json_response().await.map_err(explain)?;
            let got = hits.len();
            out.extend(hits);
            // Grafana caps a page at `limit`; a short (or empty) page is the last one.
            if got < page_size as usize || out.len() >= wanted {
                break;
            }
            let Some(next) = page.checked_add(1) else {
                break;
            };
            page = next;
        }
        out.truncate(wanted);
        Ok(out)
    }
}

/// Annotation operations; from [`Grafana::annotations`].
#[derive(Debug)]
pub struct AnnotationHandler<'g> {
    grafana: &'g Grafana,
}

impl<'g> AnnotationHandler<'g> {
    /// A new annotation at `time` (a region with [`CreateAnnotation::time_end`]).
    ///
    /// ```no_run
    /// # async fn run(grafana: qapms_core::integrations::grafana::Grafana) -> qapms_core::Result<()> {
    /// let id = grafana
    ///     .annotations()
    ///     .create("Regression run 412: 3 failures", chrono::Utc::now())
    ///     .tags(["qapms", "test-run"])
    ///     .dashboard("cIBgcSjkk")
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self, text: impl Into<String>, time: DateTime<Utc>) -> CreateAnnotation<'g> {
        CreateAnnotation {
            grafana: self.grafana,
            annotation: Annotation {
                id: None,
                time,
                time_end: None,
                text: text.into(),
                tags: Vec::new(),
                dashboard_uid: None,
                panel_id: None,
            },
        }
    }

    /// Annotations matching `filter`, newest first.
    ///
    /// ```no_run
    /// # async fn run(grafana: qapms_core::integrations::grafana::Grafana) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::AnnotationFilter;
    /// let filter = AnnotationFilter { tags: vec!["deploy".into()], limit: Some(50), ..Default::default() };
    /// let deploys = grafana.annotations().list(&filter).await?;
    /// # Ok(()) }
    /// ```
    pub async fn list(&self, filter: &AnnotationFilter) -> Result<Vec<AnnotationRecord>> {
        let mut request = self
            .grafana
            .http()
            .get("/annotations")
            .operation("annotations.list")
            .query("type", "annotation");
        if let Some(from) = &filter.from {
            request = request.query("from", millis(from));
        }
        if let Some(to) = &filter.to {
            request = request.query("to", millis(to));
        }
        for tag in &filter.tags {
            request = request.query("tags", tag);
        }
        if let Some(uid) = &filter.dashboard_uid {
            request = request.query("dashboardUID", uid);
        }
        if let Some(panel) = filter.panel_id {
            request = request.query("panelId", panel);
        }
        if let Some(limit) = filter.limit {
            request = request.query("limit", limit);
        }
        request.json_response().await.map_err(explain)
    }
}

/// `POST /api/annotations`; from [`AnnotationHandler::create`].
#[derive(Debug)]
#[must_use = "call .send() to create the annotation"]
pub struct CreateAnnotation<'g> {
    grafana: &'g Grafana,
    annotation: Annotation,
}

impl CreateAnnotation<'_> {
    /// Makes it a region ending at `end`.
    pub fn time_end(mut self, end: DateTime<Utc>) -> Self {
        self.annotation.time_end = Some(end);
        self
    }

    pub fn tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.annotation.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Scopes it to one dashboard; without it, it is an organisation annotation.
    pub fn dashboard(mut self, uid: impl Into<String>) -> Self {
        self.annotation.dashboard_uid = Some(uid.into());
        self
    }

    /// Scopes it to one panel of the dashboard.
    pub fn panel(mut self, panel_id: u64) -> Self {
        self.annotation.panel_id = Some(panel_id);
        self
    }

    /// The JSON body sent (also used by the contract tests).
    pub fn body(&self) -> Result<Value> {
        annotation_body(&self.annotation)
    }

    /// Creates the annotation and returns its id.
    ///
    /// ```no_run
    /// # async fn run(grafana: qapms_core::integrations::grafana::Grafana) -> qapms_core::Result<()> {
    /// let now = chrono::Utc::now();
    /// let id = grafana
    ///     .annotations()
    ///     .create("Deploy 1.4.2", now - chrono::Duration::minutes(5))
    ///     .time_end(now)
    ///     .tags(["deploy"])
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<u64> {
        let body = self.body()?;
        let created: CreatedAnnotation = self
            .grafana
            .http()
            .post("/annotations")
            .operation("annotations.create")
            .json(&body)
            .json_response()
            .await
            .map_err(explain)?;
        Ok(created.id)
    }
}

fn annotation_body(a: &Annotation) -> Result<Value> {
    if a.text.trim().is_empty() {
        return Err(Error::invalid_input(
            "an annotation needs text; Grafana rejects empty annotations",
        ));
    }
    if a.panel_id.is_some() && a.dashboard_uid.is_none() {
        return Err(Error::invalid_input(
            "an annotation on a panel needs the dashboard too; set `.dashboard(uid)`",
        ));
    }
    if let Some(end) = &a.time_end
        && *end < a.time
    {
        return Err(Error::invalid_input(format!(
            "the annotation ends ({end}) before it starts ({}); swap the times",
            a.time
        )));
    }
    let mut body = Map::new();
    body.insert("text".to_owned(), Value::String(a.text.clone()));
    body.insert("time".to_owned(), json!(millis(&a.time)));
    if let Some(end) = &a.time_end {
        body.insert("timeEnd".to_owned(), json!(millis(end)));
    }
    body.insert("tags".to_owned(), json!(a.tags));
    if let Some(uid) = &a.dashboard_uid {
        body.insert("dashboardUID".to_owned(), Value::String(uid.clone()));
    }
    if let Some(panel) = a.panel_id {
        body.insert("panelId".to_owned(), json!(panel));
    }
    Ok(Value::Object(body))
}

/// Datasource operations; from [`Grafana::datasources`].
#[derive(Debug)]
pub struct DatasourceHandler<'g> {
    grafana: &'g Grafana,
}

impl<'g> DatasourceHandler<'g> {
    /// A query of `datasource` (a configured name, or a uid) over `from..to`.
    ///
    /// ```no_run
    /// # async fn run(grafana: qapms_core::integrations::grafana::Grafana) -> qapms_core::Result<()> {
    /// use serde_json::json;
    /// let to = chrono::Utc::now();
    /// let series = grafana
    ///     .datasources()
    ///     .query("prometheus", to - chrono::Duration::hours(6), to)
    ///     .target("A", json!({"expr": "sum(rate(http_requests_total{code=~\"5..\"}[5m]))"}))
    ///     .interval(std::time::Duration::from_secs(60))
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn query(
        &self,
        datasource: impl Into<String>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> QueryDatasource<'g> {
        QueryDatasource {
            grafana: self.grafana,
            datasource: datasource.into(),
            from,
            to,
            targets: Vec::new(),
            interval: None,
            max_data_points: None,
        }
    }
}

/// `POST /api/ds/query`; from [`DatasourceHandler::query`].
#[derive(Debug)]
#[must_use = "call .send() to run the query"]
pub struct QueryDatasource<'g> {
    grafana: &'g Grafana,
    datasource: String,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    targets: Vec<(String, Value)>,
    interval: Option<Duration>,
    max_data_points: Option<u32>,
}

impl QueryDatasource<'_> {
    /// One query, as the datasource takes it (`{"expr": …}` for Prometheus, `{"rawSql": …}`
    /// for SQL), under `ref_id`. Add several to run them in one call.
    pub fn target(mut self, ref_id: impl Into<String>, query: Value) -> Self {
        self.targets.push((ref_id.into(), query));
        self
    }

    /// The step between points.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    pub fn max_data_points(mut self, points: u32) -> Self {
        self.max_data_points = Some(points);
        self
    }

    /// The JSON body sent (also used by the contract tests).
    pub fn body(&self) -> Result<Value> {
        if self.targets.is_empty() {
            return Err(Error::invalid_input(
                "a datasource query needs at least one target; add one with `.target(ref_id, query)`",
            ));
        }
        if self.to < self.from {
            return Err(Error::invalid_input(format!(
                "the query range ends ({}) before it starts ({}); swap `from` and `to`",
                self.to, self.from
            )));
        }
        let (uid, kind) = self.grafana.resolve(&self.datasource);
        let mut datasource = Map::new();
        datasource.insert("uid".to_owned(), Value::String(uid));
        if let Some(kind) = kind {
            datasource.insert("type".to_owned(), Value::String(kind));
        }
        let mut queries = Vec::with_capacity(self.targets.len());
        for (ref_id, query) in &self.targets {
            let Value::Object(fields) = query else {
                return Err(Error::invalid_input(format!(
                    "query `{ref_id}` must be a JSON object such as {{\"expr\": \"up\"}}"
                )));
            };
            let mut q = fields.clone();
            q.insert("refId".to_owned(), Value::String(ref_id.clone()));
            q.insert("datasource".to_owned(), Value::Object(datasource.clone()));
            if let Some(interval) = self.interval {
                q.insert(
                    "intervalMs".to_owned(),
                    json!(u64::try_from(interval.as_millis()).unwrap_or(u64::MAX)),
                );
            }
            if let Some(points) = self.max_data_points {
                q.insert("maxDataPoints".to_owned(), json!(points));
            }
            queries.push(Value::Object(q));
        }
        Ok(json!({
            "from": millis(&self.from).to_string(),
            "to": millis(&self.to).to_string(),
            "queries": queries,
        }))
    }

    /// Runs the queries and returns the raw per-`refId` results (frames and errors).
    ///
    /// ```no_run
    /// # async fn run(grafana: qapms_core::integrations::grafana::Grafana) -> qapms_core::Result<()> {
    /// let to = chrono::Utc::now();
    /// let raw = grafana
    ///     .datasources()
    ///     .query("loki", to - chrono::Duration::hours(1), to)
    ///     .target("A", serde_json::json!({"expr": "count_over_time({app=\"api\"} |= \"error\" [5m])"}))
    ///     .send_raw()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_raw(self) -> Result<QueryResponse> {
        let body = self.body()?;
        // Grafana answers 207 when some queries failed; the per-refId errors say which.
        self.grafana
            .http()
            .post("/ds/query")
            .operation("ds.query")
            // A query only reads, so resending it is safe.
            .idempotent()
            .json(&body)
            .json_response()
            .await
            .map_err(explain)
    }

    /// Runs the queries and decodes every frame into series. A failed query is an error
    /// naming its `refId` and Grafana's reason.
    ///
    /// ```no_run
    /// # async fn run(grafana: qapms_core::integrations::grafana::Grafana) -> qapms_core::Result<()> {
    /// let to = chrono::Utc::now();
    /// let series = grafana
    ///     .datasources()
    ///     .query("prometheus", to - chrono::Duration::hours(1), to)
    ///     .target("A", serde_json::json!({"expr": "up"}))
    ///     .send()
    ///     .await?;
    /// for s in &series {
    ///     tracing::info!("{} {:?}: {} points", s.name, s.labels, s.values.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<Vec<MetricSeries>> {
        let refs: Vec<String> = self.targets.iter().map(|(r, _)| r.clone()).collect();
        let grafana = self.grafana;
        let response = self.send_raw().await?;
        let mut out = Vec::new();
        for ref_id in refs {
            let Some(result) = response.results.get(&ref_id) else {
                continue;
            };
            if let Some(message) = result.error.as_deref().filter(|m| !m.is_empty()) {
                let message = match &grafana.inner.redactor {
                    Some(r) => r.redact(message).into_owned(),
                    None => message.to_owned(),
                };
                return Err(query_failed(&ref_id, &message, result.status));
            }
            out.extend(frames_to_series(
                &result.frames,
                &format!("grafana POST /api/ds/query results.{ref_id}"),
            )?);
        }
        Ok(out)
    }
}

#[async_trait]
impl Integration for Grafana {
    fn kind(&self) -> &'static str {
        "grafana"
    }

    fn endpoint(&self) -> String {
        crate::http::redact_url(self.http().base_url())
    }

    /// `/api/health` first (it needs no token, so it tells "unreachable" and "database down"
    /// apart from credential trouble), then a one-hit search, which needs a valid token.
    async fn health(&self) -> HealthReport {
        let started = Instant::now();
        let outcome = async {
            let info = self.server_health().await?;
            if let Some(db) = info.database.as_deref().filter(|db| *db != "ok") {
                return Err(Error::new(
                    ErrorKind::Upstream,
                    format!("grafana answers, but its database is `{db}`"),
                )
                .with_context("status", "200"));
            }
            self.dashboards().search().limit(1).send().await.map(|_| ())
        }
        .await;
        HealthReport::from_outcome(&outcome, started.elapsed())
    }
}

#[async_trait]
impl Annotations for Grafana {
    async fn annotate(&self, annotation: &Annotation) -> Result<u64> {
        CreateAnnotation {
            grafana: self,
            annotation: annotation.clone(),
        }
        .send()
        .await
    }

    async fn annotations(&self, filter: &AnnotationFilter) -> Result<Vec<Annotation>> {
        AnnotationHandler { grafana: self }
            .list(filter)
            .await?
            .iter()
            .map(AnnotationRecord::to_annotation)
            .collect()
    }
}

#[async_trait]
impl MetricSource for Grafana {
    async fn series(&self, query: &MetricQuery) -> Result<Vec<MetricSeries>> {
        let mut builder = self
            .datasources()
            .query(query.datasource.clone(), query.from, query.to)
            .target("A", query.query.clone());
        if let Some(interval) = query.interval {
            builder = builder.interval(interval);
        }
        if let Some(points) = query.max_data_points {
            builder = builder.max_data_points(points);
        }
        builder.send().await
    }
}
