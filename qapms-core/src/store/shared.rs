//! The [`Store`] implementation both backends share, compiled once per backend.
//!
//! `sqlite.rs` and `postgres.rs` each include this file as their `shared` submodule. The parent
//! provides `Db` (the sqlx database), `ThisStore` (a struct with `pool` and `location`
//! fields), `BACKEND` and `BEGIN_WRITE`. Writing the SQL once keeps the two backends answering
//! identically, which is what the conformance suite checks; anything that cannot be written
//! in the common dialect belongs in the parent module or the migrations, not here.
//!
//! Batches use multi-row `INSERT`s in chunks that stay under both backends' limits on bound
//! parameters (`SQLite` 32 766, `PostgreSQL` 65 535), inside one transaction per call.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, QueryBuilder};
use uuid::Uuid;

use super::{BACKEND, BEGIN_WRITE, Db, ThisStore};
use crate::model::{
    ExternalKey, ImportBatchOutcome, ImportedTest, IssueKey, Page, RunId, SearchDocument,
    SearchDocumentKey, TestCase, TestId, TestIdentity, TestResult, TestRun, TestSource, Ticket,
    TicketFilter, TimeEntry, TimeEntryFilter, TimeEntryId, User, UserId, utc_now,
};
use crate::store::error::{db_error, is_unique_violation};
use crate::store::rows::{
    ResultRow, RunRow, SearchDocumentRow, TestCaseRow, TestIdentityRow, TicketRow, TimeEntryRow,
    UserRow, convert,
};
use crate::store::time::DbTime;
use crate::store::{Backend, RunImport, Store, StoreInfo};
use crate::{Error, ErrorKind, Result};

type Tx = sqlx::Transaction<'static, Db>;

/// Every table, in schema order, for [`Store::info`]. A test checks it against the schema.
pub(super) const TABLES: &[&str] = &[
    "users",
    "tickets",
    "test_cases",
    "test_identities",
    "test_runs",
    "patterns",
    "test_results",
    "workflows",
    "workflow_steps",
    "time_entries",
    "alerts",
    "search_documents",
    "embeddings",
    "integration_state",
    "integration_health",
];

/// Rows per multi-row `INSERT`: at most 16 columns × 1000 rows = 16 000 parameters.
const CHUNK_ROWS: usize = 1000;

/// Keys per identity lookup (`external_key IN (…)`), one bound parameter each.
const LOOKUP_KEYS: usize = 4000;

const USER_COLUMNS: &str = "id, name, email, role, disabled, created_at, updated_at";
const TICKET_COLUMNS: &str = "key, summary, status, status_category, issue_type, priority, \
     assignee, labels, components, fix_versions, updated, url, raw";
const TEST_CASE_COLUMNS: &str = "id, source, external_id, title, folder_path, tags, ticket_keys";
const RUN_COLUMNS: &str = "id, source, name, started_at, finished_at, environment, revision, url";
const RESULT_COLUMNS: &str = "run_id, test_id, attempt, status, duration_ms, message, \
     trace_fingerprint, cluster_id";
const TIME_ENTRY_COLUMNS: &str = "id, user_id, ticket_key, workflow_id, step, started_at, \
     ended_at, source, note, corrects, exported_worklog_id, recorded_at";

impl ThisStore {
    /// Begins a transaction that writes. On `SQLite` this takes the write lock up front, so two
    /// writers queue on the busy timeout instead of one failing when it upgrades a read lock.
    async fn begin_write(&self, what: &'static str) -> Result<Tx> {
        self.pool
            .begin_with(BEGIN_WRITE)
            .await
            .map_err(|e| db_error(what, e))
    }
}

async fn commit(tx: Tx, what: &'static str) -> Result<()> {
    tx.commit().await.map_err(|e| db_error(what, e))
}

fn to_i64(value: u64, field: &'static str) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::invalid_input(format!("{field} is too large: {value}")))
}

fn not_empty(value: &str, field: &'static str) -> Result<()> {
    if value.trim().is_empty() {
        Err(Error::invalid_input(format!("{field} must not be empty")))
    } else {
        Ok(())
    }
}

/// Keeps the last item for each key, in first-seen order: a multi-row upsert must not touch
/// the same row twice (`PostgreSQL` rejects it), and "last one wins" is what a caller expects.
fn last_per_key<T, K: std::hash::Hash + Eq>(items: &[T], key: impl Fn(&T) -> K) -> Vec<&T> {
    let mut index: HashMap<K, usize> = HashMap::with_capacity(items.len());
    let mut out: Vec<&T> = Vec::with_capacity(items.len());
    for item in items {
        match index.entry(key(item)) {
            std::collections::hash_map::Entry::Occupied(slot) => out[*slot.get()] = item,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(out.len());
                out.push(item);
            }
        }
    }
    out
}

fn push_ticket_filters(qb: &mut QueryBuilder<Db>, filter: &TicketFilter) {
    qb.push(" WHERE 1 = 1");
    if let Some(project) = &filter.project {
        qb.push(" AND project = ")
            .push_bind(project.trim().to_ascii_uppercase());
    }
    if let Some(status) = &filter.status {
        qb.push(" AND status = ").push_bind(status.clone());
    }
    if let Some(category) = filter.status_category {
        qb.push(" AND status_category = ")
            .push_bind(category.as_str());
    }
}

