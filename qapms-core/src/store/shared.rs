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
use sqlx::{AssertSqlSafe, QueryBuilder, Row as _};
use uuid::Uuid;

use super::{BACKEND, BEGIN_WRITE, Db, ThisStore};
use crate::dashboard::facts::{
    Fact, FactDim, FactKind, FactQuery, day_of, merge, result_contribution, time_contribution,
    verified_key, whole_secs,
};
use crate::model::PatternId;
use crate::model::{
    ExternalKey, ImportBatchOutcome, ImportedTest, IssueKey, Page, PageRequest, RunId,
    SearchDocument, SearchDocumentKey, TestCase, TestId, TestIdentity, TestResult, TestRun,
    TestSource, Ticket, TicketFilter, TimeEntry, TimeEntryFilter, TimeEntryId, User, UserId,
    utc_now,
};
use crate::model::{
    HistoryEntry, IdlePeriod, Step, StepEstimate, TimeHistoryFilter, Timer, TimerChange,
    TrackingWrite, Workflow, WorkflowEvent, WorkflowFilter, WorkflowId, WorkflowWrite,
};
use crate::patterns::alerts::{
    Alert, AlertAction, AlertDraft, AlertFilter, AlertId, AlertKind, AlertState, RaiseOutcome,
};
use crate::patterns::analyze::{
    AnalysisWrite, ClearedAlert, FailedAttempt, HistoryAttempt, OutcomeKind, StoredLink,
    StoredPattern, TestHistory,
};
use crate::patterns::classify::{ExternalSignal, SignalSource};
use crate::patterns::cluster::CLUSTER_KIND;
use crate::store::error::{db_error, is_unique_violation};
use crate::store::rows::{
    AlertRow, PatternLinkRow, PatternRow, ResultRow, RunRow, SearchDocumentRow, TestCaseRow,
    TestIdentityRow, TicketRow, TimeEntryRow, UserRow, convert,
};
use crate::store::time::DbTime;
use crate::store::workflow_rows::{
    EstimateRow, EventRow, HistoryRow, IdleRow, StepRow, TimerRow, WorkflowRow, WorkflowStepRow,
};
use crate::store::{
    AlertRecord, ApiTokenRecord, Backend, EmbeddingRow, IntegrationCheck, IntegrationHealthSummary,
    JobLease, LoginAttempt, LoginFailures, NewAlert, RunImport, SessionRecord, SignalWindow, Store,
    StoreInfo, SyncBatch, SyncBatchOutcome, SyncItem, SyncScope, SyncedCase, SyncedRun,
    SyncedSignal,
};
use crate::{Error, ErrorKind, Result};
use futures::TryStreamExt;

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
    "workflow_events",
    "workflow_step_runs",
    "timers",
    "idle_periods",
    "pattern_links",
    "sessions",
    "api_tokens",
    "login_attempts",
    "sync_scopes",
    "sync_items",
    "document_embeddings",
    "dashboard_facts",
    "external_signals",
    "dashboard_team_facts",
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

/// One page of `SELECT {columns} FROM {table}` under the filters `push_filters` appends, with
/// the total under the same filters. Every paged list runs these two queries the same way, so
/// the count and the page can never disagree on which rows match.
async fn fetch_page<R, T>(
    pool: &sqlx::Pool<Db>,
    what: &'static str,
    (columns, table): (&str, &str),
    push_filters: impl Fn(&mut QueryBuilder<Db>),
    order_by: &str,
    page: PageRequest,
) -> Result<Page<T>>
where
    R: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
    T: TryFrom<R, Error = Error>,
{
    let mut count = QueryBuilder::<Db>::new(format!("SELECT COUNT(*) FROM {table}"));
    push_filters(&mut count);
    let total: i64 = count
        .build_query_scalar()
        .fetch_one(pool)
        .await
        .map_err(|e| db_error(what, e))?;

    let mut select = QueryBuilder::<Db>::new(format!("SELECT {columns} FROM {table}"));
    push_filters(&mut select);
    select
        .push(format!(" ORDER BY {order_by} LIMIT "))
        .push_bind(i64::from(page.size()))
        .push(" OFFSET ")
        .push_bind(to_i64(page.offset(), "page offset")?);
    let rows: Vec<R> = select
        .build_query_as()
        .fetch_all(pool)
        .await
        .map_err(|e| db_error(what, e))?;
    Ok(Page {
        items: convert(rows)?,
        page: page.page(),
        page_size: page.size(),
        total_items: u64::try_from(total).unwrap_or(0),
    })
}

