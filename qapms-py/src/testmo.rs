//! `ws.testmo`: the core Testmo client, as Python sees it.
//!
//! Lists (projects, milestones, runs, results, cases, folders, automation runs) are core
//! streams that page until Testmo says there is no next page; they reach Python as
//! [`ResultIterator`]s, a page per batch. `submit_junit` reads the reports with the same
//! streaming reader the store import uses and drives the automation run lifecycle the way
//! `testmo automation:run:submit` does, reporting progress after each batch.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use qapms_core::integrations::testmo::Testmo;
use qapms_core::integrations::testmo::models::{
    AutomationRun, Case, CurrentUser, Folder, FolderId, Milestone, MilestoneId, Project, ProjectId,
    Run, RunId, RunResult,
};
use qapms_core::integrations::{Integration as _, ReportedTest, RunReport, SubmittedRun};
use qapms_core::model::TestStatus;
use qapms_core::results::{Limits, read_junit_files};
use secrecy::SecretString;

use crate::convert::to_py;
use crate::errors::PyQapmsError;
use crate::records::{
    AsyncResultIterator, PyHealth, ReprArg as _, ResultIterator, invalid, no_nul, record,
    spawn_stream, timeout,
};
use crate::runtime;

/// Items per batch handed to Python: Testmo's largest page.
const BATCH: usize = 100;

fn core<T>(result: qapms_core::Result<T>) -> PyResult<T> {
    result.map_err(|e| PyQapmsError::from(e).into())
}

/// What to list; each variant is one core stream.
enum Listing {
    Projects,
    Milestones(ProjectId),
    Runs {
        project: ProjectId,
        closed: Option<bool>,
        milestone: Option<u64>,
    },
    RunResults(RunId),
    Cases {
        project: ProjectId,
        folder: Option<u64>,
        automated: Option<bool>,
    },
    Folders(ProjectId),
    AutomationRuns(ProjectId),
}

/// A Testmo (REST v1) client. Get one as `Workspace.testmo`, or build one directly.
#[pyclass(module = "qapms", name = "TestmoClient", frozen)]
pub(crate) struct TestmoClient {
    testmo: Testmo,
    /// The first of `integrations.testmo.projects`, used when a call names no project.
    default_project: Option<u64>,
}

/// One test result to submit: `(name, folder, status, duration_ms, message, file, line)`.
type ReportedTuple = (
    String,
    String,
    String,
    Option<f64>,
    Option<String>,
    Option<String>,
    Option<u32>,
);

fn reported(tests: &Bound<'_, PyAny>) -> PyResult<Vec<ReportedTest>> {
    let tests = tests.extract::<Vec<ReportedTuple>>().map_err(|e| {
        pyo3::exceptions::PyTypeError::new_err(format!(
            "tests: each test must be (name, folder, status, duration_ms, message, file, line): {e}"
        ))
    })?;
    tests
        .into_iter()
        .enumerate()
        .map(|(i, (name, folder, status, ms, message, file, line))| {
            no_nul(&format!("tests[{i}].name"), &name)?;
            let status = core(status.parse::<TestStatus>())?;
            let duration_ms = match ms {
                None => None,
                Some(ms) if ms.is_finite() && ms >= 0.0 => Some(ms.round() as u64),
                Some(_) => {
                    return Err(invalid(format!(
                        "tests[{i}]: a duration must be a non-negative number"
                    )));
                }
            };
            Ok(ReportedTest {
                name,
                folder,
                status,
                duration_ms,
                message,
                file,
                line,
            })
        })
        .collect()
}

/// How to submit a run, gathered from Python's arguments.
struct Submission {
    project: ProjectId,
    report: RunReport,
    paths: Vec<PathBuf>,
    progress: Option<Arc<Py<PyAny>>>,
}

impl TestmoClient {
    pub(crate) fn new(testmo: Testmo, default_project: Option<u64>) -> Self {
        Self {
            testmo,
            default_project,
        }
    }

    fn project(&self, project: Option<u64>) -> PyResult<ProjectId> {
        project.or(self.default_project).map(ProjectId).ok_or_else(|| {
            invalid(
                "no Testmo project: pass project=ID or list one in integrations.testmo.projects",
            )
        })
    }

