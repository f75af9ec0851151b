//! Incremental sync of every configured integration into the store, and from there into the
//! search index.
//!
//! A [`Syncer`] holds one source per integration and runs them concurrently; each one reports
//! on its own, so a Jira outage does not stop the Testmo sync ([`SyncReport`]). Every source
//! splits its data into *scopes* (a Jira project, a Testmo project, a Postman collection or
//! collection file, the Splunk templates or saved searches, the Grafana dashboards) and writes each step as one
//! [`SyncBatch`]: the rows, the deletions found, the map of upstream ids to local keys and the
//! scope's cursor commit together, so a sync killed at any point resumes from its last batch
//! and rewrites at most that batch, by key.
//!
//! How each source finds what changed:
//! - **Jira**: `updated >= "-Nm"` from the scope's cursor with an overlap margin (see
//!   [`cursor`]), ordered by `updated`. Moves and key renames show up as a known issue id under a
//!   new key: the old ticket goes, the new one is written, and the index gets a rename.
//!   Deletions cannot show up in an `updated` query, so a scope is *reconciled* on `--full` and
//!   once per [`SyncOptions::reconcile_every`]: a key-only listing of the project, and every
//!   stored issue id it lacks is checked once more by id before its ticket is deleted.
//! - **Testmo cases, Splunk templates and saved searches, Grafana dashboards**: a full listing
//!   each time (their APIs have no change feed), compared with the stored fingerprints: only
//!   changed items are written, and missing ones are deleted.
//! - **Testmo runs**: the manual runs closed since the cursor, each stored with every result
//!   (one attempt per result) as one batch whose cursor is the run's `closed_at`.
//! - **Grafana annotations**: those tagged as trouble, from the cursor to now, stored as
//!   external signals for failure classification (see `sync/grafana.rs`).
//! - **Postman**: a collection is fetched only when its `updatedAt` (API) or its file digest
//!   (collection files) changed; its requests are then compared as above. Collections gone
//!   from the workspace or the config are dropped with their requests.
//!
//! Progress goes to a callback as [`SyncEvent`]s (the CLI draws a bar from them); a
//! [`CancelToken`] stops the sync between batches and during network waits. The search index,
//! when given, is updated from the same batches within about a second ([`IndexFeed`]) through
//! [`SearchIndex::apply`], which re-reads each changed thing from the store.
//!
//! With an embeddings client ([`Syncer::embeddings`], or `search.embeddings` in the config),
//! each integration's run ends with [`embed_pending`]: what it stored is embedded before its
//! [`SyncEvent::Finished`]. Passes take turns (integrations run concurrently; a pass skips what
//! an earlier one embedded), and an endpoint failure is a warning in [`SyncEvent::Embedded`],
//! never a failed sync: the next pass resumes.
//!
//! Rate limits are the HTTP core's: every client paces and retries its own calls.

mod cursor;
#[cfg(feature = "grafana")]
mod grafana;
#[cfg(feature = "jira")]
mod jira;
#[cfg(feature = "postman")]
mod postman;
mod snapshot;
mod splunk;
#[cfg(feature = "testmo")]
mod testmo;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{Mutex, Notify};

use crate::config::{Config, SplunkTemplate};
use crate::logging::Redactor;
use crate::search::embed::{EmbeddingClient, embed_pending};
use crate::search::{ApplyOutcome, IndexChange, SearchIndex};
use crate::secrets::Unlocked;
use crate::store::{Store, SyncBatch, SyncBatchOutcome};
use crate::{Error, ErrorKind, Result};

/// The integrations a sync knows, in the order reports list them.
pub const INTEGRATIONS: [&str; 5] = ["jira", "testmo", "postman", "splunk", "grafana"];

/// How a sync runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOptions {
    /// Only these integrations (empty: all configured ones).
    pub only: Vec<String>,
    /// Ignore cursors and fingerprints: read everything and reconcile deletions.
    pub full: bool,
    /// How far before a Jira cursor the next window starts.
    pub overlap: Duration,
    /// How often a Jira scope is reconciled (deletions), at most.
    pub reconcile_every: Duration,
    /// Items per stored batch.
    pub batch_size: usize,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            only: Vec::new(),
            full: false,
            overlap: Duration::from_mins(5),
            reconcile_every: Duration::from_hours(24),
            batch_size: 100,
        }
    }
}

