//! What the server knows about the user's qapms setup: the loaded config, the store, the Jira
//! client, and read-only caches built from the store.
//!
//! Everything is optional. With nothing configured the server still validates `qapms.yaml`;
//! with only Jira it shows tickets fetched on demand; with a store it answers from it. A store
//! that is locked or down, or a network that is gone, shows up as a log line and an answer
//! with less in it, never as an error in the editor.
//!
//! Tickets are cached in memory, filled from the store at start-up and by on-demand fetches.
//! A cold key is fetched from Jira at most once at a time (concurrent hovers share the fetch),
//! with a short timeout, and the result (found, or not found) is cached and written to the
//! store so the next start knows it. The caches are swapped whole ([`Data`] behind an `Arc`),
//! so a handler reading them never waits for a refresh.
//!
//! Completion reads [`RankedKeys`]: each project's tickets sorted once, when the cache is
//! filled, by the order completion offers them (assigned to the user, then most recently
//! changed, then by key). A request walks its project's list and stops at the cap, so its cost
//! does not grow with the number of cached tickets; a ticket fetched on demand is inserted at
//! its place in a copy of its project's list.

use std::cmp::{Ordering, Reverse};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use qapms_core::config::{self, Config, Env, LoadOptions};
use qapms_core::integrations::jira::{Jira, TICKET_FIELDS, to_ticket};
use qapms_core::logging::Redactor;
use qapms_core::model::{
    ExternalKey, IssueKey, PatternId, RunId, StatusCategory, TestCase, TestId, TestResult, TestRun,
    TestSource, Ticket,
};
use qapms_core::patterns::analyze::{AnalyzeOptions, StoredPattern, condition_of};
use qapms_core::patterns::flaky::{Assessment, Attempt, FlakinessStats, FlakyConfig, Outcome};
use qapms_core::search::SearchIndex;
use qapms_core::store::Store;
use qapms_core::sync::{CancelToken, SyncEvent, Syncer};
use qapms_core::{ErrorKind, secrets};
use tokio::sync::OnceCell;

use crate::features::keys::Projects;
use crate::settings::Settings;

/// How long opening the store may take before the server carries on without it.
const STORE_TIMEOUT: Duration = Duration::from_secs(5);
/// The default budget of a cold ticket fetch.
pub(crate) const FETCH_TIMEOUT: Duration = Duration::from_millis(1500);
/// Results read for a test's hover and code lens.
const RESULTS_PER_TEST: u32 = 200;
/// Page size when loading the caches from the store.
const PAGE: u32 = 1000;

/// A ticket lookup's answer.
#[derive(Debug, Clone)]
pub(crate) enum TicketState {
    Found(Arc<Ticket>),
    /// Jira says there is no such issue (or it is hidden from this user).
    Missing,
    /// Not cached, and Jira could not be asked (not configured, down, too slow).
    Unknown,
}

/// Read-only data built from the store; replaced whole on refresh.
#[derive(Debug, Default)]
pub(crate) struct Data {
    pub cases_by_ticket: HashMap<String, Vec<Arc<TestCase>>>,
    pub clusters: Vec<StoredPattern>,
    pub clusters_by_ticket: HashMap<String, Vec<usize>>,
    pub cluster_by_id: HashMap<PatternId, usize>,
    /// Projects seen in the store's tickets ("synced" projects).
    pub synced_projects: Vec<String>,
}

/// A completion candidate: a ticket with its precomputed rank.
#[derive(Debug, Clone)]
pub(crate) struct RankedTicket {
    /// Assigned to the user first, then newest first.
    rank: (Reverse<bool>, Reverse<chrono::DateTime<chrono::Utc>>),
    pub ticket: Arc<Ticket>,
}

impl RankedTicket {
    fn new(ticket: Arc<Ticket>, user: Option<&str>) -> Self {
        let mine = user.is_some_and(|u| ticket.assignee.as_deref() == Some(u));
        Self {
            rank: (Reverse(mine), Reverse(ticket.updated)),
            ticket,
        }
    }

    /// Completion order; the key breaks ties so the order is total and stable.
    pub(crate) fn order(&self, other: &Self) -> Ordering {
        self.rank
            .cmp(&other.rank)
            .then_with(|| self.ticket.key.as_str().cmp(other.ticket.key.as_str()))
    }
}