/// The row of `table` whose `id` is `id`, converted; a missing row is `NotFound` with
/// `context` naming the id. Every fetch of one row by its UUID reads the same way.
async fn fetch_by_id<R, T>(
    pool: &sqlx::Pool<Db>,
    what: &'static str,
    (columns, table): (&str, &str),
    id: Uuid,
    context: &'static str,
) -> Result<T>
where
    R: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
    T: TryFrom<R, Error = Error>,
{
    let row: R = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {columns} FROM {table} WHERE id = $1"
    )))
    .bind(id)
    .fetch_one(pool)
    .await
    .map_err(|e| db_error(what, e).with_context(context, id.to_string()))?;
    row.try_into()
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
        let schema_version = self.schema_version().await?;
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

    async fn schema_version(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error("schema version", e))
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
        let mut tx = self.begin_write("ticket").await?;
        write_tickets(&mut tx, tickets).await?;
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
        fetch_page::<TicketRow, _>(
            &self.pool,
            "ticket",
            (TICKET_COLUMNS, "tickets"),
            |qb| push_ticket_filters(qb, filter),
            "project, number",
            filter.page,
        )
        .await
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
        fetch_by_id::<TestCaseRow, _>(
            &self.pool,
            "test case",
            (TEST_CASE_COLUMNS, "test_cases"),
            id.as_uuid(),
            "id",
        )
        .await
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
        roll_run(&mut tx, run.id.as_uuid(), run.started_at).await?;
        commit(tx, "test run").await
    }

    async fn run(&self, id: &RunId) -> Result<TestRun> {
        fetch_by_id::<RunRow, _>(
            &self.pool,
            "test run",
            (RUN_COLUMNS, "test_runs"),
            id.as_uuid(),
            "run",
        )
        .await
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
            own: OwnKeys::default(),
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
        let mut tx = self.begin_write("time entry").await?;
        insert_entry(&mut tx, entry).await?;
        commit(tx, "time entry").await
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
        let mut tx = self.begin_write("search document").await?;
        write_search_documents(&mut tx, docs).await?;
        commit(tx, "search document").await
    }

    async fn delete_search_documents(&self, keys: &[SearchDocumentKey]) -> Result<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin_write("search document").await?;
        let deleted = remove_search_documents(&mut tx, keys).await?;
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

    async fn test_cases_for_ticket(&self, key: &IssueKey) -> Result<Vec<TestCase>> {
        // The keys are a JSON array: text on SQLite (`instr` on the quoted key, since `_` in a
        // key would be a LIKE wildcard), JSONB on PostgreSQL (containment).
        let condition = if BACKEND == Backend::Postgres {
            "ticket_keys @> jsonb_build_array($1::text)"
        } else {
            "instr(ticket_keys, '\"' || $1 || '\"') > 0"
        };
        let rows: Vec<TestCaseRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {TEST_CASE_COLUMNS} FROM test_cases WHERE {condition} ORDER BY id"
        )))
        .bind(key.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("test case", e).with_context("ticket", key.to_string()))?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    // ---- Sync state ---------------------------------------------------------------------------

    async fn write_sync_batch(&self, batch: &SyncBatch) -> Result<SyncBatchOutcome> {
        not_empty(&batch.integration, "an integration name")?;
        not_empty(&batch.scope, "a sync scope")?;
        for item in &batch.items {
            not_empty(&item.item_id, "a synced item's id")?;
        }
        let mut tx = self.begin_write("sync batch").await?;
        let mut out = SyncBatchOutcome::default();
        write_sync_scope(&mut tx, batch).await?;
        for chunk in batch.delete_tickets.chunks(LOOKUP_KEYS) {
            let mut qb = QueryBuilder::<Db>::new("DELETE FROM tickets WHERE key IN (");
            let mut list = qb.separated(", ");
            for key in chunk {
                list.push_bind(key.as_str().to_owned());
            }
            qb.push(")");
            out.deleted_tickets += qb
                .build()
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error("ticket", e))?
                .rows_affected();
        }
        if !batch.tickets.is_empty() {
            write_tickets(&mut tx, &batch.tickets).await?;
        }
        out.deleted_documents = remove_search_documents(&mut tx, &batch.delete_documents).await?;
        if !batch.documents.is_empty() {
            write_search_documents(&mut tx, &batch.documents).await?;
        }
        remove_synced_cases(&mut tx, &batch.delete_cases, &mut out).await?;
        out.cases = write_synced_cases(&mut tx, &batch.cases).await?;
        for synced in &batch.runs {
            let written = write_synced_run(&mut tx, synced).await?;
            out.results += written.results;
            out.new_tests += written.new_tests;
        }
        if let Some(window) = &batch.replace_signals {
            out.deleted_signals = clear_signals(&mut tx, window, &batch.signals).await?;
        }
        write_signals(&mut tx, &batch.signals).await?;
        write_sync_items(&mut tx, batch).await?;
        commit(tx, "sync batch").await?;
        Ok(out)
    }

    async fn sync_scopes(&self, integration: Option<&str>) -> Result<Vec<SyncScope>> {
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT s.integration, s.scope, s.cursor, s.fingerprint, s.full_at, s.updated_at, \
             (SELECT COUNT(*) FROM sync_items i \
              WHERE i.integration = s.integration AND i.scope = s.scope) AS items \
             FROM sync_scopes s",
        );
        if let Some(integration) = integration {
            qb.push(" WHERE s.integration = ")
                .push_bind(integration.to_owned());
        }
        qb.push(" ORDER BY s.integration, s.scope");
        let rows: Vec<ScopeRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("sync scope", e))?;
        Ok(rows
            .into_iter()
            .map(|r| SyncScope {
                integration: r.0,
                scope: r.1,
                cursor: r.2,
                fingerprint: r.3,
                full_at: r.4.map(Into::into),
                updated_at: r.5.into(),
                items: u64::try_from(r.6).unwrap_or(0),
            })
            .collect())
    }

    async fn sync_items(&self, integration: &str, scope: &str) -> Result<Vec<SyncItem>> {
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT item_id, local_key, fingerprint FROM sync_items \
             WHERE integration = $1 AND scope = $2 ORDER BY item_id",
        )
        .bind(integration)
        .bind(scope)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("sync item", e))?;
        Ok(rows
            .into_iter()
            .map(|(item_id, local_key, fingerprint)| SyncItem {
                item_id,
                local_key,
                fingerprint,
            })
            .collect())
    }

    async fn sync_items_by_id(
        &self,
        integration: &str,
        item_ids: &[String],
    ) -> Result<Vec<(String, SyncItem)>> {
        let mut out = Vec::new();
        for chunk in item_ids.chunks(LOOKUP_KEYS) {
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT scope, item_id, local_key, fingerprint FROM sync_items \
                 WHERE integration = ",
            );
            qb.push_bind(integration.to_owned())
                .push(" AND item_id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id.clone());
            }
            qb.push(") ORDER BY scope, item_id");
            let rows: Vec<(String, String, String, Option<String>)> = qb
                .build_query_as()
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error("sync item", e))?;
            out.extend(
                rows.into_iter()
                    .map(|(scope, item_id, local_key, fingerprint)| {
                        (
                            scope,
                            SyncItem {
                                item_id,
                                local_key,
                                fingerprint,
                            },
                        )
                    }),
            );
        }
        Ok(out)
    }

    // ---- Workflows and time tracking --------------------------------------------------------

    async fn write_workflow(&self, write: &WorkflowWrite) -> Result<()> {
        check_workflow_write(write)?;
        let mut tx = self.begin_write("workflow").await?;
        let w = &write.workflow;
        let completes = w.state == crate::model::WorkflowState::Completed
            && match write.expected_version {
                None => true,
                Some(_) => {
                    let before: Option<String> =
                        sqlx::query_scalar("SELECT state FROM workflows WHERE id = $1")
                            .bind(w.id.as_uuid())
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(|e| db_error("workflow", e))?;
                    before.as_deref() != Some("completed")
                }
            };
        match write.expected_version {
            None => {
                insert_workflow(&mut tx, w).await?;
                for step in &w.steps {
                    insert_step(&mut tx, w.id, step).await?;
                }
            }
            Some(expected) => {
                update_workflow(&mut tx, w, expected).await?;
                for pos in &write.changed_steps {
                    let step = w.steps.get(*pos as usize).ok_or_else(|| {
                        Error::invalid_input(format!("changed step {pos} does not exist"))
                    })?;
                    update_step(&mut tx, w.id, step).await?;
                }
            }
        }
        for event in &write.events {
            insert_event(&mut tx, w.id, event).await?;
        }
        if completes && let Some(fact) = verified_fact(&mut tx, w.id.as_uuid()).await? {
            // Before the tracking write: entries it appends to the now completed workflow add
            // their own time to this fact as they are inserted.
            upsert_facts(&mut tx, &[fact]).await?;
        }
        apply_tracking(&mut tx, &write.tracking).await?;
        commit(tx, "workflow").await
    }

    async fn workflow(&self, id: &WorkflowId) -> Result<Workflow> {
        let row: WorkflowRow = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id = $1"
        )))
        .bind(id.as_uuid())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| db_error("workflow", e).with_context("workflow", id.to_string()))?;
        let steps = self.steps_of(row.id).await?;
        row.into_workflow(steps)
    }

    async fn list_workflows(&self, filter: &WorkflowFilter) -> Result<Vec<Workflow>> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE 1 = 1"
        ));
        if let Some(owner) = filter.owner {
            qb.push(" AND owner_id = ").push_bind(owner.as_uuid());
        }
        if let Some(ticket) = &filter.ticket {
            qb.push(" AND ticket_key = ")
                .push_bind(ticket.as_str().to_owned());
        }
        if !filter.states.is_empty() {
            qb.push(" AND state IN (");
            let mut list = qb.separated(", ");
            for state in &filter.states {
                list.push_bind(state.as_str());
            }
            qb.push(")");
        }
        qb.push(" ORDER BY updated_at DESC, id DESC");
        if let Some(limit) = filter.limit {
            qb.push(" LIMIT ").push_bind(i64::from(limit));
        }
        let rows: Vec<WorkflowRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("workflow", e))?;
        // Two queries for all the workflows' steps and runs, not two per workflow: a page of
        // open workflows is hundreds of them.
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut steps = self.steps_of_many(&ids).await?;
        rows.into_iter()
            .map(|row| {
                let own = steps.remove(&row.id).unwrap_or_default();
                row.into_workflow(own)
            })
            .collect()
    }

    async fn workflow_events(&self, id: &WorkflowId) -> Result<Vec<WorkflowEvent>> {
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT version, actor_id, at, kind, step, from_state, to_state, detail \
             FROM workflow_events WHERE workflow_id = $1 ORDER BY version",
        )
        .bind(id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("workflow event", e))?;
        convert(rows)
    }

    async fn timer(&self, user: &UserId) -> Result<Option<Timer>> {
        let row: Option<TimerRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {TIMER_COLUMNS} FROM timers WHERE user_id = $1"
        )))
        .bind(user.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error("timer", e))?;
        row.map(Timer::try_from).transpose()
    }

    async fn write_tracking(&self, write: &TrackingWrite) -> Result<()> {
        if write.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write("time entry").await?;
        apply_tracking(&mut tx, write).await?;
        commit(tx, "time entry").await
    }

    async fn idle_periods(
        &self,
        user: &UserId,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<IdlePeriod>> {
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT id, user_id, ticket_key, workflow_id, step, started_at, ended_at, \
             kept_entry_id, recorded_at FROM idle_periods WHERE user_id = ",
        );
        qb.push_bind(user.as_uuid());
        if let Some(from) = from {
            qb.push(" AND started_at >= ").push_bind(DbTime(from));
        }
        if let Some(to) = to {
            qb.push(" AND started_at < ").push_bind(DbTime(to));
        }
        qb.push(" ORDER BY started_at, id");
        let rows: Vec<IdleRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("idle period", e))?;
        convert(rows)
    }

    async fn time_history(&self, filter: &TimeHistoryFilter) -> Result<Vec<HistoryEntry>> {
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT te.id, te.user_id, te.ticket_key, te.workflow_id, te.step, te.started_at, \
             te.ended_at, te.source, te.note, te.corrects, te.exported_worklog_id, \
             te.recorded_at, w.template FROM time_entries te \
             LEFT JOIN workflows w ON w.id = te.workflow_id WHERE 1 = 1",
        );
        if let Some(user) = filter.user_id {
            qb.push(" AND te.user_id = ").push_bind(user.as_uuid());
        }
        if let Some(ticket) = &filter.ticket {
            qb.push(" AND te.ticket_key = ")
                .push_bind(ticket.as_str().to_owned());
        }
        if let Some(template) = &filter.template {
            qb.push(" AND w.template = ").push_bind(template.clone());
        }
        if let Some(step) = &filter.step {
            qb.push(" AND te.step = ").push_bind(step.clone());
        }
        if let Some(from) = filter.from {
            qb.push(" AND te.started_at >= ").push_bind(DbTime(from));
        }
        if let Some(to) = filter.to {
            qb.push(" AND te.started_at < ").push_bind(DbTime(to));
        }
        qb.push(" ORDER BY te.started_at, te.id");
        let rows: Vec<HistoryRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("time entry", e))?;
        convert(rows)
    }

    async fn step_estimates(&self, template: Option<&str>) -> Result<Vec<StepEstimate>> {
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT s.workflow_id, w.template, s.name, s.state, s.estimate_secs \
             FROM workflow_steps s JOIN workflows w ON w.id = s.workflow_id",
        );
        if let Some(template) = template {
            qb.push(" WHERE w.template = ")
                .push_bind(template.to_owned());
        }
        qb.push(" ORDER BY w.template, s.position, s.workflow_id");
        let rows: Vec<EstimateRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("workflow step", e))?;
        convert(rows)
    }

    async fn attach_run_to_active_steps(
        &self,
        run: &RunId,
        tickets: &[IssueKey],
    ) -> Result<Vec<(WorkflowId, u32)>> {
        if tickets.is_empty() {
            return Ok(Vec::new());
        }
        let now = utc_now();
        let mut tx = self.begin_write("workflow").await?;
        let mut attached = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        for ticket in tickets {
            if !seen.insert(ticket.as_str()) {
                continue;
            }
            let targets: Vec<(Uuid, i32, Option<Uuid>, i32)> = sqlx::query_as(
                "SELECT w.id, w.version, w.owner_id, s.position FROM workflows w \
                 JOIN workflow_steps s ON s.workflow_id = w.id AND s.state = 'active' \
                 WHERE w.ticket_key = $1 AND w.state IN ('in_progress', 'paused') \
                 ORDER BY w.id",
            )
            .bind(ticket.as_str())
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| db_error("workflow", e))?;
            for (id, version, owner, position) in targets {
                let Some(owner) = owner else { continue };
                let inserted = sqlx::query(
                    "INSERT INTO workflow_step_runs (workflow_id, step, run_id, attached_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(position)
                .bind(run.as_uuid())
                .bind(DbTime(now))
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error("test run", e).with_context("run", run.to_string()))?;
                if inserted.rows_affected() == 0 {
                    continue;
                }
                let next = version.saturating_add(1);
                sqlx::query("UPDATE workflows SET version = $2, updated_at = $3 WHERE id = $1")
                    .bind(id)
                    .bind(next)
                    .bind(DbTime(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| db_error("workflow", e))?;
                let event = WorkflowEvent {
                    version: u32::try_from(next).unwrap_or(u32::MAX),
                    actor: UserId::from_uuid(owner),
                    at: now,
                    kind: "run_attached".to_owned(),
                    step: u32::try_from(position).ok(),
                    from_state: None,
                    to_state: None,
                    detail: serde_json::json!({ "run": run.to_string() }),
                };
                insert_event(&mut tx, WorkflowId::from_uuid(id), &event).await?;
                attached.push((
                    WorkflowId::from_uuid(id),
                    u32::try_from(position).unwrap_or(0),
                ));
            }
        }
        commit(tx, "workflow").await?;
        Ok(attached)
    }

    // ---- Patterns and alerts ----------------------------------------------------------------

    async fn scan_failed_attempts(
        &self,
        visit: &mut (dyn FnMut(FailedAttempt) -> Result<()> + Send),
    ) -> Result<u64> {
        // The partial index `test_results_failed` serves both the filter and the order.
        let mut rows = sqlx::query_as::<_, FailedRow>(
            "SELECT r.run_id, r.test_id, r.attempt, r.status, r.message, r.cluster_id, \
             r.trace_fingerprint, EXISTS (SELECT 1 FROM test_results p \
               WHERE p.run_id = r.run_id AND p.test_id = r.test_id AND p.attempt > r.attempt \
               AND p.status = 'passed') AS passed_later \
             FROM test_results r WHERE r.status IN ('failed', 'error') \
             ORDER BY r.run_id, r.test_id, r.attempt",
        )
        .fetch(&self.pool);
        let mut seen = 0u64;
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(|e| db_error("test result", e))?
        {
            seen += 1;
            visit(FailedAttempt {
                run_id: RunId::from_uuid(row.run_id),
                test_id: TestId::from_uuid(row.test_id),
                attempt: u32::try_from(row.attempt).unwrap_or(0),
                status: row.status.parse()?,
                message: row.message.unwrap_or_default(),
                passed_later: row.passed_later,
                cluster_id: row.cluster_id.map(PatternId::from_uuid),
                trace_fingerprint: row.trace_fingerprint,
            })?;
        }
        Ok(seen)
    }

    async fn test_external_ids(&self) -> Result<Vec<(TestId, String)>> {
        let rows: Vec<(Uuid, String)> = sqlx::query_as("SELECT id, external_id FROM test_cases")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("test case", e))?;
        Ok(rows
            .into_iter()
            .map(|(id, ext)| (TestId::from_uuid(id), ext))
            .collect())
    }

    async fn save_analysis(&self, write: &AnalysisWrite) -> Result<Vec<(AlertId, RaiseOutcome)>> {
        let clusters: Vec<_> = write
            .clusters
            .iter()
            .map(|c| Ok((c, to_i64(c.occurrences, "occurrences")?)))
            .collect::<Result<_>>()?;
        let assignments: Vec<_> = write
            .assignments
            .iter()
            .map(|a| {
                let attempt = i32::try_from(a.attempt)
                    .map_err(|_| Error::invalid_input("attempt number too large"))?;
                Ok((a, attempt))
            })
            .collect::<Result<_>>()?;
        let mut tx = self.begin_write("pattern").await?;
        for chunk in clusters.chunks(CHUNK_ROWS) {
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO patterns (id, kind, fingerprint, title, severity, occurrences, \
                 first_seen, last_seen, evidence) ",
            );
            qb.push_values(chunk, |mut row, (c, occurrences)| {
                row.push_bind(c.id.as_uuid())
                    .push_bind(CLUSTER_KIND)
                    .push_bind(c.fingerprint.clone())
                    .push_bind(c.title.clone())
                    .push_bind(c.severity.clone())
                    .push_bind(*occurrences)
                    .push_bind(DbTime(c.first_seen))
                    .push_bind(DbTime(c.last_seen))
                    .push_bind(Json(c.evidence.clone()));
            });
            qb.push(
                " ON CONFLICT (kind, fingerprint) DO UPDATE SET title = excluded.title, \
                 severity = excluded.severity, occurrences = excluded.occurrences, \
                 first_seen = excluded.first_seen, last_seen = excluded.last_seen, \
                 evidence = excluded.evidence",
            );
            qb.build()
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error("pattern", e))?;
        }
        for chunk in assignments.chunks(CHUNK_ROWS) {
            let mut qb = QueryBuilder::<Db>::new(
                "UPDATE test_results SET cluster_id = v.column4, trace_fingerprint = v.column5 \
                 FROM (",
            );
            qb.push_values(chunk, |mut row, (a, attempt)| {
                row.push_bind(a.run_id.as_uuid())
                    .push_bind(a.test_id.as_uuid())
                    .push_bind(*attempt)
                    .push_bind(a.cluster_id.map(|c| c.as_uuid()))
                    .push_bind(a.trace_fingerprint.clone());
            });
            qb.push(
                ") AS v WHERE test_results.run_id = v.column1 \
                 AND test_results.test_id = v.column2 AND test_results.attempt = v.column3",
            );
            qb.build()
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error("test result", e))?;
        }
        sqlx::query(
            "DELETE FROM patterns WHERE kind = $1 AND NOT EXISTS \
             (SELECT 1 FROM test_results r WHERE r.cluster_id = patterns.id)",
        )
        .bind(CLUSTER_KIND)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error("pattern", e))?;
        sqlx::query(
            "DELETE FROM pattern_links WHERE pattern_id IN (SELECT id FROM patterns WHERE kind = $1)",
        )
        .bind(CLUSTER_KIND)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error("pattern link", e))?;
        let now = DbTime(utc_now());
        for chunk in write.links.chunks(CHUNK_ROWS) {
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO pattern_links (pattern_id, issue_key, source, score, linked_at) ",
            );
            qb.push_values(chunk, |mut row, (id, link)| {
                row.push_bind(id.as_uuid())
                    .push_bind(link.issue.as_str().to_owned())
                    .push_bind(link.source.as_str())
                    .push_bind(link.score.clamp(0.0, 1.0))
                    .push_bind(now);
            });
            qb.push(" ON CONFLICT (pattern_id, issue_key) DO NOTHING");
            qb.build()
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error("pattern link", e))?;
        }
        let raised = raise_in(&mut tx, &write.alerts).await?;
        clear_in(&mut tx, &write.cleared).await?;
        commit(tx, "pattern").await?;
        Ok(raised)
    }

    async fn patterns_of_kind(&self, kind: &str) -> Result<Vec<StoredPattern>> {
        let rows: Vec<PatternRow> = sqlx::query_as(
            "SELECT id, kind, fingerprint, title, severity, occurrences, first_seen, last_seen, \
             evidence FROM patterns WHERE kind = $1 ORDER BY last_seen DESC, id",
        )
        .bind(kind)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("pattern", e))?;
        let links: Vec<PatternLinkRow> = sqlx::query_as(
            "SELECT l.pattern_id, l.issue_key, l.source, l.score FROM pattern_links l \
             JOIN patterns p ON p.id = l.pattern_id WHERE p.kind = $1 \
             ORDER BY l.score DESC, l.issue_key",
        )
        .bind(kind)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("pattern link", e))?;
        let mut by_pattern: HashMap<Uuid, Vec<StoredLink>> = HashMap::new();
        for row in links {
            let id = row.pattern_id;
            by_pattern.entry(id).or_default().push(row.try_into()?);
        }
        rows.into_iter()
            .map(|row| {
                let id = row.id;
                let mut pattern = StoredPattern::try_from(row)?;
                pattern.links = by_pattern.remove(&id).unwrap_or_default();
                Ok(pattern)
            })
            .collect()
    }

    async fn raise_alerts(&self, drafts: &[AlertDraft]) -> Result<Vec<(AlertId, RaiseOutcome)>> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write("alert").await?;
        let raised = raise_in(&mut tx, drafts).await?;
        commit(tx, "alert").await?;
        Ok(raised)
    }

    async fn alert(&self, id: &AlertId) -> Result<Alert> {
        fetch_by_id::<AlertRow, _>(
            &self.pool,
            "alert",
            (ALERT_COLUMNS, "alerts"),
            id.as_uuid(),
            "alert",
        )
        .await
    }

    async fn list_alerts(&self, filter: &AlertFilter) -> Result<Page<Alert>> {
        fetch_page::<AlertRow, _>(
            &self.pool,
            "alert",
            (ALERT_COLUMNS, "alerts"),
            |qb| push_alert_filters(qb, filter),
            "last_seen DESC, id DESC",
            filter.page,
        )
        .await
    }

    async fn update_alert(
        &self,
        id: &AlertId,
        action: AlertAction,
        by: Option<&UserId>,
    ) -> Result<Alert> {
        let mut tx = self.begin_write("alert").await?;
        let lock = if BACKEND == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let state: String = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT state FROM alerts WHERE id = $1{lock}"
        )))
        .bind(id.as_uuid())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| db_error("alert", e).with_context("alert", id.to_string()))?;
        let from: AlertState = state.parse()?;
        let to = action
            .apply(from)
            .map_err(|e| Error::from(e).with_context("alert", id.to_string()))?;
        let now = DbTime(utc_now());
        let sql = match action {
            AlertAction::Acknowledge => {
                "UPDATE alerts SET state = $2, state_changed_at = $3, acknowledged_at = $3, \
                 acknowledged_by = $4 WHERE id = $1"
            }
            AlertAction::Resolve => {
                "UPDATE alerts SET state = $2, state_changed_at = $3, resolved_at = $3, \
                 muted_until = NULL WHERE id = $1"
            }
            AlertAction::Mute { .. } => {
                "UPDATE alerts SET state = $2, state_changed_at = $3, muted_until = $4 WHERE id = $1"
            }
            AlertAction::Unmute | AlertAction::Reopen => {
                "UPDATE alerts SET state = $2, state_changed_at = $3, resolved_at = NULL, \
                 muted_until = NULL, acknowledged_at = NULL, acknowledged_by = NULL WHERE id = $1"
            }
        };
        let until = match action {
            AlertAction::Mute { until } => until.map(DbTime),
            _ => None,
        };
        let mut query = sqlx::query(sql)
            .bind(id.as_uuid())
            .bind(to.as_str())
            .bind(now);
        if matches!(action, AlertAction::Acknowledge) {
            query = query.bind(by.map(UserId::as_uuid));
        }
        if matches!(action, AlertAction::Mute { .. }) {
            query = query.bind(until);
        }
        query
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("alert", e).with_context("alert", id.to_string()))?;
        let row: AlertRow = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"
        )))
        .bind(id.as_uuid())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| db_error("alert", e))?;
        commit(tx, "alert").await?;
        row.try_into()
    }

    // ---- Dashboard server: teams, sessions, tokens, sign-in, health, alerts, leases ---------

    async fn user_by_id(&self, id: &UserId) -> Result<User> {
        fetch_by_id::<UserRow, _>(
            &self.pool,
            "user",
            (USER_COLUMNS, "users"),
            id.as_uuid(),
            "id",
        )
        .await
    }

    async fn user_team(&self, id: &UserId) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT team FROM users WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error("user", e).with_context("id", id.to_string()))
    }

    async fn set_user_team(&self, id: &UserId, team: Option<&str>) -> Result<()> {
        let team = team.map(str::trim);
        if team.is_some_and(str::is_empty) {
            return Err(Error::invalid_input(
                "a team name must not be empty; pass no team to clear it",
            ));
        }
        let done = sqlx::query("UPDATE users SET team = $2, updated_at = $3 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(team)
            .bind(DbTime(utc_now()))
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("user", e))?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found("user not found").with_context("id", id.to_string()));
        }
        Ok(())
    }

    async fn set_user_role(&self, id: &UserId, role: crate::model::Role) -> Result<()> {
        let done = sqlx::query("UPDATE users SET role = $2, updated_at = $3 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(role.as_str())
            .bind(DbTime(utc_now()))
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("user", e))?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found("user not found").with_context("id", id.to_string()));
        }
        Ok(())
    }

    async fn team_members(&self, team: &str) -> Result<Vec<UserId>> {
        let ids: Vec<Uuid> =
            sqlx::query_scalar("SELECT id FROM users WHERE team = $1 ORDER BY name")
                .bind(team.trim())
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error("user", e))?;
        Ok(ids.into_iter().map(UserId::from_uuid).collect())
    }

    async fn create_session(&self, session: &SessionRecord) -> Result<()> {
        if session.expires_at <= session.created_at {
            return Err(Error::invalid_input(
                "a session must expire after it is created",
            ));
        }
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, \
             revoked_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&session.token_hash)
        .bind(session.user_id.as_uuid())
        .bind(&session.csrf_token)
        .bind(DbTime(session.created_at))
        .bind(DbTime(session.expires_at))
        .bind(session.revoked_at.map(DbTime))
        .bind(&session.ip)
        .bind(&session.user_agent)
        .execute(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                Error::new(ErrorKind::Conflict, "this session already exists").with_source(e)
            } else {
                db_error("session", e)
            }
        })?;
        Ok(())
    }

    async fn session(&self, token_hash: &str) -> Result<SessionRecord> {
        let row: SessionRow = sqlx::query_as(
            "SELECT token_hash, user_id, csrf_token, created_at, expires_at, revoked_at, ip, \
             user_agent FROM sessions WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| db_error("session", e))?;
        Ok(row.into())
    }

    async fn revoke_session(&self, token_hash: &str, at: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .bind(DbTime(at))
        .execute(&self.pool)
        .await
        .map_err(|e| db_error("session", e))?;
        Ok(())
    }

    async fn revoke_user_sessions(&self, user: &UserId, at: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(user.as_uuid())
        .bind(DbTime(at))
        .execute(&self.pool)
        .await
        .map_err(|e| db_error("session", e))?;
        Ok(done.rows_affected())
    }

    async fn purge_sessions(&self, before: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(DbTime(before))
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("session", e))?;
        Ok(done.rows_affected())
    }

    async fn create_api_token(&self, token: &ApiTokenRecord) -> Result<()> {
        not_empty(&token.name, "a token name")?;
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, created_at, \
             expires_at, last_used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(token.id)
        .bind(token.user_id.as_uuid())
        .bind(token.name.trim())
        .bind(&token.token_hash)
        .bind(&token.prefix)
        .bind(DbTime(token.created_at))
        .bind(token.expires_at.map(DbTime))
        .bind(token.last_used_at.map(DbTime))
        .bind(token.revoked_at.map(DbTime))
        .execute(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "this user already has a token named `{}`",
                        token.name.trim()
                    ),
                )
                .with_source(e)
            } else {
                db_error("api token", e)
            }
        })?;
        Ok(())
    }

    async fn api_token_by_hash(&self, token_hash: &str) -> Result<ApiTokenRecord> {
        let row: ApiTokenRow = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {API_TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1"
        )))
        .bind(token_hash)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| db_error("api token", e))?;
        Ok(row.into())
    }

    async fn list_api_tokens(&self, user: Option<&UserId>) -> Result<Vec<ApiTokenRecord>> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {API_TOKEN_COLUMNS} FROM api_tokens"));
        if let Some(user) = user {
            qb.push(" WHERE user_id = ").push_bind(user.as_uuid());
        }
        qb.push(" ORDER BY created_at, id");
        let rows: Vec<ApiTokenRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("api token", e))?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn revoke_api_token(&self, id: Uuid, at: DateTime<Utc>) -> Result<()> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
        )
        .bind(id)
        .bind(DbTime(at))
        .execute(&self.pool)
        .await
        .map_err(|e| db_error("api token", e))?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found("API token not found").with_context("id", id.to_string()));
        }
        Ok(())
    }

    async fn touch_api_token(&self, id: Uuid, at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(DbTime(at))
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("api token", e))?;
        Ok(())
    }

    async fn record_login_attempt(&self, attempt: &LoginAttempt) -> Result<()> {
        sqlx::query(
            "INSERT INTO login_attempts (id, user_name, ip, succeeded, attempted_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::now_v7())
        .bind(&attempt.user_name)
        .bind(&attempt.ip)
        .bind(attempt.succeeded)
        .bind(DbTime(attempt.attempted_at))
        .execute(&self.pool)
        .await
        .map_err(|e| db_error("login attempt", e))?;
        Ok(())
    }

    async fn login_failures(
        &self,
        user_name: &str,
        ip: &str,
        since: DateTime<Utc>,
    ) -> Result<LoginFailures> {
        let last_success: Option<DbTime> = sqlx::query_scalar(
            "SELECT MAX(attempted_at) FROM login_attempts WHERE user_name = $1 AND succeeded = $2",
        )
        .bind(user_name)
        .bind(true)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| db_error("login attempt", e))?;
        let user_since = last_success.map_or(since, |t| t.0.max(since));
        let by_user: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM login_attempts \
             WHERE user_name = $1 AND succeeded = $2 AND attempted_at > $3",
        )
        .bind(user_name)
        .bind(false)
        .bind(DbTime(user_since))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| db_error("login attempt", e))?;
        let by_ip: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM login_attempts \
             WHERE ip = $1 AND succeeded = $2 AND attempted_at > $3",
        )
        .bind(ip)
        .bind(false)
        .bind(DbTime(since))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| db_error("login attempt", e))?;
        Ok(LoginFailures {
            by_user: by_user as u64,
            by_ip: by_ip as u64,
        })
    }

    async fn record_integration_check(&self, check: &IntegrationCheck) -> Result<()> {
        not_empty(&check.integration, "an integration name")?;
        let latency = check
            .latency_ms
            .map(|ms| to_i64(ms, "latency_ms"))
            .transpose()?;
        sqlx::query(
            "INSERT INTO integration_health (id, integration, checked_at, healthy, latency_ms, \
             message) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(Uuid::now_v7())
        .bind(&check.integration)
        .bind(DbTime(check.checked_at))
        .bind(check.healthy)
        .bind(latency)
        .bind(&check.message)
        .execute(&self.pool)
        .await
        .map_err(|e| db_error("integration health", e))?;
        Ok(())
    }

    async fn integration_health_summary(
        &self,
        integration: &str,
        since: DateTime<Utc>,
    ) -> Result<IntegrationHealthSummary> {
        let (checks, failures, avg, max, last): (
            i64,
            Option<i64>,
            Option<f64>,
            Option<i64>,
            Option<DbTime>,
        ) = sqlx::query_as(
            "SELECT COUNT(*), CAST(SUM(CASE WHEN healthy = $3 THEN 0 ELSE 1 END) AS BIGINT), \
             CAST(AVG(latency_ms) AS DOUBLE PRECISION), CAST(MAX(latency_ms) AS BIGINT), \
             MAX(checked_at) FROM integration_health \
             WHERE integration = $1 AND checked_at >= $2",
        )
        .bind(integration)
        .bind(DbTime(since))
        .bind(true)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| db_error("integration health", e))?;
        // The latest check of all time, not only the window, decides "down now".
        let latest: Option<(DbTime, bool)> = sqlx::query_as(
            "SELECT checked_at, healthy FROM integration_health WHERE integration = $1 \
             ORDER BY checked_at DESC, id DESC LIMIT 1",
        )
        .bind(integration)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| db_error("integration health", e))?;
        let down_since = match latest {
            Some((_, false)) => {
                let last_ok: Option<DbTime> = sqlx::query_scalar(
                    "SELECT MAX(checked_at) FROM integration_health \
                     WHERE integration = $1 AND healthy = $2",
                )
                .bind(integration)
                .bind(true)
                .fetch_one(&self.pool)
                .await
                .map_err(|e| db_error("integration health", e))?;
                let mut qb = QueryBuilder::<Db>::new(
                    "SELECT MIN(checked_at) FROM integration_health WHERE integration = ",
                );
                qb.push_bind(integration);
                if let Some(ok) = last_ok {
                    qb.push(" AND checked_at > ").push_bind(ok);
                }
                let first_bad: Option<DbTime> = qb
                    .build_query_scalar()
                    .fetch_one(&self.pool)
                    .await
                    .map_err(|e| db_error("integration health", e))?;
                first_bad.map(Into::into)
            }
            _ => None,
        };
        Ok(IntegrationHealthSummary {
            integration: integration.to_owned(),
            checks: checks as u64,
            failures: failures.unwrap_or(0) as u64,
            avg_latency_ms: avg,
            max_latency_ms: max.map(|m| m as u64),
            last_checked_at: last.map(Into::into),
            last_healthy: latest.map(|(_, healthy)| healthy),
            down_since,
        })
    }

    async fn raise_alert(&self, alert: &NewAlert) -> Result<AlertRecord> {
        // The server's own alerts go through the same dedup as detected patterns: one row per
        // kind and fingerprint, reopened in place when a resolved alert recurs.
        let draft = AlertDraft {
            kind: alert.kind.parse()?,
            fingerprint: alert.fingerprint.clone(),
            pattern_id: None,
            title: alert.title.clone(),
            severity: alert.severity.parse()?,
            seen_at: alert.seen_at,
            evidence: alert.evidence.clone(),
        };
        let mut tx = self.begin_write("alert").await?;
        let raised = raise_in(&mut tx, std::slice::from_ref(&draft)).await?;
        let Some((id, _)) = raised.first() else {
            return Err(Error::store("raising an alert returned no row"));
        };
        let row: AlertRow = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"
        )))
        .bind(id.as_uuid())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| db_error("alert", e))?;
        commit(tx, "alert").await?;
        Ok(Alert::try_from(row)?.into())
    }

    async fn resolve_alert(
        &self,
        kind: &str,
        fingerprint: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE alerts SET state = 'resolved', resolved_at = $3, state_changed_at = $3 \
             WHERE kind = $1 AND fingerprint = $2 AND state IN ('new', 'acknowledged')",
        )
        .bind(kind)
        .bind(fingerprint)
        .bind(DbTime(at))
        .execute(&self.pool)
        .await
        .map_err(|e| db_error("alert", e))?;
        Ok(done.rows_affected() > 0)
    }

    async fn open_alerts(&self, kind: Option<&str>) -> Result<Vec<AlertRecord>> {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE state IN ('new', 'acknowledged')"
        ));
        if let Some(kind) = kind {
            qb.push(" AND kind = ").push_bind(kind.to_owned());
        }
        qb.push(" ORDER BY last_seen DESC, id DESC");
        let rows: Vec<AlertRow> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("alert", e))?;
        rows.into_iter()
            .map(|row| Ok(Alert::try_from(row)?.into()))
            .collect()
    }

    async fn try_job_lease(&self, name: &str) -> Result<Option<JobLease>> {
        not_empty(name, "a job name")?;
        super::try_lease(self, name).await
    }

    // ---- Pattern recompute: per-test histories and alert clearing ---------------------------

    async fn scan_test_histories(
        &self,
        visit: &mut (dyn FnMut(TestHistory) -> Result<()> + Send),
    ) -> Result<u64> {
        // One snapshot for both statements, so the run positions the aggregate refers to are
        // the positions in the run list read first.
        let begin = if BACKEND == Backend::Postgres {
            "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
        } else {
            "BEGIN"
        };
        let mut tx = self
            .pool
            .begin_with(begin)
            .await
            .map_err(|e| db_error("test result", e))?;
        let runs: Vec<Uuid> =
            sqlx::query_scalar("SELECT id FROM test_runs ORDER BY started_at, id")
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| db_error("test run", e))?;
        let mut rows = sqlx::query_as::<_, (Uuid, String)>(HISTORY_SQL).fetch(&mut *tx);
        let mut seen = 0u64;
        while let Some((test, packed)) = rows
            .try_next()
            .await
            .map_err(|e| db_error("test result", e))?
        {
            let attempts = unpack_history(&packed, &runs)?;
            seen += attempts.len() as u64;
            visit(TestHistory {
                test_id: TestId::from_uuid(test),
                attempts,
            })?;
        }
        drop(rows);
        tx.rollback()
            .await
            .map_err(|e| db_error("test result", e))?;
        Ok(seen)
    }

    async fn open_alert_keys(
        &self,
        kinds: &[AlertKind],
    ) -> Result<Vec<(AlertId, AlertKind, String)>> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT id, kind, fingerprint FROM alerts WHERE state IN ('new', 'acknowledged') \
             AND kind IN (",
        );
        let mut sep = qb.separated(", ");
        for kind in kinds {
            sep.push_bind(kind.as_str());
        }
        qb.push(") ORDER BY id");
        let rows: Vec<(Uuid, String, String)> = qb
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("alert", e))?;
        rows.into_iter()
            .map(|(id, kind, fingerprint)| Ok((AlertId::from_uuid(id), kind.parse()?, fingerprint)))
            .collect()
    }

    // ---- Embeddings ---------------------------------------------------------------------------

    async fn embedding_hashes(
        &self,
        model: &str,
        uids: &[String],
    ) -> Result<HashMap<String, String>> {
        let mut out = HashMap::with_capacity(uids.len());
        for chunk in uids.chunks(LOOKUP_KEYS) {
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT uid, content_hash FROM document_embeddings WHERE model = ",
            );
            qb.push_bind(model.to_owned()).push(" AND uid IN (");
            let mut list = qb.separated(", ");
            for uid in chunk {
                list.push_bind(uid.clone());
            }
            qb.push(")");
            let rows: Vec<(String, String)> = qb
                .build_query_as()
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error("embedding", e))?;
            out.extend(rows);
        }
        Ok(out)
    }

    async fn upsert_embeddings(&self, model: &str, rows: &[EmbeddingRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        not_empty(model, "an embedding model")?;
        for row in rows {
            not_empty(&row.uid, "an embedded document's uid")?;
            if row.vector.is_empty()
                || row.vector.len() > MAX_DIMENSIONS
                || row.vector.iter().any(|v| !v.is_finite())
            {
                return Err(Error::invalid_input(format!(
                    "an embedding vector must have 1 to {MAX_DIMENSIONS} finite values"
                ))
                .with_context("uid", row.uid.clone()));
            }
        }
        let now = DbTime(utc_now());
        let mut tx = self.begin_write("embedding").await?;
        for chunk in rows.chunks(CHUNK_ROWS) {
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO document_embeddings (uid, model, content_hash, dimensions, vector, created_at) ",
            );
            qb.push_values(chunk, |mut b, row| {
                let bytes: Vec<u8> = row.vector.iter().flat_map(|v| v.to_le_bytes()).collect();
                b.push_bind(row.uid.clone())
                    .push_bind(model.to_owned())
                    .push_bind(row.content_hash.clone())
                    .push_bind(i32::try_from(row.vector.len()).unwrap_or(i32::MAX))
                    .push_bind(bytes)
                    .push_bind(now);
            });
            qb.push(
                " ON CONFLICT (uid, model) DO UPDATE SET content_hash = excluded.content_hash, \
                 dimensions = excluded.dimensions, vector = excluded.vector, \
                 created_at = excluded.created_at",
            );
            qb.build()
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error("embedding", e))?;
        }
        commit(tx, "embedding").await
    }

    async fn embeddings(&self, model: &str, uids: &[String]) -> Result<HashMap<String, Vec<f32>>> {
        let mut out = HashMap::with_capacity(uids.len());
        for chunk in uids.chunks(LOOKUP_KEYS) {
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT uid, vector FROM document_embeddings WHERE model = ",
            );
            qb.push_bind(model.to_owned()).push(" AND uid IN (");
            let mut list = qb.separated(", ");
            for uid in chunk {
                list.push_bind(uid.clone());
            }
            qb.push(")");
            let rows: Vec<(String, Vec<u8>)> = qb
                .build_query_as()
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error("embedding", e))?;
            for (uid, bytes) in rows {
                if bytes.is_empty() || bytes.len() % 4 != 0 {
                    return Err(Error::store(format!(
                        "the stored vector of `{uid}` is {} bytes, not a whole number of f32s",
                        bytes.len()
                    )));
                }
                let vector = bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                out.insert(uid, vector);
            }
        }
        Ok(out)
    }

    async fn prune_embeddings(&self, keep: Option<&str>) -> Result<u64> {
        let mut tx = self.begin_write("embedding").await?;
        let result = match keep {
            Some(model) => {
                sqlx::query("DELETE FROM document_embeddings WHERE model <> $1")
                    .bind(model.to_owned())
                    .execute(&mut *tx)
                    .await
            }
            None => {
                sqlx::query("DELETE FROM document_embeddings")
                    .execute(&mut *tx)
                    .await
            }
        }
        .map_err(|e| db_error("embedding", e))?;
        commit(tx, "embedding").await?;
        Ok(result.rows_affected())
    }

    // ---- Dashboard rollups --------------------------------------------------------------------

    async fn dashboard_fact_totals(&self, query: &FactQuery) -> Result<Vec<Fact>> {
        // Without a user filter or a user column the team-wide rows give the same sums from
        // far fewer rows; results are only kept there.
        let team = !FactTable::PerUser.holds(query.kind)
            || (query.users.is_none() && !query.group_by.contains(&FactDim::User));
        if team && query.users.is_some() {
            // Only results get here with users named, and no result is any user's.
            return Ok(Vec::new());
        }
        // The team table has no user column; there every row's user is none.
        let group_by: Vec<FactDim> = query
            .group_by
            .iter()
            .copied()
            .filter(|d| !(team && *d == FactDim::User))
            .collect();
        let dims: Vec<&'static str> = group_by.iter().map(|d| d.column()).collect();
        let mut qb = QueryBuilder::<Db>::new("SELECT ");
        for dim in &dims {
            qb.push(*dim).push(", ");
        }
        qb.push(
            "CAST(SUM(n) AS BIGINT), CAST(SUM(passed) AS BIGINT), CAST(SUM(failed) AS BIGINT), \
             CAST(SUM(amount) AS BIGINT), CAST(SUM(estimate) AS BIGINT), \
             CAST(SUM(tracked) AS BIGINT), \
             CAST(COUNT(DISTINCT CASE WHEN test_id <> ",
        );
        qb.push_bind(Uuid::nil());
        let table = if team {
            FactTable::Team
        } else {
            FactTable::PerUser
        };
        qb.push(" THEN test_id END) AS BIGINT) FROM ")
            .push(table.name())
            .push(" WHERE kind = ");
        qb.push_bind(query.kind.as_str());
        qb.push(" AND day >= ").push_bind(query.from_day);
        qb.push(" AND day < ").push_bind(query.to_day);
        if let Some(project) = &query.project {
            qb.push(" AND project = ").push_bind(project.clone());
        }
        if let Some(users) = &query.users {
            if users.is_empty() {
                return Ok(Vec::new());
            }
            qb.push(" AND user_id IN (");
            let mut list = qb.separated(", ");
            for user in users {
                list.push_bind(user.as_uuid());
            }
            qb.push(")");
        }
        if !dims.is_empty() {
            qb.push(" GROUP BY ").push(dims.join(", "));
            qb.push(" ORDER BY ").push(dims.join(", "));
        }
        let rows = qb
            .build()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("dashboard fact", e))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let fact = total_of_row(row, query.kind, &group_by)?;
            if group_by.is_empty() && fact.n == 0 {
                // SUM over no rows: no total at all.
                continue;
            }
            out.push(fact);
        }
        Ok(out)
    }

    async fn dashboard_facts_all(&self) -> Result<Vec<Fact>> {
        // Results are kept team-wide only (`FactTable::holds`); they come from there.
        let rows: Vec<FactRow> = sqlx::query_as(
            "SELECT day, kind, user_id, project, activity, step, test_id, n, passed, failed, \
             amount, estimate, tracked FROM dashboard_facts \
             UNION ALL \
             SELECT day, kind, $1, project, activity, step, test_id, n, passed, failed, \
             amount, estimate, tracked FROM dashboard_team_facts WHERE kind = $2 \
             ORDER BY day, kind, user_id, project, activity, step, test_id",
        )
        .bind(Uuid::nil())
        .bind(FactKind::Result.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("dashboard fact", e))?;
        rows.into_iter().map(Fact::try_from).collect()
    }

    async fn rebuild_dashboard_facts(&self) -> Result<u64> {
        let mut tx = self.begin_write("dashboard rollup").await?;
        for sql in [
            "DELETE FROM dashboard_facts",
            "DELETE FROM dashboard_team_facts",
        ] {
            sqlx::query(sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error("dashboard fact", e))?;
        }
        let mut deltas: Vec<(Fact, i64)> = Vec::new();
        // Current time entries (no later entry corrects them), with their workflow's template.
        {
            let mut rows = sqlx::query_as::<
                _,
                (
                    Uuid,
                    Option<String>,
                    Option<String>,
                    DbTime,
                    DbTime,
                    Option<String>,
                ),
            >(
                "SELECT te.user_id, te.ticket_key, te.step, te.started_at, te.ended_at, w.template \
                 FROM time_entries te LEFT JOIN workflows w ON w.id = te.workflow_id \
                 WHERE NOT EXISTS (SELECT 1 FROM time_entries c WHERE c.corrects = te.id)",
            )
            .fetch(&mut *tx);
            while let Some((user, ticket, step, started, ended, template)) =
                rows.try_next()
                    .await
                    .map_err(|e| db_error("time entry", e))?
            {
                let ticket = ticket.as_deref().and_then(|t| IssueKey::parse(t).ok());
                if let Some(fact) = time_contribution(
                    UserId::from_uuid(user),
                    ticket.as_ref(),
                    template.as_deref(),
                    step.as_deref(),
                    started.into(),
                    ended.into(),
                ) {
                    deltas.push((fact, 1));
                }
            }
        }
        {
            let mut rows = sqlx::query_as::<_, (Uuid, DbTime, String, Option<i64>)>(
                "SELECT r.test_id, t.started_at, r.status, CAST(r.duration_ms AS BIGINT) \
                 FROM test_results r JOIN test_runs t ON t.id = r.run_id",
            )
            .fetch(&mut *tx);
            while let Some((test, started, status, duration)) = rows
                .try_next()
                .await
                .map_err(|e| db_error("test result", e))?
            {
                deltas.push((
                    result_contribution(started.into(), TestId::from_uuid(test), &status, duration),
                    1,
                ));
            }
        }
        let completed: Vec<(Uuid,)> =
            sqlx::query_as("SELECT id FROM workflows WHERE state = 'completed'")
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| db_error("workflow", e))?;
        for (id,) in completed {
            if let Some(fact) = verified_fact(&mut tx, id).await? {
                deltas.push((fact, 1));
            }
        }
        let facts = merge(deltas);
        let rows = facts.len() as u64;
        upsert_facts(&mut tx, &facts).await?;
        commit(tx, "dashboard rollup").await?;
        Ok(rows)
    }

    async fn time_entry(&self, id: &TimeEntryId) -> Result<TimeEntry> {
        fetch_by_id::<TimeEntryRow, _>(
            &self.pool,
            "time entry",
            (TIME_ENTRY_COLUMNS, "time_entries"),
            id.as_uuid(),
            "entry",
        )
        .await
    }

    // ---- External signals ---------------------------------------------------------------------

    async fn external_signals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ExternalSignal>> {
        let rows: Vec<(String, DbTime, String, f64)> = sqlx::query_as(
            "SELECT source, at, name, value FROM external_signals \
             WHERE at >= $1 AND at <= $2 ORDER BY at, source, signal_key LIMIT $3",
        )
        .bind(DbTime(from))
        .bind(DbTime(to))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("external signal", e))?;
        Ok(rows
            .into_iter()
            .map(|(source, at, name, value)| ExternalSignal {
                source: SignalSource::from_name(&source),
                at: at.into(),
                name,
                value,
            })
            .collect())
    }
}