    fn feed(
        &self,
        listing: &Listing,
    ) -> PyResult<tokio::sync::mpsc::Receiver<qapms_core::Result<Box<dyn crate::records::PyBatch>>>>
    {
        let t = &self.testmo;
        match *listing {
            Listing::Projects => spawn_stream(t.projects(), BATCH, TestmoProject),
            Listing::Milestones(p) => spawn_stream(t.milestones(p), BATCH, TestmoMilestone),
            Listing::Runs {
                project,
                closed,
                milestone,
            } => {
                let mut list = t.runs(project);
                if let Some(closed) = closed {
                    list = list.closed(closed);
                }
                if let Some(m) = milestone {
                    list = list.milestone(MilestoneId(m));
                }
                spawn_stream(list.stream(), BATCH, TestmoRun)
            }
            Listing::RunResults(run) => spawn_stream(t.run_results(run), BATCH, TestmoResult),
            Listing::Cases {
                project,
                folder,
                automated,
            } => {
                let mut list = t.cases().list(project);
                if let Some(folder) = folder {
                    list = list.folder(FolderId(folder));
                }
                if let Some(automated) = automated {
                    list = list.automated(automated);
                }
                spawn_stream(list.stream(), BATCH, TestmoCase)
            }
            Listing::Folders(p) => spawn_stream(t.cases().folders(p), BATCH, TestmoFolder),
            Listing::AutomationRuns(p) => {
                spawn_stream(t.automation().runs(p), BATCH, TestmoAutomationRun)
            }
        }
    }

    fn user_fut(&self) -> impl Future<Output = PyResult<TestmoUser>> + Send + 'static {
        let t = self.testmo.clone();
        async move { Ok(TestmoUser(core(t.user().await)?)) }
    }

    fn project_fut(
        &self,
        id: u64,
    ) -> impl Future<Output = PyResult<TestmoProject>> + Send + 'static {
        let t = self.testmo.clone();
        async move { Ok(TestmoProject(core(t.project(ProjectId(id)).await)?)) }
    }

    fn health_fut(&self) -> impl Future<Output = PyResult<PyHealth>> + Send + 'static {
        let t = self.testmo.clone();
        async move { Ok(PyHealth(t.health().await)) }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the Python keyword arguments"
    )]
    fn submission(
        &self,
        paths: Vec<PathBuf>,
        project: Option<u64>,
        name: String,
        source: &str,
        tags: Option<Vec<String>>,
        milestone: Option<String>,
        config: Option<String>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Submission> {
        let source = source.to_owned();
        let tags = tags.unwrap_or_default();
        for (what, value) in [("name", &name), ("source", &source)] {
            no_nul(what, value)?;
        }
        Ok(Submission {
            project: self.project(project)?,
            report: RunReport {
                name,
                source,
                tags,
                milestone,
                config,
                tests: Vec::new(),
            },
            paths,
            progress: progress.map(Arc::new),
        })
    }

    fn submit_fut(
        &self,
        s: Submission,
    ) -> impl Future<Output = PyResult<TestmoSubmittedRun>> + Send + 'static {
        let t = self.testmo.clone();
        async move {
            let mut report = s.report;
            if !s.paths.is_empty() {
                // Reading is blocking file I/O; keep it off the runtime's async workers.
                let paths = s.paths;
                let cases = tokio::task::spawn_blocking(move || {
                    read_junit_files(&paths, Limits::default())
                })
                .await
                .map_err(|e| invalid(format!("reading the reports failed: {e}")))?;
                report.tests.extend(
                    core(cases)?
                        .iter()
                        .filter_map(qapms_core::integrations::testmo::reported_from_junit),
                );
            }
            let mut submission = t
                .submission(s.project, report.name.clone(), report.source.clone())
                .tests(report.tests);
            for tag in report.tags {
                submission = submission.tag(tag);
            }
            if let Some(m) = report.milestone {
                submission = submission.milestone(m);
            }
            if let Some(c) = report.config {
                submission = submission.config(c);
            }
            if let Some(callback) = s.progress {
                submission = submission.on_progress(move |done, total| {
                    Python::attach(|py| {
                        // A failing callback cannot stop a submission half-way through Testmo's
                        // lifecycle; Python reports it as an unraisable exception instead.
                        if let Err(err) = callback.call1(py, (done, total)) {
                            err.write_unraisable(py, Some(callback.bind(py)));
                        }
                    });
                });
            }
            Ok(TestmoSubmittedRun(core(submission.send().await)?))
        }
    }
}

