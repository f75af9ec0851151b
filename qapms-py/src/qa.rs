//! The QA loop from Python: `ws.workflows` (templates, start, step control), `ws.timer(ticket)`
//! and `ws.results` (`JUnit` import, runs recorded by the pytest plugin, test identity).
//!
//! Every call is the core's: the workflow [`Engine`] applies commands with optimistic
//! versioning (passing a `Workflow` object, not its id, means "refuse if it moved since I read
//! it"), the [`Tracker`] runs bare timers, and runs go through the store's `RunImport` in one
//! transaction. Nothing here decides what a transition or an import does.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use qapms_core::config::EvidenceKind;
use qapms_core::model::{
    ActionRecord, ExternalKey, IdlePeriod, ImportedAttempt, ImportedTest, IssueKey, RunId, Step,
    TestIdentity, TestRun, TestSource, TestStatus, TimeEntry, Timer, Workflow, WorkflowId,
};
use qapms_core::results::{self, ImportOptions, ImportSummary, LinkRules};
use qapms_core::secrets::KeyLookup;
use qapms_core::tracking::Tracker;
use qapms_core::workflow::{
    ActionClients, ActionRunner, Catalog, Command, DueAction, Engine, ItemRef, Outcome,
    ResolvedTemplate, StepRef,
};

use crate::convert::to_py;
use crate::errors::PyQapmsError;
use crate::records::{ReprArg as _, invalid, no_nul, record};
use crate::runtime;
use crate::workspace::Inner;

fn core<T>(result: qapms_core::Result<T>) -> PyResult<T> {
    result.map_err(|e| PyQapmsError::from(e).into())
}

fn engine(inner: &Inner) -> Engine {
    Engine::new(
        inner.store.clone(),
        Catalog::new(&inner.loaded.config.workflows),
    )
    .with_idle_gap(inner.loaded.config.tracking.idle_gap.0)
}

fn tracker(inner: &Inner) -> Tracker {
    Tracker::new(inner.store.clone()).with_idle_gap(inner.loaded.config.tracking.idle_gap.0)
}

fn ticket(key: Option<&str>) -> PyResult<Option<IssueKey>> {
    key.map(|k| core(IssueKey::parse(k))).transpose()
}

/// A step named by 1-based number or by name.
#[derive(FromPyObject)]
enum StepArg {
    Number(u32),
    Name(String),
}

impl StepArg {
    fn into_ref(self) -> StepRef {
        match self {
            Self::Number(n) => StepRef::Number(n),
            Self::Name(name) => StepRef::Name(name),
        }
    }
}

/// A checklist item named by 1-based number or by its text.
#[derive(FromPyObject)]
enum ItemArg {
    Number(u32),
    Text(String),
}

/// A workflow given as the object a caller read (its version is checked) or as an id.
#[derive(FromPyObject)]
pub(crate) enum WorkflowArg<'py> {
    Object(PyRef<'py, PyWorkflow>),
    Id(String),
}

impl WorkflowArg<'_> {
    /// The workflow's id, whichever way it was given.
    pub(crate) fn id(self) -> PyResult<WorkflowId> {
        Ok(self.target()?.0)
    }

    fn target(&self) -> PyResult<(WorkflowId, Option<u32>)> {
        match self {
            Self::Object(w) => Ok((w.workflow.id, Some(w.workflow.version))),
            Self::Id(id) => Ok((core(id.parse::<WorkflowId>())?, None)),
        }
    }
}

/// Guided workflows: templates, starting one for a ticket, and moving it step by step.
///
/// Step control takes the `Workflow` last read (then a workflow someone else moved since is a
/// `ConflictError` and nothing changes) or a workflow id (no check). Each call returns the
/// workflow as it now is.
#[pyclass(module = "qapms", name = "Workflows", frozen)]
pub(crate) struct Workflows {
    inner: Arc<Inner>,
}

impl Workflows {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        Self { inner }
    }

    fn start_fut(
        &self,
        template: String,
        ticket: Option<IssueKey>,
    ) -> impl Future<Output = PyResult<PyWorkflow>> + Send + 'static {
        let inner = self.inner.clone();
        async move {
            let user = inner.user().await?;
            let outcome = core(engine(&inner).start(&template, ticket, user.id).await)?;
            Ok(PyWorkflow::from(outcome))
        }
    }

    fn get_fut(
        &self,
        id: &str,
    ) -> PyResult<impl Future<Output = PyResult<PyWorkflow>> + Send + 'static> {
        let id = core(id.parse::<WorkflowId>())?;
        let inner = self.inner.clone();
        Ok(async move { Ok(PyWorkflow::from(core(engine(&inner).workflow(&id).await)?)) })
    }

    fn current_fut(
        &self,
        ticket: Option<IssueKey>,
    ) -> impl Future<Output = PyResult<Option<PyWorkflow>>> + Send + 'static {
        let inner = self.inner.clone();
        async move {
            let user = inner.user().await?;
            let found = core(engine(&inner).current(user.id, ticket.as_ref()).await)?;
            Ok(found.map(PyWorkflow::from))
        }
    }

    fn apply_fut(
        &self,
        workflow: &WorkflowArg<'_>,
        command: Command,
    ) -> PyResult<impl Future<Output = PyResult<PyWorkflow>> + Send + 'static> {
        let (id, expected) = workflow.target()?;
        let inner = self.inner.clone();
        Ok(async move {
            let user = inner.user().await?;
            let outcome = core(engine(&inner).apply(&id, expected, user.id, &command).await)?;
            Ok(PyWorkflow::from(outcome))
        })
    }

    /// Marks a step done, then runs its actions (unless `run_actions` is false) and returns
    /// the workflow as the actions left it, so the caller's next call does not conflict with
    /// the records they wrote.
    fn step_done_fut(
        &self,
        workflow: &WorkflowArg<'_>,
        command: Command,
        run_actions: bool,
    ) -> PyResult<impl Future<Output = PyResult<PyWorkflow>> + Send + 'static> {
        let (id, expected) = workflow.target()?;
        let inner = self.inner.clone();
        Ok(async move {
            let user = inner.user().await?;
            let engine = engine(&inner);
            let outcome = core(engine.apply(&id, expected, user.id, &command).await)?;
            if !run_actions || outcome.actions.is_empty() {
                return Ok(PyWorkflow::from(outcome));
            }
            let runner = action_runner(&inner, engine, &outcome.actions).await?;
            let records = core(runner.run(&id, user.id, &outcome.actions).await)?;
            let latest = core(runner.engine().workflow(&id).await)?;
            Ok(PyWorkflow {
                workflow: latest,
                actions: outcome.actions,
                idle: outcome.idle,
                records,
            })
        })
    }

    fn retry_fut(
        &self,
        workflow: &WorkflowArg<'_>,
    ) -> PyResult<impl Future<Output = PyResult<Vec<ActionRecord>>> + Send + 'static> {
        let (id, _) = workflow.target()?;
        let inner = self.inner.clone();
        Ok(async move {
            let user = inner.user().await?;
            let engine = engine(&inner);
            let current = core(engine.workflow(&id).await)?;
            let pending = engine.pending_actions(&current).await;
            if pending.is_empty() {
                return Ok(Vec::new());
            }
            let runner = action_runner(&inner, engine, &pending).await?;
            core(runner.run(&id, user.id, &pending).await)
        })
    }

    fn run(
        &self,
        py: Python<'_>,
        workflow: &WorkflowArg<'_>,
        command: Command,
    ) -> PyResult<PyWorkflow> {
        runtime::block_on(py, self.apply_fut(workflow, command)?)
    }

    fn run_async<'py>(
        &self,
        py: Python<'py>,
        workflow: &WorkflowArg<'_>,
        command: Command,
    ) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.apply_fut(workflow, command)?)
    }
}