// ---- Dashboard rollups: the deltas every write applies ---------------------------------------

#[derive(sqlx::FromRow)]
struct FactRow {
    day: i64,
    kind: String,
    user_id: Uuid,
    project: String,
    activity: String,
    step: String,
    test_id: Uuid,
    n: i64,
    passed: i64,
    failed: i64,
    amount: i64,
    estimate: i64,
    tracked: i64,
}

impl TryFrom<FactRow> for Fact {
    type Error = Error;

    fn try_from(row: FactRow) -> Result<Self> {
        Ok(Self {
            day: row.day,
            kind: FactKind::parse(&row.kind)?,
            user_id: (!row.user_id.is_nil()).then(|| UserId::from_uuid(row.user_id)),
            project: row.project,
            activity: row.activity,
            step: row.step,
            test_id: (!row.test_id.is_nil()).then(|| TestId::from_uuid(row.test_id)),
            n: row.n,
            passed: row.passed,
            failed: row.failed,
            amount: row.amount,
            estimate: row.estimate,
            tracked: row.tracked,
            distinct_tests: 0,
        })
    }
}

/// Adds merged deltas to the stored facts, per user and team-wide, then drops rows that fell
/// to zero, so the tables after any sequence of writes hold exactly what a rebuild computes.
async fn upsert_facts(tx: &mut Tx, facts: &[Fact]) -> Result<()> {
    if facts.is_empty() {
        return Ok(());
    }
    let per_user: Vec<Fact> = facts
        .iter()
        .filter(|f| FactTable::PerUser.holds(f.kind))
        .cloned()
        .collect();
    upsert_fact_rows(tx, FactTable::PerUser, &per_user).await?;
    // The same deltas without the user: several users' rows fall into one team row.
    let team = crate::dashboard::facts::merge(facts.iter().map(|f| {
        let mut f = f.clone();
        f.user_id = None;
        (f, 1)
    }));
    upsert_fact_rows(tx, FactTable::Team, &team).await?;
    let mut touched: Vec<(i64, FactKind)> = facts.iter().map(|f| (f.day, f.kind)).collect();
    touched.sort_unstable();
    touched.dedup();
    for (day, kind) in touched {
        for table in [FactTable::PerUser, FactTable::Team] {
            drop_zero_facts(tx, table, kind, day).await?;
        }
    }
    Ok(())
}