/// Every cached ticket, by project, each list in completion order; swapped whole.
#[derive(Debug, Default)]
pub(crate) struct RankedKeys {
    by_project: HashMap<String, Arc<[RankedTicket]>>,
}

impl RankedKeys {
    fn build(tickets: impl IntoIterator<Item = Arc<Ticket>>, user: Option<&str>) -> Self {
        let mut by_project: HashMap<String, Vec<RankedTicket>> = HashMap::new();
        for ticket in tickets {
            by_project
                .entry(ticket.project().to_owned())
                .or_default()
                .push(RankedTicket::new(ticket, user));
        }
        Self {
            by_project: by_project
                .into_iter()
                .map(|(project, mut list)| {
                    list.sort_unstable_by(RankedTicket::order);
                    (project, list.into())
                })
                .collect(),
        }
    }

    /// The ranked list of `project` (empty when nothing of it is cached).
    pub(crate) fn project(&self, project: &str) -> Option<&Arc<[RankedTicket]>> {
        self.by_project.get(project)
    }

    /// This list with `ticket` in its place (replacing an older copy of the same key).
    fn with(&self, ticket: Arc<Ticket>, user: Option<&str>) -> Self {
        let entry = RankedTicket::new(ticket, user);
        let mut by_project = self.by_project.clone();
        let project = entry.ticket.project().to_owned();
        let mut list: Vec<RankedTicket> = by_project
            .get(&project)
            .map(|l| {
                l.iter()
                    .filter(|t| t.ticket.key != entry.ticket.key)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let at = list.partition_point(|t| t.order(&entry) == Ordering::Less);
        list.insert(at, entry);
        by_project.insert(project, list.into());
        Self { by_project }
    }
}

/// The workspace: config, store, Jira and caches.
#[derive(Debug)]
pub(crate) struct Workspace {
    pub root: Option<PathBuf>,
    pub settings: Settings,
    pub config: Option<Config>,
    pub data_dir: Option<PathBuf>,
    pub store: Option<Arc<dyn Store>>,
    pub jira: Option<Arc<Jira>>,
    jira_site: Option<url::Url>,
    pub projects: Projects,
    pub flaky: FlakyConfig,
    data: RwLock<Arc<Data>>,
    tickets: RwLock<HashMap<String, Arc<OnceCell<TicketState>>>>,
    ranked: Arc<RwLock<Arc<RankedKeys>>>,
    runs: RwLock<HashMap<RunId, Arc<TestRun>>>,
    index: OnceCell<Option<Arc<SearchIndex>>>,
}

/// A test's history, as hover and code lens show it.
#[derive(Debug, Clone)]
pub(crate) struct TestHistory {
    pub id: TestId,
    /// Newest first, with the run each belongs to.
    pub results: Vec<(TestResult, Option<Arc<TestRun>>)>,
    pub flakiness: Assessment,
    /// The current failing streak: since when, and the latest failure's cluster.
    pub failing_since: Option<chrono::DateTime<chrono::Utc>>,
    pub cluster: Option<StoredPattern>,
    pub tickets: Vec<IssueKey>,
    pub testmo_case: Option<String>,
    pub title: Option<String>,
}

impl Workspace {
    /// A workspace with nothing configured: `qapms.yaml` diagnostics only.
    pub(crate) fn empty(settings: Settings) -> Self {
        let projects = Projects::new(&settings.key_patterns);
        Self {
            root: None,
            settings,
            config: None,
            data_dir: None,
            store: None,
            jira: None,
            jira_site: None,
            projects,
            flaky: FlakyConfig::default(),
            data: RwLock::default(),
            tickets: RwLock::default(),
            ranked: Arc::default(),
            runs: RwLock::default(),
            index: OnceCell::new(),
        }
    }

    /// Loads the config found from `root` (or the settings' path), opens the store and the
    /// Jira client, and fills the caches. Each part that fails is logged and left out.
    pub(crate) async fn load(
        root: Option<PathBuf>,
        settings: Settings,
        env: &Env,
        progress: &(dyn Fn(&str) + Send + Sync),
    ) -> Self {
        let mut ws = Self::empty(settings);
        ws.root.clone_from(&root);
        let cwd = root.clone().unwrap_or_else(|| PathBuf::from("."));
        let options = LoadOptions {
            path: ws.settings.config_path.as_ref().map(PathBuf::from),
            profile: ws.settings.profile.clone(),
            cwd,
            env: env.clone(),
        };
        progress("reading the configuration");
        let loaded = match config::load(&options) {
            Ok(loaded) => loaded,
            Err(errors) => {
                tracing::warn!(%errors, "qapms config not loaded; ticket features use defaults");
                return ws;
            }
        };
        ws.data_dir = Some(loaded.paths.data_dir.clone());
        if let Ok(options) = AnalyzeOptions::from_config(&loaded.config.patterns) {
            ws.flaky = options.flaky;
        }
        let redactor = Redactor::new();
        if let Some(jira_config) = loaded
            .config
            .integrations
            .jira
            .as_ref()
            .filter(|j| j.enabled)
        {
            let lookup = secrets::KeyLookup {
                env,
                config_dir: &loaded.paths.config_dir,
                passphrase: None,
            };
            let client = secrets::unlock(&loaded.config, &lookup, &redactor)
                .and_then(|unlocked| Jira::from_config(jira_config, &unlocked, Some(redactor)));
            match client {
                Ok(jira) => {
                    ws.jira = Some(Arc::new(jira));
                    ws.jira_site = url::Url::parse(&jira_config.base_url).ok();
                }
                Err(e) => tracing::warn!(error = %e, "Jira not available"),
            }
        }
        let url = loaded.config.store.resolved_url(&loaded.paths);
        // The store is only opened when it exists already: the editor should not create a
        // database in the user's data directory as a side effect of opening a file.
        if store_exists(&url) {
            progress("opening the store");
            match tokio::time::timeout(STORE_TIMEOUT, qapms_core::store::open(&url)).await {
                Ok(Ok(store)) => ws.store = Some(store),
                Ok(Err(e)) => tracing::warn!(error = %e, "store not available"),
                Err(_) => tracing::warn!("store did not open in time"),
            }
        }
        ws.config = Some(loaded.config);
        ws.refresh_data(progress).await;
        ws.rebuild_projects();
        ws
    }

    fn rebuild_projects(&mut self) {
        let mut keys: Vec<String> = self.settings.key_patterns.clone();
        if let Some(jira) = self
            .config
            .as_ref()
            .and_then(|c| c.integrations.jira.as_ref())
        {
            keys.extend(jira.projects.iter().map(|p| p.0.clone()));
        }
        keys.extend(self.data().synced_projects.iter().cloned());
        self.projects = Projects::new(keys);
    }

    pub(crate) fn data(&self) -> Arc<Data> {
        self.data
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Re-reads tickets, test cases and clusters from the store and swaps the caches.
    pub(crate) async fn refresh_data(&self, progress: &(dyn Fn(&str) + Send + Sync)) {
        let Some(store) = &self.store else {
            return;
        };
        let mut data = Data::default();
        progress("loading tickets");
        let mut projects = HashSet::new();
        let mut after: Option<IssueKey> = None;
        let mut tickets = Vec::new();
        loop {
            match store.tickets_after(after.as_ref(), PAGE).await {
                Ok(page) => {
                    let done = page.len() < PAGE as usize;
                    after = page.last().map(|t| t.key.clone());
                    tickets.extend(page);
                    if done {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read tickets from the store");
                    break;
                }
            }
        }
        {
            let mut cache = self.tickets.write().unwrap_or_else(PoisonError::into_inner);
            for t in tickets {
                projects.insert(t.project().to_owned());
                cache.insert(
                    t.key.to_string(),
                    Arc::new(OnceCell::new_with(Some(TicketState::Found(Arc::new(t))))),
                );
            }
            let found = cache.values().filter_map(|cell| match cell.get() {
                Some(TicketState::Found(t)) => Some(t.clone()),
                _ => None,
            });
            let ranked = RankedKeys::build(found, self.settings.user.as_deref());
            *self.ranked.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(ranked);
        }
        data.synced_projects = projects.into_iter().collect();
        data.synced_projects.sort();
        progress("loading test cases");
        let mut after: Option<TestId> = None;
        loop {
            match store.test_cases_after(after.as_ref(), PAGE).await {
                Ok(page) => {
                    let done = page.len() < PAGE as usize;
                    after = page.last().map(|(c, _)| c.id);
                    for (case, _) in page {
                        let case = Arc::new(case);
                        for key in &case.ticket_keys {
                            data.cases_by_ticket
                                .entry(key.to_string())
                                .or_default()
                                .push(case.clone());
                        }
                    }
                    if done {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read test cases from the store");
                    break;
                }
            }
        }
        progress("loading failure clusters");
        match store.patterns_of_kind("failure_cluster").await {
            Ok(clusters) => {
                for (i, c) in clusters.iter().enumerate() {
                    data.cluster_by_id.insert(c.id, i);
                    for link in &c.links {
                        data.clusters_by_ticket
                            .entry(link.issue.to_string())
                            .or_default()
                            .push(i);
                    }
                }
                data.clusters = clusters;
            }
            Err(e) => tracing::warn!(error = %e, "cannot read failure clusters"),
        }
        *self.data.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(data);
    }

    /// The cached state of a key, without asking Jira.
    pub(crate) fn cached_ticket(&self, key: &str) -> Option<TicketState> {
        let cache = self.tickets.read().unwrap_or_else(PoisonError::into_inner);
        cache.get(key).and_then(|cell| cell.get().cloned())
    }

    /// Every cached ticket, ranked for completion (a snapshot: cheap to take, never waits).
    pub(crate) fn ranked_keys(&self) -> Arc<RankedKeys> {
        self.ranked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A ticket from the cache, or fetched from Jira once (sharing a fetch in flight) within
    /// `timeout`. A fetch that times out keeps running in the background and fills the cache
    /// for the next request.
    pub(crate) async fn ticket(&self, key: &str, timeout: Duration) -> TicketState {
        let cell = {
            let mut cache = self.tickets.write().unwrap_or_else(PoisonError::into_inner);
            cache.entry(key.to_owned()).or_default().clone()
        };
        if let Some(state) = cell.get() {
            return state.clone();
        }
        let (Some(jira), Some(site)) = (self.jira.clone(), self.jira_site.clone()) else {
            return TicketState::Unknown;
        };
        let Ok(issue_key) = IssueKey::parse(key) else {
            return TicketState::Missing;
        };
        let store = self.store.clone();
        let ranked = self.ranked.clone();
        let user = self.settings.user.clone();
        let fetch = {
            let cell = cell.clone();
            async move {
                // A failed fetch is not cached: the next request tries again.
                cell.get_or_try_init(|| async {
                    match fetch_ticket(jira, site, issue_key, store).await {
                        TicketState::Unknown => Err(()),
                        TicketState::Found(ticket) => {
                            let mut ranked = ranked.write().unwrap_or_else(PoisonError::into_inner);
                            *ranked = Arc::new(ranked.with(ticket.clone(), user.as_deref()));
                            Ok(TicketState::Found(ticket))
                        }
                        TicketState::Missing => Ok(TicketState::Missing),
                    }
                })
                .await
                .map_or(TicketState::Unknown, Clone::clone)
            }
        };
        let handle = tokio::spawn(fetch);
        match tokio::time::timeout(timeout, handle).await {
            Ok(Ok(state)) => state,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "ticket fetch task failed");
                TicketState::Unknown
            }
            Err(_) => TicketState::Unknown,
        }
    }

    /// The background refresh: an incremental Jira sync of the configured projects into the
    /// store and the search index, then the tickets in view re-read from the store. Keys the
    /// sync does not cover (a project known only from `keyPatterns`, or no project configured
    /// and the store missing) are fetched again one by one. Returns how many tickets in view
    /// were refreshed.
    pub(crate) async fn refresh_tickets(
        &self,
        keys: &[String],
        progress: &(dyn Fn(&str) + Send + Sync),
    ) -> usize {
        let (Some(jira), Some(store)) = (self.jira.clone(), self.store.clone()) else {
            return self.refetch(keys).await;
        };
        let projects: Vec<String> = self
            .config
            .as_ref()
            .and_then(|c| c.integrations.jira.as_ref())
            .map(|j| j.projects.iter().map(|p| p.0.clone()).collect())
            .unwrap_or_default();
        let mut syncer = Syncer::new(store.clone()).jira((*jira).clone(), projects);
        if let Some(index) = self.index(&|_| {}).await {
            syncer = syncer.index(index);
        }
        let on_event = |event: SyncEvent| {
            if let SyncEvent::Progress { scope, counts, .. } = event {
                progress(&format!(
                    "{scope}: {} read, {} changed",
                    counts.seen, counts.written
                ));
            }
        };
        let report = syncer.run(&on_event, &CancelToken::new()).await;
        let written: u64 = report.integrations.iter().map(|r| r.counts.written).sum();
        for failed in report
            .integrations
            .iter()
            .filter_map(|r| r.error.as_deref())
        {
            tracing::warn!(
                error = failed,
                "background Jira sync failed; cached tickets kept"
            );
        }
        if written > 0 {
            // Completion ranks every stored ticket; re-read them once, not per key.
            self.refresh_data(progress).await;
        }
        let parsed: Vec<IssueKey> = keys
            .iter()
            .filter_map(|k| IssueKey::parse(k).ok())
            .collect();
        let stored = match store.tickets_by_key(&parsed).await {
            Ok(tickets) => tickets,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read refreshed tickets from the store");
                Vec::new()
            }
        };
        let mut fresh: HashSet<String> = HashSet::new();
        {
            let mut cache = self.tickets.write().unwrap_or_else(PoisonError::into_inner);
            let mut ranked = self.ranked.write().unwrap_or_else(PoisonError::into_inner);
            for ticket in stored {
                let key = ticket.key.as_str().to_owned();
                let ticket = Arc::new(ticket);
                *ranked = Arc::new(ranked.with(ticket.clone(), self.settings.user.as_deref()));
                cache.insert(
                    key.clone(),
                    Arc::new(OnceCell::new_with(Some(TicketState::Found(ticket)))),
                );
                fresh.insert(key);
            }
        }
        let rest: Vec<String> = keys
            .iter()
            .filter(|k| !fresh.contains(*k))
            .cloned()
            .collect();
        fresh.len() + self.refetch(&rest).await
    }

    /// Forgets cached answers for these keys and fetches them again from Jira.
    pub(crate) async fn refetch(&self, keys: &[String]) -> usize {
        if self.jira.is_none() {
            return 0;
        }
        let mut done = 0;
        for key in keys {
            {
                let mut cache = self.tickets.write().unwrap_or_else(PoisonError::into_inner);
                cache.insert(key.clone(), Arc::default());
            }
            if !matches!(
                self.ticket(key, FETCH_TIMEOUT * 4).await,
                TicketState::Unknown
            ) {
                done += 1;
            }
        }
        done
    }

    /// The store's test for a test item's identity keys, trying each key in turn.
    pub(crate) async fn resolve_test(&self, keys: &[ExternalKey]) -> Option<TestId> {
        let store = self.store.as_ref()?;
        for key in keys {
            match store.resolve_test(key).await {
                Ok(id) => return Some(id),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cannot resolve a test");
                    return None;
                }
            }
        }
        None
    }

    async fn run(&self, store: &dyn Store, id: &RunId) -> Option<Arc<TestRun>> {
        if let Some(run) = self
            .runs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
        {
            return Some(run.clone());
        }
        let run = Arc::new(store.run(id).await.ok()?);
        self.runs
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(*id, run.clone());
        Some(run)
    }

    /// A test's last results, flakiness (the same model and settings as `qapms patterns`),
    /// failing streak and cluster, and its links.
    pub(crate) async fn test_history(&self, id: TestId) -> Option<TestHistory> {
        let store = self.store.as_ref()?;
        let results = match store.results_for_test(&id, RESULTS_PER_TEST).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read test results");
                return None;
            }
        };
        let mut with_runs = Vec::with_capacity(results.len());
        for r in results {
            let run = self.run(store.as_ref(), &r.run_id).await;
            with_runs.push((r, run));
        }
        let mut stats = FlakinessStats::new();
        for (r, run) in with_runs.iter().rev() {
            let outcome = match r.status {
                qapms_core::model::TestStatus::Passed => Outcome::Pass,
                qapms_core::model::TestStatus::Failed => Outcome::Fail,
                qapms_core::model::TestStatus::Error => Outcome::Error,
                _ => continue,
            };
            let condition = run.as_ref().map_or(0, |run| {
                condition_of(run.environment.as_deref(), run.revision.as_deref())
            });
            stats.record(Attempt {
                outcome,
                retry: r.attempt.saturating_sub(1),
                condition,
            });
        }
        let flakiness = stats.assess(&self.flaky);
        // The failing streak: the newest results that failed, by run.
        let mut failing_since = None;
        let mut cluster_id = None;
        let mut last_run = None;
        for (r, run) in &with_runs {
            if last_run == Some(r.run_id) {
                continue;
            }
            last_run = Some(r.run_id);
            if r.status.is_failure() {
                failing_since = run.as_ref().map(|run| run.started_at).or(failing_since);
                cluster_id = cluster_id.or(r.cluster_id);
            } else {
                break;
            }
        }
        let data = self.data();
        let cluster = cluster_id
            .or_else(|| with_runs.iter().find_map(|(r, _)| r.cluster_id))
            .and_then(|c| data.cluster_by_id.get(&c))
            .and_then(|&i| data.clusters.get(i))
            .cloned();
        let case = store.test_case(&id).await.ok();
        let testmo_case = store.test_identities(&id).await.ok().and_then(|ids| {
            ids.into_iter()
                .rev()
                .find(|i| i.key.system == TestSource::Testmo)
                .map(|i| i.key.key)
        });
        Some(TestHistory {
            id,
            results: with_runs,
            flakiness,
            failing_since,
            cluster,
            tickets: case
                .as_ref()
                .map(|c| c.ticket_keys.clone())
                .unwrap_or_default(),
            testmo_case,
            title: case.map(|c| c.title),
        })
    }

