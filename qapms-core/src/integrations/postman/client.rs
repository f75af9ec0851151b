//! The Postman API client: one handler per resource, a builder per list with filters.
//!
//! `Postman` holds the shared [`HttpClient`] (which sends `X-API-Key` and paces every call to
//! the configured rate, 300 a minute by default) and a second, narrower [`Pacer`] that list
//! endpoints wait on as well: Postman allows only 10 list calls per 10 seconds. Lists never
//! trust one page: `/collections` pages by `offset` until `meta.total`, `/workspaces` by
//! `cursor` until no `nextCursor`.
//!
//! The same client reads exported collection files, so the [`RequestCatalog`] it implements
//! covers both the API (every collection of the configured workspace) and local files.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt as _, TryStreamExt as _};

use super::collection::{Collection, parse_collection, read_collection_file};
use super::config::PostmanBuilder;
use super::error::explain;
use super::models::{
    CollectionId, CollectionList, CollectionSummary, Environment, EnvironmentEnvelope,
    EnvironmentId, EnvironmentList, EnvironmentSummary, Me, Workspace, WorkspaceEnvelope,
    WorkspaceId, WorkspaceList, WorkspaceSummary,
};
use crate::http::{
    HttpClient, MetricsSnapshot, OffsetPage, Pacer, TokenPage, offset_stream, token_stream,
};
use crate::integrations::{CatalogRequest, HealthReport, Integration, RequestCatalog, segment};
use crate::{Error, Result};

/// Collections asked for per page; Postman's own clients use 100 too.
const COLLECTION_PAGE: u32 = 100;
/// `/workspaces` allows at most 100 per page.
const WORKSPACE_PAGE: u32 = 100;

/// A Postman API client (and reader of exported collections). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Postman {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: HttpClient,
    list_pacer: Option<Pacer>,
    has_key: bool,
    workspace: Option<WorkspaceId>,
    files: Vec<PathBuf>,
}