/// A runner with the workspace's integrations, and its search index when a due action
/// searches (opening the index may rebuild it, which only a search should pay for).
async fn action_runner(inner: &Inner, engine: Engine, due: &[DueAction]) -> PyResult<ActionRunner> {
    // The key lookup borrows the environment, which is not `Send`: it ends before the await.
    let mut clients = {
        let lookup = KeyLookup {
            env: inner.env(),
            config_dir: &inner.loaded.paths.config_dir,
            passphrase: None,
        };
        ActionClients::from_config(
            &inner.loaded.config,
            inner.credentials(),
            None,
            Some((&inner.loaded.paths.data_dir, &lookup)),
        )
    };
    if due.iter().any(|d| d.action.reads_search_index()) {
        clients = clients.with_index(crate::discover::index(inner).await?);
    }
    Ok(ActionRunner::new(engine, clients))
}

fn reason(what: &str, text: String) -> PyResult<String> {
    no_nul(what, &text)?;
    if text.trim().is_empty() {
        return Err(invalid(format!("{what} cannot be empty")));
    }
    Ok(text)
}

fn evidence_kind(kind: &str) -> PyResult<EvidenceKind> {
    serde_json::from_value(serde_json::Value::String(kind.to_owned())).map_err(|_| {
        invalid(format!(
            "kind must be notes, links, attachments or test_results, not {kind:?}"
        ))
    })
}

fn tick_command(item: ItemArg, step: Option<StepArg>, done: bool) -> Command {
    Command::Tick {
        step: step.map(StepArg::into_ref),
        item: match item {
            ItemArg::Number(n) => ItemRef::Number(n),
            ItemArg::Text(t) => ItemRef::parse(&t),
        },
        done,
    }
}

fn evidence_command(value: String, kind: &str, step: Option<StepArg>) -> PyResult<Command> {
    no_nul("value", &value)?;
    Ok(Command::AddEvidence {
        step: step.map(StepArg::into_ref),
        kind: evidence_kind(kind)?,
        value,
    })
}

#[pymethods]
#[expect(
    clippy::needless_pass_by_value,
    reason = "pyo3 hands extracted arguments over by value"
)]
impl Workflows {
    /// Every template available (configured ones over the built-ins), by name.
    fn templates(&self) -> PyResult<Vec<WorkflowTemplate>> {
        let catalog = Catalog::new(&self.inner.loaded.config.workflows);
        catalog
            .names()
            .iter()
            .map(|name| core(catalog.resolve(name)).map(WorkflowTemplate))
            .collect()
    }

    /// Starts a workflow from `template` for `ticket` (a Jira key, or None); its first step
    /// becomes active and your timer starts on it.
    #[pyo3(signature = (template, ticket=None))]
    fn start(
        &self,
        py: Python<'_>,
        template: String,
        ticket: Option<&str>,
    ) -> PyResult<PyWorkflow> {
        no_nul("template", &template)?;
        let ticket = self::ticket(ticket)?;
        runtime::block_on(py, self.start_fut(template, ticket))
    }