#[pymethods]
impl TestmoClient {
    /// A client for the Testmo instance at `base_url` (`https://acme.testmo.net`), with an API
    /// token. `project` is the default project for calls that name none.
    #[new]
    #[pyo3(signature = (base_url, *, token, project=None, timeout=None))]
    fn py_new(
        base_url: &str,
        token: &str,
        project: Option<u64>,
        timeout: Option<f64>,
    ) -> PyResult<Self> {
        no_nul("token", token)?;
        let base = base_url.trim_end_matches('/');
        let api = if base.ends_with("/api/v1") {
            base.to_owned()
        } else {
            format!("{base}/api/v1")
        };
        let testmo = Testmo::builder(api)
            .token(SecretString::from(token.to_owned()))
            .timeout(self::timeout(timeout)?)
            .build();
        Ok(Self::new(core(testmo)?, project))
    }

    /// The project used when a call names none, if any.
    #[getter]
    fn default_project(&self) -> Option<u64> {
        self.default_project
    }

    /// The user the token belongs to.
    fn user(&self, py: Python<'_>) -> PyResult<TestmoUser> {
        runtime::block_on(py, self.user_fut())
    }

    /// `user()` as an awaitable.
    fn async_user<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.user_fut())
    }

    /// One project by id.
    fn project_info(&self, py: Python<'_>, id: u64) -> PyResult<TestmoProject> {
        runtime::block_on(py, self.project_fut(id))
    }

    /// `project_info()` as an awaitable.
    fn async_project_info<'py>(&self, py: Python<'py>, id: u64) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.project_fut(id))
    }

    /// Every project, as a lazy iterator.
    fn projects(&self) -> PyResult<ResultIterator> {
        Ok(ResultIterator::new(self.feed(&Listing::Projects)?))
    }

    /// `projects()` as an async iterator.
    fn async_projects(&self) -> PyResult<AsyncResultIterator> {
        Ok(AsyncResultIterator::new(self.feed(&Listing::Projects)?))
    }

    /// The milestones of a project (default: the configured one).
    #[pyo3(signature = (project=None))]
    fn milestones(&self, project: Option<u64>) -> PyResult<ResultIterator> {
        let p = self.project(project)?;
        Ok(ResultIterator::new(self.feed(&Listing::Milestones(p))?))
    }

    /// `milestones()` as an async iterator.
    #[pyo3(signature = (project=None))]
    fn async_milestones(&self, project: Option<u64>) -> PyResult<AsyncResultIterator> {
        let p = self.project(project)?;
        Ok(AsyncResultIterator::new(
            self.feed(&Listing::Milestones(p))?,
        ))
    }

    /// Manual test runs of a project, optionally only closed (or open) ones or those of one
    /// milestone.
    #[pyo3(signature = (project=None, *, closed=None, milestone=None))]
    fn runs(
        &self,
        project: Option<u64>,
        closed: Option<bool>,
        milestone: Option<u64>,
    ) -> PyResult<ResultIterator> {
        let project = self.project(project)?;
        Ok(ResultIterator::new(self.feed(&Listing::Runs {
            project,
            closed,
            milestone,
        })?))
    }

    /// `runs()` as an async iterator.
    #[pyo3(signature = (project=None, *, closed=None, milestone=None))]
    fn async_runs(
        &self,
        project: Option<u64>,
        closed: Option<bool>,
        milestone: Option<u64>,
    ) -> PyResult<AsyncResultIterator> {
        let project = self.project(project)?;
        Ok(AsyncResultIterator::new(self.feed(&Listing::Runs {
            project,
            closed,
            milestone,
        })?))
    }

    /// The results of a manual run.
    fn run_results(&self, run: u64) -> PyResult<ResultIterator> {
        Ok(ResultIterator::new(
            self.feed(&Listing::RunResults(RunId(run)))?,
        ))
    }

    /// `run_results()` as an async iterator.
    fn async_run_results(&self, run: u64) -> PyResult<AsyncResultIterator> {
        Ok(AsyncResultIterator::new(
            self.feed(&Listing::RunResults(RunId(run)))?,
        ))
    }

    /// The repository's cases of a project, optionally of one folder, or only automated (or
    /// only manual) ones.
    #[pyo3(signature = (project=None, *, folder=None, automated=None))]
    fn cases(
        &self,
        project: Option<u64>,
        folder: Option<u64>,
        automated: Option<bool>,
    ) -> PyResult<ResultIterator> {
        let project = self.project(project)?;
        Ok(ResultIterator::new(self.feed(&Listing::Cases {
            project,
            folder,
            automated,
        })?))
    }

    /// `cases()` as an async iterator.
    #[pyo3(signature = (project=None, *, folder=None, automated=None))]
    fn async_cases(
        &self,
        project: Option<u64>,
        folder: Option<u64>,
        automated: Option<bool>,
    ) -> PyResult<AsyncResultIterator> {
        let project = self.project(project)?;
        Ok(AsyncResultIterator::new(self.feed(&Listing::Cases {
            project,
            folder,
            automated,
        })?))
    }

    /// The repository folders of a project.
    #[pyo3(signature = (project=None))]
    fn folders(&self, project: Option<u64>) -> PyResult<ResultIterator> {
        let p = self.project(project)?;
        Ok(ResultIterator::new(self.feed(&Listing::Folders(p))?))
    }

    /// `folders()` as an async iterator.
    #[pyo3(signature = (project=None))]
    fn async_folders(&self, project: Option<u64>) -> PyResult<AsyncResultIterator> {
        let p = self.project(project)?;
        Ok(AsyncResultIterator::new(self.feed(&Listing::Folders(p))?))
    }

    /// The automation runs of a project.
    #[pyo3(signature = (project=None))]
    fn automation_runs(&self, project: Option<u64>) -> PyResult<ResultIterator> {
        let p = self.project(project)?;
        Ok(ResultIterator::new(self.feed(&Listing::AutomationRuns(p))?))
    }

    /// `automation_runs()` as an async iterator.
    #[pyo3(signature = (project=None))]
    fn async_automation_runs(&self, project: Option<u64>) -> PyResult<AsyncResultIterator> {
        let p = self.project(project)?;
        Ok(AsyncResultIterator::new(
            self.feed(&Listing::AutomationRuns(p))?,
        ))
    }

    /// Submits `JUnit` XML reports as one automation run (create run, thread, append in
    /// batches, complete), as `testmo automation:run:submit` does. `progress(done, total)` is
    /// called after each batch. Returns where the run is.
    #[pyo3(signature = (paths, *, name, project=None, source="junit", tags=None, milestone=None, config=None, progress=None))]
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the Testmo CLI's options"
    )]
    fn submit_junit(
        &self,
        py: Python<'_>,
        paths: Vec<PathBuf>,
        name: String,
        project: Option<u64>,
        source: &str,
        tags: Option<Vec<String>>,
        milestone: Option<String>,
        config: Option<String>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<TestmoSubmittedRun> {
        if paths.is_empty() {
            return Err(invalid("paths: give at least one JUnit XML file"));
        }
        let s = self.submission(
            paths, project, name, source, tags, milestone, config, progress,
        )?;
        runtime::block_on(py, self.submit_fut(s))
    }

    /// `submit_junit()` as an awaitable.
    #[pyo3(signature = (paths, *, name, project=None, source="junit", tags=None, milestone=None, config=None, progress=None))]
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the Testmo CLI's options"
    )]
    fn async_submit_junit<'py>(
        &self,
        py: Python<'py>,
        paths: Vec<PathBuf>,
        name: String,
        project: Option<u64>,
        source: &str,
        tags: Option<Vec<String>>,
        milestone: Option<String>,
        config: Option<String>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if paths.is_empty() {
            return Err(invalid("paths: give at least one JUnit XML file"));
        }
        let s = self.submission(
            paths, project, name, source, tags, milestone, config, progress,
        )?;
        runtime::awaitable(py, self.submit_fut(s))
    }

    /// Submits results a test framework reported (what the pytest plugin sends) as one
    /// automation run. Each test is `(name, folder, status, duration_ms, message, file,
    /// line)`; `status` is a qapms status (`passed`, `failed`, `error`, `skipped`, …).
    #[pyo3(signature = (tests, *, name, project=None, source="pytest", tags=None, milestone=None, config=None, progress=None))]
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the Testmo CLI's options"
    )]
    fn submit_results(
        &self,
        py: Python<'_>,
        tests: &Bound<'_, PyAny>,
        name: String,
        project: Option<u64>,
        source: &str,
        tags: Option<Vec<String>>,
        milestone: Option<String>,
        config: Option<String>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<TestmoSubmittedRun> {
        let reported = reported(tests)?;
        let mut s = self.submission(
            Vec::new(),
            project,
            name,
            source,
            tags,
            milestone,
            config,
            progress,
        )?;
        s.report.tests = reported;
        runtime::block_on(py, self.submit_fut(s))
    }

    /// `submit_results()` as an awaitable.
    #[pyo3(signature = (tests, *, name, project=None, source="pytest", tags=None, milestone=None, config=None, progress=None))]
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the Testmo CLI's options"
    )]
    fn async_submit_results<'py>(
        &self,
        py: Python<'py>,
        tests: &Bound<'py, PyAny>,
        name: String,
        project: Option<u64>,
        source: &str,
        tags: Option<Vec<String>>,
        milestone: Option<String>,
        config: Option<String>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let reported = reported(tests)?;
        let mut s = self.submission(
            Vec::new(),
            project,
            name,
            source,
            tags,
            milestone,
            config,
            progress,
        )?;
        s.report.tests = reported;
        runtime::awaitable(py, self.submit_fut(s))
    }

    /// A cheap authenticated call.
    fn health(&self, py: Python<'_>) -> PyResult<PyHealth> {
        runtime::block_on(py, self.health_fut())
    }

    /// `health()` as an awaitable.
    fn async_health<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.health_fut())
    }

    /// Calls, errors and latency of this client so far.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.testmo.metrics())
    }

    fn __repr__(&self) -> String {
        format!(
            "TestmoClient({}, default_project={})",
            self.testmo.endpoint().repr_arg(),
            self.default_project.repr_arg()
        )
    }
}

