//! The store: one trait over `SQLite` and `PostgreSQL`.
//!
//! Callers hold an `Arc<dyn Store>` and never see SQL. [`open`] picks the backend from the URL
//! scheme (`sqlite:` or `postgres://`/`postgresql://`), connects and applies that backend's
//! migrations (`migrations/{sqlite,postgres}/`, embedded at build time) before returning, so a
//! store in hand always has the current schema.
//!
//! Both backends share one implementation of the trait (`shared.rs`), compiled once per backend
//! with that backend's `Db` type in scope: the SQL is written in the dialect both accept
//! (`$1` parameters, `ON CONFLICT … DO UPDATE`, `excluded.`), and the differences live in the
//! migrations (native types per backend) and in connection set-up. A column type that differs,
//! such as timestamps, goes through a small adapter type ([`time::DbTime`]). One conformance
//! suite (`tests/store_conformance.rs`) runs every method against both backends.
//!
//! Durability (DESIGN §3): writes that belong together run in one transaction, and `SQLite` runs
//! in WAL mode with `synchronous=FULL`, so a crash, a kill or a power cut loses no committed
//! workflow state or time entry.
//!
//! Store URLs may hold a password. They appear in errors, logs and `Debug` output only through
//! [`redact_url`].

// The internals exist only when a backend is compiled in; a build without one still compiles
// (so `cargo hack --each-feature` passes) and `open` then explains what is missing.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod error;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod rows;
mod server;
#[cfg(feature = "sqlite")]
mod sqlite;
mod sync_state;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod time;
mod url;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod workflow_rows;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use chrono::{DateTime, Utc};

use crate::dashboard::facts::{Fact, FactQuery};
use crate::model::{
    ExternalKey, ImportBatchOutcome, ImportedTest, IssueKey, Page, RunId, SearchDocument,
    SearchDocumentKey, TestCase, TestId, TestIdentity, TestResult, TestRun, Ticket, TicketFilter,
    TimeEntry, TimeEntryFilter, TimeEntryId, User, UserId,
};
use crate::model::{
    HistoryEntry, IdlePeriod, StepEstimate, TimeHistoryFilter, Timer, TrackingWrite, Workflow,
    WorkflowEvent, WorkflowFilter, WorkflowId, WorkflowWrite,
};
use crate::patterns::alerts::{
    Alert, AlertAction, AlertDraft, AlertFilter, AlertId, AlertKind, RaiseOutcome,
};
use crate::patterns::analyze::{AnalysisWrite, FailedAttempt, StoredPattern, TestHistory};
use crate::{Error, Result};

#[cfg(feature = "postgres")]
pub use postgres::PgStore;
pub use server::{
    AlertRecord, ApiTokenRecord, IntegrationCheck, IntegrationHealthSummary, JobLease,
    LoginAttempt, LoginFailures, NewAlert, SessionRecord,
};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use sync_state::{
    SignalWindow, SyncBatch, SyncBatchOutcome, SyncItem, SyncScope, SyncedCase, SyncedRun,
    SyncedSignal,
};
pub use url::redact_url;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `qapms-server admin` and the dashboard show about a store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreInfo {
    pub backend: Backend,
    /// The file path or the URL, with any password removed.
    pub location: String,
    /// The highest migration applied.
    pub schema_version: i64,
    /// Each table with its row count, in schema order.
    pub tables: Vec<(String, i64)>,
}

/// How to connect. Build it with [`StoreSettings::new`] and adjust the fields if needed.
///
/// `Debug` redacts the URL, so settings can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// `sqlite:///abs/path/qapms.db`, `sqlite::memory:`, or
    /// `postgres://user:pass@host/db?schema=name`.
    pub url: String,
    /// The pool size; `None` picks a default per backend (`SQLite` 4, `PostgreSQL` 8). An in-memory
    /// `SQLite` store always uses one connection, since the database lives and dies with it.
    pub max_connections: Option<u32>,
    /// How long a call waits for a free connection before failing as temporary.
    pub acquire_timeout: Duration,
    /// How long a `SQLite` writer waits for another writer's lock before failing as temporary.
    pub busy_timeout: Duration,
}