impl Postman {
    /// Starts a client for the API at `base_url` (normally `https://api.getpostman.com`).
    ///
    /// ```no_run
    /// # fn run() -> qapms_core::Result<()> {
    /// use qapms_core::integrations::postman::Postman;
    /// use secrecy::SecretString;
    ///
    /// let postman = Postman::builder("https://api.getpostman.com")
    ///     .api_key(SecretString::from("PMAK-..."))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn builder(base_url: impl Into<String>) -> PostmanBuilder {
        PostmanBuilder::new(base_url)
    }

    pub(crate) fn from_parts(
        http: HttpClient,
        list_pacer: Option<Pacer>,
        has_key: bool,
        workspace: Option<WorkspaceId>,
        files: Vec<PathBuf>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                http,
                list_pacer,
                has_key,
                workspace,
                files,
            }),
        }
    }

    /// Call counters for the dashboard.
    ///
    /// ```no_run
    /// # fn run(postman: qapms_core::integrations::postman::Postman) {
    /// let calls = postman.metrics().calls;
    /// # }
    /// ```
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.http.metrics()
    }

    fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    /// Waits for the list-endpoint budget (10 per 10 s) before a list call.
    async fn list_quota(&self) {
        if let Some(pacer) = &self.inner.list_pacer {
            pacer.wait().await;
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str, op: &str) -> Result<T> {
        self.http()
            .get(path)
            .operation(op)
            .json_response()
            .await
            .map_err(explain)
    }

    fn require_key(&self) -> Result<()> {
        if self.inner.has_key {
            Ok(())
        } else {
            Err(Error::config(
                "integrations.postman.api_key is not set; the Postman API needs one \
                 (Postman → Settings → API keys), collection files do not",
            ))
        }
    }

    /// The user the API key belongs to, with plan usage.
    ///
    /// ```no_run
    /// # async fn run(postman: qapms_core::integrations::postman::Postman) -> qapms_core::Result<()> {
    /// let me = postman.me().await?;
    /// tracing::info!("{:?}", me.user.username);
    /// # Ok(()) }
    /// ```
    pub async fn me(&self) -> Result<Me> {
        self.require_key()?;
        self.get_json("/me", "me").await
    }

    /// Workspaces: list and get.
    ///
    /// ```no_run
    /// # async fn run(postman: qapms_core::integrations::postman::Postman) -> qapms_core::Result<()> {
    /// let all = postman.workspaces().list().await?;
    /// # Ok(()) }
    /// ```
    pub fn workspaces(&self) -> WorkspaceHandler<'_> {
        WorkspaceHandler { postman: self }
    }

    /// Collections: list and get whole (format v2.1).
    ///
    /// ```no_run
    /// # async fn run(postman: qapms_core::integrations::postman::Postman) -> qapms_core::Result<()> {
    /// let summaries = postman.collections().list().send().await?;
    /// # Ok(()) }
    /// ```
    pub fn collections(&self) -> CollectionHandler<'_> {
        CollectionHandler { postman: self }
    }

    /// Environments: list and get with values.
    ///
    /// ```no_run
    /// # async fn run(postman: qapms_core::integrations::postman::Postman) -> qapms_core::Result<()> {
    /// let environments = postman.environments().list().await?;
    /// # Ok(()) }
    /// ```
    pub fn environments(&self) -> EnvironmentHandler<'_> {
        EnvironmentHandler { postman: self }
    }

    /// The collection files this client was configured with.
    ///
    /// ```no_run
    /// # fn run(postman: qapms_core::integrations::postman::Postman) {
    /// for file in postman.collection_files() {
    ///     tracing::info!("{}", file.display());
    /// }
    /// # }
    /// ```
    pub fn collection_files(&self) -> &[PathBuf] {
        &self.inner.files
    }

    /// Whether an API key is set, so the API (and not only collection files) can be read.
    pub fn has_api_key(&self) -> bool {
        self.inner.has_key
    }
}

/// Workspace operations; from [`Postman::workspaces`].
#[derive(Debug)]
pub struct WorkspaceHandler<'p> {
    postman: &'p Postman,
}

impl WorkspaceHandler<'_> {
    /// Every workspace the key can see, following `nextCursor` to the end.
    ///
    /// ```no_run
    /// # async fn run(postman: qapms_core::integrations::postman::Postman) -> qapms_core::Result<()> {
    /// for ws in postman.workspaces().list().await? {
    ///     tracing::info!("{} {}", ws.id, ws.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list(&self) -> Result<Vec<WorkspaceSummary>> {
        self.postman.require_key()?;
        let postman = self.postman.clone();
        token_stream(move |cursor: Option<String>| {
            let postman = postman.clone();
            async move {
                postman.list_quota().await;
                let mut request = postman
                    .http()
                    .get("/workspaces")
                    .query("limit", WORKSPACE_PAGE)
                    .operation("workspaces.list");
                if let Some(cursor) = cursor {
                    request = request.query("cursor", cursor);
                }
                let list: WorkspaceList = request.json_response().await.map_err(explain)?;
                Ok(TokenPage {
                    items: list.workspaces,
                    next: list.meta.and_then(|m| m.next_cursor),
                })
            }
        })
        .try_collect()
        .await
    }

    /// One workspace with the collections and environments it holds.
    ///
    /// ```no_run
    /// # async fn run(postman: qapms_core::integrations::postman::Postman) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::postman::WorkspaceId;
    /// let ws = postman.workspaces().get(&WorkspaceId::new("1f0df51a-8658-4ee8-a2a1-d2567dfa09a9")).await?;
    /// tracing::info!("{} collections", ws.collections.len());
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, id: &WorkspaceId) -> Result<Workspace> {
        self.postman.require_key()?;
        let envelope: WorkspaceEnvelope = self
            .postman
            .get_json(
                &format!("/workspaces/{}", segment(id.as_str())),
                "workspaces.get",
            )
            .await?;
        Ok(envelope.workspace)
    }
}

