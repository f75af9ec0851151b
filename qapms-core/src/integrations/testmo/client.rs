//! The Testmo client: one handler per resource, a builder per call with options.
//!
//! `Testmo` holds the shared [`HttpClient`] and the append batch size. Reads are streams over
//! Testmo's page-number paging (`per_page` is one of 15/25/50/100, so 100 is asked, and
//! `next_page` is followed until it is `null`: nothing is truncated however the server pages).
//! Writes accept any 2xx, since the exact success codes are not documented.
//!
//! [`RunSubmission`] is the automation lifecycle as one call. When an append fails midway the
//! run is not left "running" for ever: the submission records a highlighted run field saying
//! how far it got, adds one failed test named `qapms: submission aborted` so the run's status
//! is a failure rather than a misleading partial pass, completes the thread and the run, and
//! returns the original error with the count of tests that made it.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt as _};
use serde::de::DeserializeOwned;
use sha2::{Digest as _, Sha256};

use super::config::TestmoBuilder;
use super::error::{append_failed, explain};
use super::models::{
    AppendRun, AppendTests, AutomationField, AutomationLink, AutomationRun, AutomationRunId,
    AutomationTest, Case, CaseExpands, CaseWithTags, CompleteRun, CompleteThread,
    CreateAutomationRun, CreateThread, Created, CurrentUser, Folder, FolderId, Milestone, Page,
    Project, ProjectId, ResultWithStatus, Row, Run, RunId, RunResult, RunResultExpands,
    StatusExpand, ThreadId,
};
use crate::http::{HttpClient, MetricsSnapshot, TokenPage, token_stream};
use crate::integrations::{
    HealthReport, Integration, ReportedTest, RunReport, SourceTestCase, SubmittedRun,
    TestCaseSource, TestRunSink,
};
use crate::model::TestStatus;
use crate::results::JunitCase;
use crate::{Error, ErrorKind, Result};

/// The largest page Testmo serves.
const PER_PAGE: u32 = 100;

/// The folder of the synthetic test that marks an aborted submission.
const ABORT_FOLDER: &str = "qapms";
const ABORT_TEST: &str = "qapms: submission aborted";

/// Testmo requires a folder on every test; a report without class or suite names gets this.
const DEFAULT_FOLDER: &str = "default";

/// A Testmo client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Testmo {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: HttpClient,
    batch: usize,
}