fn push_time_entry_filters(qb: &mut QueryBuilder<Db>, filter: &TimeEntryFilter) {
    qb.push(" WHERE 1 = 1");
    if let Some(user) = filter.user_id {
        qb.push(" AND user_id = ").push_bind(user.as_uuid());
    }
    if let Some(ticket) = &filter.ticket {
        qb.push(" AND ticket_key = ")
            .push_bind(ticket.as_str().to_owned());
    }
    if let Some(from) = filter.from {
        qb.push(" AND started_at >= ").push_bind(DbTime(from));
    }
    if let Some(to) = filter.to {
        qb.push(" AND started_at < ").push_bind(DbTime(to));
    }
}

/// A result as bound into SQL, checked before the transaction starts so a bad row fails the
/// call with a message naming it, not a constraint name.
struct ResultValues<'a> {
    result: &'a TestResult,
    attempt: i32,
    duration_ms: Option<i64>,
}

fn check_results<'a>(run: &TestRun, results: &'a [TestResult]) -> Result<Vec<ResultValues<'a>>> {
    results
        .iter()
        .enumerate()
        .map(|(i, result)| {
            let bad = |why: String| {
                Error::invalid_input(why)
                    .with_context("result", i.to_string())
                    .with_context("test", result.test_id.to_string())
            };
            if result.run_id != run.id {
                return Err(bad(format!(
                    "a result belongs to run {}, not to the run being stored",
                    result.run_id
                )));
            }
            let attempt = i32::try_from(result.attempt)
                .ok()
                .filter(|a| *a >= 1)
                .ok_or_else(|| bad(format!("attempt must be 1 or more, not {}", result.attempt)))?;
            let duration_ms = result
                .duration_ms
                .map(|d| to_i64(d, "duration_ms"))
                .transpose()?;
            Ok(ResultValues {
                result,
                attempt,
                duration_ms,
            })
        })
        .collect()
}

#[async_trait]
impl Store for ThisStore {
    fn backend(&self) -> Backend {
        BACKEND
    }

