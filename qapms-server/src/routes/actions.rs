//! Workflow and time actions, so a QA can work from the dashboard without Python: start a
//! workflow, act on it (step done, skip or block with a reason, pause, resume, complete,
//! retry the step actions that did not succeed) and add a manual time entry.
//!
//! A step done runs the step's actions (a Jira comment, a search, …) with the server's
//! integrations before the answer; each outcome is kept on the step as evidence, so the
//! workflow in the answer shows how they went and carries the version they left.
//!
//! Every action goes through the core's [`Engine`] and [`Tracker`], which plan the write and
//! let the store apply it in one transaction (the rollups included). An action names the
//! workflow version it was made from (`expectedVersion`): a workflow someone moved on since is
//! a 409 `CONFLICT` and nothing changes. Cookie sessions must send their CSRF token (the auth
//! layer checks it before these handlers run). A workflow is acted on by its owner, or by an
//! admin.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use qapms_core::model::{IssueKey, WorkflowId};
use qapms_core::tracking::{ManualEntry, Tracker};
use qapms_core::workflow::{ActionRunner, Command, Engine};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::resources::Item;
use crate::api::ApiJson;
use crate::auth::CurrentUser;
use crate::{ApiError, AppState};

fn engine(state: &AppState) -> Engine {
    Engine::new(state.store_arc(), state.catalog().clone())
}