impl Testmo {
    /// Starts a client for the API root `api_url` (`https://acme.testmo.net/api/v1`).
    ///
    /// ```no_run
    /// # fn run() -> qapms_core::Result<()> {
    /// use qapms_core::integrations::testmo::Testmo;
    /// use secrecy::SecretString;
    ///
    /// let testmo = Testmo::builder("https://acme.testmo.net/api/v1")
    ///     .token(SecretString::from("testmo-token"))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn builder(api_url: impl Into<String>) -> TestmoBuilder {
        TestmoBuilder::new(api_url)
    }

    pub(crate) fn from_parts(http: HttpClient, batch: usize) -> Self {
        Self {
            inner: Arc::new(Inner { http, batch }),
        }
    }

    /// Call counters for the dashboard.
    ///
    /// ```no_run
    /// # fn run(testmo: qapms_core::integrations::testmo::Testmo) {
    /// let calls = testmo.metrics().calls;
    /// # }
    /// ```
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.http.metrics()
    }

    fn http(&self) -> &HttpClient {
        &self.inner.http
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        op: &str,
        project: Option<u64>,
    ) -> Result<T> {
        self.http()
            .get(path)
            .operation(op)
            .json_response()
            .await
            .map_err(|e| explain(e, project))
    }

    /// Every item of a paged list, following `next_page` until the server has no more.
    fn paged<T>(
        &self,
        path: String,
        op: &'static str,
        filters: Vec<(String, String)>,
        project: Option<u64>,
    ) -> BoxStream<'static, Result<T>>
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.paged_expanded(
            path,
            op,
            filters,
            project,
            |items: Vec<T>, _: Option<serde::de::IgnoredAny>| items,
        )
    }

    /// [`paged`](Self::paged) for a list asked with `expands=`: `merge` turns each page's
    /// items and what it expands (`X`) into the items streamed.
    fn paged_expanded<T, X, U>(
        &self,
        path: String,
        op: &'static str,
        filters: Vec<(String, String)>,
        project: Option<u64>,
        merge: impl Fn(Vec<T>, Option<X>) -> Vec<U> + Clone + Send + Sync + 'static,
    ) -> BoxStream<'static, Result<U>>
    where
        T: DeserializeOwned + Send + 'static,
        X: DeserializeOwned + Send + 'static,
        U: Send + 'static,
    {
        let testmo = self.clone();
        token_stream(move |token: Option<String>| {
            let testmo = testmo.clone();
            let path = path.clone();
            let filters = filters.clone();
            let merge = merge.clone();
            async move {
                let asked: u64 = match token {
                    None => 1,
                    Some(t) => t.parse().map_err(|_| {
                        Error::new(
                            ErrorKind::Upstream,
                            format!("testmo {op}: bad next_page `{t}`"),
                        )
                    })?,
                };
                let mut request = testmo
                    .http()
                    .get(&path)
                    .operation(op)
                    .query("page", asked)
                    .query("per_page", PER_PAGE);
                for (key, value) in &filters {
                    request = request.query(key.clone(), value);
                }
                let page: Page<T, X> = request
                    .json_response()
                    .await
                    .map_err(|e| explain(e, project))?;
                let next = next_page_token(op, asked, page.next_page)?;
                Ok(TokenPage {
                    items: merge(page.result, page.expands),
                    next,
                })
            }
        })
    }

    /// The token's user; the cheap call [`Integration::health`] makes.
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo) -> qapms_core::Result<()> {
    /// let me = testmo.user().await?;
    /// tracing::info!("{:?}", me.name);
    /// # Ok(()) }
    /// ```
    pub async fn user(&self) -> Result<CurrentUser> {
        self.get_json("/user", "user", None).await
    }

    /// Every project the token's user can see.
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo) -> qapms_core::Result<()> {
    /// use futures::TryStreamExt as _;
    /// let projects: Vec<_> = testmo.projects().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn projects(&self) -> BoxStream<'static, Result<Project>> {
        self.paged("/projects".to_owned(), "projects", Vec::new(), None)
    }

    /// One project.
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::testmo::models::ProjectId;
    /// let project = testmo.project(ProjectId(1)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn project(&self, id: ProjectId) -> Result<Project> {
        let row: Row<Project> = self
            .get_json(&format!("/projects/{id}"), "project", Some(id.0))
            .await?;
        Ok(row.result)
    }

    /// Every milestone of a project.
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo) -> qapms_core::Result<()> {
    /// use futures::TryStreamExt as _;
    /// use qapms_core::integrations::testmo::models::ProjectId;
    /// let milestones: Vec<_> = testmo.milestones(ProjectId(1)).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn milestones(&self, project: ProjectId) -> BoxStream<'static, Result<Milestone>> {
        self.paged(
            format!("/projects/{project}/milestones"),
            "milestones",
            Vec::new(),
            Some(project.0),
        )
    }

    /// Manual test runs of a project; see [`ListRuns`] for filters.
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo) -> qapms_core::Result<()> {
    /// use futures::TryStreamExt as _;
    /// use qapms_core::integrations::testmo::models::ProjectId;
    /// let open: Vec<_> = testmo.runs(ProjectId(1)).closed(false).stream().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn runs(&self, project: ProjectId) -> ListRuns<'_> {
        ListRuns {
            testmo: self,
            project,
            filters: Vec::new(),
        }
    }

    /// Every result of a manual run (all attempts, not only the latest).
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo) -> qapms_core::Result<()> {
    /// use futures::TryStreamExt as _;
    /// use qapms_core::integrations::testmo::models::RunId;
    /// let results: Vec<_> = testmo.run_results(RunId(7)).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn run_results(&self, run: RunId) -> BoxStream<'static, Result<RunResult>> {
        self.paged(
            format!("/runs/{run}/results"),
            "run_results",
            Vec::new(),
            None,
        )
    }

    /// Every result of a manual run, each with its status as the instance configures it
    /// (`expands=statuses`), so a caller can tell passed from failed without knowing the
    /// instance's status ids.
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo) -> qapms_core::Result<()> {
    /// use futures::TryStreamExt as _;
    /// use qapms_core::integrations::testmo::models::RunId;
    /// let results: Vec<_> = testmo.run_results_with_statuses(RunId(7)).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn run_results_with_statuses(
        &self,
        run: RunId,
    ) -> BoxStream<'static, Result<ResultWithStatus>> {
        self.paged_expanded(
            format!("/runs/{run}/results"),
            "run_results",
            vec![("expands".to_owned(), "statuses".to_owned())],
            None,
            |results: Vec<RunResult>, expands: Option<RunResultExpands>| {
                let statuses: std::collections::HashMap<u64, StatusExpand> = expands
                    .unwrap_or_default()
                    .statuses
                    .into_iter()
                    .map(|s| (s.id, s))
                    .collect();
                results
                    .into_iter()
                    .map(|result| {
                        let status = result.status_id.and_then(|id| statuses.get(&id).cloned());
                        ResultWithStatus { result, status }
                    })
                    .collect()
            },
        )
    }

    /// The case repository: cases and folders.
    pub fn cases(&self) -> CaseHandler<'_> {
        CaseHandler { testmo: self }
    }

    /// Automation runs and their lifecycle calls, one by one.
    pub fn automation(&self) -> AutomationHandler<'_> {
        AutomationHandler { testmo: self }
    }

    /// A whole automation run to submit: create, thread, batched appends, complete.
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo, tests: Vec<qapms_core::integrations::ReportedTest>) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::testmo::models::ProjectId;
    /// let submitted = testmo
    ///     .submission(ProjectId(1), "CI build 1234", "backend-unit")
    ///     .config("linux-x86_64")
    ///     .milestone("Release 2.3")
    ///     .tag("nightly")
    ///     .tests(tests)
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn submission(
        &self,
        project: ProjectId,
        name: impl Into<String>,
        source: impl Into<String>,
    ) -> RunSubmission<'_> {
        RunSubmission {
            testmo: self,
            project,
            run: CreateAutomationRun {
                name: name.into(),
                source: source.into(),
                ..CreateAutomationRun::default()
            },
            thread_fields: Vec::new(),
            tests: Vec::new(),
            batch: self.inner.batch,
            progress: None,
        }
    }

    /// Submits parsed `JUnit` test cases as one automation run, as
    /// `testmo automation:run:submit` does: `run` gives name, source, tags, milestone and
    /// config, and each case becomes a test (its last attempt decides the status).
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo) -> qapms_core::Result<()> {
    /// use std::io::BufReader;
    /// use qapms_core::integrations::RunReport;
    /// use qapms_core::integrations::testmo::models::ProjectId;
    /// use qapms_core::results::{JunitReader, Limits};
    ///
    /// let file = std::fs::File::open("junit.xml").map_err(|e| qapms_core::Error::invalid_input(e.to_string()))?;
    /// let mut reader = JunitReader::new(BufReader::new(file), Limits::default());
    /// let mut cases = Vec::new();
    /// while let Some(case) = reader.next_case().map_err(|e| qapms_core::Error::invalid_input(e.message))? {
    ///     cases.push(case);
    /// }
    /// let report = RunReport { name: "CI 1234".into(), source: "backend".into(), ..RunReport::default() };
    /// testmo.submit_junit(ProjectId(1), report, cases).await?;
    /// # Ok(()) }
    /// ```
    pub async fn submit_junit(
        &self,
        project: ProjectId,
        mut run: RunReport,
        cases: impl IntoIterator<Item = JunitCase>,
    ) -> Result<SubmittedRun> {
        run.tests.extend(
            cases
                .into_iter()
                .filter_map(|case| reported_from_junit(&case)),
        );
        self.submit_report(project, &run).await
    }

    async fn submit_report(&self, project: ProjectId, run: &RunReport) -> Result<SubmittedRun> {
        let mut submission = self
            .submission(project, run.name.clone(), run.source.clone())
            .tests(run.tests.iter().cloned());
        submission.run.tags.clone_from(&run.tags);
        submission.run.milestone.clone_from(&run.milestone);
        submission.run.config.clone_from(&run.config);
        submission.send().await
    }
}