/// Stops a running sync: between batches, and while it waits on the network.
#[derive(Debug, Clone, Default)]
pub struct CancelToken {
    inner: Arc<CancelInner>,
}

#[derive(Debug, Default)]
struct CancelInner {
    cancelled: AtomicBool,
    notify: Notify,
}

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Resolves once [`cancel`](Self::cancel) has been called.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            // Registered before the check, so a cancel in between is not missed.
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }

    /// `fut`, unless the sync is cancelled first.
    pub(crate) async fn guard<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        tokio::select! {
            biased;
            () = self.cancelled() => Err(cancelled()),
            out = fut => out,
        }
    }

    pub(crate) fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(cancelled())
        } else {
            Ok(())
        }
    }
}

fn cancelled() -> Error {
    Error::new(ErrorKind::Io, "the sync was cancelled").with_context("cancelled", "true")
}

/// What happened, as it happens.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "event")]
pub enum SyncEvent {
    Started {
        integration: String,
    },
    /// After each stored batch: the integration's totals so far.
    Progress {
        integration: String,
        scope: String,
        counts: Counts,
    },
    Finished {
        report: IntegrationReport,
    },
    /// The search index took a set of changes.
    Indexed {
        upserted: u64,
        deleted: u64,
    },
    /// An embedding pass ran after `integration`'s batches; `warning` says why it stopped
    /// early (the endpoint failed), in which case keyword search is unaffected.
    Embedded {
        integration: String,
        embedded: u64,
        warning: Option<String>,
    },
}

/// How one integration's sync ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncOutcome {
    Ok,
    Failed,
    Cancelled,
}

/// What an integration's sync did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Items read from the source.
    pub seen: u64,
    /// Items written (new or changed).
    pub written: u64,
    /// Items read but unchanged, so not written.
    pub unchanged: u64,
    /// Items deleted because the source no longer has them.
    pub deleted: u64,
    /// Items that moved to a new key (Jira moves and key changes).
    pub renamed: u64,
    /// Test cases the source dropped but that were kept because results refer to them.
    pub kept: u64,
    /// Scopes synced.
    pub scopes: u64,
}

/// One integration's part of a [`SyncReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationReport {
    pub integration: String,
    pub outcome: SyncOutcome,
    pub counts: Counts,
    /// Why it failed, in words a user can act on.
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

/// The search index's part of a [`SyncReport`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexReport {
    pub upserted: u64,
    pub deleted: u64,
    /// Set when an update failed; the index is then stale until `qapms search --reindex`.
    pub error: Option<String>,
}

/// What a whole sync did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncReport {
    pub integrations: Vec<IntegrationReport>,
    /// `None` when no index was given.
    pub index: Option<IndexReport>,
}

impl SyncReport {
    /// Every integration synced and the index (if any) took every change.
    pub fn is_ok(&self) -> bool {
        self.integrations
            .iter()
            .all(|r| r.outcome == SyncOutcome::Ok)
            && self.index.as_ref().is_none_or(|i| i.error.is_none())
    }
}

/// One integration to sync.
enum Source {
    #[cfg(feature = "jira")]
    Jira {
        client: crate::integrations::jira::Jira,
        projects: Vec<String>,
    },
    #[cfg(feature = "testmo")]
    Testmo {
        client: crate::integrations::testmo::Testmo,
        projects: Vec<u64>,
    },
    #[cfg(feature = "postman")]
    Postman {
        client: crate::integrations::postman::Postman,
    },
    Splunk {
        templates: BTreeMap<String, SplunkTemplate>,
        /// In REST mode: the client that lists the saved searches.
        #[cfg(feature = "splunk")]
        client: Option<crate::integrations::splunk::Splunk>,
    },
    #[cfg(feature = "grafana")]
    Grafana {
        client: crate::integrations::grafana::Grafana,
        signal_tags: Vec<String>,
    },
    /// Configured, but its client could not be built (a missing secret, a bad URL).
    Broken {
        name: &'static str,
        kind: ErrorKind,
        message: String,
    },
}