    async fn info(&self) -> Result<StoreInfo> {
        let schema_version: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(|e| db_error("schema version", e))?;
        let mut tables = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            // Table names come from the constant above, never from input.
            let count: i64 =
                sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| db_error("table", e).with_context("table", *table))?;
            tables.push(((*table).to_owned(), count));
        }
        Ok(StoreInfo {
            backend: BACKEND,
            location: self.location.clone(),
            schema_version,
            tables,
        })
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(|e| db_error("store", e))
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    // ---- Users ------------------------------------------------------------------------------

    async fn create_user(&self, user: &User) -> Result<()> {
        not_empty(&user.name, "a user name")?;
        sqlx::query(
            "INSERT INTO users (id, name, email, role, disabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(user.id.as_uuid())
        .bind(&user.name)
        .bind(&user.email)
        .bind(user.role.as_str())
        .bind(user.disabled)
        .bind(DbTime(user.created_at))
        .bind(DbTime(user.updated_at))
        .execute(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "a user named `{}` (or with this id) already exists",
                        user.name
                    ),
                )
                .with_source(e)
            } else {
                db_error("user", e)
            }
        })?;
        Ok(())
    }

    async fn user_by_name(&self, name: &str) -> Result<User> {
        let row: UserRow = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE name = $1"
        )))
        .bind(name)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| db_error("user", e).with_context("name", name))?;
        row.try_into()
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let rows: Vec<UserRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY name"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("user", e))?;
        convert(rows)
    }

    async fn set_user_password_hash(&self, id: &UserId, hash: Option<&str>) -> Result<()> {
        let done =
            sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
                .bind(id.as_uuid())
                .bind(hash)
                .bind(DbTime(utc_now()))
                .execute(&self.pool)
                .await
                .map_err(|e| db_error("user", e))?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found("user not found").with_context("id", id.to_string()));
        }
        Ok(())
    }

    async fn user_password_hash(&self, id: &UserId) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error("user", e).with_context("id", id.to_string()))
    }

    async fn set_user_disabled(&self, id: &UserId, disabled: bool) -> Result<()> {
        let done = sqlx::query("UPDATE users SET disabled = $2, updated_at = $3 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(disabled)
            .bind(DbTime(utc_now()))
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("user", e))?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found("user not found").with_context("id", id.to_string()));
        }
        Ok(())
    }

    // ---- Tickets ----------------------------------------------------------------------------

    async fn upsert_tickets(&self, tickets: &[Ticket]) -> Result<()> {
        if tickets.is_empty() {
            return Ok(());
        }
        let tickets = last_per_key(tickets, |t| t.key.clone())
            .into_iter()
            .map(|t| Ok((t, to_i64(t.key.number(), "an issue number")?)))
            .collect::<Result<Vec<_>>>()?;
        let synced_at = DbTime(utc_now());
        let mut tx = self.begin_write("ticket").await?;
        for chunk in tickets.chunks(CHUNK_ROWS) {
            let mut qb = QueryBuilder::<Db>::new(format!(
                "INSERT INTO tickets ({TICKET_COLUMNS}, project, number, synced_at) "
            ));
            qb.push_values(chunk, |mut row, (t, number)| {
                row.push_bind(t.key.as_str().to_owned())
                    .push_bind(t.summary.clone())
                    .push_bind(t.status.clone())
                    .push_bind(t.status_category.as_str())
                    .push_bind(t.issue_type.clone())
                    .push_bind(t.priority.clone())
                    .push_bind(t.assignee.clone())
                    .push_bind(Json(t.labels.clone()))
                    .push_bind(Json(t.components.clone()))
                    .push_bind(Json(t.fix_versions.clone()))
                    .push_bind(DbTime(t.updated))
                    .push_bind(t.url.clone())
                    .push_bind(Json(t.raw.clone()))
                    .push_bind(t.project().to_owned())
                    .push_bind(*number)
                    .push_bind(synced_at);
            });
            qb.push(
                " ON CONFLICT (key) DO UPDATE SET summary = excluded.summary, \
                 status = excluded.status, status_category = excluded.status_category, \
                 issue_type = excluded.issue_type, priority = excluded.priority, \
                 assignee = excluded.assignee, labels = excluded.labels, \
                 components = excluded.components, fix_versions = excluded.fix_versions, \
                 updated = excluded.updated, url = excluded.url, raw = excluded.raw, \
                 synced_at = excluded.synced_at",
            );
            qb.build()
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error("ticket", e))?;
        }
        commit(tx, "ticket").await
    }

    async fn ticket(&self, key: &IssueKey) -> Result<Ticket> {
        let row: TicketRow = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {TICKET_COLUMNS} FROM tickets WHERE key = $1"
        )))
        .bind(key.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| db_error("ticket", e).with_context("key", key.as_str()))?;
        row.try_into()
    }

    async fn list_tickets(&self, filter: &TicketFilter) -> Result<Page<Ticket>> {
        let mut count = QueryBuilder::<Db>::new("SELECT COUNT(*) FROM tickets");
        push_ticket_filters(&mut count, filter);
        let total: i64 = count
            .build_query_scalar()
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error("ticket", e))?;

        let page = filter.page;
        let mut select = QueryBuilder::<Db>::new(format!("SELECT {TICKET_COLUMNS} FROM tickets"));
        push_ticket_filters(&mut select, filter);
        select
            .push(" ORDER BY project, number LIMIT ")
            .push_bind(i64::from(page.size()))
            .push(" OFFSET ")
            .push_bind(to_i64(page.offset(), "page offset")?);
        let rows: Vec<TicketRow> = select
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("ticket", e))?;
        Ok(Page {
            items: convert(rows)?,
            page: page.page(),
            page_size: page.size(),
            total_items: u64::try_from(total).unwrap_or(0),
        })
    }

    // ---- Test cases, runs and results -------------------------------------------------------

    async fn upsert_test_cases(&self, cases: &[TestCase]) -> Result<()> {
        if cases.is_empty() {
            return Ok(());
        }
        for case in cases {
            not_empty(&case.external_id, "a test case's external id")
                .map_err(|e| e.with_context("test", case.id.to_string()))?;
        }
        let cases = last_per_key(cases, |c| c.id);
        let now = DbTime(utc_now());
        let mut tx = self.begin_write("test case").await?;
        for chunk in cases.chunks(CHUNK_ROWS) {
            let mut qb = QueryBuilder::<Db>::new(format!(
                "INSERT INTO test_cases ({TEST_CASE_COLUMNS}, created_at, updated_at) "
            ));
            qb.push_values(chunk, |mut row, c| {
                let keys: Vec<&str> = c.ticket_keys.iter().map(IssueKey::as_str).collect();
                row.push_bind(c.id.as_uuid())
                    .push_bind(c.source.as_str())
                    .push_bind(c.external_id.clone())
                    .push_bind(c.title.clone())
                    .push_bind(c.folder_path.clone())
                    .push_bind(Json(c.tags.clone()))
                    .push_bind(Json(serde_json::json!(keys)))
                    .push_bind(now)
                    .push_bind(now);
            });
            qb.push(
                " ON CONFLICT (id) DO UPDATE SET source = excluded.source, \
                 external_id = excluded.external_id, title = excluded.title, \
                 folder_path = excluded.folder_path, tags = excluded.tags, \
                 ticket_keys = excluded.ticket_keys, updated_at = excluded.updated_at",
            );
            qb.build().execute(&mut *tx).await.map_err(|e| {
                if is_unique_violation(&e) {
                    Error::new(
                        ErrorKind::Conflict,
                        "another test case already has the same source and external id",
                    )
                    .with_source(e)
                } else {
                    db_error("test case", e)
                }
            })?;
        }
        commit(tx, "test case").await
    }

    async fn test_case(&self, id: &TestId) -> Result<TestCase> {
        let row: TestCaseRow = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {TEST_CASE_COLUMNS} FROM test_cases WHERE id = $1"
        )))
        .bind(id.as_uuid())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| db_error("test case", e).with_context("id", id.to_string()))?;
        row.try_into()
    }

    async fn insert_run(&self, run: &TestRun, results: &[TestResult]) -> Result<()> {
        not_empty(&run.name, "a run name")?;
        let results = check_results(run, results)?;
        let mut tx = self.begin_write("test run").await?;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO test_runs ({RUN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )))
        .bind(run.id.as_uuid())
        .bind(run.source.as_str())
        .bind(&run.name)
        .bind(DbTime(run.started_at))
        .bind(run.finished_at.map(DbTime))
        .bind(&run.environment)
        .bind(&run.revision)
        .bind(&run.url)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error("test run", e).with_context("run", run.id.to_string()))?;
        for chunk in results.chunks(CHUNK_ROWS) {
            let mut qb =
                QueryBuilder::<Db>::new(format!("INSERT INTO test_results ({RESULT_COLUMNS}) "));
            qb.push_values(chunk, |mut row, v| {
                row.push_bind(v.result.run_id.as_uuid())
                    .push_bind(v.result.test_id.as_uuid())
                    .push_bind(v.attempt)
                    .push_bind(v.result.status.as_str())
                    .push_bind(v.duration_ms)
                    .push_bind(v.result.message.clone())
                    .push_bind(v.result.trace_fingerprint.clone())
                    .push_bind(v.result.cluster_id.map(|c| c.as_uuid()));
            });
            qb.build().execute(&mut *tx).await.map_err(|e| {
                if is_unique_violation(&e) {
                    Error::new(
                        ErrorKind::Conflict,
                        "a test appears twice with the same attempt number in one run",
                    )
                    .with_source(e)
                } else {
                    db_error("test result", e)
                }
                .with_context("run", run.id.to_string())
            })?;
        }
        commit(tx, "test run").await
    }

    async fn run(&self, id: &RunId) -> Result<TestRun> {
        let row: RunRow = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM test_runs WHERE id = $1"
        )))
        .bind(id.as_uuid())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| db_error("test run", e).with_context("run", id.to_string()))?;
        row.try_into()
    }

    async fn list_runs(&self, limit: u32) -> Result<Vec<TestRun>> {
        let rows: Vec<RunRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM test_runs ORDER BY started_at DESC, id DESC LIMIT $1"
        )))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("test run", e))?;
        convert(rows)
    }

    async fn results_for_run(&self, id: &RunId) -> Result<Vec<TestResult>> {
        let rows: Vec<ResultRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {RESULT_COLUMNS} FROM test_results WHERE run_id = $1 \
             ORDER BY test_id, attempt"
        )))
        .bind(id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("test result", e))?;
        convert(rows)
    }

    async fn results_for_test(&self, id: &TestId, limit: u32) -> Result<Vec<TestResult>> {
        let rows: Vec<ResultRow> = sqlx::query_as(
            "SELECT r.run_id, r.test_id, r.attempt, r.status, r.duration_ms, r.message, \
             r.trace_fingerprint, r.cluster_id \
             FROM test_results r JOIN test_runs t ON t.id = r.run_id \
             WHERE r.test_id = $1 \
             ORDER BY t.started_at DESC, t.id DESC, r.attempt DESC LIMIT $2",
        )
        .bind(id.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("test result", e))?;
        convert(rows)
    }

    // ---- Imports and test identity ----------------------------------------------------------

    async fn begin_run_import(&self, run: &TestRun) -> Result<Box<dyn RunImport>> {
        not_empty(&run.name, "a run name")?;
        let mut tx = self.begin_write("test run").await?;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO test_runs ({RUN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )))
        .bind(run.id.as_uuid())
        .bind(run.source.as_str())
        .bind(&run.name)
        .bind(DbTime(run.started_at))
        .bind(run.finished_at.map(DbTime))
        .bind(&run.environment)
        .bind(&run.revision)
        .bind(&run.url)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error("test run", e).with_context("run", run.id.to_string()))?;
        Ok(Box::new(Import {
            tx,
            run: run.id,
            started_at: run.started_at,
            attempts: HashMap::new(),
            now: DbTime(utc_now()),
        }))
    }

    async fn resolve_test(&self, key: &ExternalKey) -> Result<TestId> {
        let found: Option<Uuid> = sqlx::query_scalar(
            "SELECT test_id FROM test_identities \
             WHERE system = $1 AND external_key = $2 AND valid_to IS NULL",
        )
        .bind(key.system.as_str())
        .bind(&key.key)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error("test identity", e))?;
        let found = match found {
            Some(id) => Some(id),
            // A test stored through `upsert_test_cases` has no identity rows yet; its own
            // source and external id still name it.
            None => sqlx::query_scalar(
                "SELECT id FROM test_cases WHERE source = $1 AND external_id = $2",
            )
            .bind(key.system.as_str())
            .bind(&key.key)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error("test case", e))?,
        };
        found.map(TestId::from_uuid).ok_or_else(|| {
            Error::not_found("no test is known by this key").with_context("key", key.to_string())
        })
    }

    async fn test_identities(&self, id: &TestId) -> Result<Vec<TestIdentity>> {
        let rows: Vec<TestIdentityRow> = sqlx::query_as(
            "SELECT test_id, system, external_key, valid_from, valid_to FROM test_identities \
             WHERE test_id = $1 ORDER BY valid_from, id",
        )
        .bind(id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("test identity", e))?;
        convert(rows)
    }

    // ---- Time -------------------------------------------------------------------------------

    async fn append_time_entry(&self, entry: &TimeEntry) -> Result<()> {
        if entry.ended_at < entry.started_at {
            return Err(
                Error::invalid_input("a time entry cannot end before it starts")
                    .with_context("entry", entry.id.to_string()),
            );
        }
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO time_entries ({TIME_ENTRY_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        )))
        .bind(entry.id.as_uuid())
        .bind(entry.user_id.as_uuid())
        .bind(entry.ticket.as_ref().map(IssueKey::as_str))
        .bind(entry.workflow_id.map(|w| w.as_uuid()))
        .bind(&entry.step)
        .bind(DbTime(entry.started_at))
        .bind(DbTime(entry.ended_at))
        .bind(entry.source.as_str())
        .bind(&entry.note)
        .bind(entry.corrects.map(|c| c.as_uuid()))
        .bind(&entry.exported_worklog_id)
        .bind(DbTime(entry.recorded_at))
        .execute(&self.pool)
        .await
        .map_err(|e| db_error("time entry", e).with_context("entry", entry.id.to_string()))?;
        Ok(())
    }

    async fn set_time_entry_worklog(&self, id: &TimeEntryId, worklog_id: &str) -> Result<()> {
        not_empty(worklog_id, "a worklog id")?;
        let done = sqlx::query("UPDATE time_entries SET exported_worklog_id = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(worklog_id)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("time entry", e).with_context("entry", id.to_string()))?;
        if done.rows_affected() == 0 {
            return Err(
                Error::not_found("time entry not found").with_context("entry", id.to_string())
            );
        }
        Ok(())
    }

    async fn time_entries(&self, filter: &TimeEntryFilter) -> Result<Vec<TimeEntry>> {
        let mut qb =
            QueryBuilder::<Db>::new(format!("SELECT {TIME_ENTRY_COLUMNS} FROM time_entries"));
        push_time_entry_filters(&mut qb, filter);
        qb.push(" ORDER BY started_at, id");
        let rows: Vec<TimeEntryRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("time entry", e))?;
        convert(rows)
    }

    // ---- Integration state ------------------------------------------------------------------

    async fn cursor(&self, integration: &str, name: &str) -> Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT value FROM integration_state \
             WHERE integration = $1 AND kind = 'cursor' AND name = $2",
        )
        .bind(integration)
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error("cursor", e))
    }

    async fn set_cursor(&self, integration: &str, name: &str, value: &str) -> Result<()> {
        not_empty(integration, "an integration name")?;
        not_empty(name, "a cursor name")?;
        sqlx::query(
            "INSERT INTO integration_state (integration, kind, name, value, updated_at) \
             VALUES ($1, 'cursor', $2, $3, $4) \
             ON CONFLICT (integration, kind, name) \
             DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(integration)
        .bind(name)
        .bind(value)
        .bind(DbTime(utc_now()))
        .execute(&self.pool)
        .await
        .map_err(|e| db_error("cursor", e).with_context("integration", integration))?;
        Ok(())
    }

    // ---- Search documents -------------------------------------------------------------------

    async fn upsert_search_documents(&self, docs: &[SearchDocument]) -> Result<()> {
        if docs.is_empty() {
            return Ok(());
        }
        for doc in docs {
            not_empty(&doc.source, "a search document's source")?;
            not_empty(&doc.source_key, "a search document's key")
                .map_err(|e| e.with_context("source", doc.source.clone()))?;
        }
        let docs = last_per_key(docs, SearchDocument::key);
        let mut tx = self.begin_write("search document").await?;
        for chunk in docs.chunks(CHUNK_ROWS) {
            let mut qb = QueryBuilder::<Db>::new(format!(
                "INSERT INTO search_documents (id, {SEARCH_DOCUMENT_COLUMNS}) "
            ));
            qb.push_values(chunk, |mut row, d| {
                let keys: Vec<&str> = d.ticket_keys.iter().map(IssueKey::as_str).collect();
                row.push_bind(Uuid::now_v7())
                    .push_bind(d.source.clone())
                    .push_bind(d.source_key.clone())
                    .push_bind(d.doc_type.clone())
                    .push_bind(d.title.clone())
                    .push_bind(d.body.clone())
                    .push_bind(d.url.clone())
                    .push_bind(d.project.clone())
                    .push_bind(d.status.clone())
                    .push_bind(Json(d.tags.clone()))
                    .push_bind(Json(serde_json::json!(keys)))
                    .push_bind(Json(d.fields.clone()))
                    .push_bind(DbTime(d.updated_at));
            });
            qb.push(
                " ON CONFLICT (kind, source_key) DO UPDATE SET doc_type = excluded.doc_type, \
                 title = excluded.title, body = excluded.body, url = excluded.url, \
                 project = excluded.project, status = excluded.status, tags = excluded.tags, \
                 ticket_keys = excluded.ticket_keys, fields = excluded.fields, \
                 updated_at = excluded.updated_at",
            );
            qb.build()
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error("search document", e))?;
        }
        commit(tx, "search document").await
    }

    async fn delete_search_documents(&self, keys: &[SearchDocumentKey]) -> Result<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let keys: Vec<&SearchDocumentKey> =
            keys.iter().collect::<HashSet<_>>().into_iter().collect();
        let mut deleted = 0;
        let mut tx = self.begin_write("search document").await?;
        for chunk in keys.chunks(LOOKUP_KEYS / 2) {
            let mut qb = QueryBuilder::<Db>::new("DELETE FROM search_documents WHERE ");
            push_document_keys(&mut qb, chunk);
            deleted += qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error("search document", e))?
                .rows_affected();
        }
        commit(tx, "search document").await?;
        Ok(deleted)
    }

    async fn search_documents_by_key(
        &self,
        keys: &[SearchDocumentKey],
    ) -> Result<Vec<SearchDocument>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(LOOKUP_KEYS / 2) {
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {SEARCH_DOCUMENT_COLUMNS} FROM search_documents WHERE "
            ));
            push_document_keys(&mut qb, chunk);
            qb.push(" ORDER BY kind, source_key");
            let rows: Vec<SearchDocumentRow> = qb
                .build_query_as()
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error("search document", e))?;
            out.extend(convert::<_, SearchDocument>(rows)?);
        }
        Ok(out)
    }

    async fn search_documents_after(
        &self,
        after: Option<&SearchDocumentKey>,
        limit: u32,
    ) -> Result<Vec<SearchDocument>> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {SEARCH_DOCUMENT_COLUMNS} FROM search_documents"
        ));
        if let Some(after) = after {
            qb.push(" WHERE kind > ")
                .push_bind(after.source.clone())
                .push(" OR (kind = ")
                .push_bind(after.source.clone())
                .push(" AND source_key > ")
                .push_bind(after.source_key.clone())
                .push(")");
        }
        qb.push(" ORDER BY kind, source_key LIMIT ")
            .push_bind(i64::from(limit.min(MAX_SCAN)));
        let rows: Vec<SearchDocumentRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("search document", e))?;
        convert(rows)
    }

    async fn tickets_after(&self, after: Option<&IssueKey>, limit: u32) -> Result<Vec<Ticket>> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {TICKET_COLUMNS} FROM tickets"));
        if let Some(after) = after {
            qb.push(" WHERE key > ")
                .push_bind(after.as_str().to_owned());
        }
        qb.push(" ORDER BY key LIMIT ")
            .push_bind(i64::from(limit.min(MAX_SCAN)));
        let rows: Vec<TicketRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("ticket", e))?;
        convert(rows)
    }

    async fn tickets_by_key(&self, keys: &[IssueKey]) -> Result<Vec<Ticket>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(LOOKUP_KEYS) {
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {TICKET_COLUMNS} FROM tickets WHERE key IN ("
            ));
            let mut list = qb.separated(", ");
            for key in chunk {
                list.push_bind(key.as_str().to_owned());
            }
            qb.push(") ORDER BY key");
            let rows: Vec<TicketRow> = qb
                .build_query_as()
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error("ticket", e))?;
            out.extend(convert::<_, Ticket>(rows)?);
        }
        Ok(out)
    }

    async fn test_cases_after(
        &self,
        after: Option<&TestId>,
        limit: u32,
    ) -> Result<Vec<(TestCase, DateTime<Utc>)>> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {TEST_CASE_COLUMNS}, updated_at FROM test_cases"
        ));
        if let Some(after) = after {
            qb.push(" WHERE id > ").push_bind(after.as_uuid());
        }
        qb.push(" ORDER BY id LIMIT ")
            .push_bind(i64::from(limit.min(MAX_SCAN)));
        let rows = qb
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("test case", e))?;
        rows.iter().map(case_with_time).collect()
    }

    async fn test_cases_by_id(&self, ids: &[TestId]) -> Result<Vec<(TestCase, DateTime<Utc>)>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(LOOKUP_KEYS) {
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {TEST_CASE_COLUMNS}, updated_at FROM test_cases WHERE id IN ("
            ));
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id.as_uuid());
            }
            qb.push(") ORDER BY id");
            let rows = qb
                .build()
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error("test case", e))?;
            for row in &rows {
                out.push(case_with_time(row)?);
            }
        }
        Ok(out)
    }
}