record! {
    /// The Testmo user a token belongs to.
    TestmoUser as "TestmoUser" wraps CurrentUser;
    repr(id, name);
    fn id(&self) -> Option<u64> { self.0.id }
    fn name(&self) -> Option<String> { self.0.name.clone() }
    fn timezone(&self) -> Option<String> { self.0.timezone.clone() }
}

record! {
    /// A Testmo project.
    TestmoProject as "TestmoProject" wraps Project;
    repr(id, name);
    fn id(&self) -> u64 { self.0.id.0 }
    fn name(&self) -> Option<String> { self.0.name.clone() }
    fn is_completed(&self) -> Option<bool> { self.0.is_completed }
    /// As Testmo writes it (ISO 8601).
    fn created_at(&self) -> Option<String> { self.0.created_at.clone() }
}

record! {
    /// A milestone of a project.
    TestmoMilestone as "TestmoMilestone" wraps Milestone;
    repr(id, name);
    fn id(&self) -> u64 { self.0.id.0 }
    fn project_id(&self) -> Option<u64> { self.0.project_id.map(|p| p.0) }
    fn parent_id(&self) -> Option<u64> { self.0.parent_id.map(|p| p.0) }
    fn name(&self) -> Option<String> { self.0.name.clone() }
    fn is_started(&self) -> Option<bool> { self.0.is_started }
    fn is_completed(&self) -> Option<bool> { self.0.is_completed }
    fn due_date(&self) -> Option<String> { self.0.due_date.clone() }
    fn automation_tags(&self) -> Vec<String> { self.0.automation_tags.clone().unwrap_or_default() }
}