impl Source {
    fn broken(name: &'static str, error: &Error) -> Self {
        Self::Broken {
            name,
            kind: error.kind(),
            message: error.to_string(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            #[cfg(feature = "jira")]
            Self::Jira { .. } => "jira",
            #[cfg(feature = "testmo")]
            Self::Testmo { .. } => "testmo",
            #[cfg(feature = "postman")]
            Self::Postman { .. } => "postman",
            Self::Splunk { .. } => "splunk",
            #[cfg(feature = "grafana")]
            Self::Grafana { .. } => "grafana",
            Self::Broken { name, .. } => name,
        }
    }
}

/// Runs syncs; build it with [`Syncer::new`] and the source methods, or
/// [`Syncer::from_config`].
pub struct Syncer {
    store: Arc<dyn Store>,
    sources: Vec<Source>,
    index: Option<Arc<SearchIndex>>,
    options: SyncOptions,
    embedder: Option<EmbeddingClient>,
    /// One embedding pass at a time.
    embedding: Mutex<()>,
}

impl std::fmt::Debug for Syncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Syncer")
            .field("integrations", &self.integrations())
            .field("index", &self.index.as_ref().map(|i| i.dir().to_path_buf()))
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Syncer {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            sources: Vec::new(),
            index: None,
            options: SyncOptions::default(),
            embedder: None,
            embedding: Mutex::new(()),
        }
    }

    /// Every enabled integration of `config`. One whose client cannot be built is kept and
    /// reported as failed when the sync runs, so the others still sync.
    pub fn from_config(
        store: Arc<dyn Store>,
        config: &Config,
        unlocked: &Unlocked,
        redactor: Option<&Redactor>,
    ) -> Self {
        Self::from_config_in(store, config, unlocked, redactor, None)
    }

    /// [`Syncer::from_config`], finding Jira's OAuth tokens (from `qapms auth login jira`) in
    /// the data directory under the master key `tokens` names; see
    /// [`Jira::from_config_in`](crate::integrations::jira::Jira::from_config_in).
    pub fn from_config_in(
        store: Arc<dyn Store>,
        config: &Config,
        unlocked: &Unlocked,
        redactor: Option<&Redactor>,
        tokens: Option<(&std::path::Path, &crate::secrets::KeyLookup<'_>)>,
    ) -> Self {
        let mut syncer = Self::new(store);
        let integrations = &config.integrations;
        #[cfg(feature = "jira")]
        if let Some(jira) = integrations.jira.as_ref().filter(|c| c.enabled) {
            let projects = jira.projects.iter().map(|p| p.0.clone()).collect();
            let client = match tokens {
                Some((data_dir, lookup)) => crate::integrations::jira::Jira::from_config_in(
                    jira,
                    unlocked,
                    redactor.cloned(),
                    data_dir,
                    lookup,
                ),
                None => {
                    crate::integrations::jira::Jira::from_config(jira, unlocked, redactor.cloned())
                }
            };
            syncer.sources.push(match client {
                Ok(client) => Source::Jira { client, projects },
                Err(error) => Source::broken("jira", &error),
            });
        }
        #[cfg(feature = "testmo")]
        if let Some(testmo) = integrations.testmo.as_ref().filter(|c| c.enabled) {
            let projects = testmo.projects.clone();
            syncer.sources.push(
                match crate::integrations::testmo::Testmo::from_config(
                    testmo,
                    unlocked,
                    redactor.cloned(),
                ) {
                    Ok(client) => Source::Testmo { client, projects },
                    Err(error) => Source::broken("testmo", &error),
                },
            );
        }
        #[cfg(feature = "postman")]
        if let Some(postman) = integrations.postman.as_ref().filter(|c| c.enabled) {
            syncer.sources.push(
                match crate::integrations::postman::Postman::from_config(
                    postman,
                    unlocked,
                    redactor.cloned(),
                ) {
                    Ok(client) => Source::Postman { client },
                    Err(error) => Source::broken("postman", &error),
                },
            );
        }
        if let Some(splunk) = integrations.splunk.as_ref().filter(|c| c.enabled) {
            syncer
                .sources
                .push(Self::splunk_source(splunk, unlocked, redactor));
        }
        #[cfg(feature = "grafana")]
        if let Some(grafana) = integrations.grafana.as_ref().filter(|c| c.enabled) {
            syncer.sources.push(
                match crate::integrations::grafana::Grafana::from_config(
                    grafana,
                    unlocked,
                    redactor.cloned(),
                ) {
                    Ok(client) => Source::Grafana {
                        client,
                        signal_tags: grafana.signal_tags.clone(),
                    },
                    Err(error) => Source::broken("grafana", &error),
                },
            );
        }
        if let Some(embeddings) = &config.search.embeddings {
            match EmbeddingClient::from_config(embeddings, unlocked, redactor.cloned()) {
                Ok(client) => syncer.embedder = Some(client),
                Err(e) => {
                    tracing::warn!(error = %e, "semantic ranking: documents are not embedded");
                }
            }
        }
        syncer
    }

    /// Syncs Jira issues of these project keys (all issues the credentials see when empty).
    #[cfg(feature = "jira")]
    pub fn jira(mut self, client: crate::integrations::jira::Jira, projects: Vec<String>) -> Self {
        self.sources.push(Source::Jira { client, projects });
        self
    }

    /// Syncs the case repositories of these Testmo projects.
    #[cfg(feature = "testmo")]
    pub fn testmo(
        mut self,
        client: crate::integrations::testmo::Testmo,
        projects: Vec<u64>,
    ) -> Self {
        self.sources.push(Source::Testmo { client, projects });
        self
    }

    /// Syncs the workspace's collections (with an API key) and the client's collection files.
    #[cfg(feature = "postman")]
    pub fn postman(mut self, client: crate::integrations::postman::Postman) -> Self {
        self.sources.push(Source::Postman { client });
        self
    }

    /// Indexes these SPL templates as Splunk searches.
    pub fn splunk_templates(mut self, templates: BTreeMap<String, SplunkTemplate>) -> Self {
        self.sources.push(Source::Splunk {
            templates,
            #[cfg(feature = "splunk")]
            client: None,
        });
        self
    }

    /// Indexes these SPL templates and every saved search `client` can list.
    #[cfg(feature = "splunk")]
    pub fn splunk(
        mut self,
        templates: BTreeMap<String, SplunkTemplate>,
        client: crate::integrations::splunk::Splunk,
    ) -> Self {
        self.sources.push(Source::Splunk {
            templates,
            client: Some(client),
        });
        self
    }

    /// The templates always; the saved searches too in REST mode, where a client that cannot
    /// be built (a missing secret) fails the Splunk sync with that reason.
    fn splunk_source(
        config: &crate::config::SplunkConfig,
        unlocked: &crate::secrets::Unlocked,
        redactor: Option<&Redactor>,
    ) -> Source {
        let templates = config.templates.clone();
        #[cfg(feature = "splunk")]
        if config.mode == crate::config::SplunkMode::Rest {
            return match crate::integrations::splunk::Splunk::from_config(
                config,
                unlocked,
                redactor.cloned(),
            ) {
                Ok(client) => Source::Splunk {
                    templates,
                    client: Some(client),
                },
                Err(error) => Source::broken("splunk", &error),
            };
        }
        #[cfg(not(feature = "splunk"))]
        let _ = (unlocked, redactor);
        Source::Splunk {
            templates,
            #[cfg(feature = "splunk")]
            client: None,
        }
    }

    /// Records Grafana's health, indexes its dashboards and keeps the annotations tagged
    /// with one of the default signal tags as external signals.
    #[cfg(feature = "grafana")]
    pub fn grafana(self, client: crate::integrations::grafana::Grafana) -> Self {
        self.grafana_with_signal_tags(client, crate::config::default_signal_tags())
    }

    /// [`grafana`](Self::grafana), with these signal tags (none: no signals).
    #[cfg(feature = "grafana")]
    pub fn grafana_with_signal_tags(
        mut self,
        client: crate::integrations::grafana::Grafana,
        signal_tags: Vec<String>,
    ) -> Self {
        self.sources.push(Source::Grafana {
            client,
            signal_tags,
        });
        self
    }

    /// Keeps this search index current as batches are stored.
    pub fn index(mut self, index: Arc<SearchIndex>) -> Self {
        self.index = Some(index);
        self
    }

    /// Embeds stored documents with this client after each integration's batches.
    pub fn embeddings(mut self, client: EmbeddingClient) -> Self {
        self.embedder = Some(client);
        self
    }

    pub fn options(mut self, options: SyncOptions) -> Self {
        self.options = options;
        self
    }

    /// The integrations this syncer would sync, in order.
    pub fn integrations(&self) -> Vec<&'static str> {
        self.sources.iter().map(Source::name).collect()
    }

    /// Runs every selected integration concurrently and reports on each. An `--only` name
    /// that is not configured is reported as failed, with what to do about it.
    pub async fn run(
        &self,
        on_event: &(dyn Fn(SyncEvent) + Send + Sync),
        cancel: &CancelToken,
    ) -> SyncReport {
        let feed = self
            .index
            .as_ref()
            .map(|index| IndexFeed::new(index.clone(), self.store.clone()));
        let wanted = |name: &str| {
            self.options.only.is_empty() || self.options.only.iter().any(|o| o == name)
        };
        let runs = self
            .sources
            .iter()
            .filter(|s| wanted(s.name()))
            .map(|source| self.run_one(source, feed.as_ref(), on_event, cancel));
        let mut reports = futures::future::join_all(runs).await;
        for name in &self.options.only {
            if !self.sources.iter().any(|s| s.name() == name) {
                let hint = if INTEGRATIONS.contains(&name.as_str()) {
                    format!("`{name}` is not configured (or not enabled) in qapms.yaml")
                } else {
                    format!(
                        "unknown integration `{name}`; known: {}",
                        INTEGRATIONS.join(", ")
                    )
                };
                reports.push(IntegrationReport {
                    integration: name.clone(),
                    outcome: SyncOutcome::Failed,
                    counts: Counts::default(),
                    error: Some(hint),
                    elapsed_ms: 0,
                });
            }
        }
        let index = match feed {
            Some(feed) => Some(feed.finish(on_event).await),
            None => None,
        };
        SyncReport {
            integrations: reports,
            index,
        }
    }

    async fn run_one(
        &self,
        source: &Source,
        feed: Option<&IndexFeed>,
        on_event: &(dyn Fn(SyncEvent) + Send + Sync),
        cancel: &CancelToken,
    ) -> IntegrationReport {
        let started = Instant::now();
        let name = source.name();
        on_event(SyncEvent::Started {
            integration: name.to_owned(),
        });
        let mut cx = Ctx {
            store: self.store.as_ref(),
            options: &self.options,
            on_event,
            cancel,
            feed,
            integration: name,
            counts: Counts::default(),
        };
        let result = match source {
            #[cfg(feature = "jira")]
            Source::Jira { client, projects } => jira::run(&mut cx, client, projects).await,
            #[cfg(feature = "testmo")]
            Source::Testmo { client, projects } => testmo::run(&mut cx, client, projects).await,
            #[cfg(feature = "postman")]
            Source::Postman { client } => postman::run(&mut cx, client).await,
            Source::Splunk {
                templates,
                #[cfg(feature = "splunk")]
                client,
            } => {
                let templated = splunk::run(&mut cx, templates).await;
                #[cfg(feature = "splunk")]
                let templated = match (templated, client) {
                    (Ok(()), Some(client)) => splunk::saved_searches(&mut cx, client).await,
                    (other, _) => other,
                };
                templated
            }
            #[cfg(feature = "grafana")]
            Source::Grafana {
                client,
                signal_tags,
            } => grafana::run(&mut cx, client, signal_tags).await,
            Source::Broken { kind, message, .. } => Err(Error::new(*kind, message.clone())),
        };
        // Whatever a failed or cancelled run stored is committed: send it to the index too.
        if let Some(feed) = feed {
            feed.flush(on_event).await;
        }
        if let Some(embedder) = self.embedder.as_ref().filter(|_| !cancel.is_cancelled()) {
            self.embed(name, embedder, on_event).await;
        }
        let (outcome, error) = match result {
            Ok(()) => (SyncOutcome::Ok, None),
            Err(_) if cancel.is_cancelled() => (SyncOutcome::Cancelled, None),
            Err(err) => {
                tracing::warn!(integration = name, error = %err, "sync failed");
                (SyncOutcome::Failed, Some(err.to_string()))
            }
        };
        let report = IntegrationReport {
            integration: name.to_owned(),
            outcome,
            counts: cx.counts,
            error,
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        tracing::info!(integration = name, ?outcome, counts = ?report.counts, "sync finished");
        on_event(SyncEvent::Finished {
            report: report.clone(),
        });
        report
    }
}