/// Deletes the rows of `kind` on `day` that deltas brought back to zero: a row that counts
/// nothing would show as a zero in a breakdown.
async fn drop_zero_facts(tx: &mut Tx, table: FactTable, kind: FactKind, day: i64) -> Result<()> {
    if !table.holds(kind) {
        return Ok(());
    }
    sqlx::query(AssertSqlSafe(format!(
        "DELETE FROM {} WHERE kind = $1 AND day = $2 AND n = 0",
        table.name()
    )))
    .bind(kind.as_str())
    .bind(day)
    .execute(&mut **tx)
    .await
    .map_err(|e| db_error("dashboard fact", e))?;
    Ok(())
}

/// One row of [`Store::dashboard_fact_totals`]'s query: the `group_by` columns, then the
/// sums.
fn total_of_row(
    row: &<Db as sqlx::Database>::Row,
    kind: FactKind,
    group_by: &[FactDim],
) -> Result<Fact> {
    let mut fact = Fact::zero(0, kind);
    for (i, dim) in group_by.iter().enumerate() {
        match dim {
            FactDim::Day | FactDim::Week => {
                fact.day = row.try_get(i).map_err(|e| db_error("fact", e))?;
            }
            FactDim::User => {
                let id: Uuid = row.try_get(i).map_err(|e| db_error("fact", e))?;
                fact.user_id = (!id.is_nil()).then(|| UserId::from_uuid(id));
            }
            FactDim::Project => {
                fact.project = row.try_get(i).map_err(|e| db_error("fact", e))?;
            }
            FactDim::Activity => {
                fact.activity = row.try_get(i).map_err(|e| db_error("fact", e))?;
            }
            FactDim::Step => {
                fact.step = row.try_get(i).map_err(|e| db_error("fact", e))?;
            }
            FactDim::Test => {
                let id: Uuid = row.try_get(i).map_err(|e| db_error("fact", e))?;
                fact.test_id = (!id.is_nil()).then(|| TestId::from_uuid(id));
            }
        }
    }
    let base = group_by.len();
    let get = |k: usize| -> Result<i64> {
        row.try_get::<Option<i64>, _>(base + k)
            .map(Option::unwrap_or_default)
            .map_err(|e| db_error("fact", e))
    };
    fact.n = get(0)?;
    fact.passed = get(1)?;
    fact.failed = get(2)?;
    fact.amount = get(3)?;
    fact.estimate = get(4)?;
    fact.tracked = get(5)?;
    fact.distinct_tests = get(6)?;
    Ok(fact)
}

