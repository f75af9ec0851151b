//! Test stores for both backends, each isolated, each cleaned up even when a test panics.
//!
//! - `SQLite`: a file in a fresh temporary directory.
//! - `PostgreSQL`: a fresh schema in the database named by `QAPMS_TEST_PG_URL` (default
//!   `postgres://postgres@127.0.0.1:5432/test`), dropped when the [`TestStore`] is dropped, so
//!   tests run in parallel. If the server cannot be reached the test fails, unless
//!   `QAPMS_SKIP_PG=1` is set, in which case `PostgreSQL` tests return early.

// `allow`, not `expect`: each test binary compiles this module and uses a different part of
// it, so an `expect` would be unfulfilled in some binaries and not others.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the harness"
)]

use std::sync::Arc;

use qapms_core::config::Env;
use qapms_core::store::{Store, StoreSettings, redact_url};
use sqlx::Connection;

pub(crate) const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The base `PostgreSQL` URL, or `None` when `PostgreSQL` tests are switched off.
#[expect(
    clippy::print_stderr,
    reason = "the test log should say why a test did nothing"
)]
pub(crate) fn pg_base_url() -> Option<String> {
    let env = Env::from_process();
    if env.get("QAPMS_SKIP_PG") == Some("1") {
        eprintln!("QAPMS_SKIP_PG=1: skipping a PostgreSQL test");
        return None;
    }
    Some(
        env.get_non_empty("QAPMS_TEST_PG_URL")
            .unwrap_or(DEFAULT_PG_URL)
            .to_owned(),
    )
}

/// A URL for a fresh, uniquely named schema.
pub(crate) fn pg_schema_url(base: &str) -> (String, String) {
    let schema = format!("qapms_t_{}", uuid::Uuid::now_v7().simple());
    let sep = if base.contains('?') { '&' } else { '?' };
    (format!("{base}{sep}schema={schema}"), schema)
}

pub(crate) enum Place {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        base: String,
        schema: String,
        url: String,
    },
}

/// A store under test, and what is needed to reach its database behind the store's back.
pub(crate) struct TestStore {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) place: Place,
}

impl TestStore {
    pub(crate) fn url(&self) -> &str {
        match &self.place {
            Place::Sqlite { url, .. } | Place::Postgres { url, .. } => url,
        }
    }

    /// Runs one SQL statement on a separate connection, bypassing the store: for checking what
    /// the database itself enforces (triggers, foreign keys).
    pub(crate) async fn raw_execute(&self, sql: &'static str) -> Result<u64, sqlx::Error> {
        match &self.place {
            Place::Sqlite { url, .. } => {
                let options: sqlx::sqlite::SqliteConnectOptions = url.parse()?;
                let mut conn =
                    sqlx::SqliteConnection::connect_with(&options.foreign_keys(true)).await?;
                let done = sqlx::query(sql).execute(&mut conn).await;
                conn.close().await?;
                Ok(done?.rows_affected())
            }
            Place::Postgres { base, schema, .. } => {
                let options: sqlx::postgres::PgConnectOptions = base.parse()?;
                let options = options.options([("search_path", schema.as_str())]);
                let mut conn = sqlx::PgConnection::connect_with(&options).await?;
                let done = sqlx::query(sql).execute(&mut conn).await;
                conn.close().await?;
                Ok(done?.rows_affected())
            }
        }
    }
}

impl Drop for TestStore {
    #[expect(
        clippy::print_stderr,
        reason = "a leaked schema should show in the test log"
    )]
    fn drop(&mut self) {
        if let Place::Postgres { base, schema, .. } = &self.place {
            // Drop runs outside async code (possibly while unwinding), so clean up on a
            // thread with its own small runtime.
            let (base, name) = (base.clone(), schema.clone());
            let cleanup = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(drop_schema(&base, &name))
                    .map_err(std::io::Error::other)
            });
            if let Ok(Err(e)) = cleanup.join() {
                eprintln!("could not drop test schema {schema}: {e}");
            }
        }
    }
}

pub(crate) async fn drop_schema(base: &str, schema: &str) -> Result<(), sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(base).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
    )))
    .execute(&mut conn)
    .await?;
    conn.close().await
}

fn settings(url: &str) -> StoreSettings {
    let mut settings = StoreSettings::new(url);
    // Small pools keep many parallel test processes within the server's connection limit.
    settings.max_connections = Some(3);
    settings
}

pub(crate) async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/qapms.db", dir.path().display());
    let store = qapms_core::store::open_with(&settings(&url)).await.unwrap();
    TestStore {
        store,
        place: Place::Sqlite { _dir: dir, url },
    }
}

/// A `PostgreSQL` store in a fresh schema; `None` only when `QAPMS_SKIP_PG=1`.
pub(crate) async fn postgres() -> Option<TestStore> {
    let base = pg_base_url()?;
    let (url, schema) = pg_schema_url(&base);
    let store = match qapms_core::store::open_with(&settings(&url)).await {
        Ok(store) => store,
        Err(e) => panic!(
            "PostgreSQL is unreachable or refused the test store at {}: {e}\n\
             Start it, point QAPMS_TEST_PG_URL at one, or set QAPMS_SKIP_PG=1 to skip.",
            redact_url(&base)
        ),
    };
    Some(TestStore {
        store,
        place: Place::Postgres { base, schema, url },
    })
}

/// Runs each listed `async fn(&TestStore)` against both backends, as `sqlite::name` and
/// `postgres::name`.
#[macro_export]
macro_rules! for_each_backend {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let store = $crate::common::sqlite().await;
                    super::$name(&store).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(store) = $crate::common::postgres().await else { return };
                    super::$name(&store).await;
                }
            )+
        }
    };
}