    /// `start()` as an awaitable.
    #[pyo3(signature = (template, ticket=None))]
    fn async_start<'py>(
        &self,
        py: Python<'py>,
        template: String,
        ticket: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        no_nul("template", &template)?;
        let ticket = self::ticket(ticket)?;
        runtime::awaitable(py, self.start_fut(template, ticket))
    }

    /// A workflow by id.
    fn get(&self, py: Python<'_>, id: &str) -> PyResult<PyWorkflow> {
        runtime::block_on(py, self.get_fut(id)?)
    }

    /// `get()` as an awaitable.
    fn async_get<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.get_fut(id)?)
    }

    /// Your open workflow touched last (optionally for one ticket), or None.
    #[pyo3(signature = (ticket=None))]
    fn current(&self, py: Python<'_>, ticket: Option<&str>) -> PyResult<Option<PyWorkflow>> {
        let ticket = self::ticket(ticket)?;
        runtime::block_on(py, self.current_fut(ticket))
    }

    /// `current()` as an awaitable.
    #[pyo3(signature = (ticket=None))]
    fn async_current<'py>(
        &self,
        py: Python<'py>,
        ticket: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ticket = self::ticket(ticket)?;
        runtime::awaitable(py, self.current_fut(ticket))
    }

    /// Marks a step done (default: the active one); the next pending step becomes active.
    /// Unticked checklist items refuse it unless `force`.
    ///
    /// The step's actions then run (a Jira comment, a search, …) and their outcomes are in
    /// `action_records`; an action that fails does not undo the step (retry it with
    /// `retry_actions`). `run_actions=False` leaves them all for `retry_actions`.
    #[pyo3(signature = (workflow, step=None, *, force=false, run_actions=true))]
    fn step_done(
        &self,
        py: Python<'_>,
        workflow: WorkflowArg<'_>,
        step: Option<StepArg>,
        force: bool,
        run_actions: bool,
    ) -> PyResult<PyWorkflow> {
        let cmd = Command::StepDone {
            step: step.map(StepArg::into_ref),
            force,
        };
        runtime::block_on(py, self.step_done_fut(&workflow, cmd, run_actions)?)
    }

    /// `step_done()` as an awaitable.
    #[pyo3(signature = (workflow, step=None, *, force=false, run_actions=true))]
    fn async_step_done<'py>(
        &self,
        py: Python<'py>,
        workflow: WorkflowArg<'_>,
        step: Option<StepArg>,
        force: bool,
        run_actions: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let cmd = Command::StepDone {
            step: step.map(StepArg::into_ref),
            force,
        };
        runtime::awaitable(py, self.step_done_fut(&workflow, cmd, run_actions)?)
    }

    /// Runs the actions of done steps that have not succeeded (failed, skipped for want of an
    /// integration, or never run) and returns their new records, as dicts (`key`, `kind`,
    /// `status`, `summary`, `output`, `attempts`). An action that succeeded is never repeated.
    fn retry_actions<'py>(
        &self,
        py: Python<'py>,
        workflow: WorkflowArg<'_>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let records = runtime::block_on(py, self.retry_fut(&workflow)?)?;
        to_py(py, &records)
    }

    /// `retry_actions()` as an awaitable.
    fn async_retry_actions<'py>(
        &self,
        py: Python<'py>,
        workflow: WorkflowArg<'_>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let fut = self.retry_fut(&workflow)?;
        runtime::awaitable(py, async move {
            let records = fut.await?;
            Python::attach(|py| to_py(py, &records).map(Bound::unbind))
        })
    }

    /// Skips a step (default: the active one), with a reason.
    #[pyo3(signature = (workflow, reason, step=None))]
    fn skip_step(
        &self,
        py: Python<'_>,
        workflow: WorkflowArg<'_>,
        reason: String,
        step: Option<StepArg>,
    ) -> PyResult<PyWorkflow> {
        let cmd = Command::SkipStep {
            step: step.map(StepArg::into_ref),
            reason: self::reason("reason", reason)?,
        };
        self.run(py, &workflow, cmd)
    }

    /// `skip_step()` as an awaitable.
    #[pyo3(signature = (workflow, reason, step=None))]
    fn async_skip_step<'py>(
        &self,
        py: Python<'py>,
        workflow: WorkflowArg<'_>,
        reason: String,
        step: Option<StepArg>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let cmd = Command::SkipStep {
            step: step.map(StepArg::into_ref),
            reason: self::reason("reason", reason)?,
        };
        self.run_async(py, &workflow, cmd)
    }

    /// Blocks a step (default: the active one), with a reason; `start_step` unblocks it.
    #[pyo3(signature = (workflow, reason, step=None))]
    fn block_step(
        &self,
        py: Python<'_>,
        workflow: WorkflowArg<'_>,
        reason: String,
        step: Option<StepArg>,
    ) -> PyResult<PyWorkflow> {
        let cmd = Command::BlockStep {
            step: step.map(StepArg::into_ref),
            reason: self::reason("reason", reason)?,
        };
        self.run(py, &workflow, cmd)
    }

    /// `block_step()` as an awaitable.
    #[pyo3(signature = (workflow, reason, step=None))]
    fn async_block_step<'py>(
        &self,
        py: Python<'py>,
        workflow: WorkflowArg<'_>,
        reason: String,
        step: Option<StepArg>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let cmd = Command::BlockStep {
            step: step.map(StepArg::into_ref),
            reason: self::reason("reason", reason)?,
        };
        self.run_async(py, &workflow, cmd)
    }

    /// Makes a step (by 1-based number or name) the active one.
    fn start_step(
        &self,
        py: Python<'_>,
        workflow: WorkflowArg<'_>,
        step: StepArg,
    ) -> PyResult<PyWorkflow> {
        self.run(
            py,
            &workflow,
            Command::StartStep {
                step: step.into_ref(),
            },
        )
    }

    /// `start_step()` as an awaitable.
    fn async_start_step<'py>(
        &self,
        py: Python<'py>,
        workflow: WorkflowArg<'_>,
        step: StepArg,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.run_async(
            py,
            &workflow,
            Command::StartStep {
                step: step.into_ref(),
            },
        )
    }

    /// Ticks (or with `done=False` unticks) a checklist item, by 1-based number or text, of a
    /// step (default: the active one).
    #[pyo3(signature = (workflow, item, *, step=None, done=true))]
    fn tick(
        &self,
        py: Python<'_>,
        workflow: WorkflowArg<'_>,
        item: ItemArg,
        step: Option<StepArg>,
        done: bool,
    ) -> PyResult<PyWorkflow> {
        self.run(py, &workflow, tick_command(item, step, done))
    }

    /// `tick()` as an awaitable.
    #[pyo3(signature = (workflow, item, *, step=None, done=true))]
    fn async_tick<'py>(
        &self,
        py: Python<'py>,
        workflow: WorkflowArg<'_>,
        item: ItemArg,
        step: Option<StepArg>,
        done: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.run_async(py, &workflow, tick_command(item, step, done))
    }

    /// Records evidence on a step (default: the active one): `kind` is `notes`, `links`,
    /// `attachments` or `test_results`.
    #[pyo3(signature = (workflow, value, *, kind="notes", step=None))]
    fn add_evidence(
        &self,
        py: Python<'_>,
        workflow: WorkflowArg<'_>,
        value: String,
        kind: &str,
        step: Option<StepArg>,
    ) -> PyResult<PyWorkflow> {
        self.run(py, &workflow, evidence_command(value, kind, step)?)
    }

    /// `add_evidence()` as an awaitable.
    #[pyo3(signature = (workflow, value, *, kind="notes", step=None))]
    fn async_add_evidence<'py>(
        &self,
        py: Python<'py>,
        workflow: WorkflowArg<'_>,
        value: String,
        kind: &str,
        step: Option<StepArg>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.run_async(py, &workflow, evidence_command(value, kind, step)?)
    }

    /// Pauses the workflow; its timer stops.
    fn pause(&self, py: Python<'_>, workflow: WorkflowArg<'_>) -> PyResult<PyWorkflow> {
        self.run(py, &workflow, Command::Pause)
    }

    /// `pause()` as an awaitable.
    fn async_pause<'py>(
        &self,
        py: Python<'py>,
        workflow: WorkflowArg<'_>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.run_async(py, &workflow, Command::Pause)
    }

    /// Resumes a paused workflow; its timer restarts.
    fn resume(&self, py: Python<'_>, workflow: WorkflowArg<'_>) -> PyResult<PyWorkflow> {
        self.run(py, &workflow, Command::Resume)
    }

    /// `resume()` as an awaitable.
    fn async_resume<'py>(
        &self,
        py: Python<'py>,
        workflow: WorkflowArg<'_>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.run_async(py, &workflow, Command::Resume)
    }

    /// Completes the workflow; every step must be done or skipped.
    fn complete(&self, py: Python<'_>, workflow: WorkflowArg<'_>) -> PyResult<PyWorkflow> {
        self.run(py, &workflow, Command::Complete)
    }

    /// `complete()` as an awaitable.
    fn async_complete<'py>(
        &self,
        py: Python<'py>,
        workflow: WorkflowArg<'_>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.run_async(py, &workflow, Command::Complete)
    }

    /// Abandons the workflow, optionally saying why.
    #[pyo3(signature = (workflow, reason=None))]
    fn abandon(
        &self,
        py: Python<'_>,
        workflow: WorkflowArg<'_>,
        reason: Option<String>,
    ) -> PyResult<PyWorkflow> {
        self.run(py, &workflow, Command::Abandon { reason })
    }

    /// `abandon()` as an awaitable.
    #[pyo3(signature = (workflow, reason=None))]
    fn async_abandon<'py>(
        &self,
        py: Python<'py>,
        workflow: WorkflowArg<'_>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.run_async(py, &workflow, Command::Abandon { reason })
    }

    fn __repr__(&self) -> String {
        format!("Workflows(user={})", self.inner.user_name().repr_arg())
    }
}