// ---- Search documents -------------------------------------------------------------------------

const SEARCH_DOCUMENT_COLUMNS: &str = "kind, source_key, doc_type, title, body, url, project, \
     status, tags, ticket_keys, fields, updated_at";

/// Rows per page when the index pages through a table.
const MAX_SCAN: u32 = 10_000;

/// `(kind = $1 AND source_key = $2) OR …`: row values in `IN` are not in every SQLite build's
/// planner as an index lookup, while this form uses the `(kind, source_key)` unique index.
fn push_document_keys(
    qb: &mut QueryBuilder<Db>,
    keys: &[impl std::borrow::Borrow<SearchDocumentKey>],
) {
    qb.push("(");
    for (i, key) in keys.iter().enumerate() {
        let key = key.borrow();
        if i > 0 {
            qb.push(" OR ");
        }
        qb.push("(kind = ")
            .push_bind(key.source.clone())
            .push(" AND source_key = ")
            .push_bind(key.source_key.clone())
            .push(")");
    }
    qb.push(")");
}

/// A test case row plus its `updated_at`, which the domain type does not carry.
fn case_with_time(row: &<Db as sqlx::Database>::Row) -> Result<(TestCase, DateTime<Utc>)> {
    use sqlx::{FromRow, Row};
    let case = TestCaseRow::from_row(row).map_err(|e| db_error("test case", e))?;
    let updated: DbTime = row
        .try_get("updated_at")
        .map_err(|e| db_error("test case", e))?;
    Ok((case.try_into()?, updated.into()))
}