impl StoreSettings {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: None,
            acquire_timeout: Duration::from_secs(30),
            busy_timeout: Duration::from_secs(10),
        }
    }
}

impl fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreSettings")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("busy_timeout", &self.busy_timeout)
            .finish()
    }
}

/// The newest migration this build applies to a `backend` store: what
/// [`StoreInfo::schema_version`] is once [`open`] has migrated it. `None` when that backend is
/// not compiled in.
pub fn known_schema_version(backend: Backend) -> Option<i64> {
    match backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => Some(sqlite::known_schema_version()),
        #[cfg(feature = "postgres")]
        Backend::Postgres => Some(postgres::known_schema_version()),
        #[cfg(not(all(feature = "sqlite", feature = "postgres")))]
        _ => None,
    }
}

/// A failed migration run as an error that says what happened to the schema and what to do.
/// A store migrated by another build carries the contexts `store_schema` (the migration this
/// build lacks) and `known_schema`, so `qapms doctor` can explain it.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn migration_error(
    backend: &str,
    location: &str,
    known: i64,
    err: sqlx::migrate::MigrateError,
) -> Error {
    use sqlx::migrate::MigrateError;
    let base = match &err {
        MigrateError::VersionMissing(version) => Error::store(format!(
            "the {backend} store was migrated by another qapms version: it has migration \
             {version}, which this qapms does not know (it knows migrations up to {known}); \
             use the qapms version that migrated it, or point `store.url` at another database"
        ))
        .with_context("store_schema", version.to_string())
        .with_context("known_schema", known.to_string()),
        MigrateError::VersionMismatch(version) => Error::store(format!(
            "migration {version} of the {backend} store differs from the one this qapms \
             applies: the store was migrated by a development build; use a fresh database"
        ))
        .with_context("store_schema", version.to_string())
        .with_context("known_schema", known.to_string()),
        MigrateError::Dirty(version) => Error::store(format!(
            "migration {version} of the {backend} store was applied only in part; restore a \
             backup or remove its row from `_sqlx_migrations` after checking the schema"
        )),
        _ => Error::store(format!("cannot apply the {backend} store migrations")),
    };
    base.with_context("location", location.to_owned())
        .with_source(err)
}

/// The URL schemes [`open`] understands, for error messages.
const SUPPORTED_SCHEMES: &str = "sqlite: (a file, or sqlite::memory:), postgres://, postgresql://";

/// Opens the store at `url` with default settings; see [`open_with`].
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    open_with(&StoreSettings::new(url)).await
}

/// Connects to the store the URL scheme names and applies pending migrations.
///
/// An unknown scheme, or one whose backend was compiled out, is an [`ErrorKind::Config`]
/// error; a database that cannot be reached is an [`ErrorKind::Store`] error marked temporary.
///
/// [`ErrorKind::Config`]: crate::ErrorKind::Config
/// [`ErrorKind::Store`]: crate::ErrorKind::Store
#[cfg_attr(
    not(any(feature = "sqlite", feature = "postgres")),
    expect(
        clippy::unused_async,
        reason = "without a backend there is nothing to await"
    )
)]
pub async fn open_with(settings: &StoreSettings) -> Result<Arc<dyn Store>> {
    let url = settings.url.trim();
    let store: Result<Arc<dyn Store>> = match url::scheme(url) {
        #[cfg(feature = "sqlite")]
        Some("sqlite") => SqliteStore::connect(settings)
            .await
            .map(|s| Arc::new(s) as Arc<dyn Store>),
        #[cfg(not(feature = "sqlite"))]
        Some("sqlite") => Err(missing_backend("SQLite", "sqlite")),
        #[cfg(feature = "postgres")]
        Some("postgres" | "postgresql") => PgStore::connect(settings)
            .await
            .map(|s| Arc::new(s) as Arc<dyn Store>),
        #[cfg(not(feature = "postgres"))]
        Some("postgres" | "postgresql") => Err(missing_backend("PostgreSQL", "postgres")),
        Some(other) => Err(Error::config(format!(
            "unsupported store URL scheme `{other}:`; supported: {SUPPORTED_SCHEMES}"
        ))),
        None => Err(Error::config(format!(
            "the store URL has no scheme; supported: {SUPPORTED_SCHEMES}"
        ))),
    };
    let store = store?;
    tracing::info!(backend = %store.backend(), location = %redact_url(url), "store opened");
    Ok(store)
}

