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
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod time;
mod url;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use chrono::{DateTime, Utc};

use crate::model::{
    ExternalKey, ImportBatchOutcome, ImportedTest, IssueKey, Page, RunId, SearchDocument,
    SearchDocumentKey, TestCase, TestId, TestIdentity, TestResult, TestRun, Ticket, TicketFilter,
    TimeEntry, TimeEntryFilter, TimeEntryId, User, UserId,
};
use crate::{Error, Result};

#[cfg(feature = "postgres")]
pub use postgres::PgStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
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

    /// Backend, redacted location, schema version and row counts.
    async fn info(&self) -> Result<StoreInfo>;

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