// ---- Run imports ------------------------------------------------------------------------------

/// An import in progress ([`RunImport`]): the open transaction, and the attempt count of every
/// test seen so far in the run (a few dozen bytes per test, whatever the report's size).
struct Import {
    tx: Tx,
    run: RunId,
    started_at: DateTime<Utc>,
    attempts: HashMap<TestId, u32>,
    now: DbTime,
}

impl std::fmt::Debug for Import {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Import")
            .field("backend", &BACKEND)
            .field("run", &self.run)
            .field("tests", &self.attempts.len())
            .finish_non_exhaustive()
    }
}

/// Current keys per system, as the batch being added sees them.
type KnownKeys = HashMap<TestSource, HashMap<String, TestId>>;

/// One result row of an import, checked and ready to bind.
struct ImportRow<'a> {
    test_id: TestId,
    attempt: i32,
    status: &'static str,
    duration_ms: Option<i64>,
    message: Option<&'a str>,
}

fn check_imported(tests: &[ImportedTest]) -> Result<()> {
    for (i, test) in tests.iter().enumerate() {
        let bad = |why: &str| {
            Error::invalid_input(why.to_owned())
                .with_context("test", test.title.clone())
                .with_context("index", i.to_string())
        };
        if test.keys.is_empty() {
            return Err(bad("an imported test has no key"));
        }
        if test.keys.iter().any(|k| k.key.trim().is_empty()) {
            return Err(bad("an imported test has an empty key"));
        }
        if test.attempts.is_empty() {
            return Err(bad("an imported test has no attempt"));
        }
    }
    Ok(())
}