    /// The search index in the data directory, opened (and rebuilt from the store when it is
    /// missing or stale) on first use.
    pub(crate) async fn index(
        &self,
        progress: &(dyn Fn(&str) + Send + Sync),
    ) -> Option<Arc<SearchIndex>> {
        self.index
            .get_or_init(|| async {
                let store = self.store.as_ref()?;
                let dir = self
                    .config
                    .as_ref()
                    .and_then(|c| c.search.index_dir.clone())
                    .or_else(|| self.data_dir.as_ref().map(|d| d.join("index")))?;
                progress("opening the search index");
                let report = |p: qapms_core::search::IndexProgress| {
                    progress(&match p.total {
                        Some(total) => format!("indexing: {}/{total}", p.done),
                        None => format!("indexing: {}", p.done),
                    });
                };
                match SearchIndex::open(&dir, store.as_ref(), &report).await {
                    Ok((index, _status)) => Some(Arc::new(index)),
                    Err(e) => {
                        tracing::warn!(error = %e, "search index not available");
                        None
                    }
                }
            })
            .await
            .clone()
    }

    /// Brings the search index, if it was opened, up to date with the store's failure
    /// clusters and workflows, which analysis and workflow actions elsewhere change.
    pub(crate) async fn catch_up_index(&self) {
        let (Some(Some(index)), Some(store)) = (self.index.get(), self.store.as_ref()) else {
            return;
        };
        if let Err(err) = index.catch_up(store.as_ref()).await {
            tracing::debug!(error = %err, "search index catch-up skipped");
        }
    }