record! {
    /// A manual test run.
    TestmoRun as "TestmoRun" wraps Run;
    repr(id, name, is_closed);
    fn id(&self) -> u64 { self.0.id.0 }
    fn project_id(&self) -> Option<u64> { self.0.project_id.map(|p| p.0) }
    fn name(&self) -> Option<String> { self.0.name.clone() }
    fn milestone_id(&self) -> Option<u64> { self.0.milestone_id.map(|m| m.0) }
    fn is_closed(&self) -> Option<bool> { self.0.is_closed }
    fn tags(&self) -> Vec<String> { self.0.tags.clone().unwrap_or_default() }
    fn success_count(&self) -> Option<u64> { self.0.success_count }
    fn failure_count(&self) -> Option<u64> { self.0.failure_count }
    fn total_count(&self) -> Option<u64> { self.0.total_count }
    fn created_at(&self) -> Option<String> { self.0.created_at.clone() }
}

record! {
    /// One result of a manual run.
    TestmoResult as "TestmoResult" wraps RunResult;
    repr(id, case_id, status_id);
    fn id(&self) -> u64 { self.0.id }
    fn run_id(&self) -> Option<u64> { self.0.run_id.map(|r| r.0) }
    fn case_id(&self) -> Option<u64> { self.0.case_id.map(|c| c.0) }
    fn status_id(&self) -> Option<u64> { self.0.status_id }
    fn is_latest(&self) -> Option<bool> { self.0.is_latest }
    fn note(&self) -> Option<String> { self.0.note.clone() }
    /// Elapsed time in microseconds, as Testmo counts it.
    fn elapsed(&self) -> Option<u64> { self.0.elapsed }
    fn created_at(&self) -> Option<String> { self.0.created_at.clone() }
}