/// The two rollup tables: per user, and team-wide (the same rows without the user).
#[derive(Clone, Copy)]
enum FactTable {
    PerUser,
    Team,
}

impl FactTable {
    /// Whether rows of `kind` are kept in this table. Results have no user: per user they
    /// would only repeat the team rows (one row per test and day, a fifth of a large store), so
    /// they are kept team-wide only, and totals of results always read the team table.
    fn holds(self, kind: FactKind) -> bool {
        match self {
            Self::PerUser => kind != FactKind::Result,
            Self::Team => true,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::PerUser => "dashboard_facts",
            Self::Team => "dashboard_team_facts",
        }
    }

    fn insert(self) -> &'static str {
        match self {
            Self::PerUser => {
                "INSERT INTO dashboard_facts (day, kind, user_id, project, activity, step, \
                 test_id, n, passed, failed, amount, estimate, tracked) "
            }
            Self::Team => {
                "INSERT INTO dashboard_team_facts (day, kind, project, activity, step, test_id, \
                 n, passed, failed, amount, estimate, tracked) "
            }
        }
    }

    fn on_conflict(self) -> &'static str {
        match self {
            Self::PerUser => {
                " ON CONFLICT (day, kind, user_id, project, activity, step, test_id) DO UPDATE SET \
                 n = dashboard_facts.n + excluded.n, \
                 passed = dashboard_facts.passed + excluded.passed, \
                 failed = dashboard_facts.failed + excluded.failed, \
                 amount = dashboard_facts.amount + excluded.amount, \
                 estimate = dashboard_facts.estimate + excluded.estimate, \
                 tracked = dashboard_facts.tracked + excluded.tracked"
            }
            Self::Team => {
                " ON CONFLICT (kind, day, project, activity, step, test_id) DO UPDATE SET \
                 n = dashboard_team_facts.n + excluded.n, \
                 passed = dashboard_team_facts.passed + excluded.passed, \
                 failed = dashboard_team_facts.failed + excluded.failed, \
                 amount = dashboard_team_facts.amount + excluded.amount, \
                 estimate = dashboard_team_facts.estimate + excluded.estimate, \
                 tracked = dashboard_team_facts.tracked + excluded.tracked"
            }
        }
    }
}

/// Adds `facts` to one rollup table, summing into rows that exist.
async fn upsert_fact_rows(tx: &mut Tx, table: FactTable, facts: &[Fact]) -> Result<()> {
    for chunk in facts.chunks(CHUNK_ROWS) {
        let mut qb = QueryBuilder::<Db>::new(table.insert());
        qb.push_values(chunk, |mut row, f| {
            row.push_bind(f.day).push_bind(f.kind.as_str());
            if matches!(table, FactTable::PerUser) {
                row.push_bind(f.user_id.map_or(Uuid::nil(), |u| u.as_uuid()));
            }
            row.push_bind(f.project.clone())
                .push_bind(f.activity.clone())
                .push_bind(f.step.clone())
                .push_bind(f.test_id.map_or(Uuid::nil(), |t| t.as_uuid()))
                .push_bind(f.n)
                .push_bind(f.passed)
                .push_bind(f.failed)
                .push_bind(f.amount)
                .push_bind(f.estimate)
                .push_bind(f.tracked);
        });
        qb.push(table.on_conflict());
        qb.build()
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error("dashboard fact", e))?;
    }
    Ok(())
}

/// What a stored, completed workflow contributes to the `verified` facts: one workflow, its
/// cycle time, its steps' estimates and the time tracked on it by current entries. `None`
/// when the workflow is not completed.
async fn verified_fact(tx: &mut Tx, workflow: Uuid) -> Result<Option<Fact>> {
    let row: Option<CompletedRow> = sqlx::query_as(
        "SELECT template, ticket_key, owner_id, state, created_at, started_at, completed_at \
             FROM workflows WHERE id = $1",
    )
    .bind(workflow)
    .fetch_optional(&mut **tx)
    .await
    .map_err(|e| db_error("workflow", e))?;
    let Some((template, ticket, owner, state, created, started, Some(completed))) = row else {
        return Ok(None);
    };
    if state != "completed" {
        return Ok(None);
    }
    let ticket = ticket.as_deref().and_then(|t| IssueKey::parse(t).ok());
    let completed: DateTime<Utc> = completed.into();
    let mut fact = verified_key(
        UserId::from_uuid(owner),
        ticket.as_ref(),
        &template,
        completed,
    );
    fact.n = 1;
    fact.amount = whole_secs(started.unwrap_or(created).into(), completed);
    let estimates: Vec<(Option<i64>,)> = sqlx::query_as(
        "SELECT CAST(estimate_secs AS BIGINT) FROM workflow_steps \
         WHERE workflow_id = $1 AND state = 'done'",
    )
    .bind(workflow)
    .fetch_all(&mut **tx)
    .await
    .map_err(|e| db_error("workflow step", e))?;
    fact.estimate = estimates.iter().filter_map(|(e,)| *e).sum();
    let entries: Vec<(DbTime, DbTime)> = sqlx::query_as(
        "SELECT te.started_at, te.ended_at FROM time_entries te WHERE te.workflow_id = $1 \
         AND NOT EXISTS (SELECT 1 FROM time_entries c WHERE c.corrects = te.id)",
    )
    .bind(workflow)
    .fetch_all(&mut **tx)
    .await
    .map_err(|e| db_error("time entry", e))?;
    fact.tracked = entries
        .into_iter()
        .map(|(s, e)| whole_secs(s.into(), e.into()))
        .sum();
    Ok(Some(fact))
}

/// A workflow as its `verified` fact needs it: template, ticket, owner, state, created,
/// started and completed.
type CompletedRow = (
    String,
    Option<String>,
    Uuid,
    String,
    DbTime,
    Option<DbTime>,
    Option<DbTime>,
);

/// A workflow as an entry's deltas need it: template, ticket, owner, state, completed.
type WorkflowFacts = (String, Option<String>, Uuid, String, Option<DbTime>);

/// A time entry as its facts need it.
type EntryFacts = (
    Uuid,
    Option<String>,
    Option<Uuid>,
    Option<String>,
    DbTime,
    DbTime,
);

/// The deltas one stored time entry causes: its own time, and the tracked time of its
/// workflow's `verified` fact when that workflow is already completed.
async fn entry_deltas(
    tx: &mut Tx,
    entry: EntryFacts,
    sign: i64,
    out: &mut Vec<(Fact, i64)>,
) -> Result<()> {
    let (user, ticket, workflow, step, started, ended) = entry;
    let (started, ended): (DateTime<Utc>, DateTime<Utc>) = (started.into(), ended.into());
    let ticket = ticket.as_deref().and_then(|t| IssueKey::parse(t).ok());
    let mut template = None;
    if let Some(workflow) = workflow {
        let row: Option<WorkflowFacts> = sqlx::query_as(
            "SELECT template, ticket_key, owner_id, state, completed_at FROM workflows WHERE id = $1",
        )
        .bind(workflow)
        .fetch_optional(&mut **tx)
        .await
        .map_err(|e| db_error("workflow", e))?;
        if let Some((tpl, wf_ticket, owner, state, completed)) = row {
            if state == "completed"
                && let Some(completed) = completed
            {
                let wf_ticket = wf_ticket.as_deref().and_then(|t| IssueKey::parse(t).ok());
                let mut fact = verified_key(
                    UserId::from_uuid(owner),
                    wf_ticket.as_ref(),
                    &tpl,
                    completed.into(),
                );
                fact.tracked = whole_secs(started, ended);
                out.push((fact, sign));
            }
            template = Some(tpl);
        }
    }
    if let Some(fact) = time_contribution(
        UserId::from_uuid(user),
        ticket.as_ref(),
        template.as_deref(),
        step.as_deref(),
        started,
        ended,
    ) {
        out.push((fact, sign));
    }
    Ok(())
}

/// Rolls a just-inserted time entry into the facts: adds it, and takes away the entry it
/// corrects (which was current until now).
async fn roll_entry(tx: &mut Tx, entry: &TimeEntry) -> Result<()> {
    let mut deltas = Vec::new();
    entry_deltas(
        tx,
        (
            entry.user_id.as_uuid(),
            entry.ticket.as_ref().map(|t| t.as_str().to_owned()),
            entry.workflow_id.map(|w| w.as_uuid()),
            entry.step.clone(),
            DbTime(entry.started_at),
            DbTime(entry.ended_at),
        ),
        1,
        &mut deltas,
    )
    .await?;
    if let Some(old) = entry.corrects {
        let row: Option<EntryFacts> = sqlx::query_as(
            "SELECT user_id, ticket_key, workflow_id, step, started_at, ended_at \
             FROM time_entries WHERE id = $1",
        )
        .bind(old.as_uuid())
        .fetch_optional(&mut **tx)
        .await
        .map_err(|e| db_error("time entry", e))?;
        if let Some(row) = row {
            entry_deltas(tx, row, -1, &mut deltas).await?;
        }
    }
    upsert_facts(tx, &merge(deltas)).await
}

/// Rolls a run's stored results into the facts of the run's day, inside the database: one
/// `INSERT … SELECT … GROUP BY test_id`, the same sums as [`result_contribution`] (which the
/// rebuild uses, so the rollup tests compare the two). A 100,000-test import never sends its
/// results back through the driver to be summed. Results have no user, so their facts are
/// kept team-wide only (see [`FactTable::holds`]).
async fn roll_run(tx: &mut Tx, run: Uuid, started_at: DateTime<Utc>) -> Result<()> {
    add_run_facts(tx, run, started_at, 1).await
}

/// Takes a run's stored results back out of the facts of the day it started on (`started_at`
/// as stored, before a sync moves it), before its results are replaced.
async fn unroll_run(tx: &mut Tx, run: Uuid, started_at: DateTime<Utc>) -> Result<()> {
    add_run_facts(tx, run, started_at, -1).await?;
    drop_zero_facts(tx, FactTable::Team, FactKind::Result, day_of(started_at)).await
}