    /// The workspace-relative path of a file URI path, with `/` separators.
    pub(crate) fn relative_path(&self, path: &str) -> String {
        let path = Path::new(path);
        self.root
            .as_ref()
            .and_then(|root| path.strip_prefix(root).ok())
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/")
            .trim_start_matches('/')
            .to_owned()
    }
}

fn store_exists(url: &str) -> bool {
    match url.strip_prefix("sqlite:") {
        Some(rest) => {
            let path = rest.trim_start_matches("//");
            let path = path.split('?').next().unwrap_or(path);
            path == ":memory:" || Path::new(path).exists()
        }
        // A server database exists independently of us; connecting creates nothing.
        None => true,
    }
}

async fn fetch_ticket(
    jira: Arc<Jira>,
    site: url::Url,
    key: IssueKey,
    store: Option<Arc<dyn Store>>,
) -> TicketState {
    let fetched = jira.issues().get(&key).fields(TICKET_FIELDS).send().await;
    match fetched.and_then(|issue| to_ticket(issue, &site)) {
        Ok(ticket) => {
            if let Some(store) = store
                && let Err(e) = store.upsert_tickets(std::slice::from_ref(&ticket)).await
            {
                tracing::warn!(error = %e, "cannot cache a fetched ticket in the store");
            }
            TicketState::Found(Arc::new(ticket))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => TicketState::Missing,
        Err(e) => {
            tracing::warn!(%key, error = %e, "cannot fetch a ticket from Jira");
            TicketState::Unknown
        }
    }
}

/// Whether a ticket counts as resolved for the "unskip this test?" check.
pub(crate) fn is_resolved(ticket: &Ticket) -> bool {
    ticket.status_category == StatusCategory::Done
}