/// A workflow as it is now: its state, version and steps. After a transition,
/// `due_actions` and `uncounted_idle` say what the transition left to do or set aside.
#[pyclass(module = "qapms", name = "Workflow", frozen)]
pub(crate) struct PyWorkflow {
    workflow: Workflow,
    actions: Vec<DueAction>,
    idle: Vec<IdlePeriod>,
    /// What the due actions did, when the call ran them.
    records: Vec<ActionRecord>,
}

impl From<Workflow> for PyWorkflow {
    fn from(workflow: Workflow) -> Self {
        Self {
            workflow,
            actions: Vec::new(),
            idle: Vec::new(),
            records: Vec::new(),
        }
    }
}

impl From<Outcome> for PyWorkflow {
    fn from(outcome: Outcome) -> Self {
        Self {
            workflow: outcome.workflow,
            actions: outcome.actions,
            idle: outcome.idle,
            records: Vec::new(),
        }
    }
}

#[pymethods]
impl PyWorkflow {
    #[getter]
    fn id(&self) -> String {
        self.workflow.id.to_string()
    }

    #[getter]
    fn template(&self) -> &str {
        &self.workflow.template
    }

    #[getter]
    fn ticket(&self) -> Option<&str> {
        self.workflow.ticket.as_ref().map(IssueKey::as_str)
    }

    /// `created`, `in_progress`, `paused`, `completed` or `abandoned`.
    #[getter]
    fn state(&self) -> &'static str {
        self.workflow.state.as_str()
    }

    /// Grows by one with every transition; what step control checks for conflicts.
    #[getter]
    fn version(&self) -> u32 {
        self.workflow.version
    }

    /// The owner's user id.
    #[getter]
    fn owner(&self) -> String {
        self.workflow.owner.to_string()
    }

    #[getter]
    fn time_box_secs(&self) -> Option<u64> {
        self.workflow.time_box_secs
    }

    #[getter]
    fn created_at(&self) -> DateTime<Utc> {
        self.workflow.created_at
    }

    #[getter]
    fn updated_at(&self) -> DateTime<Utc> {
        self.workflow.updated_at
    }

    #[getter]
    fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.workflow.completed_at
    }

    #[getter]
    fn steps(&self) -> Vec<WorkflowStep> {
        self.workflow
            .steps
            .iter()
            .cloned()
            .map(WorkflowStep)
            .collect()
    }

    /// The active step, if any.
    #[getter]
    fn active_step(&self) -> Option<WorkflowStep> {
        self.workflow.active_step().cloned().map(WorkflowStep)
    }

    /// Actions of the step just finished, as configured (e.g. `{"kind": "jira_transition",
    /// "to": "In QA"}`), with the step's name.
    #[getter]
    fn due_actions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.actions)
    }

    /// How the due actions went, when `step_done` ran them: dicts with `key`, `kind`,
    /// `status` (`succeeded`, `failed` or `skipped`), `summary`, `output` and `attempts`.
    #[getter]
    fn action_records<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.records)
    }

    /// Idle time the transition left uncounted, as `(start, end)` pairs.
    #[getter]
    fn uncounted_idle(&self) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.idle
            .iter()
            .map(|i| (i.started_at, i.ended_at))
            .collect()
    }

    /// The workflow as JSON.
    fn raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.workflow)
    }

    fn __repr__(&self) -> String {
        format!(
            "Workflow(id={}, template={}, ticket={}, state={}, version={}, active_step={})",
            self.id().repr_arg(),
            self.workflow.template.repr_arg(),
            self.ticket().repr_arg(),
            self.state().repr_arg(),
            self.workflow.version,
            self.workflow
                .active_step()
                .map(|s| s.name.as_str())
                .repr_arg()
        )
    }
}