/// A case as a test to report: its last attempt (the verdict), folder from class or suite.
/// A case without attempts is not reported.
pub fn reported_from_junit(case: &JunitCase) -> Option<ReportedTest> {
    let last = case.attempts.last()?;
    let folder = case
        .classname
        .clone()
        .or_else(|| case.suite.clone())
        .unwrap_or_default();
    Some(ReportedTest {
        name: case.name.clone(),
        folder,
        status: last.status,
        duration_ms: last.duration_ms,
        message: last.message.clone(),
        file: case.file.clone(),
        line: case.line,
    })
}

/// Testmo's status name for a qapms status. Errors count as failures, as the Testmo CLI does;
/// an expected failure is not a failure of the build, so it is reported as skipped; an
/// unexpected pass is.
pub fn testmo_status(status: TestStatus) -> &'static str {
    match status {
        TestStatus::Passed => "passed",
        TestStatus::Failed | TestStatus::Error | TestStatus::UnexpectedPass => "failed",
        TestStatus::Skipped | TestStatus::ExpectedFailure => "skipped",
        TestStatus::Blocked => "blocked",
    }
}

/// The stable key Testmo matches a test by across runs: a hash of folder and name.
pub fn test_key(folder: &str, name: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(folder.as_bytes());
    hash.update([0]);
    hash.update(name.as_bytes());
    let digest = hash.finalize();
    digest[..8]
        .iter()
        .fold(String::with_capacity(16), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

fn automation_test(test: &ReportedTest) -> AutomationTest {
    let mut fields = Vec::new();
    if let Some(message) = test.message.as_deref().filter(|m| !m.is_empty()) {
        let label = if test.status.is_failure() {
            "Failure"
        } else {
            "Output"
        };
        fields.push(AutomationField::console(label, message));
    }
    let folder = if test.folder.trim().is_empty() {
        DEFAULT_FOLDER
    } else {
        test.folder.as_str()
    };
    AutomationTest {
        key: test_key(folder, &test.name),
        name: test.name.clone(),
        status: testmo_status(test.status).to_owned(),
        folder: folder.to_owned(),
        elapsed: test.duration_ms.map(|ms| ms.saturating_mul(1000)),
        file: test.file.clone(),
        line: test.line,
        fields,
    }
}

/// Manual runs of a project, with filters; see [`Testmo::runs`].
#[derive(Debug)]
#[must_use = "call .stream() to list the runs"]
pub struct ListRuns<'t> {
    testmo: &'t Testmo,
    project: ProjectId,
    filters: Vec<(String, String)>,
}

impl ListRuns<'_> {
    /// Only closed (`true`) or only open (`false`) runs.
    pub fn closed(mut self, closed: bool) -> Self {
        self.filters
            .push(("is_closed".to_owned(), closed.to_string()));
        self
    }

    /// Only runs closed after this time (Testmo compares in UTC).
    pub fn closed_after(mut self, after: chrono::DateTime<chrono::Utc>) -> Self {
        self.filters.push((
            "closed_after".to_owned(),
            after.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ));
        self
    }

    /// Only runs of this milestone.
    pub fn milestone(mut self, milestone: super::models::MilestoneId) -> Self {
        self.filters
            .push(("milestone_id".to_owned(), milestone.to_string()));
        self
    }

    /// Streams every matching run.
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo) -> qapms_core::Result<()> {
    /// use futures::TryStreamExt as _;
    /// use qapms_core::integrations::testmo::models::ProjectId;
    /// let runs: Vec<_> = testmo.runs(ProjectId(1)).stream().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn stream(self) -> BoxStream<'static, Result<Run>> {
        self.testmo.paged(
            format!("/projects/{}/runs", self.project),
            "runs",
            self.filters,
            Some(self.project.0),
        )
    }
}

