//! The `SQLite` backend: the embedded default, one file in the user's data directory.
//!
//! Connection settings, and why:
//! - WAL journal: readers never block the writer, and a commit is one append to the log;
//! - `synchronous=FULL`: each commit is fsynced before it returns. In WAL mode, NORMAL would
//!   survive a killed process but may lose the last commits on a power cut or OS crash; DESIGN
//!   promises that no committed workflow state or time entry is lost to "a crash or a kill", so
//!   we pay one fsync per transaction (batches are one transaction, so the cost stays small);
//! - foreign keys on (`SQLite` leaves them off by default);
//! - a busy timeout, so concurrent writers queue instead of failing, and write transactions
//!   that begin with `BEGIN IMMEDIATE` (see `shared.rs`);
//! - the file and its directory are created if missing.
//!
//! `sqlite::memory:` gives a private in-memory database for tests, on a single connection that
//! lives as long as the store (the database disappears with its last connection).

use std::str::FromStr;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::error::db_error;
use super::{Backend, StoreSettings, redact_url};
use crate::{Error, Result};

// The one `Store` implementation, compiled for this backend (see shared.rs).
#[cfg_attr(
    feature = "postgres",
    expect(
        clippy::duplicate_mod,
        reason = "shared.rs is compiled once per backend on purpose, with that backend's types"
    )
)]
#[path = "shared.rs"]
mod shared;

type Db = sqlx::Sqlite;
type ThisStore = SqliteStore;
const BACKEND: Backend = Backend::Sqlite;
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// The `SQLite` [`Store`](super::Store). Prefer [`open`](super::open), which picks it by URL.
#[derive(Debug)]
pub struct SqliteStore {
    pool: sqlx::SqlitePool,
    location: String,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at a `sqlite:` URL and applies migrations.
    pub async fn connect(settings: &StoreSettings) -> Result<Self> {
        let url = settings.url.trim();
        let in_memory = url.starts_with("sqlite::memory:") || url.contains("mode=memory");
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| {
                Error::config("invalid SQLite store URL")
                    .with_context("url", redact_url(url))
                    .with_source(e)
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(settings.busy_timeout);

        let location = if in_memory {
            ":memory:".to_owned()
        } else {
            let path = options.get_filename().to_path_buf();
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                tokio::fs::create_dir_all(dir).await.map_err(|e| {
                    Error::from(e).with_context("directory", dir.display().to_string())
                })?;
            }
            path.display().to_string()
        };

        let pool = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(settings.max_connections.unwrap_or(4))
        }
        .acquire_timeout(settings.acquire_timeout)
        .connect_with(options)
        .await
        .map_err(|e| {
            db_error("store", e)
                .with_context("backend", "sqlite")
                .with_context("location", location.clone())
        })?;

        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| super::migration_error("SQLite", &location, known_schema_version(), e))?;
        Ok(Self { pool, location })
    }
}

/// The newest migration of this backend.
pub(super) fn known_schema_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Leases held in this process, one mutex per database file and job name. `SQLite` serves one
/// server process per file, so a process-local lease is the whole story there.
type LeaseMap =
    std::collections::BTreeMap<(String, String), std::sync::Arc<tokio::sync::Mutex<()>>>;
static LEASES: tokio::sync::Mutex<LeaseMap> = tokio::sync::Mutex::const_new(LeaseMap::new());

/// [`Store::try_job_lease`](super::Store::try_job_lease) for `SQLite`: an owned mutex guard,
/// freed when the lease is dropped.
async fn try_lease(store: &SqliteStore, name: &str) -> Result<Option<super::JobLease>> {
    let lock = {
        let mut leases = LEASES.lock().await;
        leases
            .entry((store.location.clone(), name.to_owned()))
            .or_default()
            .clone()
    };
    Ok(lock
        .try_lock_owned()
        .ok()
        .map(|guard| super::JobLease::new(name, Box::new(guard))))
}