/// Adds `sign` times the run's result sums to its day's facts.
async fn add_run_facts(tx: &mut Tx, run: Uuid, started_at: DateTime<Utc>, sign: i64) -> Result<()> {
    let table = FactTable::Team;
    // The WHERE clause is also what lets SQLite parse `ON CONFLICT` after a SELECT.
    let sql = format!(
        "{} SELECT $2, $3, '', '', '', test_id, $4 * COUNT(*), \
             $4 * SUM(CASE WHEN status = 'passed' THEN 1 ELSE 0 END), \
             $4 * SUM(CASE WHEN status IN ('failed', 'error', 'unexpected_pass') THEN 1 ELSE 0 END), \
             $4 * SUM(COALESCE(duration_ms, 0)), 0, 0 \
         FROM test_results WHERE run_id = $1 GROUP BY test_id{}",
        table.insert(),
        table.on_conflict()
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(run)
        .bind(day_of(started_at))
        .bind(FactKind::Result.as_str())
        .bind(sign)
        .execute(&mut **tx)
        .await
        .map_err(|e| db_error("dashboard fact", e))?;
    Ok(())
}

/// Each test's attempts that ran, one row per test: `position attempt outcome duration`
/// entries joined by `,`, where `position` is the run's place in `ORDER BY started_at, id`,
/// `outcome` is 0 (pass), 1 (fail) or 2 (error) and `duration` is `-` when unknown.
/// Aggregating here rather than in Rust is what keeps a million results from crossing the
/// driver one row at a time.
const HISTORY_SQL: &str = if matches!(BACKEND, Backend::Postgres) {
    "WITH o AS (SELECT id, CAST(ROW_NUMBER() OVER (ORDER BY started_at, id) - 1 AS TEXT) AS pos \
     FROM test_runs) \
     SELECT r.test_id, string_agg(o.pos || ' ' || CAST(r.attempt AS TEXT) || ' ' || \
       (CASE r.status WHEN 'failed' THEN '1' WHEN 'error' THEN '2' ELSE '0' END) || ' ' || \
       COALESCE(CAST(r.duration_ms AS TEXT), '-'), ',') \
     FROM test_results r JOIN o ON o.id = r.run_id \
     WHERE r.status IN ('passed', 'failed', 'error', 'unexpected_pass') \
     GROUP BY r.test_id"
} else {
    "WITH o AS (SELECT id, ROW_NUMBER() OVER (ORDER BY started_at, id) - 1 AS pos \
     FROM test_runs) \
     SELECT r.test_id, group_concat(o.pos || ' ' || r.attempt || ' ' || \
       (CASE r.status WHEN 'failed' THEN 1 WHEN 'error' THEN 2 ELSE 0 END) || ' ' || \
       COALESCE(r.duration_ms, '-'), ',') \
     FROM test_results r JOIN o ON o.id = r.run_id \
     WHERE r.status IN ('passed', 'failed', 'error', 'unexpected_pass') \
     GROUP BY r.test_id"
};

/// Parses one row of [`HISTORY_SQL`]; `runs` are the run ids in position order.
fn unpack_history(packed: &str, runs: &[Uuid]) -> Result<Vec<HistoryAttempt>> {
    let bad = || {
        Error::store(format!(
            "malformed test history entry in `{}`",
            clip_for_error(packed)
        ))
    };
    let mut out = Vec::with_capacity(packed.len() / 8 + 1);
    for entry in packed.split(',').filter(|e| !e.is_empty()) {
        let mut fields = entry.split(' ');
        let mut next = || fields.next().ok_or_else(bad);
        let pos: usize = next()?.parse().map_err(|_| bad())?;
        let attempt: u32 = next()?.parse().map_err(|_| bad())?;
        let outcome = match next()? {
            "0" => OutcomeKind::Pass,
            "1" => OutcomeKind::Fail,
            "2" => OutcomeKind::Error,
            _ => return Err(bad()),
        };
        let duration_ms = match next()? {
            "-" => None,
            d => Some(d.parse().map_err(|_| bad())?),
        };
        let run = *runs.get(pos).ok_or_else(bad)?;
        out.push(HistoryAttempt {
            run_id: RunId::from_uuid(run),
            attempt,
            outcome,
            duration_ms,
        });
    }
    Ok(out)
}

fn clip_for_error(text: &str) -> &str {
    let mut end = text.len().min(80);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

// ---- Workflows and time tracking: helpers ------------------------------------------------------

const WORKFLOW_COLUMNS: &str = "id, template, ticket_key, owner_id, state, version, notes, \
     time_box_secs, created_at, updated_at, started_at, completed_at";
const TIMER_COLUMNS: &str =
    "user_id, id, ticket_key, workflow_id, step, started_at, last_activity_at";

impl ThisStore {
    /// The steps (with their runs) of each of `workflows`, by workflow id.
    async fn steps_of_many(&self, workflows: &[Uuid]) -> Result<HashMap<Uuid, Vec<Step>>> {
        let mut out: HashMap<Uuid, Vec<Step>> = HashMap::new();
        for chunk in workflows.chunks(LOOKUP_KEYS) {
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT workflow_id, position, name, description, state, estimate_secs, \
                 checklist, expects, evidence, reason, started_at, completed_at \
                 FROM workflow_steps WHERE workflow_id IN (",
            );
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            qb.push(") ORDER BY workflow_id, position");
            let rows: Vec<WorkflowStepRow> = qb
                .build_query_as()
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error("workflow step", e))?;
            for row in rows {
                out.entry(row.workflow_id)
                    .or_default()
                    .push(Step::try_from(row.step)?);
            }
            let mut qb = QueryBuilder::<Db>::new(
                "SELECT workflow_id, step, run_id FROM workflow_step_runs WHERE workflow_id IN (",
            );
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            qb.push(") ORDER BY workflow_id, attached_at, run_id");
            let runs: Vec<(Uuid, i32, Uuid)> = qb
                .build_query_as()
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error("workflow step", e))?;
            for (workflow, pos, run) in runs {
                if let Some(step) = usize::try_from(pos)
                    .ok()
                    .and_then(|p| out.get_mut(&workflow).and_then(|s| s.get_mut(p)))
                {
                    step.runs.push(RunId::from_uuid(run));
                }
            }
        }
        Ok(out)
    }

    async fn steps_of(&self, workflow: Uuid) -> Result<Vec<Step>> {
        let rows: Vec<StepRow> = sqlx::query_as(
            "SELECT position, name, description, state, estimate_secs, checklist, expects, \
             evidence, reason, started_at, completed_at FROM workflow_steps \
             WHERE workflow_id = $1 ORDER BY position",
        )
        .bind(workflow)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("workflow step", e))?;
        let mut steps: Vec<Step> = convert(rows)?;
        let runs: Vec<(i32, Uuid)> = sqlx::query_as(
            "SELECT step, run_id FROM workflow_step_runs WHERE workflow_id = $1 \
             ORDER BY attached_at, run_id",
        )
        .bind(workflow)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("workflow step", e))?;
        for (pos, run) in runs {
            if let Some(step) = usize::try_from(pos).ok().and_then(|p| steps.get_mut(p)) {
                step.runs.push(RunId::from_uuid(run));
            }
        }
        Ok(steps)
    }
}

/// The rules of a workflow write that the schema cannot say, checked before the transaction.
fn check_workflow_write(write: &WorkflowWrite) -> Result<()> {
    let w = &write.workflow;
    let from = write.expected_version.unwrap_or(0);
    if w.version <= from {
        return Err(Error::invalid_input(format!(
            "a workflow write must raise the version above {from}, not set it to {}",
            w.version
        )));
    }
    let versions: Vec<u32> = write.events.iter().map(|e| e.version).collect();
    let wanted: Vec<u32> = (from + 1..=w.version).collect();
    if versions != wanted {
        return Err(Error::invalid_input(
            "a workflow write needs exactly one event per new version, in order",
        )
        .with_context("workflow", w.id.to_string()));
    }
    for (i, step) in w.steps.iter().enumerate() {
        if step.position as usize != i {
            return Err(
                Error::invalid_input("workflow steps must be numbered 0, 1, 2, …")
                    .with_context("workflow", w.id.to_string()),
            );
        }
    }
    Ok(())
}

fn to_i32(value: u32, field: &'static str) -> Result<i32> {
    i32::try_from(value).map_err(|_| Error::invalid_input(format!("{field} is too large: {value}")))
}

fn secs(value: Option<u64>, field: &'static str) -> Result<Option<i64>> {
    value.map(|v| to_i64(v, field)).transpose()
}

async fn insert_workflow(tx: &mut Tx, w: &Workflow) -> Result<()> {
    not_empty(&w.template, "a workflow template")?;
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO workflows ({WORKFLOW_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    )))
    .bind(w.id.as_uuid())
    .bind(&w.template)
    .bind(w.ticket.as_ref().map(IssueKey::as_str))
    .bind(w.owner.as_uuid())
    .bind(w.state.as_str())
    .bind(to_i32(w.version, "a workflow version")?)
    .bind(&w.notes)
    .bind(secs(w.time_box_secs, "a time box")?)
    .bind(DbTime(w.created_at))
    .bind(DbTime(w.updated_at))
    .bind(w.started_at.map(DbTime))
    .bind(w.completed_at.map(DbTime))
    .execute(&mut **tx)
    .await
    .map_err(|e| db_error("workflow", e).with_context("workflow", w.id.to_string()))?;
    Ok(())
}

async fn update_workflow(tx: &mut Tx, w: &Workflow, expected: u32) -> Result<()> {
    let done = sqlx::query(
        "UPDATE workflows SET state = $3, version = $4, notes = $5, updated_at = $6, \
         started_at = $7, completed_at = $8, ticket_key = $9 WHERE id = $1 AND version = $2",
    )
    .bind(w.id.as_uuid())
    .bind(to_i32(expected, "a workflow version")?)
    .bind(w.state.as_str())
    .bind(to_i32(w.version, "a workflow version")?)
    .bind(&w.notes)
    .bind(DbTime(w.updated_at))
    .bind(w.started_at.map(DbTime))
    .bind(w.completed_at.map(DbTime))
    .bind(w.ticket.as_ref().map(IssueKey::as_str))
    .execute(&mut **tx)
    .await
    .map_err(|e| db_error("workflow", e).with_context("workflow", w.id.to_string()))?;
    if done.rows_affected() == 1 {
        return Ok(());
    }
    let current: Option<i32> = sqlx::query_scalar("SELECT version FROM workflows WHERE id = $1")
        .bind(w.id.as_uuid())
        .fetch_optional(&mut **tx)
        .await
        .map_err(|e| db_error("workflow", e))?;
    Err(match current {
        None => Error::not_found("workflow not found").with_context("workflow", w.id.to_string()),
        Some(current) => Error::new(
            ErrorKind::Conflict,
            format!(
                "the workflow was changed by someone else (it is at version {current}, this \
                 change was made from version {expected}); reload it and try again"
            ),
        )
        .with_context("workflow", w.id.to_string()),
    })
}

async fn insert_step(tx: &mut Tx, workflow: WorkflowId, step: &Step) -> Result<()> {
    sqlx::query(
        "INSERT INTO workflow_steps (id, workflow_id, position, name, description, state, \
         estimate_secs, checklist, expects, evidence, reason, started_at, completed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(Uuid::now_v7())
    .bind(workflow.as_uuid())
    .bind(to_i32(step.position, "a step position")?)
    .bind(&step.name)
    .bind(&step.description)
    .bind(step.state.as_str())
    .bind(secs(step.estimate_secs, "an estimate")?)
    .bind(Json(&step.checklist))
    .bind(Json(&step.expects))
    .bind(Json(&step.evidence))
    .bind(&step.reason)
    .bind(step.started_at.map(DbTime))
    .bind(step.completed_at.map(DbTime))
    .execute(&mut **tx)
    .await
    .map_err(|e| db_error("workflow step", e))?;
    Ok(())
}

async fn update_step(tx: &mut Tx, workflow: WorkflowId, step: &Step) -> Result<()> {
    let done = sqlx::query(
        "UPDATE workflow_steps SET state = $3, checklist = $4, evidence = $5, reason = $6, \
         started_at = $7, completed_at = $8 WHERE workflow_id = $1 AND position = $2",
    )
    .bind(workflow.as_uuid())
    .bind(to_i32(step.position, "a step position")?)
    .bind(step.state.as_str())
    .bind(Json(&step.checklist))
    .bind(Json(&step.evidence))
    .bind(&step.reason)
    .bind(step.started_at.map(DbTime))
    .bind(step.completed_at.map(DbTime))
    .execute(&mut **tx)
    .await
    .map_err(|e| db_error("workflow step", e))?;
    if done.rows_affected() == 0 {
        return Err(Error::not_found("workflow step not found")
            .with_context("step", step.position.to_string()));
    }
    Ok(())
}

async fn insert_event(tx: &mut Tx, workflow: WorkflowId, event: &WorkflowEvent) -> Result<()> {
    sqlx::query(
        "INSERT INTO workflow_events (id, workflow_id, version, actor_id, at, kind, step, \
         from_state, to_state, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(Uuid::now_v7())
    .bind(workflow.as_uuid())
    .bind(to_i32(event.version, "an event version")?)
    .bind(event.actor.as_uuid())
    .bind(DbTime(event.at))
    .bind(&event.kind)
    .bind(
        event
            .step
            .map(|s| to_i32(s, "a step position"))
            .transpose()?,
    )
    .bind(&event.from_state)
    .bind(&event.to_state)
    .bind(Json(&event.detail))
    .execute(&mut **tx)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::new(
                ErrorKind::Conflict,
                "the workflow was changed by someone else; reload it and try again",
            )
            .with_source(e)
        } else {
            db_error("workflow event", e)
        }
    })?;
    Ok(())
}

async fn insert_entry(tx: &mut Tx, entry: &TimeEntry) -> Result<()> {
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
    .execute(&mut **tx)
    .await
    .map_err(|e| db_error("time entry", e).with_context("entry", entry.id.to_string()))?;
    roll_entry(tx, entry).await
}

/// Applies a tracking write inside the caller's transaction.
#[expect(
    clippy::too_many_lines,
    reason = "entries, idle periods, the timer and kept periods, in the order they must apply"
)]
async fn apply_tracking(tx: &mut Tx, write: &TrackingWrite) -> Result<()> {
    for entry in &write.entries {
        if let Some(old) = entry.corrects {
            // A correction replaces the current version of an entry; correcting one that was
            // already corrected would fork its history.
            let taken: Option<Uuid> =
                sqlx::query_scalar("SELECT id FROM time_entries WHERE corrects = $1 LIMIT 1")
                    .bind(old.as_uuid())
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(|e| db_error("time entry", e))?;
            if taken.is_some() {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    "this time entry was already corrected; correct the newest entry instead",
                )
                .with_context("entry", old.to_string()));
            }
        }
        insert_entry(tx, entry).await?;
    }
    for idle in &write.idle {
        if idle.ended_at < idle.started_at {
            return Err(Error::invalid_input(
                "an idle period cannot end before it starts",
            ));
        }
        sqlx::query(
            "INSERT INTO idle_periods (id, user_id, ticket_key, workflow_id, step, started_at, \
             ended_at, kept_entry_id, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(idle.id)
        .bind(idle.user_id.as_uuid())
        .bind(idle.ticket.as_ref().map(IssueKey::as_str))
        .bind(idle.workflow_id.map(|w| w.as_uuid()))
        .bind(&idle.step)
        .bind(DbTime(idle.started_at))
        .bind(DbTime(idle.ended_at))
        .bind(idle.kept_entry_id.map(|e| e.as_uuid()))
        .bind(DbTime(idle.recorded_at))
        .execute(&mut **tx)
        .await
        .map_err(|e| db_error("idle period", e))?;
    }
    if let TimerChange::Replace {
        user_id,
        expected,
        timer,
    } = &write.timer
    {
        if let Some(expected) = expected {
            let done = sqlx::query("DELETE FROM timers WHERE user_id = $1 AND id = $2")
                .bind(user_id.as_uuid())
                .bind(expected)
                .execute(&mut **tx)
                .await
                .map_err(|e| db_error("timer", e))?;
            if done.rows_affected() == 0 {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    "the timer was stopped or restarted meanwhile; reload and try again",
                ));
            }
        }
        if let Some(timer) = timer {
            if timer.user_id != *user_id {
                return Err(Error::invalid_input(
                    "a timer change names two different users",
                ));
            }
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO timers ({TIMER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            )))
            .bind(timer.user_id.as_uuid())
            .bind(timer.id)
            .bind(timer.ticket.as_ref().map(IssueKey::as_str))
            .bind(timer.workflow_id.map(|w| w.as_uuid()))
            .bind(&timer.step)
            .bind(DbTime(timer.started_at))
            .bind(DbTime(timer.last_activity_at))
            .execute(&mut **tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::new(
                        ErrorKind::Conflict,
                        "a timer is already running for this user; stop it first",
                    )
                    .with_source(e)
                } else {
                    db_error("timer", e)
                }
            })?;
        }
    }
    for (idle, entry) in &write.kept_idle {
        let done = sqlx::query(
            "UPDATE idle_periods SET kept_entry_id = $2 WHERE id = $1 AND kept_entry_id IS NULL",
        )
        .bind(idle)
        .bind(entry.as_uuid())
        .execute(&mut **tx)
        .await
        .map_err(|e| db_error("idle period", e))?;
        if done.rows_affected() == 0 {
            return Err(Error::new(
                ErrorKind::Conflict,
                "this idle period does not exist or was already kept",
            )
            .with_context("idle", idle.to_string()));
        }
    }
    Ok(())
}