impl Syncer {
    /// One embedding pass after `integration`'s batches; every failure is a warning.
    async fn embed(
        &self,
        integration: &str,
        client: &EmbeddingClient,
        on_event: &(dyn Fn(SyncEvent) + Send + Sync),
    ) {
        let _turn = self.embedding.lock().await;
        let (embedded, warning) = match embed_pending(self.store.as_ref(), client, &|_| {}).await {
            Ok(outcome) => (outcome.embedded, outcome.warning),
            Err(err) => {
                tracing::warn!(error = %err, "semantic ranking: embedding failed");
                (
                    0,
                    Some(format!("semantic ranking: embedding failed: {err}")),
                )
            }
        };
        on_event(SyncEvent::Embedded {
            integration: integration.to_owned(),
            embedded,
            warning,
        });
    }
}

/// What a source gets while it runs: the store, the options, where events and index changes
/// go, and its running counts.
pub(crate) struct Ctx<'a> {
    store: &'a dyn Store,
    options: &'a SyncOptions,
    on_event: &'a (dyn Fn(SyncEvent) + Send + Sync),
    cancel: &'a CancelToken,
    feed: Option<&'a IndexFeed>,
    integration: &'static str,
    counts: Counts,
}

impl Ctx<'_> {
    /// A batch for `scope` of this integration.
    fn batch(&self, scope: &str) -> SyncBatch {
        SyncBatch {
            integration: self.integration.to_owned(),
            scope: scope.to_owned(),
            ..SyncBatch::default()
        }
    }

    /// Stores `batch` (one transaction), reports progress and hands the changes `index`
    /// derives from the outcome to the search index.
    async fn commit(
        &mut self,
        batch: &SyncBatch,
        index: impl FnOnce(&SyncBatchOutcome) -> Vec<IndexChange>,
    ) -> Result<SyncBatchOutcome> {
        self.cancel.check()?;
        let outcome = self.store.write_sync_batch(batch).await?;
        self.counts.kept += outcome.kept_cases;
        if let Some(feed) = self.feed {
            feed.push(index(&outcome), self.on_event).await;
        }
        (self.on_event)(SyncEvent::Progress {
            integration: self.integration.to_owned(),
            scope: batch.scope.clone(),
            counts: self.counts,
        });
        Ok(outcome)
    }
}