record! {
    /// One step of a workflow.
    WorkflowStep as "WorkflowStep" wraps Step;
    repr(number, name, state);
    /// 1-based, as people count.
    fn number(&self) -> u32 { self.0.position + 1 }
    fn name(&self) -> String { self.0.name.clone() }
    fn description(&self) -> Option<String> { self.0.description.clone() }
    /// `pending`, `active`, `done`, `skipped` or `blocked`.
    fn state(&self) -> &'static str { self.0.state.as_str() }
    /// The template's estimate, in seconds.
    fn estimate_secs(&self) -> Option<u64> { self.0.estimate_secs }
    /// `(text, done)` per checklist item.
    fn checklist(&self) -> Vec<(String, bool)> {
        self.0.checklist.iter().map(|i| (i.text.clone(), i.done)).collect()
    }
    /// `(kind, value)` per piece of evidence recorded.
    fn evidence(&self) -> Vec<(String, String)> {
        self.0
            .evidence
            .iter()
            .map(|e| {
                let kind = serde_json::to_value(e.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                (kind, e.value.clone())
            })
            .collect()
    }
    /// Why the step was skipped or blocked.
    fn reason(&self) -> Option<String> { self.0.reason.clone() }
    fn started_at(&self) -> Option<DateTime<Utc>> { self.0.started_at }
    fn completed_at(&self) -> Option<DateTime<Utc>> { self.0.completed_at }
    /// Ids of the test runs attached to the step.
    fn runs(&self) -> Vec<String> { self.0.runs.iter().map(ToString::to_string).collect() }
}

record! {
    /// A workflow template, with its `extends` chain resolved.
    WorkflowTemplate as "WorkflowTemplate" wraps ResolvedTemplate;
    repr(name, builtin);
    fn name(&self) -> String { self.0.name.clone() }
    fn description(&self) -> Option<String> { self.0.description.clone() }
    fn time_box_secs(&self) -> Option<u64> { self.0.time_box_secs }
    /// True when no configured template of this name exists.
    fn builtin(&self) -> bool { self.0.builtin }
    /// The step names, in order.
    fn steps(&self) -> Vec<String> { self.0.steps.iter().map(|s| s.name.clone()).collect() }
}

record! {
    /// A running timer.
    PyTimer as "Timer" wraps Timer;
    repr(ticket, started_at);
    fn ticket(&self) -> Option<String> { self.0.ticket.as_ref().map(ToString::to_string) }
    fn workflow_id(&self) -> Option<String> { self.0.workflow_id.map(|w| w.to_string()) }
    fn step(&self) -> Option<String> { self.0.step.clone() }
    fn started_at(&self) -> DateTime<Utc> { self.0.started_at }
    fn last_activity_at(&self) -> DateTime<Utc> { self.0.last_activity_at }
}

record! {
    /// Time recorded against a ticket (append-only; corrections are new entries).
    PyTimeEntry as "TimeEntry" wraps TimeEntry;
    repr(ticket, seconds, source);
    fn id(&self) -> String { self.0.id.to_string() }
    fn ticket(&self) -> Option<String> { self.0.ticket.as_ref().map(ToString::to_string) }
    fn workflow_id(&self) -> Option<String> { self.0.workflow_id.map(|w| w.to_string()) }
    fn step(&self) -> Option<String> { self.0.step.clone() }
    fn started_at(&self) -> DateTime<Utc> { self.0.started_at }
    fn ended_at(&self) -> DateTime<Utc> { self.0.ended_at }
    /// Length in whole seconds.
    fn seconds(&self) -> i64 { (self.0.ended_at - self.0.started_at).num_seconds() }
    /// `timer`, `manual` or `import`.
    fn source(&self) -> &'static str { self.0.source.as_str() }
    fn note(&self) -> Option<String> { self.0.note.clone() }
}

/// `with ws.timer("PAY-12"):` runs a timer on the ticket for the block. Entering starts it (a
/// timer running on something else is stopped first, as `qapms timer start` does); leaving
/// stops it, unless something else replaced it meanwhile. After the block, `entry` is the
/// time entry written (None when no time counted).
#[pyclass(module = "qapms", name = "TimerContext")]
pub(crate) struct TimerContext {
    inner: Arc<Inner>,
    ticket: Option<IssueKey>,
    started: Option<Timer>,
    entry: Option<TimeEntry>,
}

impl TimerContext {
    pub(crate) fn new(inner: Arc<Inner>, ticket: Option<&str>) -> PyResult<Self> {
        Ok(Self {
            inner,
            ticket: self::ticket(ticket)?,
            started: None,
            entry: None,
        })
    }

    fn start_fut(&self) -> impl Future<Output = PyResult<Timer>> + Send + 'static {
        let inner = self.inner.clone();
        let ticket = self.ticket.clone();
        async move {
            let user = inner.user().await?;
            core(tracker(&inner).start(user.id, ticket).await)
        }
    }

    fn stop_fut(&self) -> impl Future<Output = PyResult<Option<TimeEntry>>> + Send + 'static {
        let inner = self.inner.clone();
        let ours = self.started.as_ref().map(|t| t.id);
        async move {
            let user = inner.user().await?;
            let tracker = tracker(&inner);
            let running = core(tracker.status(user.id).await)?;
            // Replaced by a workflow step or another timer: that one is not ours to stop.
            if running.is_none() || running.map(|t| t.id) != ours {
                return Ok(None);
            }
            match tracker.stop(user.id).await {
                Ok(stopped) => Ok(stopped.entry),
                // Stopped by someone else between the two calls.
                Err(e) if e.kind() == qapms_core::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(PyQapmsError::from(e).into()),
            }
        }
    }
}