// ---- Run imports ------------------------------------------------------------------------------

/// An import in progress ([`RunImport`]): the open transaction, and the attempt count of every
/// test seen so far in the run (a few dozen bytes per test, whatever the report's size).
struct Import {
    tx: Tx,
    run: RunId,
    started_at: DateTime<Utc>,
    attempts: HashMap<TestId, u32>,
    own: OwnKeys,
    now: DbTime,
}

/// The systems that had no test when the import first met them, and the keys and ticket links
/// this import gave tests of those systems. A key of such a system can only name a test this
/// import created, so it is resolved here rather than by two lookups in the store: on a fresh
/// store those lookups, which find nothing, were a tenth of a large import's time.
#[derive(Default)]
struct OwnKeys {
    empty: HashMap<TestSource, bool>,
    keys: HashMap<TestSource, HashMap<String, TestId>>,
    tickets: HashMap<TestId, Vec<String>>,
}

impl OwnKeys {
    /// Whether `system` had no current test when the import first asked; asked of the store
    /// once per system and import. Inside the import's write transaction no other import can
    /// add one meanwhile (`SQLite` holds the write lock; on `PostgreSQL` a concurrent import of
    /// the same keys fails on the unique index, as it would without this).
    async fn is_empty(&mut self, tx: &mut Tx, system: TestSource) -> Result<bool> {
        if let Some(empty) = self.empty.get(&system) {
            return Ok(*empty);
        }
        let any: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM test_identities \
                 WHERE system = $1 AND valid_to IS NULL) \
             OR EXISTS (SELECT 1 FROM test_cases WHERE source = $1)",
        )
        .bind(system.as_str())
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| db_error("test identity", e))?;
        self.empty.insert(system, !any);
        Ok(!any)
    }

    /// Notes what a batch stored: its new keys, and the ticket links of its tests.
    fn remember(
        &mut self,
        new_keys: &[(TestId, &ExternalKey)],
        tickets: &HashMap<TestId, Vec<String>>,
    ) {
        for (id, key) in new_keys {
            if self.empty.get(&key.system) == Some(&true) {
                self.keys
                    .entry(key.system)
                    .or_default()
                    .insert(key.key.clone(), *id);
            }
        }
        if self.keys.is_empty() {
            return;
        }
        for (id, linked) in tickets {
            if !linked.is_empty() {
                self.tickets.insert(*id, linked.clone());
            }
        }
    }
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

/// Finds the tests the batch's keys already name: through the identity map first, then
/// through `test_cases` (tests stored by `upsert_test_cases` have no identity rows), or, for a
/// system that had no tests, among those this import created (`own`). Returns the current
/// keys and the stored ticket keys of every test found.
async fn resolve_imported(
    tx: &mut Tx,
    tests: &[ImportedTest],
    own: &mut OwnKeys,
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
        let by_system = known.entry(system).or_default();
        if own.is_empty(tx, system).await? {
            if let Some(created) = own.keys.get(&system) {
                for key in keys {
                    if let Some(id) = created.get(key) {
                        by_system.insert(key.to_owned(), *id);
                        let linked = own.tickets.get(id).cloned().unwrap_or_default();
                        tickets.entry(*id).or_insert(linked);
                    }
                }
            }
            continue;
        }
        let keys: Vec<&str> = keys.into_iter().collect();
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
                    .fetch_all(&mut **tx)
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

#[async_trait]
impl RunImport for Import {
    async fn add(&mut self, tests: &[ImportedTest]) -> Result<ImportBatchOutcome> {
        add_imported(
            &mut self.tx,
            self.run,
            &mut self.attempts,
            &mut self.own,
            self.now,
            tests,
        )
        .await
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
        roll_run(&mut self.tx, self.run.as_uuid(), self.started_at).await?;
        commit(self.tx, "test run").await
    }
}

/// Adds a batch of imported tests to `run` inside `tx`: resolves them through the identity
/// map, creates the unknown ones, merges ticket links and writes one result per attempt,
/// numbering attempts per test across the calls that share `attempts`.
#[expect(
    clippy::too_many_lines,
    reason = "resolve, then the four writes in order; splitting hides the order"
)]
async fn add_imported(
    tx: &mut Tx,
    run: RunId,
    attempts: &mut HashMap<TestId, u32>,
    own: &mut OwnKeys,
    now: DbTime,
    tests: &[ImportedTest],
) -> Result<ImportBatchOutcome> {
    if tests.is_empty() {
        return Ok(ImportBatchOutcome::default());
    }
    check_imported(tests)?;
    let (mut known, mut tickets) = resolve_imported(tx, tests, own).await?;

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
        let next = attempts.entry(id).or_insert(0);
        for attempt in &test.attempts {
            *next = next
                .checked_add(1)
                .ok_or_else(|| Error::invalid_input("a test has too many attempts in one run"))?;
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

    // In the order the foreign keys need: the new tests, their keys, changed ticket links,
    // then the results. Each statement is built while the one before it runs.
    let cases = new_cases.chunks(CHUNK_ROWS).map(|chunk| {
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
        (qb, case_error as fn(sqlx::Error) -> Error)
    });
    let keys = new_keys.chunks(CHUNK_ROWS).map(|chunk| {
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
        (qb, identity_error as fn(sqlx::Error) -> Error)
    });
    let relinked = changed_tickets.iter().map(|id| {
        let linked = tickets.get(id).cloned().unwrap_or_default();
        let mut qb = QueryBuilder::<Db>::new("UPDATE test_cases SET ticket_keys = ");
        qb.push_bind(Json(linked))
            .push(", updated_at = ")
            .push_bind(now)
            .push(" WHERE id = ")
            .push_bind(id.as_uuid());
        (qb, case_error as fn(sqlx::Error) -> Error)
    });
    let run = run.as_uuid();
    let results = rows.chunks(CHUNK_ROWS).map(|chunk| {
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
        (qb, result_error as fn(sqlx::Error) -> Error)
    });
    execute_overlapped(tx, cases.chain(keys).chain(relinked).chain(results))
        .await
        .map_err(|e| e.with_context("run", run.to_string()))?;
    own.remember(&new_keys, &tickets);
    Ok(ImportBatchOutcome {
        new_tests: new_cases.len() as u64,
        results: rows.len() as u64,
    })
}

fn case_error(e: sqlx::Error) -> Error {
    if is_unique_violation(&e) {
        Error::new(
            ErrorKind::Conflict,
            "an imported test's key belongs to another stored test",
        )
        .with_source(e)
    } else {
        db_error("test case", e)
    }
}

fn identity_error(e: sqlx::Error) -> Error {
    db_error("test identity", e)
}

fn result_error(e: sqlx::Error) -> Error {
    db_error("test result", e)
}

/// Runs `statements` in order inside `tx`, building each while the one before it runs. The
/// database works on another thread (`SQLite`'s worker) or process (`PostgreSQL`), and
/// building a thousand-row insert (its text and its bound values) is about a quarter of a
/// large import's time, so overlapping the two hides most of it. `futures::join!` polls the
/// running statement first, which sends it to the database, and then builds the next one.
async fn execute_overlapped(
    tx: &mut Tx,
    mut statements: impl Iterator<Item = (QueryBuilder<Db>, fn(sqlx::Error) -> Error)>,
) -> Result<()> {
    let mut next = statements.next();
    while let Some((mut qb, on_error)) = next {
        let (done, following) =
            futures::join!(qb.build().execute(&mut **tx), async { statements.next() });
        done.map_err(on_error)?;
        next = following;
    }
    Ok(())
}

// ---- Patterns and alerts ----------------------------------------------------------------------

const ALERT_COLUMNS: &str = "id, pattern_id, kind, fingerprint, title, severity, state, \
     occurrences, first_seen, last_seen, evidence, acknowledged_by, acknowledged_at, \
     resolved_at, muted_until";

/// A failed attempt as the scan reads it.
#[derive(sqlx::FromRow)]
struct FailedRow {
    run_id: Uuid,
    test_id: Uuid,
    attempt: i32,
    status: String,
    message: Option<String>,
    cluster_id: Option<Uuid>,
    trace_fingerprint: Option<String>,
    passed_later: bool,
}

fn push_alert_filters(qb: &mut QueryBuilder<Db>, filter: &AlertFilter) {
    qb.push(" WHERE 1 = 1");
    if !filter.states.is_empty() {
        qb.push(" AND state IN (");
        let mut list = qb.separated(", ");
        for state in &filter.states {
            list.push_bind(state.as_str());
        }
        qb.push(")");
    }
    if !filter.kinds.is_empty() {
        qb.push(" AND kind IN (");
        let mut list = qb.separated(", ");
        for kind in &filter.kinds {
            list.push_bind(kind.as_str());
        }
        qb.push(")");
    }
    if filter.min_severity.is_some() {
        qb.push(" AND severity IN (");
        let mut list = qb.separated(", ");
        for severity in filter.severities() {
            list.push_bind(severity.as_str());
        }
        qb.push(")");
    }
    if let Some(since) = filter.since {
        qb.push(" AND last_seen >= ").push_bind(DbTime(since));
    }
    if let Some(pattern) = filter.pattern_id {
        qb.push(" AND pattern_id = ").push_bind(pattern.as_uuid());
    }
}

/// Raises alerts inside an open transaction: one lookup per draft by kind and fingerprint,
/// then an insert or an update (see [`Store::raise_alerts`]).
async fn raise_in(tx: &mut Tx, drafts: &[AlertDraft]) -> Result<Vec<(AlertId, RaiseOutcome)>> {
    let mut out = Vec::with_capacity(drafts.len());
    for draft in drafts {
        not_empty(&draft.fingerprint, "an alert fingerprint")?;
        let existing: Option<(Uuid, String, Option<DbTime>, DbTime)> = sqlx::query_as(
            "SELECT id, state, muted_until, last_seen FROM alerts WHERE kind = $1 AND fingerprint = $2",
        )
        .bind(draft.kind.as_str())
        .bind(&draft.fingerprint)
        .fetch_optional(&mut **tx)
        .await
        .map_err(|e| db_error("alert", e))?;
        let seen = DbTime(draft.seen_at);
        let Some((id, state, muted_until, last_seen)) = existing else {
            let id = AlertId::new();
            sqlx::query(
                "INSERT INTO alerts (id, pattern_id, kind, fingerprint, title, severity, state, \
                 occurrences, first_seen, last_seen, evidence, state_changed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'new', 1, $7, $7, $8, $7)",
            )
            .bind(id.as_uuid())
            .bind(draft.pattern_id.map(|p| p.as_uuid()))
            .bind(draft.kind.as_str())
            .bind(&draft.fingerprint)
            .bind(&draft.title)
            .bind(draft.severity.as_str())
            .bind(seen)
            .bind(Json(draft.evidence.clone()))
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error("alert", e))?;
            out.push((id, RaiseOutcome::Created));
            continue;
        };
        let state: AlertState = state.parse()?;
        let (outcome, next) =
            RaiseOutcome::on_recurrence(state, muted_until.map(Into::into), draft.seen_at);
        // Seen again at the same time (the same analysis re-run) is not a new occurrence.
        let again = i64::from(draft.seen_at > last_seen.0);
        let changed = next != state;
        sqlx::query(
            "UPDATE alerts SET title = $2, severity = $3, evidence = $4, \
             occurrences = occurrences + $5, \
             last_seen = CASE WHEN last_seen < $6 THEN $6 ELSE last_seen END, \
             pattern_id = COALESCE($7, pattern_id), state = $8, \
             state_changed_at = CASE WHEN $9 THEN $6 ELSE state_changed_at END, \
             resolved_at = CASE WHEN $9 THEN NULL ELSE resolved_at END, \
             muted_until = CASE WHEN $9 THEN NULL ELSE muted_until END \
             WHERE id = $1",
        )
        .bind(id)
        .bind(&draft.title)
        .bind(draft.severity.as_str())
        .bind(Json(draft.evidence.clone()))
        .bind(again)
        .bind(seen)
        .bind(draft.pattern_id.map(|p| p.as_uuid()))
        .bind(next.as_str())
        .bind(changed)
        .execute(&mut **tx)
        .await
        .map_err(|e| db_error("alert", e))?;
        out.push((AlertId::from_uuid(id), outcome));
    }
    Ok(out)
}

/// Resolves open alerts whose condition cleared, noting the reason in their evidence under
/// `autoResolved`. An alert a person muted or resolved meanwhile is left alone.
async fn clear_in(tx: &mut Tx, cleared: &[ClearedAlert]) -> Result<()> {
    let sql = if BACKEND == Backend::Postgres {
        "UPDATE alerts SET state = 'resolved', state_changed_at = $2, resolved_at = $2, \
         evidence = evidence || jsonb_build_object('autoResolved', CAST($3 AS JSONB)) \
         WHERE id = $1 AND state IN ('new', 'acknowledged')"
    } else {
        "UPDATE alerts SET state = 'resolved', state_changed_at = $2, resolved_at = $2, \
         evidence = json_set(evidence, '$.autoResolved', json($3)) \
         WHERE id = $1 AND state IN ('new', 'acknowledged')"
    };
    let now = utc_now();
    for c in cleared {
        let note = serde_json::json!({ "at": now, "reason": c.reason }).to_string();
        sqlx::query(sql)
            .bind(c.id.as_uuid())
            .bind(DbTime(now))
            .bind(note)
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error("alert", e).with_context("alert", c.id.to_string()))?;
    }
    Ok(())
}

// ---- Dashboard server rows --------------------------------------------------------------------

const API_TOKEN_COLUMNS: &str = "id, user_id, name, token_hash, prefix, created_at, expires_at, \
     last_used_at, revoked_at";