/// The case repository; see [`Testmo::cases`].
#[derive(Debug, Clone, Copy)]
pub struct CaseHandler<'t> {
    testmo: &'t Testmo,
}

impl<'t> CaseHandler<'t> {
    /// Cases of a project; see [`ListCases`] for filters.
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo) -> qapms_core::Result<()> {
    /// use futures::TryStreamExt as _;
    /// use qapms_core::integrations::testmo::models::ProjectId;
    /// let cases: Vec<_> = testmo.cases().list(ProjectId(1)).stream().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn list(self, project: ProjectId) -> ListCases<'t> {
        ListCases {
            testmo: self.testmo,
            project,
            filters: Vec::new(),
        }
    }

    /// Every folder of a project's repository.
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo) -> qapms_core::Result<()> {
    /// use futures::TryStreamExt as _;
    /// use qapms_core::integrations::testmo::models::ProjectId;
    /// let folders: Vec<_> = testmo.cases().folders(ProjectId(1)).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn folders(self, project: ProjectId) -> BoxStream<'static, Result<Folder>> {
        self.testmo.paged(
            format!("/projects/{project}/folders"),
            "folders",
            Vec::new(),
            Some(project.0),
        )
    }
}

/// Cases of a project, with filters; see [`CaseHandler::list`].
#[derive(Debug)]
#[must_use = "call .stream() to list the cases"]
pub struct ListCases<'t> {
    testmo: &'t Testmo,
    project: ProjectId,
    filters: Vec<(String, String)>,
}