impl Import {
    /// Finds the tests the batch's keys already name: through the identity map first, then
    /// through `test_cases` (tests stored by `upsert_test_cases` have no identity rows). Returns
    /// the current keys and the stored ticket keys of every test found.
    async fn resolve(
        &mut self,
        tests: &[ImportedTest],
    ) -> Result<(KnownKeys, HashMap<TestId, Vec<String>>)> {
        let mut wanted: HashMap<TestSource, HashSet<&str>> = HashMap::new();
        for test in tests {
            for key in &test.keys {
                wanted
                    .entry(key.system)
                    .or_default()
                    .insert(key.key.as_str());
            }
        }
        let mut known: KnownKeys = HashMap::new();
        let mut tickets: HashMap<TestId, Vec<String>> = HashMap::new();
        for (system, keys) in wanted {
            let keys: Vec<&str> = keys.into_iter().collect();
            let by_system = known.entry(system).or_default();
            // How the keys are matched depends on the planner. `SQLite` turns `IN (…)` into a
            // temporary index and probes the table's index per key, but would scan the table
            // for a join with a `VALUES` list. `PostgreSQL`, with the fresh statistics of a large
            // first import, plans `IN (…)` as a sequential scan comparing every row with every
            // key (minutes at 100 000 tests), and a join with `VALUES` as a hash or index join.
            for (table, key_col, id_col, system_col, extra) in [
                (
                    "test_identities i JOIN test_cases c ON c.id = i.test_id",
                    "i.external_key",
                    "i.test_id",
                    "i.system",
                    " AND i.valid_to IS NULL",
                ),
                ("test_cases c", "c.external_id", "c.id", "c.source", ""),
            ] {
                let missing: Vec<&str> = keys
                    .iter()
                    .copied()
                    .filter(|k| !by_system.contains_key(*k))
                    .collect();
                for chunk in missing.chunks(LOOKUP_KEYS) {
                    let mut qb = QueryBuilder::<Db>::new("");
                    if BACKEND == Backend::Sqlite {
                        qb.push(format!(
                            "SELECT {key_col}, {id_col}, c.ticket_keys FROM {table} \
                             WHERE {system_col} = "
                        ));
                        qb.push_bind(system.as_str());
                        qb.push(format!("{extra} AND {key_col} IN ("));
                        let mut list = qb.separated(", ");
                        for key in chunk {
                            list.push_bind(*key);
                        }
                        qb.push(")");
                    } else {
                        qb.push("WITH k (key) AS (VALUES ");
                        let mut list = qb.separated(", ");
                        for key in chunk {
                            list.push("(");
                            list.push_bind_unseparated(*key);
                            list.push_unseparated(")");
                        }
                        qb.push(format!(
                            ") SELECT {key_col}, {id_col}, c.ticket_keys FROM k JOIN {table} \
                             ON {key_col} = k.key{extra} WHERE {system_col} = "
                        ));
                        qb.push_bind(system.as_str());
                    }
                    let rows: Vec<(String, Uuid, Json<Vec<String>>)> = qb
                        .build_query_as()
                        .fetch_all(&mut *self.tx)
                        .await
                        .map_err(|e| db_error("test identity", e))?;
                    for (key, id, ticket_keys) in rows {
                        let id = TestId::from_uuid(id);
                        by_system.insert(key, id);
                        tickets.entry(id).or_insert(ticket_keys.0);
                    }
                }
            }
        }
        Ok((known, tickets))
    }
}