/// Collection operations; from [`Postman::collections`].
#[derive(Debug)]
pub struct CollectionHandler<'p> {
    postman: &'p Postman,
}

impl CollectionHandler<'_> {
    /// A listing of collections; narrow it with [`ListCollections::workspace`].
    ///
    /// ```no_run
    /// # async fn run(postman: qapms_core::integrations::postman::Postman) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::postman::WorkspaceId;
    /// let collections = postman
    ///     .collections()
    ///     .list()
    ///     .workspace(WorkspaceId::new("1f0df51a-8658-4ee8-a2a1-d2567dfa09a9"))
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListCollections {
        ListCollections {
            postman: self.postman.clone(),
            workspace: self.postman.inner.workspace.clone(),
            name: None,
        }
    }

    /// A whole collection (format v2.1): every folder, request and script.
    ///
    /// ```no_run
    /// # async fn run(postman: qapms_core::integrations::postman::Postman) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::postman::CollectionId;
    /// let id = CollectionId::new("12345678-12ece9e1-2abf-4edc-8e34-de66e74114d2");
    /// let collection = postman.collections().get(&id).await?;
    /// for request in collection.flatten() {
    ///     tracing::info!("{} {}", request.method, request.url.raw);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, id: &CollectionId) -> Result<Collection> {
        self.postman.require_key()?;
        let path = format!("/collections/{}", segment(id.as_str()));
        let response = self
            .postman
            .http()
            .get(&path)
            .operation("collections.get")
            .send()
            .await
            .map_err(explain)?;
        parse_collection(&response.body, &format!("postman GET {path}")).map_err(|err| {
            // A body from the API that does not parse is the server's fault, not the user's.
            let field = err.context_value("field").unwrap_or_default().to_owned();
            Error::new(crate::ErrorKind::Upstream, err.message().to_owned())
                .with_context("field", field)
        })
    }
}

/// `GET /collections`; from [`CollectionHandler::list`].
#[derive(Debug)]
#[must_use = "call .send() or .stream() to list collections"]
pub struct ListCollections {
    postman: Postman,
    workspace: Option<WorkspaceId>,
    name: Option<String>,
}

impl ListCollections {
    /// Only the collections of this workspace (default: the configured workspace, if any).
    pub fn workspace(mut self, workspace: WorkspaceId) -> Self {
        self.workspace = Some(workspace);
        self
    }

    /// Every workspace the key can see, even if the config names one.
    pub fn all_workspaces(mut self) -> Self {
        self.workspace = None;
        self
    }

    /// Only collections whose name contains `name` (Postman filters by name server-side).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Every matching collection, page by page.
    ///
    /// ```no_run
    /// # async fn run(postman: qapms_core::integrations::postman::Postman) -> qapms_core::Result<()> {
    /// use futures::TryStreamExt as _;
    /// let mut list = postman.collections().list().stream();
    /// while let Some(c) = list.try_next().await? {
    ///     tracing::info!("{}", c.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream(self) -> BoxStream<'static, Result<CollectionSummary>> {
        if let Err(err) = self.postman.require_key() {
            return futures::stream::once(async move { Err(err) }).boxed();
        }
        let this = Arc::new(self);
        // One page at a time: the list budget is 10 calls per 10 s, so parallel pages would
        // only queue on the pacer.
        offset_stream(COLLECTION_PAGE, 1, move |start, max| {
            let this = this.clone();
            async move {
                this.postman.list_quota().await;
                let mut request = this
                    .postman
                    .http()
                    .get("/collections")
                    .query("limit", max)
                    .query("offset", start)
                    .operation("collections.list");
                if let Some(ws) = &this.workspace {
                    request = request.query("workspace", ws.as_str());
                }
                if let Some(name) = &this.name {
                    request = request.query("name", name);
                }
                let list: CollectionList = request.json_response().await.map_err(explain)?;
                let got = list.collections.len() as u64;
                // Without `meta.total` (older servers ignore `limit`), a short page is the last.
                let total = list
                    .meta
                    .and_then(|m| m.total)
                    .or_else(|| (got < u64::from(max)).then_some(start + got));
                Ok(OffsetPage {
                    items: list.collections,
                    total,
                })
            }
        })
    }

    /// Every matching collection.
    ///
    /// ```no_run
    /// # async fn run(postman: qapms_core::integrations::postman::Postman) -> qapms_core::Result<()> {
    /// let all = postman.collections().list().send().await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<Vec<CollectionSummary>> {
        self.stream().try_collect().await
    }
}