impl ListCases<'_> {
    /// Only the cases directly in this folder.
    pub fn folder(mut self, folder: FolderId) -> Self {
        self.filters
            .push(("folder_id".to_owned(), folder.to_string()));
        self
    }

    /// Only cases with (`true`) or without (`false`) linked automation.
    pub fn automated(mut self, automated: bool) -> Self {
        self.filters
            .push(("has_automation".to_owned(), automated.to_string()));
        self
    }

    /// Streams every matching case with its tags by name (`expands=tags`): the repository
    /// lists tags by id, and people search for `smoke`, not `7`.
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo) -> qapms_core::Result<()> {
    /// use futures::TryStreamExt as _;
    /// use qapms_core::integrations::testmo::models::ProjectId;
    /// let cases: Vec<_> = testmo.cases().list(ProjectId(1)).with_tag_names().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn with_tag_names(mut self) -> BoxStream<'static, Result<CaseWithTags>> {
        self.filters.push(("expands".to_owned(), "tags".to_owned()));
        self.testmo.paged_expanded(
            format!("/projects/{}/cases", self.project),
            "cases",
            self.filters,
            Some(self.project.0),
            |cases: Vec<Case>, expands: Option<CaseExpands>| {
                let names: std::collections::HashMap<u64, String> = expands
                    .unwrap_or_default()
                    .tags
                    .into_iter()
                    .filter_map(|t| t.name.map(|name| (t.id, name)))
                    .collect();
                cases
                    .into_iter()
                    .map(|case| {
                        let tags = case
                            .tags
                            .iter()
                            .flatten()
                            .map(|id| names.get(id).cloned().unwrap_or_else(|| id.to_string()))
                            .collect();
                        CaseWithTags { case, tags }
                    })
                    .collect()
            },
        )
    }

    /// Streams every matching case.
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo) -> qapms_core::Result<()> {
    /// use futures::TryStreamExt as _;
    /// use qapms_core::integrations::testmo::models::{FolderId, ProjectId};
    /// let cases: Vec<_> = testmo.cases().list(ProjectId(1)).folder(FolderId(3)).stream().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn stream(self) -> BoxStream<'static, Result<Case>> {
        self.testmo.paged(
            format!("/projects/{}/cases", self.project),
            "cases",
            self.filters,
            Some(self.project.0),
        )
    }
}

/// Automation runs; see [`Testmo::automation`].
#[derive(Debug, Clone, Copy)]
pub struct AutomationHandler<'t> {
    testmo: &'t Testmo,
}