#[async_trait]
impl RunImport for Import {
    #[expect(
        clippy::too_many_lines,
        reason = "resolve, then the four writes in order; splitting hides the order"
    )]
    async fn add(&mut self, tests: &[ImportedTest]) -> Result<ImportBatchOutcome> {
        if tests.is_empty() {
            return Ok(ImportBatchOutcome::default());
        }
        check_imported(tests)?;
        let (mut known, mut tickets) = self.resolve(tests).await?;

        let mut new_cases: Vec<(TestId, &ImportedTest)> = Vec::new();
        let mut new_keys: Vec<(TestId, &ExternalKey)> = Vec::new();
        let mut changed_tickets: Vec<TestId> = Vec::new();
        let mut rows: Vec<ImportRow<'_>> = Vec::new();
        for test in tests {
            let found = test.keys.iter().find_map(|k| {
                known
                    .get(&k.system)
                    .and_then(|m| m.get(k.key.as_str()))
                    .copied()
            });
            let id = found.unwrap_or_else(|| {
                let id = TestId::new();
                new_cases.push((id, test));
                tickets.insert(id, Vec::new());
                id
            });
            for key in &test.keys {
                let by_system = known.entry(key.system).or_default();
                if !by_system.contains_key(key.key.as_str()) {
                    by_system.insert(key.key.clone(), id);
                    new_keys.push((id, key));
                }
            }
            let linked = tickets.entry(id).or_default();
            let mut grew = false;
            for key in &test.ticket_keys {
                if !linked.iter().any(|k| k == key.as_str()) {
                    linked.push(key.as_str().to_owned());
                    grew = true;
                }
            }
            if grew && found.is_some() && !changed_tickets.contains(&id) {
                changed_tickets.push(id);
            }
            let next = self.attempts.entry(id).or_insert(0);
            for attempt in &test.attempts {
                *next = next.checked_add(1).ok_or_else(|| {
                    Error::invalid_input("a test has too many attempts in one run")
                })?;
                rows.push(ImportRow {
                    test_id: id,
                    attempt: i32::try_from(*next).map_err(|_| {
                        Error::invalid_input("a test has too many attempts in one run")
                            .with_context("test", test.title.clone())
                    })?,
                    status: attempt.status.as_str(),
                    duration_ms: attempt
                        .duration_ms
                        .map(|d| to_i64(d, "duration_ms"))
                        .transpose()?,
                    message: attempt.message.as_deref(),
                });
            }
        }

        let now = self.now;
        for chunk in new_cases.chunks(CHUNK_ROWS) {
            let mut qb = QueryBuilder::<Db>::new(format!(
                "INSERT INTO test_cases ({TEST_CASE_COLUMNS}, created_at, updated_at) "
            ));
            qb.push_values(chunk, |mut row, (id, test)| {
                // `check_imported` made sure every test has a key.
                let canonical = &test.keys[0];
                let linked = tickets.get(id).cloned().unwrap_or_default();
                row.push_bind(id.as_uuid())
                    .push_bind(canonical.system.as_str())
                    .push_bind(canonical.key.clone())
                    .push_bind(test.title.clone())
                    .push_bind(test.folder_path.clone())
                    .push_bind(Json(Vec::<String>::new()))
                    .push_bind(Json(linked))
                    .push_bind(now)
                    .push_bind(now);
            });
            qb.build().execute(&mut *self.tx).await.map_err(|e| {
                if is_unique_violation(&e) {
                    Error::new(
                        ErrorKind::Conflict,
                        "an imported test's key belongs to another stored test",
                    )
                    .with_source(e)
                } else {
                    db_error("test case", e)
                }
            })?;
        }
        for chunk in new_keys.chunks(CHUNK_ROWS) {
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO test_identities (id, test_id, system, external_key, valid_from) ",
            );
            qb.push_values(chunk, |mut row, (id, key)| {
                row.push_bind(Uuid::now_v7())
                    .push_bind(id.as_uuid())
                    .push_bind(key.system.as_str())
                    .push_bind(key.key.clone())
                    .push_bind(now);
            });
            qb.build()
                .execute(&mut *self.tx)
                .await
                .map_err(|e| db_error("test identity", e))?;
        }
        for id in &changed_tickets {
            let linked = tickets.get(id).cloned().unwrap_or_default();
            sqlx::query("UPDATE test_cases SET ticket_keys = $2, updated_at = $3 WHERE id = $1")
                .bind(id.as_uuid())
                .bind(Json(linked))
                .bind(now)
                .execute(&mut *self.tx)
                .await
                .map_err(|e| db_error("test case", e))?;
        }
        let run = self.run.as_uuid();
        for chunk in rows.chunks(CHUNK_ROWS) {
            let mut qb =
                QueryBuilder::<Db>::new(format!("INSERT INTO test_results ({RESULT_COLUMNS}) "));
            qb.push_values(chunk, |mut row, r| {
                row.push_bind(run)
                    .push_bind(r.test_id.as_uuid())
                    .push_bind(r.attempt)
                    .push_bind(r.status)
                    .push_bind(r.duration_ms)
                    .push_bind(r.message)
                    .push_bind(None::<String>)
                    .push_bind(None::<Uuid>);
            });
            qb.build().execute(&mut *self.tx).await.map_err(|e| {
                db_error("test result", e).with_context("run", self.run.to_string())
            })?;
        }
        Ok(ImportBatchOutcome {
            new_tests: new_cases.len() as u64,
            results: rows.len() as u64,
        })
    }

    async fn finish(mut self: Box<Self>, finished_at: Option<DateTime<Utc>>) -> Result<()> {
        if let Some(finished) = finished_at {
            if finished < self.started_at {
                return Err(Error::invalid_input("a run cannot finish before it starts")
                    .with_context("run", self.run.to_string()));
            }
            sqlx::query("UPDATE test_runs SET finished_at = $2 WHERE id = $1")
                .bind(self.run.as_uuid())
                .bind(DbTime(finished))
                .execute(&mut *self.tx)
                .await
                .map_err(|e| db_error("test run", e))?;
        }
        commit(self.tx, "test run").await
    }
}