#[pymethods]
impl TimerContext {
    /// The ticket the timer runs on.
    #[getter]
    fn ticket(&self) -> Option<&str> {
        self.ticket.as_ref().map(IssueKey::as_str)
    }

    /// The timer started on entering, if entered.
    #[getter]
    fn timer(&self) -> Option<PyTimer> {
        self.started.clone().map(PyTimer)
    }

    /// The time entry written on leaving, if any time counted.
    #[getter]
    fn entry(&self) -> Option<PyTimeEntry> {
        self.entry.clone().map(PyTimeEntry)
    }

    fn __enter__(mut slf: PyRefMut<'_, Self>) -> PyResult<PyRefMut<'_, Self>> {
        let py = slf.py();
        let timer = runtime::block_on(py, slf.start_fut())?;
        slf.started = Some(timer);
        Ok(slf)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&mut self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.entry = runtime::block_on(py, self.stop_fut())?;
        Ok(false)
    }

    fn __aenter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let fut = slf.borrow().start_fut();
        let this = slf.clone().unbind();
        runtime::awaitable(py, async move {
            let timer = fut.await?;
            Python::attach(|py| {
                this.borrow_mut(py).started = Some(timer);
            });
            Ok(this)
        })
    }

    #[pyo3(signature = (*_args))]
    fn __aexit__<'py>(
        slf: &Bound<'py, Self>,
        _args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let fut = slf.borrow().stop_fut();
        let this = slf.clone().unbind();
        runtime::awaitable(py, async move {
            let entry = fut.await?;
            Python::attach(|py| {
                this.borrow_mut(py).entry = entry;
            });
            Ok(false)
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "TimerContext(ticket={}, running={})",
            self.ticket().repr_arg(),
            (self.started.is_some() && self.entry.is_none()).repr_arg()
        )
    }
}

/// One attempt of a recorded test, as the pytest plugin hands it over:
/// `(status, duration_ms, message)`.
type AttemptTuple = (String, Option<f64>, Option<String>);

/// One recorded test: `(keys, title, folder, tickets, attempts)` where `keys` are
/// `(system, key)` pairs, canonical first.
type TestTuple = (
    Vec<(String, String)>,
    String,
    Option<String>,
    Vec<String>,
    Vec<AttemptTuple>,
);

fn system(name: &str) -> PyResult<TestSource> {
    core(name.parse::<TestSource>())
}

fn status(name: &str) -> PyResult<TestStatus> {
    core(name.parse::<TestStatus>())
}