impl AutomationHandler<'_> {
    async fn post<B: serde::Serialize>(
        &self,
        path: &str,
        op: &str,
        body: &B,
        project: Option<u64>,
    ) -> Result<Vec<u8>> {
        let response = self
            .testmo
            .http()
            .post(path)
            .operation(op)
            .json(body)
            .send()
            .await
            .map_err(|e| explain(e, project))?;
        Ok(response.body)
    }

    /// Automation runs of a project, newest first as Testmo sorts them.
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo) -> qapms_core::Result<()> {
    /// use futures::TryStreamExt as _;
    /// use qapms_core::integrations::testmo::models::ProjectId;
    /// let runs: Vec<_> = testmo.automation().runs(ProjectId(1)).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn runs(self, project: ProjectId) -> BoxStream<'static, Result<AutomationRun>> {
        self.testmo.paged(
            format!("/projects/{project}/automation/runs"),
            "automation.runs",
            Vec::new(),
            Some(project.0),
        )
    }

    /// Creates an automation run and returns its id.
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::testmo::models::{CreateAutomationRun, ProjectId};
    /// let run = CreateAutomationRun { name: "CI 1".into(), source: "unit".into(), ..Default::default() };
    /// let id = testmo.automation().create_run(ProjectId(1), &run).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_run(
        self,
        project: ProjectId,
        run: &CreateAutomationRun,
    ) -> Result<AutomationRunId> {
        let body = self
            .post(
                &format!("/projects/{project}/automation/runs"),
                "automation.create_run",
                run,
                Some(project.0),
            )
            .await?;
        let created: Created = crate::http::decode_json(&body, "testmo POST automation/runs")?;
        Ok(AutomationRunId(created.id))
    }

    /// Adds a thread (one parallel job) to a run and returns its id.
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::testmo::models::{AutomationRunId, CreateThread};
    /// let thread = testmo.automation().create_thread(AutomationRunId(345), &CreateThread::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_thread(
        self,
        run: AutomationRunId,
        thread: &CreateThread,
    ) -> Result<ThreadId> {
        let body = self
            .post(
                &format!("/automation/runs/{run}/threads"),
                "automation.create_thread",
                thread,
                None,
            )
            .await?;
        let created: Created =
            crate::http::decode_json(&body, "testmo POST automation/runs/threads")?;
        Ok(ThreadId(created.id))
    }

    /// Appends tests to a thread, in one call (see [`RunSubmission`] for batching).
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo, tests: Vec<qapms_core::integrations::testmo::models::AutomationTest>) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::testmo::models::ThreadId;
    /// testmo.automation().append(ThreadId(9876), &tests).await?;
    /// # Ok(()) }
    /// ```
    pub async fn append(self, thread: ThreadId, tests: &[AutomationTest]) -> Result<()> {
        self.post(
            &format!("/automation/runs/threads/{thread}/append"),
            "automation.append",
            &AppendTests { tests },
            None,
        )
        .await
        .map(drop)
    }

    /// Adds fields (and links) to the run itself.
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::testmo::models::{AutomationField, AutomationRunId};
    /// testmo.automation().append_run(AutomationRunId(345), vec![AutomationField::string("Commit", "4f9c2d1")]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn append_run(
        self,
        run: AutomationRunId,
        fields: Vec<AutomationField>,
    ) -> Result<()> {
        self.post(
            &format!("/automation/runs/{run}/append"),
            "automation.append_run",
            &AppendRun { fields },
            None,
        )
        .await
        .map(drop)
    }

    /// Marks a thread complete; `elapsed_observed` is in microseconds.
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::testmo::models::ThreadId;
    /// testmo.automation().complete_thread(ThreadId(9876), Some(250_000)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn complete_thread(
        self,
        thread: ThreadId,
        elapsed_observed: Option<u64>,
    ) -> Result<()> {
        self.post(
            &format!("/automation/runs/threads/{thread}/complete"),
            "automation.complete_thread",
            &CompleteThread { elapsed_observed },
            None,
        )
        .await
        .map(drop)
    }

    /// Marks the run complete; Testmo measures its time from the threads.
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::testmo::models::AutomationRunId;
    /// testmo.automation().complete_run(AutomationRunId(345)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn complete_run(self, run: AutomationRunId) -> Result<()> {
        self.post(
            &format!("/automation/runs/{run}/complete"),
            "automation.complete_run",
            &CompleteRun {
                measure_elapsed: true,
            },
            None,
        )
        .await
        .map(drop)
    }
}

/// Told `(submitted, total)` after each batch.
type Progress<'t> = Box<dyn Fn(usize, usize) + Send + Sync + 't>;

/// A whole automation run to submit; see [`Testmo::submission`].
#[must_use = "call .send() to submit the run"]
pub struct RunSubmission<'t> {
    testmo: &'t Testmo,
    project: ProjectId,
    run: CreateAutomationRun,
    thread_fields: Vec<AutomationField>,
    tests: Vec<ReportedTest>,
    batch: usize,
    progress: Option<Progress<'t>>,
}