fn item(value: impl serde::Serialize) -> Result<Json<Item>, ApiError> {
    let value: Value = serde_json::to_value(value).map_err(|e| ApiError::internal(&e))?;
    Ok(Json(Item::from_value(value)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct StartWorkflow {
    /// A template name such as `verify_ticket`.
    #[schema(example = "verify_ticket")]
    template: String,
    #[schema(example = "PAY-12")]
    ticket: Option<String>,
}

/// Starts a workflow for the caller: its first step becomes active and their timer starts.
#[utoipa::path(post, path = "/api/v1/workflows", tag = "workflows", request_body = StartWorkflow,
    responses(
        (status = 201, body = Item),
        (status = 400, body = super::ErrorBody),
        (status = 403, body = super::ErrorBody, description = "no CSRF token"),
        (status = 404, body = super::ErrorBody, description = "no such template"),
        (status = 409, body = super::ErrorBody, description = "a timer changed meanwhile"),
        (status = 422, body = super::ErrorBody),
    ),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn start_workflow(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<StartWorkflow>,
) -> Result<(StatusCode, Json<Item>), ApiError> {
    let ticket = body
        .ticket
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .map(|t| IssueKey::parse(t.trim()))
        .transpose()
        .map_err(|e| ApiError::invalid(e.message().to_owned()))?;
    let outcome = engine(&state)
        .start(body.template.trim(), ticket, user.user.id)
        .await?;
    tracing::info!(user = %user.user.name, workflow = %outcome.workflow.id, "workflow started from the dashboard");
    Ok((StatusCode::CREATED, item(&outcome.workflow)?))
}

/// What to do to a workflow.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Action {
    StepDone,
    StepSkip,
    StepBlock,
    Pause,
    Resume,
    Complete,
    /// Runs again the step actions that failed, were skipped or never ran.
    RetryActions,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct WorkflowAction {
    action: Action,
    /// The version the caller saw; a workflow at another version is a 409.
    expected_version: u32,
    /// Why a step is skipped or blocked (required for those).
    reason: Option<String>,
    /// Mark a step done even with unticked checklist items.
    #[serde(default)]
    force: bool,
}

/// Applies one action to a workflow the caller owns.
#[utoipa::path(post, path = "/api/v1/workflows/{id}/actions", tag = "workflows",
    request_body = WorkflowAction,
    params(("id" = String, Path, description = "the workflow id")),
    responses(
        (status = 200, body = Item),
        (status = 400, body = super::ErrorBody),
        (status = 403, body = super::ErrorBody, description = "not the owner, or no CSRF token"),
        (status = 404, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody, description = "a stale expectedVersion"),
        (status = 422, body = super::ErrorBody, description = "the workflow's state refuses it"),
    ),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn workflow_action(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<WorkflowAction>,
) -> Result<Json<Item>, ApiError> {
    let id = WorkflowId::from_uuid(
        uuid::Uuid::parse_str(id.trim())
            .map_err(|_| ApiError::bad_request(format!("`{id}` is not a workflow id (a UUID)")))?,
    );
    let current = state.store().workflow(&id).await?;
    if current.owner != user.user.id && !user.is_admin() {
        return Err(ApiError::forbidden(
            "only the workflow's owner (or an admin) can act on it",
        ));
    }
    let reason = || -> Result<String, ApiError> {
        body.reason
            .clone()
            .filter(|r| !r.trim().is_empty())
            .ok_or_else(|| ApiError::invalid("skipping or blocking a step needs a `reason`"))
    };
    let engine = engine(&state);
    let command = match body.action {
        Action::RetryActions => {
            if current.version != body.expected_version {
                return Err(qapms_core::Error::new(
                    qapms_core::ErrorKind::Conflict,
                    format!(
                        "workflow {id} is at version {}, not {}",
                        current.version, body.expected_version
                    ),
                )
                .into());
            }
            let pending = engine.pending_actions(&current).await;
            return run_actions(&state, engine, &id, user.user.id, &pending).await;
        }
        Action::StepDone => Command::StepDone {
            step: None,
            force: body.force,
        },
        Action::StepSkip => Command::SkipStep {
            step: None,
            reason: reason()?,
        },
        Action::StepBlock => Command::BlockStep {
            step: None,
            reason: reason()?,
        },
        Action::Pause => Command::Pause,
        Action::Resume => Command::Resume,
        Action::Complete => Command::Complete,
    };
    let outcome = engine
        .apply(&id, Some(body.expected_version), user.user.id, &command)
        .await?;
    if outcome.actions.is_empty() {
        return item(&outcome.workflow);
    }
    run_actions(&state, engine, &id, user.user.id, &outcome.actions).await
}

/// Runs `due` and answers with the workflow as their records left it. A failed action is an
/// outcome kept on the step, not an error of the request: the step is done either way.
async fn run_actions(
    state: &AppState,
    engine: Engine,
    id: &WorkflowId,
    actor: qapms_core::model::UserId,
    due: &[qapms_core::workflow::DueAction],
) -> Result<Json<Item>, ApiError> {
    let runner = ActionRunner::new(engine, state.action_clients().clone());
    let records = runner.run(id, actor, due).await?;
    for record in &records {
        tracing::info!(workflow = %id, action = %record.kind, status = %record.status, "step action");
    }
    item(&runner.engine().workflow(id).await?)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NewTimeEntry {
    #[schema(example = "PAY-12")]
    ticket: Option<String>,
    workflow_id: Option<uuid::Uuid>,
    step: Option<String>,
    /// When the work started (backdating is allowed, the future is not).
    started_at: DateTime<Utc>,
    /// Its length, 1 second to 24 hours.
    #[schema(example = 1800)]
    duration_seconds: i64,
    note: Option<String>,
}

/// Adds a manual time entry for the caller.
#[utoipa::path(post, path = "/api/v1/time-entries", tag = "time", request_body = NewTimeEntry,
    responses(
        (status = 201, body = Item),
        (status = 400, body = super::ErrorBody),
        (status = 403, body = super::ErrorBody, description = "no CSRF token"),
        (status = 422, body = super::ErrorBody),
    ),
    security(("session" = []), ("token" = [])))]
pub(crate) async fn add_time_entry(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<NewTimeEntry>,
) -> Result<(StatusCode, Json<Item>), ApiError> {
    if !(1..=86_400).contains(&body.duration_seconds) {
        return Err(ApiError::invalid(
            "`durationSeconds` must be between 1 and 86400",
        ));
    }
    // Far-off years are refused before any arithmetic on them can overflow.
    let year = chrono::Datelike::year(&body.started_at);
    if !(2000..=2100).contains(&year) {
        return Err(ApiError::invalid(
            "`startedAt` must lie between 2000 and 2100",
        ));
    }
    let ticket = body
        .ticket
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .map(|t| IssueKey::parse(t.trim()))
        .transpose()
        .map_err(|e| ApiError::invalid(e.message().to_owned()))?;
    let entry = Tracker::new(state.store_arc())
        .add_manual(
            user.user.id,
            &ManualEntry {
                ticket,
                workflow_id: body.workflow_id.map(WorkflowId::from_uuid),
                step: body.step.filter(|s| !s.trim().is_empty()),
                started_at: body.started_at,
                duration: Duration::seconds(body.duration_seconds),
                note: body.note,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, item(&entry)?))
}