fn imported(index: usize, t: TestTuple) -> PyResult<ImportedTest> {
    let (keys, title, folder, tickets, attempts) = t;
    let at = |what: &str| format!("tests[{index}].{what}");
    if keys.is_empty() {
        return Err(invalid(format!(
            "{}: a test needs at least one key",
            at("keys")
        )));
    }
    if attempts.is_empty() {
        return Err(invalid(format!(
            "{}: a test needs at least one attempt",
            at("attempts")
        )));
    }
    no_nul(&at("title"), &title)?;
    let keys = keys
        .into_iter()
        .map(|(s, k)| {
            no_nul(&at("keys"), &k)?;
            Ok(ExternalKey::new(system(&s)?, k))
        })
        .collect::<PyResult<Vec<_>>>()?;
    let ticket_keys = tickets
        .iter()
        .map(|k| core(IssueKey::parse(k)))
        .collect::<PyResult<Vec<_>>>()?;
    let attempts = attempts
        .into_iter()
        .map(|(s, ms, message)| {
            let duration_ms = match ms {
                None => None,
                Some(ms) if ms.is_finite() && ms >= 0.0 => Some(ms.round() as u64),
                Some(_) => {
                    return Err(invalid(format!(
                        "{}: a duration must be a non-negative number",
                        at("attempts")
                    )));
                }
            };
            if let Some(m) = &message {
                no_nul(&at("attempts.message"), m)?;
            }
            Ok(ImportedAttempt {
                status: status(&s)?,
                duration_ms,
                message,
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(ImportedTest {
        keys,
        title,
        folder_path: folder,
        ticket_keys,
        attempts,
    })
}

/// Tests per store batch when recording a run.
const RECORD_BATCH: usize = 4000;

/// What `record_run` stored.
#[pyclass(module = "qapms", name = "RecordedRun", frozen, get_all)]
#[derive(Debug, Clone)]
pub(crate) struct RecordedRun {
    /// The run's id.
    run_id: String,
    name: String,
    /// Distinct tests.
    tests: u64,
    /// Result rows: every attempt of every test.
    attempts: u64,
    /// Tests the store had never seen.
    new_tests: u64,
    /// Tests whose last attempt failed.
    failed: u64,
    /// Tests with more than one attempt.
    retried: u64,
    /// `(workflow id, step number)` of the active workflow steps the run was attached to.
    attached_steps: Vec<(String, u32)>,
}

#[pymethods]
impl RecordedRun {
    fn __repr__(&self) -> String {
        format!(
            "RecordedRun(run_id={}, name={}, tests={}, attempts={}, failed={})",
            self.run_id.repr_arg(),
            self.name.repr_arg(),
            self.tests,
            self.attempts,
            self.failed
        )
    }
}

/// Test results: `JUnit` XML import, runs recorded from a test framework, and test identity.
#[pyclass(module = "qapms", name = "Results", frozen)]
pub(crate) struct Results {
    inner: Arc<Inner>,
}

struct RecordRequest {
    run: TestRun,
    tests: Vec<ImportedTest>,
}

impl Results {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        Self { inner }
    }

    fn import_fut(
        &self,
        paths: Vec<PathBuf>,
        options: ImportOptions,
        progress: Option<Py<PyAny>>,
    ) -> impl Future<Output = PyResult<ImportResult>> + Send + 'static {
        let inner = self.inner.clone();
        async move {
            let mut report = |p: &results::ImportProgress| {
                if let Some(cb) = &progress {
                    Python::attach(|py| {
                        // A failing callback must not abort an import half-way; Python reports
                        // it as an unraisable exception.
                        if let Err(err) = cb.call1(py, (p.file, p.files, p.test_cases)) {
                            err.write_unraisable(py, Some(cb.bind(py)));
                        }
                    });
                }
            };
            let summary = results::import_junit_with_progress(
                inner.store.as_ref(),
                &paths,
                &options,
                &mut report,
            )
            .await;
            Ok(ImportResult(core(summary)?))
        }
    }

    fn options(
        &self,
        run_name: Option<String>,
        environment: Option<String>,
        revision: Option<String>,
        tickets: &[String],
    ) -> PyResult<ImportOptions> {
        Ok(ImportOptions {
            run_name,
            environment,
            revision,
            links: LinkRules {
                projects: self.inner.projects(),
            },
            workflow_tickets: tickets
                .iter()
                .map(|k| core(IssueKey::parse(k)))
                .collect::<PyResult<Vec<_>>>()?,
            ..ImportOptions::default()
        })
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the Python keyword arguments"
    )]
    fn record_request(
        tests: &Bound<'_, PyAny>,
        name: String,
        source: &str,
        environment: Option<String>,
        revision: Option<String>,
        url: Option<String>,
        started_at: Option<DateTime<Utc>>,
        finished_at: Option<DateTime<Utc>>,
    ) -> PyResult<RecordRequest> {
        no_nul("name", &name)?;
        if name.trim().is_empty() {
            return Err(invalid("name: a run needs a name"));
        }
        let tests = tests
            .extract::<Vec<TestTuple>>()
            .map_err(|e| {
                pyo3::exceptions::PyTypeError::new_err(format!(
                    "tests: each test must be (keys, title, folder, tickets, attempts): {e}"
                ))
            })?
            .into_iter()
            .enumerate()
            .map(|(i, t)| imported(i, t))
            .collect::<PyResult<Vec<_>>>()?;
        let started_at = started_at.unwrap_or_else(Utc::now);
        Ok(RecordRequest {
            run: TestRun {
                id: RunId::new(),
                source: system(source)?,
                name,
                started_at,
                finished_at: finished_at.filter(|f| *f >= started_at),
                environment,
                revision,
                url,
            },
            tests,
        })
    }

    fn record_fut(
        &self,
        req: RecordRequest,
    ) -> impl Future<Output = PyResult<RecordedRun>> + Send + 'static {
        let inner = self.inner.clone();
        async move {
            let store = inner.store.as_ref();
            let RecordRequest { run, tests } = req;
            let mut import = core(store.begin_run_import(&run).await)?;
            let mut new_tests = 0;
            let mut attempts = 0;
            for batch in tests.chunks(RECORD_BATCH) {
                let outcome = core(import.add(batch).await)?;
                new_tests += outcome.new_tests;
                attempts += outcome.results;
            }
            core(import.finish(run.finished_at).await)?;
            let mut tickets: Vec<IssueKey> = tests
                .iter()
                .flat_map(|t| t.ticket_keys.iter().cloned())
                .collect();
            tickets.sort();
            tickets.dedup();
            // The run is committed; failing to attach it is reported, not fatal, as for imports.
            let attached = match store.attach_run_to_active_steps(&run.id, &tickets).await {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(run = %run.id, error = %e, "the run could not be attached to workflow steps");
                    Vec::new()
                }
            };
            let failed = tests
                .iter()
                .filter(|t| t.attempts.last().is_some_and(|a| a.status.is_failure()))
                .count() as u64;
            let retried = tests.iter().filter(|t| t.attempts.len() > 1).count() as u64;
            Ok(RecordedRun {
                run_id: run.id.to_string(),
                name: run.name,
                tests: tests.len() as u64,
                attempts,
                new_tests,
                failed,
                retried,
                attached_steps: attached
                    .into_iter()
                    .map(|(w, pos)| (w.to_string(), pos + 1))
                    .collect(),
            })
        }
    }

    fn identities_fut(
        &self,
        system: &str,
        key: String,
    ) -> PyResult<impl Future<Output = PyResult<Vec<PyTestIdentity>>> + Send + 'static> {
        no_nul("key", &key)?;
        let key = ExternalKey::new(self::system(system)?, key);
        let inner = self.inner.clone();
        Ok(async move {
            let store = inner.store.as_ref();
            let id = core(store.resolve_test(&key).await)?;
            let rows = core(store.test_identities(&id).await)?;
            Ok(rows.into_iter().map(PyTestIdentity).collect())
        })
    }
}

fn paths_arg(paths: &Bound<'_, PyAny>) -> PyResult<Vec<PathBuf>> {
    if let Ok(one) = paths.extract::<PathBuf>() {
        return Ok(vec![one]);
    }
    paths
        .extract::<Vec<PathBuf>>()
        .map_err(|_| crate::records::wrong_type("paths", "a path or a list of paths"))
}

#[pymethods]
impl Results {
    /// Imports `JUnit` XML reports (one path or a list) as one run, in one transaction: any
    /// error (the message names the file and line) stores nothing. `tickets` attach the run to
    /// those tickets' active workflow steps too; `progress(file, files, test_cases)` is called
    /// after each batch.
    #[pyo3(signature = (paths, *, run_name=None, environment=None, revision=None, tickets=None, progress=None))]
    #[expect(clippy::too_many_arguments, reason = "mirrors `qapms import junit`")]
    fn import_junit(
        &self,
        py: Python<'_>,
        paths: &Bound<'_, PyAny>,
        run_name: Option<String>,
        environment: Option<String>,
        revision: Option<String>,
        tickets: Option<Vec<String>>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<ImportResult> {
        let paths = paths_arg(paths)?;
        let options = self.options(
            run_name,
            environment,
            revision,
            &tickets.unwrap_or_default(),
        )?;
        runtime::block_on(py, self.import_fut(paths, options, progress))
    }

    /// `import_junit()` as an awaitable.
    #[pyo3(signature = (paths, *, run_name=None, environment=None, revision=None, tickets=None, progress=None))]
    #[expect(clippy::too_many_arguments, reason = "mirrors `qapms import junit`")]
    fn async_import_junit<'py>(
        &self,
        py: Python<'py>,
        paths: &Bound<'py, PyAny>,
        run_name: Option<String>,
        environment: Option<String>,
        revision: Option<String>,
        tickets: Option<Vec<String>>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let paths = paths_arg(paths)?;
        let options = self.options(
            run_name,
            environment,
            revision,
            &tickets.unwrap_or_default(),
        )?;
        runtime::awaitable(py, self.import_fut(paths, options, progress))
    }

