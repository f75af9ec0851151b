//! Row structs as the database returns them, and their conversion to domain types.
//!
//! They stay private to the store: columns are plain SQL types (text enums, JSON lists, UUIDs),
//! and a value the domain does not accept (an unknown role written by a newer qapms, say) is a
//! store error naming the column, never a silent default.

use std::str::FromStr;

use sqlx::types::Json;
use uuid::Uuid;

use super::time::DbTime;
use crate::model::{
    ExternalKey, IssueKey, PatternId, RunId, TestCase, TestId, TestIdentity, TestResult, TestRun,
    Ticket, TimeEntry, TimeEntryId, User, UserId, WorkflowId,
};
use crate::patterns::alerts::{Alert, AlertId};
use crate::patterns::analyze::{StoredLink, StoredPattern};
use crate::patterns::cluster::LinkSource;
use crate::{Error, Result};

fn parse<T: FromStr<Err = Error>>(value: &str, column: &'static str) -> Result<T> {
    value.parse().map_err(|e: Error| {
        Error::store(format!("unexpected value in {column}"))
            .with_context("value", value)
            .with_source(e)
    })
}

fn non_negative<T: TryFrom<i64>>(value: i64, column: &'static str) -> Result<T> {
    T::try_from(value).map_err(|_| {
        Error::store(format!("unexpected value in {column}"))
            .with_context("value", value.to_string())
    })
}

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: Uuid,
    name: String,
    email: Option<String>,
    role: String,
    disabled: bool,
    created_at: DbTime,
    updated_at: DbTime,
}

impl TryFrom<UserRow> for User {
    type Error = Error;