record! {
    /// A case of the repository.
    TestmoCase as "TestmoCase" wraps Case;
    repr(id, name);
    fn id(&self) -> u64 { self.0.id.0 }
    fn project_id(&self) -> Option<u64> { self.0.project_id.map(|p| p.0) }
    fn folder_id(&self) -> Option<u64> { self.0.folder_id.map(|f| f.0) }
    fn name(&self) -> Option<String> { self.0.name.clone() }
    fn key(&self) -> Option<u64> { self.0.key }
    fn state_id(&self) -> Option<u64> { self.0.state_id }
    fn status_id(&self) -> Option<u64> { self.0.status_id }
    /// Estimate in seconds.
    fn estimate(&self) -> Option<u64> { self.0.estimate }
    fn has_automation(&self) -> Option<bool> { self.0.has_automation }
    /// Tag ids.
    fn tags(&self) -> Vec<u64> { self.0.tags.clone().unwrap_or_default() }
    fn updated_at(&self) -> Option<String> { self.0.updated_at.clone() }
}

record! {
    /// A folder of the repository.
    TestmoFolder as "TestmoFolder" wraps Folder;
    repr(id, name, parent_id);
    fn id(&self) -> u64 { self.0.id.0 }
    fn project_id(&self) -> Option<u64> { self.0.project_id.map(|p| p.0) }
    fn name(&self) -> Option<String> { self.0.name.clone() }
    fn parent_id(&self) -> Option<u64> { self.0.parent_id.map(|f| f.0) }
    fn depth(&self) -> Option<u64> { self.0.depth }
}

record! {
    /// An automation run (what `submit_junit` creates).
    TestmoAutomationRun as "TestmoAutomationRun" wraps AutomationRun;
    repr(id, name, is_completed);
    fn id(&self) -> u64 { self.0.id.0 }
    fn project_id(&self) -> Option<u64> { self.0.project_id.map(|p| p.0) }
    fn source_id(&self) -> Option<u64> { self.0.source_id }
    fn name(&self) -> Option<String> { self.0.name.clone() }
    fn status(&self) -> Option<u64> { self.0.status }
    fn is_completed(&self) -> Option<bool> { self.0.is_completed }
    fn tags(&self) -> Vec<String> { self.0.tags.clone().unwrap_or_default() }
    fn total_count(&self) -> Option<u64> { self.0.total_count }
    fn failure_count(&self) -> Option<u64> { self.0.failure_count }
    fn created_at(&self) -> Option<String> { self.0.created_at.clone() }
}

record! {
    /// Where a submitted automation run is.
    TestmoSubmittedRun as "TestmoSubmittedRun" wraps SubmittedRun;
    repr(id, tests, failures);
    /// The automation run's id.
    fn id(&self) -> String { self.0.id.clone() }
    fn tests(&self) -> usize { self.0.tests }
    /// Tests Testmo counts as failures.
    fn failures(&self) -> usize { self.0.failures }
}

/// Registers the Testmo classes on the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TestmoClient>()?;
    m.add_class::<TestmoUser>()?;
    m.add_class::<TestmoProject>()?;
    m.add_class::<TestmoMilestone>()?;
    m.add_class::<TestmoRun>()?;
    m.add_class::<TestmoResult>()?;
    m.add_class::<TestmoCase>()?;
    m.add_class::<TestmoFolder>()?;
    m.add_class::<TestmoAutomationRun>()?;
    m.add_class::<TestmoSubmittedRun>()?;
    Ok(())
}