impl std::fmt::Debug for RunSubmission<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunSubmission")
            .field("project", &self.project)
            .field("run", &self.run)
            .field("tests", &self.tests.len())
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl<'t> RunSubmission<'t> {
    /// The configuration tested, e.g. `linux-x86_64` (created in Testmo if new).
    pub fn config(mut self, config: impl Into<String>) -> Self {
        self.run.config = Some(config.into());
        self
    }

    /// The milestone to file the run under, by name.
    pub fn milestone(mut self, milestone: impl Into<String>) -> Self {
        self.run.milestone = Some(milestone.into());
        self
    }

    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.run.tags.push(tag.into());
        self
    }

    /// A field on the run, e.g. the commit.
    pub fn field(mut self, field: AutomationField) -> Self {
        self.run.fields.push(field);
        self
    }

    /// A link on the run, e.g. to the CI build.
    pub fn link(mut self, name: impl Into<String>, url: impl Into<String>) -> Self {
        self.run.links.push(AutomationLink {
            name: name.into(),
            url: url.into(),
        });
        self
    }

    /// A field on the thread, e.g. the runner's name.
    pub fn thread_field(mut self, field: AutomationField) -> Self {
        self.thread_fields.push(field);
        self
    }

    pub fn tests(mut self, tests: impl IntoIterator<Item = ReportedTest>) -> Self {
        self.tests.extend(tests);
        self
    }

    /// The most tests per append call (at least 1).
    pub fn max_batch(mut self, tests: usize) -> Self {
        self.batch = tests.max(1);
        self
    }

    /// Called with `(submitted, total)` after each batch, for a progress bar.
    pub fn on_progress(mut self, progress: impl Fn(usize, usize) + Send + Sync + 't) -> Self {
        self.progress = Some(Box::new(progress));
        self
    }

    /// Runs the lifecycle and returns where the run is.
    ///
    /// ```no_run
    /// # async fn run(testmo: qapms_core::integrations::testmo::Testmo) -> qapms_core::Result<()> {
    /// use qapms_core::integrations::testmo::models::ProjectId;
    /// let run = testmo.submission(ProjectId(1), "CI 1", "unit").send().await?;
    /// tracing::info!("automation run {}", run.id);
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<SubmittedRun> {
        if self.run.name.trim().is_empty() {
            return Err(Error::invalid_input(
                "a Testmo automation run needs a name (e.g. the CI build name)",
            ));
        }
        if self.run.source.trim().is_empty() {
            return Err(Error::invalid_input(
                "a Testmo automation run needs a source (e.g. `backend-unit`), which groups runs of the same suite",
            ));
        }
        let started = Instant::now();
        let automation = self.testmo.automation();
        let tests: Vec<AutomationTest> = self.tests.iter().map(automation_test).collect();
        let failures = self.tests.iter().filter(|t| t.status.is_failure()).count();
        let run = automation.create_run(self.project, &self.run).await?;
        tracing::info!(
            run = run.0,
            tests = tests.len(),
            "testmo automation run created"
        );
        let thread = match automation
            .create_thread(
                run,
                &CreateThread {
                    fields: self.thread_fields.clone(),
                },
            )
            .await
        {
            Ok(thread) => thread,
            Err(err) => {
                abort(automation, run, None, &err, 0, tests.len()).await;
                return Err(append_failed(err, run.0, 0, tests.len()));
            }
        };
        let mut submitted = 0;
        for batch in tests.chunks(self.batch) {
            if let Err(err) = automation.append(thread, batch).await {
                abort(automation, run, Some(thread), &err, submitted, tests.len()).await;
                return Err(append_failed(err, run.0, submitted, tests.len()));
            }
            submitted += batch.len();
            tracing::debug!(run = run.0, submitted, "testmo batch appended");
            if let Some(progress) = &self.progress {
                progress(submitted, tests.len());
            }
        }
        let elapsed = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        automation.complete_thread(thread, Some(elapsed)).await?;
        automation.complete_run(run).await?;
        Ok(SubmittedRun {
            id: run.0.to_string(),
            tests: tests.len(),
            failures,
        })
    }
}

/// Best-effort clean-up after a failed submission: say so on the run, make its status a
/// failure, and complete what was opened. Failures here are logged, not returned: the caller
/// gets the error that stopped the submission.
async fn abort(
    automation: AutomationHandler<'_>,
    run: AutomationRunId,
    thread: Option<ThreadId>,
    cause: &Error,
    submitted: usize,
    total: usize,
) {
    let summary = format!("aborted after {submitted} of {total} tests");
    let mut note = AutomationField::string("qapms submission", &summary);
    note.is_highlight = true;
    if let Err(err) = automation
        .append_run(
            run,
            vec![
                note,
                AutomationField::console("qapms error", cause.message()),
            ],
        )
        .await
    {
        tracing::warn!(run = run.0, error = %err, "could not note the aborted submission on the run");
    }
    if let Some(thread) = thread {
        let marker = AutomationTest {
            key: test_key(ABORT_FOLDER, ABORT_TEST),
            name: ABORT_TEST.to_owned(),
            status: "failed".to_owned(),
            folder: ABORT_FOLDER.to_owned(),
            elapsed: None,
            file: None,
            line: None,
            fields: vec![AutomationField::console(
                "Failure",
                format!("{summary}: {}", cause.message()),
            )],
        };
        if let Err(err) = automation.append(thread, &[marker]).await {
            tracing::warn!(run = run.0, error = %err, "could not mark the aborted run as failed");
        }
        if let Err(err) = automation.complete_thread(thread, None).await {
            tracing::warn!(run = run.0, error = %err, "could not complete the thread");
        }
    }
    if let Err(err) = automation.complete_run(run).await {
        tracing::warn!(run = run.0, error = %err, "could not complete the aborted run");
    }
}

fn parse_project(project: &str) -> Result<ProjectId> {
    project.trim().parse().map(ProjectId).map_err(|_| {
        Error::invalid_input(format!(
            "`{project}` is not a Testmo project id; use the number from the project's URL"
        ))
    })
}

