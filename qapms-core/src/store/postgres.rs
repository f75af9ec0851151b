//! The `PostgreSQL` backend, for teams and multi-instance servers.
//!
//! The URL is a libpq-style `postgres://` or `postgresql://` URL. qapms adds one parameter,
//! `schema=<name>`: the store creates that schema if needed and puts it alone on the
//! connection's `search_path`, so its tables (and sqlx's migration table) live there. Tests use
//! one schema each to run in parallel against one database; deployments may use it to share a
//! database with other applications.

use std::str::FromStr;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};

use super::error::db_error;
use super::url::take_schema_param;
use super::{Backend, StoreSettings, redact_url};
use crate::{Error, Result};

// The one `Store` implementation, compiled for this backend (see shared.rs).
#[cfg_attr(
    feature = "sqlite",
    expect(
        clippy::duplicate_mod,
        reason = "shared.rs is compiled once per backend on purpose, with that backend's types"
    )
)]
#[path = "shared.rs"]
mod shared;

type Db = sqlx::Postgres;
type ThisStore = PgStore;
const BACKEND: Backend = Backend::Postgres;
const BEGIN_WRITE: &str = "BEGIN";

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// The `PostgreSQL` [`Store`](super::Store). Prefer [`open`](super::open), which picks it by URL.
#[derive(Debug)]
pub struct PgStore {
    pool: sqlx::PgPool,
    /// The URL without its password.
    location: String,
}

impl PgStore {
    /// Connects to the database, creates the `schema` if one is given, applies migrations.
    pub async fn connect(settings: &StoreSettings) -> Result<Self> {
        let location = redact_url(settings.url.trim());
        let (url, schema) = take_schema_param(settings.url.trim())?;
        let mut options = PgConnectOptions::from_str(&url)
            .map_err(|e| {
                Error::config("invalid PostgreSQL store URL")
                    .with_context("url", location.clone())
                    .with_source(e)
            })?
            .application_name("qapms");
        if let Some(schema) = &schema {
            options = options.options([("search_path", schema.as_str())]);
        }
        // One direct connection first: when the server is down or refuses us, this fails at once
        // with the real cause, where the pool would retry until `acquire_timeout` and then
        // report only that it timed out.
        options
            .connect()
            .await
            .map_err(|e| {
                db_error("store", e)
                    .with_context("backend", "postgres")
                    .with_context("location", location.clone())
            })?
            .close()
            .await
            .map_err(|e| db_error("store", e))?;
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections.unwrap_or(8))
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(|e| {
                db_error("store", e)
                    .with_context("backend", "postgres")
                    .with_context("location", location.clone())
            })?;
        if let Some(schema) = &schema {
            // The name was validated as a plain lower-case identifier by take_schema_param.
            sqlx::query(AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
            )))
            .execute(&pool)
            .await
            .map_err(|e| db_error("schema", e).with_context("schema", schema.clone()))?;
        }
        MIGRATOR.run(&pool).await.map_err(|e| {
            super::migration_error("PostgreSQL", &location, known_schema_version(), e)
        })?;
        Ok(Self { pool, location })
    }
}

/// The newest migration of this backend.
pub(super) fn known_schema_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// [`Store::try_job_lease`](super::Store::try_job_lease) for `PostgreSQL`: a session-level
/// advisory lock taken on a connection the lease then owns, detached from the pool. Dropping
/// the lease closes that connection, and `PostgreSQL` frees the lock with the session, so a
/// crashed holder never keeps a job locked.
async fn try_lease(store: &PgStore, name: &str) -> Result<Option<super::JobLease>> {
    let mut conn = store
        .pool
        .acquire()
        .await
        .map_err(|e| db_error("job lease", e))?;
    let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(super::server::lease_key(name))
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| db_error("job lease", e).with_context("job", name))?;
    if !taken {
        // Not locked by this session, so the connection goes back to the pool clean.
        return Ok(None);
    }
    Ok(Some(super::JobLease::new(name, Box::new(conn.detach()))))
}