/// Environment operations; from [`Postman::environments`].
#[derive(Debug)]
pub struct EnvironmentHandler<'p> {
    postman: &'p Postman,
}

impl EnvironmentHandler<'_> {
    /// Every environment, of the configured workspace when one is set.
    ///
    /// ```no_run
    /// # async fn run(postman: qapms_core::integrations::postman::Postman) -> qapms_core::Result<()> {
    /// for env in postman.environments().list().await? {
    ///     tracing::info!("{}", env.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list(&self) -> Result<Vec<EnvironmentSummary>> {
        self.postman.require_key()?;
        self.postman.list_quota().await;
        let mut request = self
            .postman
            .http()
            .get("/environments")
            .operation("environments.list");
        if let Some(ws) = &self.postman.inner.workspace {
            request = request.query("workspace", ws.as_str());
        }
        let list: EnvironmentList = request.json_response().await.map_err(explain)?;
        Ok(list.environments)
    }

    /// One environment with its variables (secret values stay in `SecretString`s).
    ///
    /// ```no_run
    /// # async fn run(postman: qapms_core::integrations::postman::Postman) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::postman::EnvironmentId;
    /// let env = postman.environments().get(&EnvironmentId::new("5daabc50-8451-43f6-922d-96b403b4f28e")).await?;
    /// let keys: Vec<_> = env.values.iter().map(|v| v.key.as_str()).collect();
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, id: &EnvironmentId) -> Result<Environment> {
        self.postman.require_key()?;
        let envelope: EnvironmentEnvelope = self
            .postman
            .get_json(
                &format!("/environments/{}", segment(id.as_str())),
                "environments.get",
            )
            .await?;
        Ok(envelope.environment)
    }
}

#[async_trait]
impl Integration for Postman {
    fn kind(&self) -> &'static str {
        "postman"
    }

    fn endpoint(&self) -> String {
        crate::http::redact_url(self.http().base_url())
    }

    /// `/me` when an API key is set (cheap, and it needs a valid key); without one, whether
    /// every configured collection file reads.
    async fn health(&self) -> HealthReport {
        let started = Instant::now();
        let outcome = if self.inner.has_key {
            self.me().await.map(|_| ())
        } else {
            let mut outcome = Ok(());
            for file in &self.inner.files {
                if let Err(err) = read_collection_file(file).await {
                    outcome = Err(err);
                    break;
                }
            }
            outcome
        };
        HealthReport::from_outcome(&outcome, started.elapsed())
    }
}

#[async_trait]
impl RequestCatalog for Postman {
    /// Every request of every collection in the configured workspace (when an API key is set),
    /// then of every configured collection file.
    async fn requests(&self) -> Result<Vec<CatalogRequest>> {
        let mut out = Vec::new();
        if self.inner.has_key {
            let summaries = self.collections().list().send().await?;
            for summary in summaries {
                let collection = self.collections().get(&summary.collection_id()).await?;
                out.extend(collection.flatten());
            }
        }
        for file in &self.inner.files {
            out.extend(read_collection_file(file).await?.flatten());
        }
        Ok(out)
    }
}