    fn try_from(row: UserRow) -> Result<Self> {
        Ok(Self {
            id: UserId::from_uuid(row.id),
            name: row.name,
            email: row.email,
            role: parse(&row.role, "users.role")?,
            disabled: row.disabled,
            created_at: row.created_at.into(),
            updated_at: row.updated_at.into(),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct TicketRow {
    key: String,
    summary: String,
    status: String,
    status_category: String,
    issue_type: String,
    priority: Option<String>,
    assignee: Option<String>,
    labels: Json<Vec<String>>,
    components: Json<Vec<String>>,
    fix_versions: Json<Vec<String>>,
    updated: DbTime,
    url: Option<String>,
    raw: Json<crate::model::RawJson>,
}

impl TryFrom<TicketRow> for Ticket {
    type Error = Error;

    fn try_from(row: TicketRow) -> Result<Self> {
        Ok(Self {
            key: parse(&row.key, "tickets.key")?,
            summary: row.summary,
            status: row.status,
            status_category: parse(&row.status_category, "tickets.status_category")?,
            issue_type: row.issue_type,
            priority: row.priority,
            assignee: row.assignee,
            labels: row.labels.0,
            components: row.components.0,
            fix_versions: row.fix_versions.0,
            updated: row.updated.into(),
            url: row.url,
            raw: row.raw.0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct TestCaseRow {
    id: Uuid,
    source: String,
    external_id: String,
    title: String,
    folder_path: Option<String>,
    tags: Json<Vec<String>>,
    ticket_keys: Json<Vec<String>>,
}

impl TryFrom<TestCaseRow> for TestCase {
    type Error = Error;

    fn try_from(row: TestCaseRow) -> Result<Self> {
        Ok(Self {
            id: TestId::from_uuid(row.id),
            source: parse(&row.source, "test_cases.source")?,
            external_id: row.external_id,
            title: row.title,
            folder_path: row.folder_path,
            tags: row.tags.0,
            ticket_keys: row
                .ticket_keys
                .0
                .iter()
                .map(|k| parse::<IssueKey>(k, "test_cases.ticket_keys"))
                .collect::<Result<_>>()?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct RunRow {
    id: Uuid,
    source: String,
    name: String,
    started_at: DbTime,
    finished_at: Option<DbTime>,
    environment: Option<String>,
    revision: Option<String>,
    url: Option<String>,
}

impl TryFrom<RunRow> for TestRun {
    type Error = Error;

    fn try_from(row: RunRow) -> Result<Self> {
        Ok(Self {
            id: RunId::from_uuid(row.id),
            source: parse(&row.source, "test_runs.source")?,
            name: row.name,
            started_at: row.started_at.into(),
            finished_at: row.finished_at.map(Into::into),
            environment: row.environment,
            revision: row.revision,
            url: row.url,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ResultRow {
    run_id: Uuid,
    test_id: Uuid,
    attempt: i32,
    status: String,
    duration_ms: Option<i64>,
    message: Option<String>,
    trace_fingerprint: Option<String>,
    cluster_id: Option<Uuid>,
}

impl TryFrom<ResultRow> for TestResult {
    type Error = Error;

    fn try_from(row: ResultRow) -> Result<Self> {
        Ok(Self {
            run_id: RunId::from_uuid(row.run_id),
            test_id: TestId::from_uuid(row.test_id),
            attempt: non_negative(i64::from(row.attempt), "test_results.attempt")?,
            status: parse(&row.status, "test_results.status")?,
            duration_ms: row
                .duration_ms
                .map(|d| non_negative(d, "test_results.duration_ms"))
                .transpose()?,
            message: row.message,
            trace_fingerprint: row.trace_fingerprint,
            cluster_id: row.cluster_id.map(PatternId::from_uuid),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct TimeEntryRow {
    id: Uuid,
    user_id: Uuid,
    ticket_key: Option<String>,
    workflow_id: Option<Uuid>,
    step: Option<String>,
    started_at: DbTime,
    ended_at: DbTime,
    source: String,
    note: Option<String>,
    corrects: Option<Uuid>,
    exported_worklog_id: Option<String>,
    recorded_at: DbTime,
}

impl TryFrom<TimeEntryRow> for TimeEntry {
    type Error = Error;

    fn try_from(row: TimeEntryRow) -> Result<Self> {
        Ok(Self {
            id: TimeEntryId::from_uuid(row.id),
            user_id: UserId::from_uuid(row.user_id),
            ticket: row
                .ticket_key
                .as_deref()
                .map(|k| parse(k, "time_entries.ticket_key"))
                .transpose()?,
            workflow_id: row.workflow_id.map(WorkflowId::from_uuid),
            step: row.step,
            started_at: row.started_at.into(),
            ended_at: row.ended_at.into(),
            source: parse(&row.source, "time_entries.source")?,
            note: row.note,
            corrects: row.corrects.map(TimeEntryId::from_uuid),
            exported_worklog_id: row.exported_worklog_id,
            recorded_at: row.recorded_at.into(),
        })
    }
}

/// Converts a batch of rows, failing on the first bad one.
pub(super) fn convert<R, T: TryFrom<R, Error = Error>>(rows: Vec<R>) -> Result<Vec<T>> {
    rows.into_iter().map(T::try_from).collect()
}

#[derive(sqlx::FromRow)]
pub(super) struct TestIdentityRow {
    test_id: Uuid,
    system: String,
    external_key: String,
    valid_from: DbTime,
    valid_to: Option<DbTime>,
}

impl TryFrom<TestIdentityRow> for TestIdentity {
    type Error = Error;

    fn try_from(row: TestIdentityRow) -> Result<Self> {
        Ok(Self {
            test_id: TestId::from_uuid(row.test_id),
            key: ExternalKey::new(
                parse(&row.system, "test_identities.system")?,
                row.external_key,
            ),
            valid_from: row.valid_from.into(),
            valid_to: row.valid_to.map(Into::into),
        })
    }
}

// ---- Patterns and alerts ------------------------------------------------------------------

#[derive(sqlx::FromRow)]
pub(super) struct AlertRow {
    id: Uuid,
    pattern_id: Option<Uuid>,
    kind: String,
    fingerprint: String,
    title: String,
    severity: String,
    state: String,
    occurrences: i64,
    first_seen: DbTime,
    last_seen: DbTime,
    evidence: Json<serde_json::Value>,
    acknowledged_by: Option<Uuid>,
    acknowledged_at: Option<DbTime>,
    resolved_at: Option<DbTime>,
    muted_until: Option<DbTime>,
}

impl TryFrom<AlertRow> for Alert {
    type Error = Error;

    fn try_from(row: AlertRow) -> Result<Self> {
        Ok(Self {
            id: AlertId::from_uuid(row.id),
            kind: parse(&row.kind, "alerts.kind")?,
            fingerprint: row.fingerprint,
            pattern_id: row.pattern_id.map(PatternId::from_uuid),
            title: row.title,
            severity: parse(&row.severity, "alerts.severity")?,
            state: parse(&row.state, "alerts.state")?,
            occurrences: non_negative(row.occurrences, "alerts.occurrences")?,
            first_seen: row.first_seen.into(),
            last_seen: row.last_seen.into(),
            evidence: row.evidence.0,
            acknowledged_by: row.acknowledged_by.map(UserId::from_uuid),
            acknowledged_at: row.acknowledged_at.map(Into::into),
            resolved_at: row.resolved_at.map(Into::into),
            muted_until: row.muted_until.map(Into::into),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct PatternRow {
    pub(super) id: Uuid,
    kind: String,
    fingerprint: String,
    title: String,
    severity: String,
    occurrences: i64,
    first_seen: DbTime,
    last_seen: DbTime,
    evidence: Json<serde_json::Value>,
}

impl TryFrom<PatternRow> for StoredPattern {
    type Error = Error;

    fn try_from(row: PatternRow) -> Result<Self> {
        Ok(Self {
            id: PatternId::from_uuid(row.id),
            kind: row.kind,
            fingerprint: row.fingerprint,
            title: row.title,
            severity: row.severity,
            occurrences: non_negative(row.occurrences, "patterns.occurrences")?,
            first_seen: row.first_seen.into(),
            last_seen: row.last_seen.into(),
            evidence: row.evidence.0,
            links: Vec::new(),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct PatternLinkRow {
    pub(super) pattern_id: Uuid,
    issue_key: String,
    source: String,
    score: f64,
}

impl TryFrom<PatternLinkRow> for StoredLink {
    type Error = Error;

    fn try_from(row: PatternLinkRow) -> Result<Self> {
        Ok(Self {
            issue: parse(&row.issue_key, "pattern_links.issue_key")?,
            source: LinkSource::parse(&row.source).ok_or_else(|| {
                Error::store("unexpected value in pattern_links.source")
                    .with_context("value", row.source.clone())
            })?,
            score: row.score,
        })
    }
}

// ---- Search documents ------------------------------------------------------------------------

#[derive(sqlx::FromRow)]
pub(super) struct SearchDocumentRow {
    kind: String,
    source_key: String,
    doc_type: String,
    title: String,
    body: String,
    url: Option<String>,
    project: Option<String>,
    status: Option<String>,
    tags: Json<Vec<String>>,
    ticket_keys: Json<Vec<String>>,
    fields: Json<std::collections::BTreeMap<String, String>>,
    updated_at: DbTime,
}

impl TryFrom<SearchDocumentRow> for crate::model::SearchDocument {
    type Error = Error;

    fn try_from(row: SearchDocumentRow) -> Result<Self> {
        Ok(Self {
            source: row.kind,
            source_key: row.source_key,
            doc_type: row.doc_type,
            title: row.title,
            body: row.body,
            url: row.url,
            project: row.project,
            status: row.status,
            tags: row.tags.0,
            ticket_keys: row
                .ticket_keys
                .0
                .iter()
                .map(|k| parse::<IssueKey>(k, "search_documents.ticket_keys"))
                .collect::<Result<_>>()?,
            fields: row.fields.0,
            updated_at: row.updated_at.into(),
        })
    }
}