/// The user named `name`, created with `role` on first use: how the command line and the
/// Python package act for whoever runs them. A concurrent creator wins the race and its row is
/// read back, so two processes starting at once end up with one user.
pub async fn ensure_user(
    store: &dyn Store,
    name: &str,
    role: crate::model::Role,
) -> Result<crate::model::User> {
    use crate::ErrorKind;
    if name.trim().is_empty() {
        return Err(Error::invalid_input("a user name cannot be empty"));
    }
    match store.user_by_name(name).await {
        Ok(user) => Ok(user),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let user = crate::model::User::new(name, role);
            match store.create_user(&user).await {
                Ok(()) => Ok(user),
                Err(e) if e.kind() == ErrorKind::Conflict => store.user_by_name(name).await,
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// The error for a backend compiled out of this build.
#[cfg(not(all(feature = "sqlite", feature = "postgres")))]
fn missing_backend(name: &str, feature: &str) -> Error {
    Error::config(format!(
        "this build of qapms has no {name} support (Cargo feature `{feature}`)"
    ))
}

/// Everything qapms persists, behind one object-safe trait.
///
/// Methods are grouped by area; later areas (workflows, patterns, search documents) add their
/// own groups. Conventions for every method:
/// - a lookup of one thing that does not exist fails with [`ErrorKind::NotFound`];
/// - a write that collides with an existing key fails with [`ErrorKind::Conflict`];
/// - a write that names a missing record, or breaks a rule of the data (an entry that ends
///   before it starts), fails with [`ErrorKind::InvalidInput`] and changes nothing;
/// - a database that is down or busy fails with [`ErrorKind::Store`], marked temporary;
/// - a method that writes several rows writes all of them or none (one transaction).
///
/// [`ErrorKind::NotFound`]: crate::ErrorKind::NotFound
/// [`ErrorKind::Conflict`]: crate::ErrorKind::Conflict
/// [`ErrorKind::InvalidInput`]: crate::ErrorKind::InvalidInput
/// [`ErrorKind::Store`]: crate::ErrorKind::Store
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    // ---- The store itself -------------------------------------------------------------------

    fn backend(&self) -> Backend;

    /// Backend, redacted location, schema version and row counts. Counting reads every table,
    /// so this is for `store info` and the CLI, not for health checks.
    async fn info(&self) -> Result<StoreInfo>;

    /// The newest migration applied: one indexed read, cheap enough for a health check.
    async fn schema_version(&self) -> Result<i64>;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<()>;

    /// Waits for running calls and closes every connection. Later calls fail.
    async fn close(&self);

    // ---- Users ------------------------------------------------------------------------------

    /// Adds a user; a taken name is a conflict.
    async fn create_user(&self, user: &User) -> Result<()>;

    async fn user_by_name(&self, name: &str) -> Result<User>;

    /// All users, by name.
    async fn list_users(&self) -> Result<Vec<User>>;

    /// Sets (or with `None`, clears) the argon2id hash used for dashboard sign-in.
    async fn set_user_password_hash(&self, id: &UserId, hash: Option<&str>) -> Result<()>;

    /// The sign-in hash, if one is set.
    async fn user_password_hash(&self, id: &UserId) -> Result<Option<String>>;

    async fn set_user_disabled(&self, id: &UserId, disabled: bool) -> Result<()>;

    // ---- Tickets ----------------------------------------------------------------------------

    /// Inserts or replaces tickets by key, all in one transaction. When a key appears more than
    /// once, the last one wins.
    async fn upsert_tickets(&self, tickets: &[Ticket]) -> Result<()>;

    async fn ticket(&self, key: &IssueKey) -> Result<Ticket>;

    /// Tickets matching the filter, ordered by project and issue number.
    async fn list_tickets(&self, filter: &TicketFilter) -> Result<Page<Ticket>>;

    // ---- Test cases, runs and results -------------------------------------------------------

    /// Inserts or replaces test cases by id, all in one transaction. Another id with the same
    /// source and external id is a conflict.
    async fn upsert_test_cases(&self, cases: &[TestCase]) -> Result<()>;

    async fn test_case(&self, id: &TestId) -> Result<TestCase>;

    /// Stores a run with all its results in one transaction: either the run is there with
    /// every result, or nothing is. Each result must belong to `run` and name a stored test.
    async fn insert_run(&self, run: &TestRun, results: &[TestResult]) -> Result<()>;

    async fn run(&self, id: &RunId) -> Result<TestRun>;

    /// The most recent runs, newest first.
    async fn list_runs(&self, limit: u32) -> Result<Vec<TestRun>>;

    /// The results of one run, by test id and attempt.
    async fn results_for_run(&self, id: &RunId) -> Result<Vec<TestResult>>;

    /// The latest results of one test, newest run first (and last attempt first within a run).
    async fn results_for_test(&self, id: &TestId, limit: u32) -> Result<Vec<TestResult>>;

    // ---- Imports and test identity ----------------------------------------------------------

    /// Starts importing a run of unknown size: stores `run` in a new transaction and returns the
    /// writer that adds its tests batch by batch, so an importer never holds a whole report in
    /// memory. Nothing is visible to other callers until [`RunImport::finish`]; dropping the
    /// writer unfinished (an error, a cancelled task) rolls the run and every test it created
    /// back, so a failed import leaves no partial run.
    ///
    /// On `SQLite` the writer holds the database's write lock until it is finished or dropped.
    async fn begin_run_import(&self, run: &TestRun) -> Result<Box<dyn RunImport>>;

    /// The test an external key currently names; [`ErrorKind::NotFound`] if none.
    ///
    /// [`ErrorKind::NotFound`]: crate::ErrorKind::NotFound
    async fn resolve_test(&self, key: &ExternalKey) -> Result<TestId>;

    /// Every key a test is or was known by, oldest first (closed rows are rename history).
    async fn test_identities(&self, id: &TestId) -> Result<Vec<TestIdentity>>;

    // ---- Time -------------------------------------------------------------------------------

    /// Appends a time entry. Entries are never changed or deleted: to correct one, append a new
    /// entry whose `corrects` names it.
    async fn append_time_entry(&self, entry: &TimeEntry) -> Result<()>;

    /// Records the Jira worklog an entry was exported as. It can be set once; setting it again
    /// to another value is rejected like any other change to an entry.
    async fn set_time_entry_worklog(&self, id: &TimeEntryId, worklog_id: &str) -> Result<()>;

    /// Entries matching the filter, by start time.
    async fn time_entries(&self, filter: &TimeEntryFilter) -> Result<Vec<TimeEntry>>;

    // ---- Integration state ------------------------------------------------------------------

    /// A sync cursor, such as the `updated` time of the last Jira issue seen.
    async fn cursor(&self, integration: &str, name: &str) -> Result<Option<String>>;

    async fn set_cursor(&self, integration: &str, name: &str, value: &str) -> Result<()>;

    // ---- Workflows and time tracking --------------------------------------------------------

    /// Applies one workflow transition in one transaction: the workflow row (created when
    /// `expected_version` is `None`, else updated only if its version is still the expected
    /// one), the changed steps, the events and the tracking write. A stale version or a timer
    /// that changed meanwhile is an [`ErrorKind::Conflict`] and writes nothing.
    ///
    /// [`ErrorKind::Conflict`]: crate::ErrorKind::Conflict
    async fn write_workflow(&self, write: &WorkflowWrite) -> Result<()>;

    /// One workflow with its steps and the runs attached to them.
    async fn workflow(&self, id: &WorkflowId) -> Result<Workflow>;

    /// Workflows matching the filter, most recently updated first.
    async fn list_workflows(&self, filter: &WorkflowFilter) -> Result<Vec<Workflow>>;

    /// A workflow's transition log, oldest first.
    async fn workflow_events(&self, id: &WorkflowId) -> Result<Vec<WorkflowEvent>>;

    /// The user's running timer, if any.
    async fn timer(&self, user: &UserId) -> Result<Option<Timer>>;

    /// Applies a tracking write that belongs to no workflow transition (a plain timer, a
    /// manual entry, a correction, a kept idle period), in one transaction, with the same
    /// conflict rules as [`Store::write_workflow`].
    async fn write_tracking(&self, write: &TrackingWrite) -> Result<()>;

    /// A user's idle periods that started in `[from, to)`, by start time.
    async fn idle_periods(
        &self,
        user: &UserId,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<IdlePeriod>>;

    /// Time entries with their workflow's template, by start time. Every entry is returned,
    /// corrected ones included; `crate::tracking` works out which are current.
    async fn time_history(&self, filter: &TimeHistoryFilter) -> Result<Vec<HistoryEntry>>;

    /// Every workflow step with its estimate, optionally for one template.
    async fn step_estimates(&self, template: Option<&str>) -> Result<Vec<StepEstimate>>;

    /// Attaches a stored run to the active step of every in-progress or paused workflow for
    /// one of `tickets`, logging a `run_attached` event by the workflow's owner and bumping
    /// its version, all in one transaction. Returns the `(workflow, step position)` pairs
    /// attached; attaching the same run twice is a no-op.
    async fn attach_run_to_active_steps(
        &self,
        run: &RunId,
        tickets: &[IssueKey],
    ) -> Result<Vec<(WorkflowId, u32)>>;

    // ---- Patterns and alerts ----------------------------------------------------------------

    /// Streams every failed or errored attempt with its message, in the order of run id, test
    /// id and attempt (run ids are time-ordered), without holding them all in memory. Returns
    /// how many were visited; an error from `visit` stops the scan and is returned.
    async fn scan_failed_attempts(
        &self,
        visit: &mut (dyn FnMut(FailedAttempt) -> Result<()> + Send),
    ) -> Result<u64>;

    /// Every test's id and external id (`class::name`, a pytest node id), for grouping tests.
    async fn test_external_ids(&self) -> Result<Vec<(TestId, String)>>;

    /// Writes one analysis in one transaction: upserts the cluster rows, applies the changed
    /// assignments, removes clusters no attempt belongs to any more, replaces the clusters'
    /// ticket links and raises the alerts (see [`Store::raise_alerts`]).
    async fn save_analysis(&self, write: &AnalysisWrite) -> Result<Vec<(AlertId, RaiseOutcome)>>;

    /// Stored patterns of one kind (such as `failure_cluster`), with their links, most recently
    /// seen first.
    async fn patterns_of_kind(&self, kind: &str) -> Result<Vec<StoredPattern>>;

    /// Raises alerts with dedup by kind and fingerprint: a new one is created; an open one seen
    /// again gets the later `last_seen`, one more occurrence and the new evidence and severity;
    /// a resolved one (or one whose mute expired) is reopened; a muted one stays muted.
    async fn raise_alerts(&self, drafts: &[AlertDraft]) -> Result<Vec<(AlertId, RaiseOutcome)>>;

    async fn alert(&self, id: &AlertId) -> Result<Alert>;

    /// Alerts matching the filter, most recently seen first.
    async fn list_alerts(&self, filter: &AlertFilter) -> Result<Page<Alert>>;

    /// Applies a person's action to an alert. An action the current state does not allow fails
    /// with [`ErrorKind::InvalidInput`] whose source is a
    /// [`TransitionError`](crate::patterns::alerts::TransitionError), and changes nothing.
    ///
    /// [`ErrorKind::InvalidInput`]: crate::ErrorKind::InvalidInput
    async fn update_alert(
        &self,
        id: &AlertId,
        action: AlertAction,
        by: Option<&UserId>,
    ) -> Result<Alert>;

    // ---- Dashboard server: teams, sessions, tokens, sign-in, health, alerts, leases ---------

    async fn user_by_id(&self, id: &UserId) -> Result<User>;

    /// The user's team, if any.
    async fn user_team(&self, id: &UserId) -> Result<Option<String>>;

    /// Sets (or with `None`, clears) the user's team.
    async fn set_user_team(&self, id: &UserId, team: Option<&str>) -> Result<()>;

    async fn set_user_role(&self, id: &UserId, role: crate::model::Role) -> Result<()>;

    /// The members of a team, by name.
    async fn team_members(&self, team: &str) -> Result<Vec<UserId>>;

    async fn create_session(&self, session: &SessionRecord) -> Result<()>;

    /// A session by the hash of its id, revoked or expired ones included (the caller judges).
    async fn session(&self, token_hash: &str) -> Result<SessionRecord>;

    /// Revokes one session; revoking a revoked or unknown one is not an error.
    async fn revoke_session(&self, token_hash: &str, at: DateTime<Utc>) -> Result<()>;

    /// Revokes every live session of a user (password change, disable); returns how many.
    async fn revoke_user_sessions(&self, user: &UserId, at: DateTime<Utc>) -> Result<u64>;

    /// Deletes sessions that expired before `before`; returns how many.
    async fn purge_sessions(&self, before: DateTime<Utc>) -> Result<u64>;

    /// Adds a token; a name the user already has is a conflict.
    async fn create_api_token(&self, token: &ApiTokenRecord) -> Result<()>;

    async fn api_token_by_hash(&self, token_hash: &str) -> Result<ApiTokenRecord>;

    /// Tokens of one user, or of everyone, by creation time.
    async fn list_api_tokens(&self, user: Option<&UserId>) -> Result<Vec<ApiTokenRecord>>;

    /// Revokes a token; an unknown id is not found.
    async fn revoke_api_token(&self, id: uuid::Uuid, at: DateTime<Utc>) -> Result<()>;

    async fn touch_api_token(&self, id: uuid::Uuid, at: DateTime<Utc>) -> Result<()>;

    async fn record_login_attempt(&self, attempt: &LoginAttempt) -> Result<()>;

    /// Failed sign-ins since `since`: for `user_name` after its last success, and from `ip`.
    async fn login_failures(
        &self,
        user_name: &str,
        ip: &str,
        since: DateTime<Utc>,
    ) -> Result<LoginFailures>;

    async fn record_integration_check(&self, check: &IntegrationCheck) -> Result<()>;

    /// Checks of one integration since `since`, and whether (since when) it is down now.
    async fn integration_health_summary(
        &self,
        integration: &str,
        since: DateTime<Utc>,
    ) -> Result<IntegrationHealthSummary>;

    /// Opens an alert, or refreshes `last_seen`, title and evidence of the open alert with the
    /// same kind and fingerprint. A minimal writer for the server's own alerts
    /// (`integration_down`); the alerts module owns the rest of their life cycle.
    async fn raise_alert(&self, alert: &NewAlert) -> Result<AlertRecord>;

    /// Resolves the open alert with this kind and fingerprint; `false` if none was open.
    async fn resolve_alert(&self, kind: &str, fingerprint: &str, at: DateTime<Utc>)
    -> Result<bool>;

    /// Open alerts, newest first, optionally of one kind.
    async fn open_alerts(&self, kind: Option<&str>) -> Result<Vec<AlertRecord>>;

    /// Takes the lease on job `name` if nobody holds it, else `None`. See [`JobLease`].
    async fn try_job_lease(&self, name: &str) -> Result<Option<JobLease>>;

    // ---- Search documents (and the rows the search index is built from) ---------------------

    /// Inserts or replaces search documents by source and key, all in one transaction. When a
    /// key appears more than once, the last one wins.
    async fn upsert_search_documents(&self, docs: &[SearchDocument]) -> Result<()>;

    /// Deletes search documents by key in one transaction; returns how many existed.
    async fn delete_search_documents(&self, keys: &[SearchDocumentKey]) -> Result<u64>;

    /// The documents with these keys; keys with no document are left out.
    async fn search_documents_by_key(
        &self,
        keys: &[SearchDocumentKey],
    ) -> Result<Vec<SearchDocument>>;

    /// Up to `limit` documents ordered by source and key, starting after `after`: the index
    /// rebuild pages through every document with it.
    async fn search_documents_after(
        &self,
        after: Option<&SearchDocumentKey>,
        limit: u32,
    ) -> Result<Vec<SearchDocument>>;

    /// Up to `limit` tickets ordered by key, starting after `after`.
    async fn tickets_after(&self, after: Option<&IssueKey>, limit: u32) -> Result<Vec<Ticket>>;

    /// The tickets with these keys; missing keys are left out.
    async fn tickets_by_key(&self, keys: &[IssueKey]) -> Result<Vec<Ticket>>;

    /// Up to `limit` test cases with the time each was last written, ordered by id, starting
    /// after `after`.
    async fn test_cases_after(
        &self,
        after: Option<&TestId>,
        limit: u32,
    ) -> Result<Vec<(TestCase, DateTime<Utc>)>>;

    /// The test cases with these ids and the time each was last written; missing ids are left
    /// out.
    async fn test_cases_by_id(&self, ids: &[TestId]) -> Result<Vec<(TestCase, DateTime<Utc>)>>;

    // ---- Pattern recompute: per-test histories and alert clearing ---------------------------

    /// Streams every test's attempts that ran (skipped and blocked ones are left out) as one
    /// [`TestHistory`] per test, aggregated in the database so that a million results cross
    /// the store boundary as one row per test. Read in one snapshot. Returns how many attempts
    /// were visited; an error from `visit` stops the scan and is returned.
    async fn scan_test_histories(
        &self,
        visit: &mut (dyn FnMut(TestHistory) -> Result<()> + Send),
    ) -> Result<u64>;

    /// Open (new or acknowledged) alerts of these kinds, as `(id, kind, fingerprint)`.
    async fn open_alert_keys(
        &self,
        kinds: &[AlertKind],
    ) -> Result<Vec<(AlertId, AlertKind, String)>>;

    // ---- Reports ----------------------------------------------------------------------------

    /// The test cases linked to a ticket (its key among their `ticket_keys`), by id: what a
    /// workflow report counts as the ticket's linked cases.
    async fn test_cases_for_ticket(&self, key: &IssueKey) -> Result<Vec<TestCase>>;

    // ---- Sync state (see `crate::sync`) ------------------------------------------------------

    /// Writes one sync batch in one transaction: tickets, test cases and search documents
    /// upserted and deleted, the scope's items recorded and forgotten, and the scope's cursor,
    /// fingerprint and `full_at` (or the scope dropped). Either all of it is stored or none.
    async fn write_sync_batch(&self, batch: &SyncBatch) -> Result<SyncBatchOutcome>;

    /// The scopes of one integration (or of all), by integration and scope.
    async fn sync_scopes(&self, integration: Option<&str>) -> Result<Vec<SyncScope>>;

    /// The items one scope has written, by item id.
    async fn sync_items(&self, integration: &str, scope: &str) -> Result<Vec<SyncItem>>;

    /// Where these upstream ids are recorded in any scope of the integration, as
    /// `(scope, item)`: a sync uses it to see that an item moved (a Jira issue to another
    /// project) rather than appeared.
    async fn sync_items_by_id(
        &self,
        integration: &str,
        item_ids: &[String],
    ) -> Result<Vec<(String, SyncItem)>>;

    // ---- Embeddings (semantic re-ranking) -------------------------------------------------

    /// The content hash stored with each of these documents' vectors for `model`; documents
    /// without a vector are left out.
    async fn embedding_hashes(
        &self,
        model: &str,
        uids: &[String],
    ) -> Result<HashMap<String, String>>;

    /// Inserts or replaces vectors for `model`, all in one transaction.
    async fn upsert_embeddings(&self, model: &str, rows: &[EmbeddingRow]) -> Result<()>;

    /// The vectors of these documents for `model`; documents without one are left out.
    async fn embeddings(&self, model: &str, uids: &[String]) -> Result<HashMap<String, Vec<f32>>>;

    /// Deletes the vectors of every model but `keep` (all of them for `None`); returns how many.
    async fn prune_embeddings(&self, keep: Option<&str>) -> Result<u64>;

    // ---- Dashboard rollups (see `crate::dashboard::facts`) ------------------------------------

    /// Totals of the daily facts matching the query, grouped by its dimensions and ordered by
    /// them. The facts are kept current by the writes of time entries, runs and workflows.
    async fn dashboard_fact_totals(&self, query: &FactQuery) -> Result<Vec<Fact>>;

    /// Every stored fact row, in key order (for checks and exports; pages use totals).
    async fn dashboard_facts_all(&self) -> Result<Vec<Fact>>;

    /// Recomputes every fact from the raw tables in one transaction; returns how many rows.
    async fn rebuild_dashboard_facts(&self) -> Result<u64>;

    /// One time entry by id (a dashboard's detail page).
    async fn time_entry(&self, id: &TimeEntryId) -> Result<TimeEntry>;
    // ---- External signals (written by the sync, read by failure classification) -----------

    /// The external signals between `from` and `to` (both included), oldest first, at most
    /// `limit` of them.
    async fn external_signals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<crate::patterns::classify::ExternalSignal>>;
}

/// One document's vector, for [`Store::upsert_embeddings`].
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingRow {
    /// The search index's document uid (`t:PAY-12`, `c:<id>`, `d:<source>/<key>`).
    pub uid: String,
    /// A hash of the text that was embedded, to tell when it changed.
    pub content_hash: String,
    pub vector: Vec<f32>,
}

/// An import in progress: one open transaction, from [`Store::begin_run_import`].
///
/// Each [`add`](RunImport::add) resolves the batch's tests through the identity map (any of a
/// test's keys finds it; unknown tests are created with every key they carry), merges linked
/// ticket keys into the stored test, and writes one result per attempt. Attempts are numbered
/// per test across the whole import, so a test reported again in a later batch or file (a
/// Playwright retry) gets the next attempt number.
#[async_trait]
pub trait RunImport: Send + fmt::Debug {
    /// Adds a batch of tests with their attempts. A bad test (no key, no attempt) fails the
    /// call; the import should then be dropped, which rolls it back.
    async fn add(&mut self, tests: &[ImportedTest]) -> Result<ImportBatchOutcome>;

    /// Sets the run's finish time (if given) and commits everything.
    async fn finish(self: Box<Self>, finished_at: Option<DateTime<Utc>>) -> Result<()>;
}