    /// Stores a run a test framework reported (what the pytest plugin calls once, at the end
    /// of a session), in one transaction. Each test is `(keys, title, folder, tickets,
    /// attempts)`: `keys` are `(system, key)` pairs with the canonical one first (`system` is
    /// `pytest`, `junit`, `testmo` or `postman`), `attempts` are `(status, duration_ms,
    /// message)` in the order they ran (`status` is `passed`, `failed`, `error`, `skipped`,
    /// `blocked`, `expected_failure` or `unexpected_pass`).
    #[pyo3(signature = (tests, *, name, source="pytest", environment=None, revision=None, url=None, started_at=None, finished_at=None))]
    #[expect(clippy::too_many_arguments, reason = "mirrors a test run's fields")]
    fn record_run(
        &self,
        py: Python<'_>,
        tests: &Bound<'_, PyAny>,
        name: String,
        source: &str,
        environment: Option<String>,
        revision: Option<String>,
        url: Option<String>,
        started_at: Option<DateTime<Utc>>,
        finished_at: Option<DateTime<Utc>>,
    ) -> PyResult<RecordedRun> {
        let req = Self::record_request(
            tests,
            name,
            source,
            environment,
            revision,
            url,
            started_at,
            finished_at,
        )?;
        runtime::block_on(py, self.record_fut(req))
    }

    /// `record_run()` as an awaitable.
    #[pyo3(signature = (tests, *, name, source="pytest", environment=None, revision=None, url=None, started_at=None, finished_at=None))]
    #[expect(clippy::too_many_arguments, reason = "mirrors a test run's fields")]
    fn async_record_run<'py>(
        &self,
        py: Python<'py>,
        tests: &Bound<'py, PyAny>,
        name: String,
        source: &str,
        environment: Option<String>,
        revision: Option<String>,
        url: Option<String>,
        started_at: Option<DateTime<Utc>>,
        finished_at: Option<DateTime<Utc>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let req = Self::record_request(
            tests,
            name,
            source,
            environment,
            revision,
            url,
            started_at,
            finished_at,
        )?;
        runtime::awaitable(py, self.record_fut(req))
    }

    /// Every key the test named `(system, key)` is or was known by, oldest first (closed rows
    /// are rename history). Raises `NotFoundError` for a key no test has.
    fn identities(
        &self,
        py: Python<'_>,
        system: &str,
        key: String,
    ) -> PyResult<Vec<PyTestIdentity>> {
        runtime::block_on(py, self.identities_fut(system, key)?)
    }

    /// `identities()` as an awaitable.
    fn async_identities<'py>(
        &self,
        py: Python<'py>,
        system: &str,
        key: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.identities_fut(system, key)?)
    }

    #[expect(clippy::unused_self, reason = "Python calls it on the instance")]
    fn __repr__(&self) -> &'static str {
        "Results()"
    }
}

record! {
    /// What a `JUnit` import stored. Test counts are by each test's last attempt.
    ImportResult as "ImportSummary" wraps ImportSummary;
    repr(run_id, run_name, tests, failed);
    fn run_id(&self) -> String { self.0.run_id.to_string() }
    fn run_name(&self) -> String { self.0.run_name.clone() }
    fn files(&self) -> u64 { self.0.files }
    /// Distinct tests.
    fn tests(&self) -> u64 { self.0.tests }
    /// Result rows: every attempt of every test.
    fn attempts(&self) -> u64 { self.0.attempts }
    fn passed(&self) -> u64 { self.0.passed }
    /// Failed or errored on their last attempt.
    fn failed(&self) -> u64 { self.0.failed }
    fn skipped(&self) -> u64 { self.0.skipped }
    /// Tests with more than one attempt.
    fn retried(&self) -> u64 { self.0.retried }
    /// Tests the store had never seen.
    fn new_tests(&self) -> u64 { self.0.new_tests }
    /// `(workflow id, step number)` of the active workflow steps the run was attached to.
    fn attached_steps(&self) -> Vec<(String, u32)> {
        self.0.attached_steps.iter().map(|(w, p)| (w.to_string(), p + 1)).collect()
    }
}

record! {
    /// One system's name for a test, and when it was current.
    PyTestIdentity as "TestIdentity" wraps TestIdentity;
    repr(system, key, test_id);
    /// The stable test id every system's key maps to.
    fn test_id(&self) -> String { self.0.test_id.to_string() }
    /// `pytest`, `junit`, `testmo` or `postman`.
    fn system(&self) -> &'static str { self.0.key.system.as_str() }
    fn key(&self) -> String { self.0.key.key.clone() }
    fn valid_from(&self) -> DateTime<Utc> { self.0.valid_from }
    /// Set when the key stopped naming the test (a rename).
    fn valid_to(&self) -> Option<DateTime<Utc>> { self.0.valid_to }
}

/// The acting user's running timer, or None.
pub(crate) async fn timer_status_fut(inner: Arc<Inner>) -> PyResult<Option<PyTimer>> {
    let user = inner.user().await?;
    Ok(core(tracker(&inner).status(user.id).await)?.map(PyTimer))
}

/// Registers the QA-loop classes on the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Workflows>()?;
    m.add_class::<PyWorkflow>()?;
    m.add_class::<WorkflowStep>()?;
    m.add_class::<WorkflowTemplate>()?;
    m.add_class::<PyTimer>()?;
    m.add_class::<PyTimeEntry>()?;
    m.add_class::<TimerContext>()?;
    m.add_class::<Results>()?;
    m.add_class::<RecordedRun>()?;
    m.add_class::<ImportResult>()?;
    m.add_class::<PyTestIdentity>()?;
    Ok(())
}