/// Pending index changes, applied in groups: every [`FLUSH_CHANGES`] changes or
/// [`FLUSH_EVERY`], whichever comes first, and at the end of each integration, so searches
/// see synced data within about a second without a tantivy commit per small batch.
pub(crate) struct IndexFeed {
    index: Arc<SearchIndex>,
    store: Arc<dyn Store>,
    state: Mutex<FeedState>,
}

struct FeedState {
    pending: Vec<IndexChange>,
    since: Instant,
    report: IndexReport,
}

const FLUSH_CHANGES: usize = 2000;
const FLUSH_EVERY: Duration = Duration::from_secs(1);

impl IndexFeed {
    fn new(index: Arc<SearchIndex>, store: Arc<dyn Store>) -> Self {
        Self {
            index,
            store,
            state: Mutex::new(FeedState {
                pending: Vec::new(),
                since: Instant::now(),
                report: IndexReport::default(),
            }),
        }
    }

    async fn push(&self, changes: Vec<IndexChange>, on_event: &(dyn Fn(SyncEvent) + Send + Sync)) {
        let mut state = self.state.lock().await;
        if state.pending.is_empty() {
            state.since = Instant::now();
        }
        state.pending.extend(changes);
        if state.pending.len() >= FLUSH_CHANGES || state.since.elapsed() >= FLUSH_EVERY {
            self.apply(&mut state, on_event).await;
        }
    }

    async fn flush(&self, on_event: &(dyn Fn(SyncEvent) + Send + Sync)) {
        let mut state = self.state.lock().await;
        self.apply(&mut state, on_event).await;
    }

    async fn apply(&self, state: &mut FeedState, on_event: &(dyn Fn(SyncEvent) + Send + Sync)) {
        if state.pending.is_empty() {
            return;
        }
        let changes = std::mem::take(&mut state.pending);
        match self.index.apply(self.store.as_ref(), &changes).await {
            Ok(ApplyOutcome { upserted, deleted }) => {
                state.report.upserted += upserted;
                state.report.deleted += deleted;
                on_event(SyncEvent::Indexed { upserted, deleted });
            }
            Err(err) => {
                // The store has the data; only the derived index lags. Say how to fix it
                // instead of failing the sync.
                tracing::warn!(error = %err, "search index update failed");
                state.report.error = Some(format!(
                    "{err}; the store is up to date, run `qapms search --reindex` to rebuild the index"
                ));
            }
        }
    }

    async fn finish(self, on_event: &(dyn Fn(SyncEvent) + Send + Sync)) -> IndexReport {
        self.flush(on_event).await;
        self.state.into_inner().report
    }
}