#[async_trait]
impl Integration for Testmo {
    fn kind(&self) -> &'static str {
        "testmo"
    }

    fn endpoint(&self) -> String {
        crate::http::redact_url(self.http().base_url())
    }

    async fn health(&self) -> HealthReport {
        let started = Instant::now();
        let outcome = self.user().await.map(drop);
        HealthReport::from_outcome(&outcome, started.elapsed())
    }
}

#[async_trait]
impl TestCaseSource for Testmo {
    fn test_cases(&self, project: &str) -> BoxStream<'static, Result<SourceTestCase>> {
        let project = match parse_project(project) {
            Ok(project) => project,
            Err(err) => return futures::stream::once(async move { Err(err) }).boxed(),
        };
        let testmo = self.clone();
        // Folder paths need the folder tree first; it is small next to the cases.
        futures::stream::once(async move {
            use futures::TryStreamExt as _;
            let folders: Vec<Folder> = testmo.cases().folders(project).try_collect().await?;
            let paths = folder_paths(&folders);
            let cases = testmo
                .cases()
                .list(project)
                .with_tag_names()
                .map(move |case| {
                    let CaseWithTags { case, tags } = case?;
                    Ok(SourceTestCase {
                        external_id: case.id.to_string(),
                        title: case.name.unwrap_or_default(),
                        folder_path: case.folder_id.and_then(|f| paths.get(&f).cloned()),
                        tags,
                    })
                });
            Ok::<_, Error>(cases)
        })
        .map(|r| match r {
            Ok(cases) => cases.boxed(),
            Err(err) => futures::stream::once(async move { Err(err) }).boxed(),
        })
        .flatten()
        .boxed()
    }
}

/// Each folder's path from the root, `Parent/Child`. A parent cycle or a missing parent ends
/// the walk rather than looping.
fn folder_paths(folders: &[Folder]) -> std::collections::HashMap<FolderId, String> {
    let by_id: std::collections::HashMap<FolderId, &Folder> =
        folders.iter().map(|f| (f.id, f)).collect();
    folders
        .iter()
        .map(|folder| {
            let mut names = Vec::new();
            let mut at = Some(folder);
            while let Some(f) = at {
                if names.len() > folders.len() {
                    break;
                }
                names.push(f.name.clone().unwrap_or_default());
                at = f.parent_id.and_then(|p| by_id.get(&p).copied());
            }
            names.reverse();
            (folder.id, names.join("/"))
        })
        .collect()
}

#[async_trait]
impl TestRunSink for Testmo {
    async fn submit_run(&self, project: &str, run: &RunReport) -> Result<SubmittedRun> {
        self.submit_report(parse_project(project)?, run).await
    }
}

/// The token for the page after `asked`. A `next_page` that does not move forwards would page
/// for ever, so it is an error rather than trusted.
fn next_page_token(op: &str, asked: u64, next: Option<u64>) -> Result<Option<String>> {
    match next {
        Some(next) if next <= asked => Err(Error::new(
            ErrorKind::Upstream,
            format!(
                "testmo {op}: page {asked} says the next page is {next}; paging stopped to avoid a loop"
            ),
        )),
        other => Ok(other.map(|n| n.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_separate_folder_from_name() {
        assert_eq!(test_key("a", "b"), test_key("a", "b"));
        assert_ne!(test_key("ab", "c"), test_key("a", "bc"));
        assert_eq!(test_key("a", "b").len(), 16);
    }

    #[test]
    fn a_test_without_a_folder_gets_the_default_one() {
        let test = ReportedTest {
            name: "t".into(),
            folder: " ".into(),
            status: TestStatus::Error,
            duration_ms: Some(2),
            message: Some("trace".into()),
            file: None,
            line: None,
        };
        let sent = automation_test(&test);
        assert_eq!(sent.folder, "default");
        assert_eq!(sent.status, "failed");
        assert_eq!(sent.elapsed, Some(2000));
        assert_eq!(sent.fields[0].name, "Failure");
    }

    #[test]
    fn folder_paths_survive_cycles() {
        let f = |id, parent: Option<u64>, name: &str| Folder {
            id: FolderId(id),
            project_id: None,
            name: Some(name.to_owned()),
            parent_id: parent.map(FolderId),
            depth: None,
            display_order: None,
        };
        let paths = folder_paths(&[
            f(1, None, "api"),
            f(2, Some(1), "auth"),
            f(3, Some(4), "x"),
            f(4, Some(3), "y"),
        ]);
        assert_eq!(paths[&FolderId(2)], "api/auth");
        assert!(paths.contains_key(&FolderId(3)));
    }
}