#[derive(sqlx::FromRow)]
struct SessionRow {
    token_hash: String,
    user_id: Uuid,
    csrf_token: String,
    created_at: DbTime,
    expires_at: DbTime,
    revoked_at: Option<DbTime>,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl From<SessionRow> for SessionRecord {
    fn from(row: SessionRow) -> Self {
        Self {
            token_hash: row.token_hash,
            user_id: UserId::from_uuid(row.user_id),
            csrf_token: row.csrf_token,
            created_at: row.created_at.into(),
            expires_at: row.expires_at.into(),
            revoked_at: row.revoked_at.map(Into::into),
            ip: row.ip,
            user_agent: row.user_agent,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ApiTokenRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    token_hash: String,
    prefix: String,
    created_at: DbTime,
    expires_at: Option<DbTime>,
    last_used_at: Option<DbTime>,
    revoked_at: Option<DbTime>,
}

impl From<ApiTokenRow> for ApiTokenRecord {
    fn from(row: ApiTokenRow) -> Self {
        Self {
            id: row.id,
            user_id: UserId::from_uuid(row.user_id),
            name: row.name,
            token_hash: row.token_hash,
            prefix: row.prefix,
            created_at: row.created_at.into(),
            expires_at: row.expires_at.map(Into::into),
            last_used_at: row.last_used_at.map(Into::into),
            revoked_at: row.revoked_at.map(Into::into),
        }
    }
}

// ---- Search documents -------------------------------------------------------------------------

const SEARCH_DOCUMENT_COLUMNS: &str = "kind, source_key, doc_type, title, body, url, project, \
     status, tags, ticket_keys, fields, updated_at";

/// The longest embedding vector stored (the largest common models have 4096 or 8192).
const MAX_DIMENSIONS: usize = 65_536;

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

async fn write_tickets(tx: &mut Tx, tickets: &[Ticket]) -> Result<()> {
    let tickets = last_per_key(tickets, |t| t.key.clone())
        .into_iter()
        .map(|t| Ok((t, to_i64(t.key.number(), "an issue number")?)))
        .collect::<Result<Vec<_>>>()?;
    let synced_at = DbTime(utc_now());
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
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error("ticket", e))?;
    }
    Ok(())
}

async fn write_search_documents(tx: &mut Tx, docs: &[SearchDocument]) -> Result<()> {
    for doc in docs {
        not_empty(&doc.source, "a search document's source")?;
        not_empty(&doc.source_key, "a search document's key")
            .map_err(|e| e.with_context("source", doc.source.clone()))?;
    }
    let docs = last_per_key(docs, SearchDocument::key);
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
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error("search document", e))?;
    }
    Ok(())
}

async fn remove_search_documents(tx: &mut Tx, keys: &[SearchDocumentKey]) -> Result<u64> {
    let keys: Vec<&SearchDocumentKey> = keys.iter().collect::<HashSet<_>>().into_iter().collect();
    let mut deleted = 0;
    for chunk in keys.chunks(LOOKUP_KEYS / 2) {
        let mut qb = QueryBuilder::<Db>::new("DELETE FROM search_documents WHERE ");
        push_document_keys(&mut qb, chunk);
        deleted += qb
            .build()
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error("search document", e))?
            .rows_affected();
    }
    Ok(deleted)
}

/// `sync_scopes` as [`Store::sync_scopes`] selects it.
type ScopeRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<DbTime>,
    DbTime,
    i64,
);

/// Creates or updates the batch's scope (keeping what the batch leaves unset), or drops it.
async fn write_sync_scope(tx: &mut Tx, batch: &SyncBatch) -> Result<()> {
    let now = DbTime(utc_now());
    if batch.drop_scope {
        // Items first: the foreign key would cascade, but not every SQLite connection has
        // foreign keys switched on.
        for table in ["sync_items", "sync_scopes"] {
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE integration = $1 AND scope = $2"
            )))
            .bind(&batch.integration)
            .bind(&batch.scope)
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error("sync scope", e))?;
        }
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO sync_scopes (integration, scope, cursor, fingerprint, full_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (integration, scope) DO UPDATE SET \
         cursor = COALESCE(excluded.cursor, sync_scopes.cursor), \
         fingerprint = COALESCE(excluded.fingerprint, sync_scopes.fingerprint), \
         full_at = COALESCE(excluded.full_at, sync_scopes.full_at), \
         updated_at = excluded.updated_at",
    )
    .bind(&batch.integration)
    .bind(&batch.scope)
    .bind(batch.cursor.as_deref())
    .bind(batch.fingerprint.as_deref())
    .bind(batch.full.then_some(now))
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(|e| {
        db_error("sync scope", e).with_context("integration", batch.integration.clone())
    })?;
    Ok(())
}

/// Forgets the batch's dropped items and records its current ones.
async fn write_sync_items(tx: &mut Tx, batch: &SyncBatch) -> Result<()> {
    for chunk in batch.forget.chunks(LOOKUP_KEYS / 2) {
        let mut qb = QueryBuilder::<Db>::new("DELETE FROM sync_items WHERE integration = ");
        qb.push_bind(batch.integration.clone()).push(" AND (");
        for (i, (scope, item)) in chunk.iter().enumerate() {
            if i > 0 {
                qb.push(" OR ");
            }
            qb.push("(scope = ")
                .push_bind(scope.clone())
                .push(" AND item_id = ")
                .push_bind(item.clone())
                .push(")");
        }
        qb.push(")");
        qb.build()
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error("sync item", e))?;
    }
    if batch.drop_scope {
        return Ok(());
    }
    let items = last_per_key(&batch.items, |i| i.item_id.clone());
    let seen = DbTime(utc_now());
    for chunk in items.chunks(CHUNK_ROWS) {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO sync_items (integration, scope, item_id, local_key, fingerprint, seen_at) ",
        );
        qb.push_values(chunk, |mut row, item| {
            row.push_bind(batch.integration.clone())
                .push_bind(batch.scope.clone())
                .push_bind(item.item_id.clone())
                .push_bind(item.local_key.clone())
                .push_bind(item.fingerprint.clone())
                .push_bind(seen);
        });
        qb.push(
            " ON CONFLICT (integration, scope, item_id) DO UPDATE SET \
             local_key = excluded.local_key, fingerprint = excluded.fingerprint, \
             seen_at = excluded.seen_at",
        );
        qb.build()
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error("sync item", e))?;
    }
    Ok(())
}

/// Deletes the external signals of `window`'s source timed in it that `keep` does not name;
/// returns how many.
async fn clear_signals(tx: &mut Tx, window: &SignalWindow, keep: &[SyncedSignal]) -> Result<u64> {
    let stored: Vec<(String,)> = sqlx::query_as(
        "SELECT signal_key FROM external_signals WHERE source = $1 AND at >= $2 AND at <= $3",
    )
    .bind(window.source.as_str())
    .bind(DbTime(window.from))
    .bind(DbTime(window.to))
    .fetch_all(&mut **tx)
    .await
    .map_err(|e| db_error("external signal", e))?;
    let keep: HashSet<&str> = keep
        .iter()
        .filter(|s| s.signal.source == window.source)
        .map(|s| s.key.as_str())
        .collect();
    let gone: Vec<String> = stored
        .into_iter()
        .map(|(k,)| k)
        .filter(|k| !keep.contains(k.as_str()))
        .collect();
    let mut deleted = 0;
    for chunk in gone.chunks(LOOKUP_KEYS) {
        let mut qb = QueryBuilder::<Db>::new("DELETE FROM external_signals WHERE source = ");
        qb.push_bind(window.source.as_str())
            .push(" AND signal_key IN (");
        let mut list = qb.separated(", ");
        for key in chunk {
            list.push_bind(key.clone());
        }
        qb.push(")");
        deleted += qb
            .build()
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error("external signal", e))?
            .rows_affected();
    }
    Ok(deleted)
}

/// Inserts or replaces external signals by source and key.
async fn write_signals(tx: &mut Tx, signals: &[SyncedSignal]) -> Result<()> {
    let signals = last_per_key(signals, |s| (s.signal.source, s.key.clone()));
    let now = DbTime(utc_now());
    for s in &signals {
        not_empty(&s.key, "a signal key")?;
        if !s.signal.value.is_finite() {
            return Err(
                Error::invalid_input("a signal's value must be a finite number")
                    .with_context("signal", s.key.clone()),
            );
        }
    }
    for chunk in signals.chunks(CHUNK_ROWS) {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO external_signals (source, signal_key, at, name, value, recorded_at) ",
        );
        qb.push_values(chunk, |mut row, s| {
            row.push_bind(s.signal.source.as_str())
                .push_bind(s.key.clone())
                .push_bind(DbTime(s.signal.at))
                .push_bind(s.signal.name.clone())
                .push_bind(s.signal.value)
                .push_bind(now);
        });
        qb.push(
            " ON CONFLICT (source, signal_key) DO UPDATE SET at = excluded.at, \
             name = excluded.name, value = excluded.value, recorded_at = excluded.recorded_at",
        );
        qb.build()
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error("external signal", e))?;
    }
    Ok(())
}

/// Writes a synced run under its id: the run row inserted or updated, its results replaced.
async fn write_synced_run(tx: &mut Tx, synced: &SyncedRun) -> Result<ImportBatchOutcome> {
    let run = &synced.run;
    not_empty(&run.name, "a run name")?;
    if run.finished_at.is_some_and(|f| f < run.started_at) {
        return Err(Error::invalid_input("a run cannot finish before it starts")
            .with_context("run", run.id.to_string()));
    }
    // A run synced before: its results leave the rollups of the day it was stored under.
    let stored: Option<DbTime> =
        sqlx::query_scalar("SELECT started_at FROM test_runs WHERE id = $1")
            .bind(run.id.as_uuid())
            .fetch_optional(&mut **tx)
            .await
            .map_err(|e| db_error("test run", e))?;
    if let Some(started) = stored {
        unroll_run(tx, run.id.as_uuid(), started.into()).await?;
    }
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO test_runs ({RUN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (id) DO UPDATE SET source = excluded.source, name = excluded.name, \
         started_at = excluded.started_at, finished_at = excluded.finished_at, \
         environment = excluded.environment, revision = excluded.revision, url = excluded.url"
    )))
    .bind(run.id.as_uuid())
    .bind(run.source.as_str())
    .bind(&run.name)
    .bind(DbTime(run.started_at))
    .bind(run.finished_at.map(DbTime))
    .bind(&run.environment)
    .bind(&run.revision)
    .bind(&run.url)
    .execute(&mut **tx)
    .await
    .map_err(|e| db_error("test run", e).with_context("run", run.id.to_string()))?;
    sqlx::query("DELETE FROM test_results WHERE run_id = $1")
        .bind(run.id.as_uuid())
        .execute(&mut **tx)
        .await
        .map_err(|e| db_error("test result", e).with_context("run", run.id.to_string()))?;
    let mut attempts = HashMap::new();
    let mut own = OwnKeys::default();
    let mut out = ImportBatchOutcome::default();
    for chunk in synced.tests.chunks(CHUNK_ROWS) {
        let added = add_imported(
            tx,
            run.id,
            &mut attempts,
            &mut own,
            DbTime(utc_now()),
            chunk,
        )
        .await?;
        out.new_tests += added.new_tests;
        out.results += added.results;
    }
    roll_run(tx, run.id.as_uuid(), run.started_at).await?;
    Ok(out)
}

/// Upserts synced cases by source and external id, keeping a known case's id and ticket links;
/// returns the id of each, in input order.
async fn write_synced_cases(tx: &mut Tx, cases: &[SyncedCase]) -> Result<Vec<TestId>> {
    for case in cases {
        not_empty(&case.external_id, "a test case's external id")?;
    }
    let unique = last_per_key(cases, |c| (c.source, c.external_id.clone()));
    let now = DbTime(utc_now());
    let mut ids: HashMap<(TestSource, String), TestId> = HashMap::with_capacity(unique.len());
    for chunk in unique.chunks(CHUNK_ROWS) {
        let mut qb = QueryBuilder::<Db>::new(format!(
            "INSERT INTO test_cases ({TEST_CASE_COLUMNS}, created_at, updated_at) "
        ));
        qb.push_values(chunk, |mut row, c| {
            row.push_bind(Uuid::now_v7())
                .push_bind(c.source.as_str())
                .push_bind(c.external_id.clone())
                .push_bind(c.title.clone())
                .push_bind(c.folder_path.clone())
                .push_bind(Json(c.tags.clone()))
                .push_bind(Json(serde_json::json!([])))
                .push_bind(now)
                .push_bind(now);
        });
        qb.push(
            " ON CONFLICT (source, external_id) DO UPDATE SET title = excluded.title, \
             folder_path = excluded.folder_path, tags = excluded.tags, \
             updated_at = excluded.updated_at RETURNING id, source, external_id",
        );
        let rows: Vec<(Uuid, String, String)> = qb
            .build_query_as()
            .fetch_all(&mut **tx)
            .await
            .map_err(|e| db_error("test case", e))?;
        for (id, source, external_id) in rows {
            let source: TestSource = source.parse()?;
            ids.insert((source, external_id), TestId::from_uuid(id));
        }
    }
    cases
        .iter()
        .map(|c| {
            ids.get(&(c.source, c.external_id.clone()))
                .copied()
                .ok_or_else(|| Error::new(ErrorKind::Store, "a written test case was not returned"))
        })
        .collect()
}

/// Deletes cases the source dropped, except those results refer to.
async fn remove_synced_cases(
    tx: &mut Tx,
    cases: &[(TestSource, String)],
    out: &mut SyncBatchOutcome,
) -> Result<()> {
    let mut by_source: HashMap<TestSource, Vec<&str>> = HashMap::new();
    for (source, id) in cases {
        by_source.entry(*source).or_default().push(id);
    }
    for (source, ids) in by_source {
        for chunk in ids.chunks(LOOKUP_KEYS) {
            let mut qb = QueryBuilder::<Db>::new("DELETE FROM test_cases WHERE source = ");
            qb.push_bind(source.as_str()).push(" AND external_id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            qb.push(
                ") AND NOT EXISTS (SELECT 1 FROM test_results r WHERE r.test_id = test_cases.id) \
                 RETURNING id",
            );
            let deleted: Vec<Uuid> = qb
                .build_query_scalar()
                .fetch_all(&mut **tx)
                .await
                .map_err(|e| db_error("test case", e))?;
            out.deleted_cases
                .extend(deleted.into_iter().map(TestId::from_uuid));
            let mut qb = QueryBuilder::<Db>::new("SELECT COUNT(*) FROM test_cases WHERE source = ");
            qb.push_bind(source.as_str()).push(" AND external_id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            qb.push(")");
            let kept: i64 = qb
                .build_query_scalar()
                .fetch_one(&mut **tx)
                .await
                .map_err(|e| db_error("test case", e))?;
            out.kept_cases += u64::try_from(kept).unwrap_or(0);
        }
    }
    Ok(())
}
