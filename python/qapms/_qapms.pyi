"""Type stubs for the native module ``qapms._qapms``."""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import datetime
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar, final

_T = TypeVar("_T")
_StrPath = str | PathLike[str]

__all__ = [
    "Alert",
    "Analysis",
    "AsyncIssueIterator",
    "AsyncResultIterator",
    "AuthError",
    "ConfigError",
    "ConflictError",
    "Diagnostic",
    "FailureCluster",
    "FlakyTest",
    "GrafanaAnnotation",
    "GrafanaClient",
    "GrafanaDashboard",
    "GrafanaDashboardHit",
    "HealthReport",
    "ImportSummary",
    "IndexSyncReport",
    "IntegrationSyncReport",
    "InvalidInputError",
    "Issue",
    "IssueIterator",
    "JiraClient",
    "JiraComment",
    "JiraCreatedIssue",
    "JiraProject",
    "JiraTransition",
    "JiraWorklog",
    "MetricSeries",
    "NotFoundError",
    "Patterns",
    "PostmanClient",
    "PostmanCollection",
    "PostmanCollectionSummary",
    "PostmanEnvironment",
    "PostmanEnvironmentSummary",
    "PostmanRequest",
    "PostmanUser",
    "PostmanWorkspace",
    "QapmsError",
    "RateLimitedError",
    "RecordedRun",
    "RelatedItems",
    "ResultIterator",
    "Results",
    "SearchHit",
    "SearchResults",
    "SecretError",
    "SplunkClient",
    "SplunkSearch",
    "StoreError",
    "StoreInfo",
    "SyncCounts",
    "SyncEmbedded",
    "SyncFinished",
    "SyncIndexed",
    "SyncProgress",
    "SyncReport",
    "SyncStarted",
    "TestIdentity",
    "TestmoAutomationRun",
    "TestmoCase",
    "TestmoClient",
    "TestmoFolder",
    "TestmoMilestone",
    "TestmoProject",
    "TestmoResult",
    "TestmoRun",
    "TestmoSubmittedRun",
    "TestmoUser",
    "TimeEntry",
    "Timer",
    "TimerContext",
    "UpstreamError",
    "Workflow",
    "WorkflowStep",
    "WorkflowTemplate",
    "Workflows",
    "Workspace",
    "__version__",
    "async_read_collection",
    "check_config",
    "config_schema",
    "read_collection",
    "run_cli",
]

__version__: str

class QapmsError(Exception):
    """Base class of every error raised by qapms.

    ``code`` is the stable kind (``NOT_FOUND``, ``RATE_LIMITED``, ...); ``status`` the HTTP
    status an integration answered with, if any; ``retry_after`` the seconds it asked us to
    wait, if it said; ``temporary`` whether trying again later may succeed.
    """

    code: str
    status: int | None
    retry_after: float | None
    temporary: bool

class ConfigError(QapmsError):
    """The configuration is not valid.

    ``path``, ``line`` and ``column`` locate the first error; ``diagnostics`` lists them all.
    They are ``None`` (and empty) when the error has no position, e.g. a missing ``.env``.
    """

    path: str | None
    line: int | None
    column: int | None
    diagnostics: list[Diagnostic]

class SecretError(QapmsError):
    """A secret could not be decrypted, or no master key is available."""

class AuthError(QapmsError):
    """Credentials are missing, wrong or expired."""

class NotFoundError(QapmsError):
    """The requested item does not exist."""

class RateLimitedError(QapmsError):
    """An integration asked us to slow down."""

class UpstreamError(QapmsError):
    """An integration answered with an error."""

class StoreError(QapmsError):
    """The store failed."""

class ConflictError(QapmsError):
    """A concurrent writer changed the item first."""

class InvalidInputError(QapmsError):
    """An argument or imported file is not valid."""

def run_cli(argv: list[str]) -> int:
    """Run the ``qapms`` command line with ``argv`` (program name first); return the exit code."""

@final
class Diagnostic:
    """One finding of the config validator, with 1-based positions."""

    @property
    def severity(self) -> str: ...
    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int: ...
    @property
    def end_line(self) -> int: ...
    @property
    def end_column(self) -> int: ...
    @property
    def key_path(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def suggestion(self) -> str | None: ...

def check_config(path: str | None = None, profile: str | None = None) -> list[Diagnostic]:
    """Validate qapms.yaml; return its warnings, or raise ConfigError listing every error."""

def config_schema() -> str:
    """The JSON Schema of qapms.yaml as a JSON string."""

@final
class StoreInfo:
    """What the store reports about itself."""

    @property
    def backend(self) -> str: ...
    @property
    def location(self) -> str: ...
    @property
    def schema_version(self) -> int: ...
    @property
    def tables(self) -> list[tuple[str, int]]: ...

@final
class Workspace:
    """An opened qapms workspace: configuration, credentials and store."""

    @classmethod
    def open(
        cls,
        config: str | PathLike[str] | None = None,
        profile: str | None = None,
        *,
        user: str | None = None,
    ) -> Workspace:
        """Find and validate qapms.yaml, decrypt its credentials and open the store."""

    @classmethod
    def async_open(
        cls,
        config: str | PathLike[str] | None = None,
        profile: str | None = None,
        *,
        user: str | None = None,
    ) -> Awaitable[Workspace]:
        """``open()`` as an awaitable."""

    @property
    def user(self) -> str | None:
        """Who workflows, timers and recorded runs act for."""

    @property
    def config_path(self) -> Path | None:
        """The qapms.yaml in use, or None on defaults."""

    @property
    def profile(self) -> str | None:
        """The profile overlay in use."""

    @property
    def credential_paths(self) -> list[str]:
        """Key paths of the configured credentials (never their values)."""

    @property
    def jira(self) -> JiraClient:
        """The client for ``integrations.jira``; raises ConfigError when it is not configured."""

    @property
    def postman(self) -> PostmanClient:
        """The client for ``integrations.postman``."""

    @property
    def testmo(self) -> TestmoClient:
        """The client for ``integrations.testmo``."""

    @property
    def splunk(self) -> SplunkClient:
        """The client for ``integrations.splunk`` (templates always, REST in ``rest`` mode)."""

    @property
    def grafana(self) -> GrafanaClient:
        """The client for ``integrations.grafana``."""

    @property
    def workflows(self) -> Workflows:
        """Guided workflows: templates, start and step control."""

    @property
    def results(self) -> Results:
        """Test results: JUnit import, recorded runs and test identity."""

    @property
    def patterns(self) -> Patterns:
        """Flaky tests, failure clusters and alerts."""

    def timer(self, ticket: str | None = None) -> TimerContext:
        """A context manager running a timer on ``ticket`` for the block."""

    def timer_status(self) -> Timer | None:
        """Your running timer, or None."""

    def async_timer_status(self) -> Awaitable[Timer | None]:
        """``timer_status()`` as an awaitable."""

    def search(
        self,
        query: str,
        source: str | list[str] | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        group: bool = False,
    ) -> SearchResults:
        """Ranked search over every source."""

    def async_search(
        self,
        query: str,
        source: str | list[str] | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        group: bool = False,
    ) -> Awaitable[SearchResults]:
        """``search()`` as an awaitable."""

    def related(self, key: str) -> RelatedItems:
        """What belongs to a ticket."""

    def async_related(self, key: str) -> Awaitable[RelatedItems]:
        """``related()`` as an awaitable."""

    def reindex(self, *, progress: Callable[[int, int | None], object] | None = None) -> int:
        """Rebuild the search index from the store."""

    def async_reindex(
        self, *, progress: Callable[[int, int | None], object] | None = None
    ) -> Awaitable[int]:
        """``reindex()`` as an awaitable."""

    def sync(
        self,
        progress: Callable[[_SyncEvent], object] | None = None,
        *,
        only: str | Sequence[str] | None = None,
        full: bool = False,
        index: bool = True,
    ) -> SyncReport:
        """Sync the configured integrations into the store and the search index.

        ``progress(event)`` is called after each stored batch; Ctrl-C (or an exception from
        ``progress``) stops the sync after its current batch and is then raised.
        """

    def async_sync(
        self,
        progress: Callable[[_SyncEvent], object] | None = None,
        *,
        only: str | Sequence[str] | None = None,
        full: bool = False,
        index: bool = True,
    ) -> Awaitable[SyncReport]:
        """``sync()`` as an awaitable; ``progress`` runs on the event loop."""

    def report(self, workflow: _WorkflowRef, format: _ReportFormat = "md") -> str:
        """The report of a workflow as Markdown, HTML, JSON or CSV (as ``qapms report``)."""

    def async_report(self, workflow: _WorkflowRef, format: _ReportFormat = "md") -> Awaitable[str]:
        """``report()`` as an awaitable."""

    def store_info(self) -> StoreInfo:
        """Backend, location, schema version and row counts of the store."""

    def async_store_info(self) -> Awaitable[StoreInfo]:
        """``store_info()`` as an awaitable."""

    def close(self) -> None:
        """Close the store's connections."""

    def __enter__(self) -> Workspace: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...

@final
class JiraClient:
    """A Jira Cloud or Data Center client."""

    def __new__(
        cls,
        base_url: str,
        *,
        email: str | None = None,
        api_token: str | None = None,
        token: str | None = None,
        deployment: str | None = None,
        timeout: float | None = None,
    ) -> JiraClient: ...
    @property
    def deployment(self) -> str:
        """``"cloud"`` or ``"data_center"``."""

    def issue(self, key: str, fields: list[str] | None = None) -> Issue:
        """One issue by key."""

    def async_issue(self, key: str, fields: list[str] | None = None) -> Awaitable[Issue]:
        """``issue()`` as an awaitable."""

    def search(
        self, jql: str, fields: list[str] | None = None, page_size: int = 100
    ) -> IssueIterator:
        """Every issue a JQL query matches, as a lazy iterator with pages fetched ahead."""

    def async_search(
        self, jql: str, fields: list[str] | None = None, page_size: int = 100
    ) -> AsyncIssueIterator:
        """``search()`` as an async iterator."""

    def myself(self) -> dict[str, Any]:
        """The signed-in user, as Jira's JSON."""

    def async_myself(self) -> Awaitable[dict[str, Any]]:
        """``myself()`` as an awaitable."""

    def server_info(self) -> dict[str, Any]:
        """Version and deployment of the site, as Jira's JSON."""

    def projects(self) -> list[JiraProject]:
        """Every project the account can browse."""

    def fields(self) -> list[dict[str, Any]]:
        """Every field definition, as Jira's JSON."""

    def comments(self, key: str) -> list[JiraComment]:
        """Every comment on an issue, oldest first."""

    def add_comment(self, key: str, body: str) -> JiraComment:
        """Add a Markdown comment (ADF on Cloud, wiki text on Data Center)."""

    def async_add_comment(self, key: str, body: str) -> Awaitable[JiraComment]:
        """``add_comment()`` as an awaitable."""

    def transitions(self, key: str) -> list[JiraTransition]:
        """The transitions available on an issue now."""

    def transition(self, key: str, transition: str) -> str:
        """Move an issue through a transition given by id, name or target status."""

    def worklogs(self, key: str) -> list[JiraWorklog]:
        """Every worklog on an issue."""

    def add_worklog(
        self,
        key: str,
        seconds: int,
        started: datetime | None = None,
        comment: str | None = None,
    ) -> JiraWorklog:
        """Log ``seconds`` (at least 60) of work that started at ``started``."""

    def create_issue(
        self,
        project: str,
        issue_type: str,
        summary: str,
        description: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> JiraCreatedIssue:
        """Create an issue after checking createmeta's required fields."""

    def metrics(self) -> dict[str, Any]:
        """Calls, errors and latency of this client so far."""

@final
class Issue:
    """One Jira issue with the fields that were fetched."""

    @property
    def key(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def summary(self) -> str | None: ...
    @property
    def status(self) -> str | None: ...
    @property
    def status_category(self) -> str | None: ...
    @property
    def issue_type(self) -> str | None: ...
    @property
    def priority(self) -> str | None: ...
    @property
    def assignee(self) -> str | None: ...
    @property
    def reporter(self) -> str | None: ...
    @property
    def labels(self) -> list[str]: ...
    @property
    def components(self) -> list[str]: ...
    @property
    def fix_versions(self) -> list[str]: ...
    @property
    def created(self) -> datetime | None: ...
    @property
    def updated(self) -> datetime | None: ...
    @property
    def description(self) -> Any: ...
    def field(self, name: str) -> Any:
        """Any fetched field by id, as Jira's JSON; None when it was not fetched."""

    def raw(self) -> dict[str, Any]:
        """The whole issue as Jira's JSON."""

@final
class IssueIterator(Iterator[Issue]):
    """The issues of a search, in order."""

    def __iter__(self) -> IssueIterator: ...
    def __next__(self) -> Issue: ...

@final
class AsyncIssueIterator(AsyncIterator[Issue]):
    """The issues of a search, for ``async for``."""

    def __aiter__(self) -> AsyncIssueIterator: ...
    def __anext__(self) -> Awaitable[Issue]: ...

@final
class JiraComment:
    """A comment on an issue."""

    @property
    def id(self) -> str: ...
    @property
    def author(self) -> str | None: ...
    @property
    def created(self) -> datetime | None: ...
    @property
    def updated(self) -> datetime | None: ...
    @property
    def body(self) -> Any: ...
    def raw(self) -> dict[str, Any]:
        """The comment as Jira's JSON."""

@final
class JiraTransition:
    """A transition available on an issue."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def to_status(self) -> str | None: ...
    def raw(self) -> dict[str, Any]:
        """The transition as Jira's JSON."""

@final
class JiraWorklog:
    """Time logged on an issue."""

    @property
    def id(self) -> str: ...
    @property
    def author(self) -> str | None: ...
    @property
    def started(self) -> datetime | None: ...
    @property
    def seconds(self) -> int | None: ...
    def raw(self) -> dict[str, Any]:
        """The worklog as Jira's JSON."""

@final
class JiraProject:
    """A Jira project."""

    @property
    def id(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def name(self) -> str: ...
    def raw(self) -> dict[str, Any]:
        """The project as Jira's JSON."""

@final
class JiraCreatedIssue:
    """The issue ``create_issue`` made."""

    @property
    def id(self) -> str: ...
    @property
    def key(self) -> str: ...

@final
class ResultIterator(Iterator[_T], Generic[_T]):
    """The records of a large result, in order; they arrive from the core in batches."""

    def __iter__(self) -> ResultIterator[_T]: ...
    def __next__(self) -> _T: ...
    def next_batch(self) -> list[_T]:
        """The next batch as a list; an empty list at the end."""

@final
class AsyncResultIterator(AsyncIterator[_T], Generic[_T]):
    """The records of a large result, for ``async for``."""

    def __aiter__(self) -> AsyncResultIterator[_T]: ...
    def __anext__(self) -> Awaitable[_T]: ...

@final
class HealthReport:
    """The outcome of an integration's health check."""

    @property
    def health(self) -> str:
        """``ok``, ``unauthorized``, ``unreachable`` or ``degraded``."""
    @property
    def latency_ms(self) -> float: ...
    @property
    def detail(self) -> str | None: ...
    def __bool__(self) -> bool: ...

# ---- Postman ----------------------------------------------------------------------------------

@final
class PostmanClient:
    """A Postman API client that also reads exported collection files (v2.1)."""

    def __new__(
        cls,
        base_url: str = "https://api.getpostman.com",
        *,
        api_key: str | None = None,
        workspace: str | None = None,
        collection_files: Sequence[_StrPath] | None = None,
        timeout: float | None = None,
        pace_lists: bool = True,
    ) -> PostmanClient: ...
    def me(self) -> PostmanUser:
        """The user the API key belongs to."""
    def async_me(self) -> Awaitable[PostmanUser]: ...
    def workspaces(self) -> list[PostmanWorkspace]:
        """Every workspace the key can see."""
    def async_workspaces(self) -> Awaitable[list[PostmanWorkspace]]: ...
    def collections(
        self, workspace: str | None = None, *, name: str | None = None, all_workspaces: bool = False
    ) -> ResultIterator[PostmanCollectionSummary]:
        """Collection summaries, as a lazy iterator."""
    def async_collections(
        self, workspace: str | None = None, *, name: str | None = None, all_workspaces: bool = False
    ) -> AsyncResultIterator[PostmanCollectionSummary]: ...
    def collection(self, id: str) -> PostmanCollection:
        """A whole collection by id or uid."""
    def async_collection(self, id: str) -> Awaitable[PostmanCollection]: ...
    def environments(self) -> list[PostmanEnvironmentSummary]:
        """Every environment of the workspace (without values)."""
    def async_environments(self) -> Awaitable[list[PostmanEnvironmentSummary]]: ...
    def environment(self, id: str) -> PostmanEnvironment:
        """One environment with its plain variables."""
    def async_environment(self, id: str) -> Awaitable[PostmanEnvironment]: ...
    def requests(self) -> ResultIterator[PostmanRequest]:
        """Every request of every collection, flattened."""
    def async_requests(self) -> Awaitable[list[PostmanRequest]]: ...
    def health(self) -> HealthReport: ...
    def async_health(self) -> Awaitable[HealthReport]: ...
    def metrics(self) -> dict[str, Any]: ...

def read_collection(path: _StrPath) -> PostmanCollection:
    """Read an exported collection file (format v2.1)."""

def async_read_collection(path: _StrPath) -> Awaitable[PostmanCollection]:
    """``read_collection()`` as an awaitable."""

@final
class PostmanUser:
    """The Postman user an API key belongs to."""

    @property
    def id(self) -> int: ...
    @property
    def username(self) -> str | None: ...
    @property
    def email(self) -> str | None: ...
    @property
    def full_name(self) -> str | None: ...
    @property
    def team_name(self) -> str | None: ...

@final
class PostmanWorkspace:
    """A Postman workspace as listed."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str | None: ...
    @property
    def visibility(self) -> str | None: ...
    @property
    def updated_at(self) -> datetime | None: ...

@final
class PostmanCollectionSummary:
    """A collection as listed (without its requests)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def uid(self) -> str | None: ...
    @property
    def owner(self) -> str | None: ...
    @property
    def created_at(self) -> datetime | None: ...
    @property
    def updated_at(self) -> datetime | None: ...

@final
class PostmanCollection:
    """A whole collection (format v2.1)."""

    @property
    def name(self) -> str: ...
    @property
    def id(self) -> str | None: ...
    @property
    def uid(self) -> str | None: ...
    def requests(self) -> list[PostmanRequest]:
        """Every request, depth first, with its folder path."""

@final
class PostmanRequest:
    """One request of a collection, flattened with its folder path."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def url_variables(self) -> list[str]: ...
    @property
    def query(self) -> list[tuple[str, str]]: ...
    @property
    def collection(self) -> str: ...
    @property
    def collection_id(self) -> str | None: ...
    @property
    def folder_path(self) -> list[str]: ...
    @property
    def description(self) -> str | None: ...
    @property
    def pre_request_script(self) -> str | None: ...
    @property
    def test_script(self) -> str | None: ...
    def raw(self) -> dict[str, Any]:
        """The request as JSON."""

@final
class PostmanEnvironmentSummary:
    """An environment as listed."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def uid(self) -> str | None: ...
    @property
    def owner(self) -> str | None: ...
    @property
    def updated_at(self) -> datetime | None: ...

@final
class PostmanEnvironment:
    """An environment with its variables; secret values never reach Python."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def values(self) -> dict[str, str]: ...
    @property
    def secret_keys(self) -> list[str]: ...

# ---- Testmo -----------------------------------------------------------------------------------

_ReportedTest = tuple[str, str, str, float | None, str | None, str | None, int | None]

@final
class TestmoClient:
    """A Testmo (REST v1) client."""

    def __new__(
        cls, base_url: str, *, token: str, project: int | None = None, timeout: float | None = None
    ) -> TestmoClient: ...
    @property
    def default_project(self) -> int | None: ...
    def user(self) -> TestmoUser: ...
    def async_user(self) -> Awaitable[TestmoUser]: ...
    def project_info(self, id: int) -> TestmoProject: ...
    def async_project_info(self, id: int) -> Awaitable[TestmoProject]: ...
    def projects(self) -> ResultIterator[TestmoProject]: ...
    def async_projects(self) -> AsyncResultIterator[TestmoProject]: ...
    def milestones(self, project: int | None = None) -> ResultIterator[TestmoMilestone]: ...
    def async_milestones(
        self, project: int | None = None
    ) -> AsyncResultIterator[TestmoMilestone]: ...
    def runs(
        self,
        project: int | None = None,
        *,
        closed: bool | None = None,
        milestone: int | None = None,
    ) -> ResultIterator[TestmoRun]: ...
    def async_runs(
        self,
        project: int | None = None,
        *,
        closed: bool | None = None,
        milestone: int | None = None,
    ) -> AsyncResultIterator[TestmoRun]: ...
    def run_results(self, run: int) -> ResultIterator[TestmoResult]: ...
    def async_run_results(self, run: int) -> AsyncResultIterator[TestmoResult]: ...
    def cases(
        self,
        project: int | None = None,
        *,
        folder: int | None = None,
        automated: bool | None = None,
    ) -> ResultIterator[TestmoCase]: ...
    def async_cases(
        self,
        project: int | None = None,
        *,
        folder: int | None = None,
        automated: bool | None = None,
    ) -> AsyncResultIterator[TestmoCase]: ...
    def folders(self, project: int | None = None) -> ResultIterator[TestmoFolder]: ...
    def async_folders(self, project: int | None = None) -> AsyncResultIterator[TestmoFolder]: ...
    def automation_runs(
        self, project: int | None = None
    ) -> ResultIterator[TestmoAutomationRun]: ...
    def async_automation_runs(
        self, project: int | None = None
    ) -> AsyncResultIterator[TestmoAutomationRun]: ...
    def submit_junit(
        self,
        paths: Sequence[_StrPath],
        *,
        name: str,
        project: int | None = None,
        source: str = "junit",
        tags: Sequence[str] | None = None,
        milestone: str | None = None,
        config: str | None = None,
        progress: Callable[[int, int], object] | None = None,
    ) -> TestmoSubmittedRun:
        """Submit JUnit XML reports as one automation run."""
    def async_submit_junit(
        self,
        paths: Sequence[_StrPath],
        *,
        name: str,
        project: int | None = None,
        source: str = "junit",
        tags: Sequence[str] | None = None,
        milestone: str | None = None,
        config: str | None = None,
        progress: Callable[[int, int], object] | None = None,
    ) -> Awaitable[TestmoSubmittedRun]: ...
    def submit_results(
        self,
        tests: Sequence[_ReportedTest],
        *,
        name: str,
        project: int | None = None,
        source: str = "pytest",
        tags: Sequence[str] | None = None,
        milestone: str | None = None,
        config: str | None = None,
        progress: Callable[[int, int], object] | None = None,
    ) -> TestmoSubmittedRun:
        """Submit framework results ``(name, folder, status, ms, message, file, line)``."""
    def async_submit_results(
        self,
        tests: Sequence[_ReportedTest],
        *,
        name: str,
        project: int | None = None,
        source: str = "pytest",
        tags: Sequence[str] | None = None,
        milestone: str | None = None,
        config: str | None = None,
        progress: Callable[[int, int], object] | None = None,
    ) -> Awaitable[TestmoSubmittedRun]: ...
    def health(self) -> HealthReport: ...
    def async_health(self) -> Awaitable[HealthReport]: ...
    def metrics(self) -> dict[str, Any]: ...

@final
class TestmoUser:
    """The Testmo user a token belongs to."""

    @property
    def id(self) -> int | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def timezone(self) -> str | None: ...

@final
class TestmoProject:
    """A Testmo project."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str | None: ...
    @property
    def is_completed(self) -> bool | None: ...
    @property
    def created_at(self) -> str | None: ...

@final
class TestmoMilestone:
    """A milestone of a project."""

    @property
    def id(self) -> int: ...
    @property
    def project_id(self) -> int | None: ...
    @property
    def parent_id(self) -> int | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def is_started(self) -> bool | None: ...
    @property
    def is_completed(self) -> bool | None: ...
    @property
    def due_date(self) -> str | None: ...
    @property
    def automation_tags(self) -> list[str]: ...

@final
class TestmoRun:
    """A manual test run."""

    @property
    def id(self) -> int: ...
    @property
    def project_id(self) -> int | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def milestone_id(self) -> int | None: ...
    @property
    def is_closed(self) -> bool | None: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def success_count(self) -> int | None: ...
    @property
    def failure_count(self) -> int | None: ...
    @property
    def total_count(self) -> int | None: ...
    @property
    def created_at(self) -> str | None: ...

@final
class TestmoResult:
    """One result of a manual run."""

    @property
    def id(self) -> int: ...
    @property
    def run_id(self) -> int | None: ...
    @property
    def case_id(self) -> int | None: ...
    @property
    def status_id(self) -> int | None: ...
    @property
    def is_latest(self) -> bool | None: ...
    @property
    def note(self) -> str | None: ...
    @property
    def elapsed(self) -> int | None: ...
    @property
    def created_at(self) -> str | None: ...

@final
class TestmoCase:
    """A case of the repository."""

    @property
    def id(self) -> int: ...
    @property
    def project_id(self) -> int | None: ...
    @property
    def folder_id(self) -> int | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def key(self) -> int | None: ...
    @property
    def state_id(self) -> int | None: ...
    @property
    def status_id(self) -> int | None: ...
    @property
    def estimate(self) -> int | None: ...
    @property
    def has_automation(self) -> bool | None: ...
    @property
    def tags(self) -> list[int]: ...
    @property
    def updated_at(self) -> str | None: ...

@final
class TestmoFolder:
    """A folder of the repository."""

    @property
    def id(self) -> int: ...
    @property
    def project_id(self) -> int | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def parent_id(self) -> int | None: ...
    @property
    def depth(self) -> int | None: ...

@final
class TestmoAutomationRun:
    """An automation run."""

    @property
    def id(self) -> int: ...
    @property
    def project_id(self) -> int | None: ...
    @property
    def source_id(self) -> int | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def status(self) -> int | None: ...
    @property
    def is_completed(self) -> bool | None: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def total_count(self) -> int | None: ...
    @property
    def failure_count(self) -> int | None: ...
    @property
    def created_at(self) -> str | None: ...

@final
class TestmoSubmittedRun:
    """Where a submitted automation run is."""

    @property
    def id(self) -> str: ...
    @property
    def tests(self) -> int: ...
    @property
    def failures(self) -> int: ...

# ---- Splunk -----------------------------------------------------------------------------------

@final
class SplunkClient:
    """Splunk: SPL templates always, REST search jobs and exports when connected."""

    def __new__(
        cls,
        base_url: str | None = None,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        app: str | None = None,
        verify_tls: bool = True,
        templates: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> SplunkClient: ...
    @property
    def mode(self) -> str:
        """``rest`` or ``manual``."""
    def templates(self) -> list[str]: ...
    def template_parameters(self, name: str) -> list[str]: ...
    def render(
        self,
        template: str,
        params: dict[str, str] | None = None,
        *,
        earliest: str | None = None,
        latest: str | None = None,
    ) -> SplunkSearch:
        """Render a template to ready-to-paste SPL; no connection needed."""
    def server_info(self) -> dict[str, Any]: ...
    def async_server_info(self) -> Awaitable[dict[str, Any]]: ...
    def search(
        self,
        spl: str,
        *,
        earliest: str | None = None,
        latest: str | None = None,
        max_count: int | None = None,
    ) -> ResultIterator[dict[str, str | list[str]]]:
        """Run a search job and iterate its rows."""
    def async_search(
        self,
        spl: str,
        *,
        earliest: str | None = None,
        latest: str | None = None,
        max_count: int | None = None,
    ) -> AsyncResultIterator[dict[str, str | list[str]]]: ...
    def export(
        self, spl: str, *, earliest: str | None = None, latest: str | None = None
    ) -> ResultIterator[dict[str, str | list[str]]]:
        """Stream a search through the export endpoint."""
    def async_export(
        self, spl: str, *, earliest: str | None = None, latest: str | None = None
    ) -> AsyncResultIterator[dict[str, str | list[str]]]: ...
    def health(self) -> HealthReport: ...
    def async_health(self) -> Awaitable[HealthReport]: ...
    def metrics(self) -> dict[str, Any]: ...

@final
class SplunkSearch:
    """A rendered SPL template."""

    @property
    def template(self) -> str: ...
    @property
    def spl(self) -> str: ...
    @property
    def earliest(self) -> str | None: ...
    @property
    def latest(self) -> str | None: ...
    @property
    def pasteable(self) -> str: ...
    @property
    def time_inline(self) -> bool: ...

# ---- Grafana ----------------------------------------------------------------------------------

@final
class GrafanaClient:
    """A Grafana HTTP API client."""

    def __new__(
        cls, base_url: str, *, token: str, timeout: float | None = None
    ) -> GrafanaClient: ...
    def health(self) -> HealthReport: ...
    def async_health(self) -> Awaitable[HealthReport]: ...
    def server_health(self) -> dict[str, Any]: ...
    def async_server_health(self) -> Awaitable[dict[str, Any]]: ...
    def dashboards(
        self,
        query: str | None = None,
        *,
        tags: Sequence[str] | None = None,
        folder: str | None = None,
        starred: bool = False,
        limit: int | None = None,
    ) -> list[GrafanaDashboardHit]: ...
    def async_dashboards(
        self,
        query: str | None = None,
        *,
        tags: Sequence[str] | None = None,
        folder: str | None = None,
        starred: bool = False,
        limit: int | None = None,
    ) -> Awaitable[list[GrafanaDashboardHit]]: ...
    def dashboard(self, uid: str) -> GrafanaDashboard: ...
    def async_dashboard(self, uid: str) -> Awaitable[GrafanaDashboard]: ...
    def annotate(
        self,
        text: str,
        *,
        time: datetime | None = None,
        time_end: datetime | None = None,
        tags: Sequence[str] | None = None,
        dashboard: str | None = None,
        panel: int | None = None,
    ) -> int:
        """Mark an event on the timeline; returns the annotation id."""
    def async_annotate(
        self,
        text: str,
        *,
        time: datetime | None = None,
        time_end: datetime | None = None,
        tags: Sequence[str] | None = None,
        dashboard: str | None = None,
        panel: int | None = None,
    ) -> Awaitable[int]: ...
    def annotations(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        tags: Sequence[str] | None = None,
        dashboard: str | None = None,
        panel: int | None = None,
        limit: int | None = None,
    ) -> list[GrafanaAnnotation]: ...
    def async_annotations(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        tags: Sequence[str] | None = None,
        dashboard: str | None = None,
        panel: int | None = None,
        limit: int | None = None,
    ) -> Awaitable[list[GrafanaAnnotation]]: ...
    def query(
        self,
        datasource: str,
        targets: dict[str, dict[str, Any]],
        *,
        start: datetime,
        end: datetime,
        interval: float | None = None,
        max_data_points: int | None = None,
    ) -> list[MetricSeries]:
        """Run datasource queries and return every series."""
    def async_query(
        self,
        datasource: str,
        targets: dict[str, dict[str, Any]],
        *,
        start: datetime,
        end: datetime,
        interval: float | None = None,
        max_data_points: int | None = None,
    ) -> Awaitable[list[MetricSeries]]: ...
    def metrics(self) -> dict[str, Any]: ...

@final
class GrafanaDashboardHit:
    """A dashboard (or folder) as the search lists it."""

    @property
    def uid(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def url(self) -> str | None: ...
    @property
    def kind(self) -> str | None: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def is_starred(self) -> bool: ...
    @property
    def folder_uid(self) -> str | None: ...
    @property
    def folder_title(self) -> str | None: ...

@final
class GrafanaDashboard:
    """A dashboard with its panels."""

    @property
    def uid(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def version(self) -> int | None: ...
    @property
    def panels(self) -> list[tuple[int, str]]: ...
    @property
    def url(self) -> str | None: ...
    @property
    def folder_title(self) -> str | None: ...
    def raw(self) -> dict[str, Any]: ...

@final
class GrafanaAnnotation:
    """An annotation on the timeline."""

    @property
    def id(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def time(self) -> datetime | None: ...
    @property
    def time_end(self) -> datetime | None: ...
    @property
    def dashboard_uid(self) -> str | None: ...
    @property
    def panel_id(self) -> int | None: ...
    @property
    def login(self) -> str | None: ...

@final
class MetricSeries:
    """One time series from a datasource query."""

    @property
    def name(self) -> str: ...
    @property
    def labels(self) -> dict[str, str]: ...
    @property
    def timestamps(self) -> list[datetime]: ...
    @property
    def values(self) -> list[float | None]: ...
    def __len__(self) -> int: ...

# ---- QA loop ----------------------------------------------------------------------------------

_StepRef = int | str

@final
class Workflow:
    """A workflow as it is now."""

    @property
    def id(self) -> str: ...
    @property
    def template(self) -> str: ...
    @property
    def ticket(self) -> str | None: ...
    @property
    def state(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def owner(self) -> str: ...
    @property
    def time_box_secs(self) -> int | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def completed_at(self) -> datetime | None: ...
    @property
    def steps(self) -> list[WorkflowStep]: ...
    @property
    def active_step(self) -> WorkflowStep | None: ...
    @property
    def due_actions(self) -> list[dict[str, Any]]: ...
    @property
    def action_records(self) -> list[dict[str, Any]]: ...
    @property
    def uncounted_idle(self) -> list[tuple[datetime, datetime]]: ...
    def raw(self) -> dict[str, Any]: ...

_WorkflowRef = Workflow | str

@final
class Workflows:
    """Guided workflows: templates, start and step control.

    Step control takes the ``Workflow`` last read (a workflow moved since is a ConflictError)
    or a workflow id (no check), and returns the workflow as it now is.
    """

    def templates(self) -> list[WorkflowTemplate]: ...
    def start(self, template: str, ticket: str | None = None) -> Workflow: ...
    def async_start(self, template: str, ticket: str | None = None) -> Awaitable[Workflow]: ...
    def get(self, id: str) -> Workflow: ...
    def async_get(self, id: str) -> Awaitable[Workflow]: ...
    def current(self, ticket: str | None = None) -> Workflow | None: ...
    def async_current(self, ticket: str | None = None) -> Awaitable[Workflow | None]: ...
    def step_done(
        self,
        workflow: _WorkflowRef,
        step: _StepRef | None = None,
        *,
        force: bool = False,
        run_actions: bool = True,
    ) -> Workflow: ...
    def async_step_done(
        self,
        workflow: _WorkflowRef,
        step: _StepRef | None = None,
        *,
        force: bool = False,
        run_actions: bool = True,
    ) -> Awaitable[Workflow]: ...
    def retry_actions(self, workflow: _WorkflowRef) -> list[dict[str, Any]]: ...
    def async_retry_actions(self, workflow: _WorkflowRef) -> Awaitable[list[dict[str, Any]]]: ...
    def skip_step(
        self, workflow: _WorkflowRef, reason: str, step: _StepRef | None = None
    ) -> Workflow: ...
    def async_skip_step(
        self, workflow: _WorkflowRef, reason: str, step: _StepRef | None = None
    ) -> Awaitable[Workflow]: ...
    def block_step(
        self, workflow: _WorkflowRef, reason: str, step: _StepRef | None = None
    ) -> Workflow: ...
    def async_block_step(
        self, workflow: _WorkflowRef, reason: str, step: _StepRef | None = None
    ) -> Awaitable[Workflow]: ...
    def start_step(self, workflow: _WorkflowRef, step: _StepRef) -> Workflow: ...
    def async_start_step(self, workflow: _WorkflowRef, step: _StepRef) -> Awaitable[Workflow]: ...
    def tick(
        self,
        workflow: _WorkflowRef,
        item: int | str,
        *,
        step: _StepRef | None = None,
        done: bool = True,
    ) -> Workflow: ...
    def async_tick(
        self,
        workflow: _WorkflowRef,
        item: int | str,
        *,
        step: _StepRef | None = None,
        done: bool = True,
    ) -> Awaitable[Workflow]: ...
    def add_evidence(
        self,
        workflow: _WorkflowRef,
        value: str,
        *,
        kind: str = "notes",
        step: _StepRef | None = None,
    ) -> Workflow: ...
    def async_add_evidence(
        self,
        workflow: _WorkflowRef,
        value: str,
        *,
        kind: str = "notes",
        step: _StepRef | None = None,
    ) -> Awaitable[Workflow]: ...
    def pause(self, workflow: _WorkflowRef) -> Workflow: ...
    def async_pause(self, workflow: _WorkflowRef) -> Awaitable[Workflow]: ...
    def resume(self, workflow: _WorkflowRef) -> Workflow: ...
    def async_resume(self, workflow: _WorkflowRef) -> Awaitable[Workflow]: ...
    def complete(self, workflow: _WorkflowRef) -> Workflow: ...
    def async_complete(self, workflow: _WorkflowRef) -> Awaitable[Workflow]: ...
    def abandon(self, workflow: _WorkflowRef, reason: str | None = None) -> Workflow: ...
    def async_abandon(
        self, workflow: _WorkflowRef, reason: str | None = None
    ) -> Awaitable[Workflow]: ...

@final
class WorkflowStep:
    """One step of a workflow."""

    @property
    def number(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str | None: ...
    @property
    def state(self) -> str: ...
    @property
    def estimate_secs(self) -> int | None: ...
    @property
    def checklist(self) -> list[tuple[str, bool]]: ...
    @property
    def evidence(self) -> list[tuple[str, str]]: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def completed_at(self) -> datetime | None: ...
    @property
    def runs(self) -> list[str]: ...

@final
class WorkflowTemplate:
    """A workflow template."""

    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str | None: ...
    @property
    def time_box_secs(self) -> int | None: ...
    @property
    def builtin(self) -> bool: ...
    @property
    def steps(self) -> list[str]: ...

@final
class Timer:
    """A running timer."""

    @property
    def ticket(self) -> str | None: ...
    @property
    def workflow_id(self) -> str | None: ...
    @property
    def step(self) -> str | None: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def last_activity_at(self) -> datetime: ...

@final
class TimeEntry:
    """Time recorded against a ticket."""

    @property
    def id(self) -> str: ...
    @property
    def ticket(self) -> str | None: ...
    @property
    def workflow_id(self) -> str | None: ...
    @property
    def step(self) -> str | None: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def ended_at(self) -> datetime: ...
    @property
    def seconds(self) -> int: ...
    @property
    def source(self) -> str: ...
    @property
    def note(self) -> str | None: ...

@final
class TimerContext:
    """``with ws.timer("PAY-12"):`` runs a timer on the ticket for the block."""

    @property
    def ticket(self) -> str | None: ...
    @property
    def timer(self) -> Timer | None: ...
    @property
    def entry(self) -> TimeEntry | None: ...
    def __enter__(self) -> TimerContext: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...
    def __aenter__(self) -> Awaitable[TimerContext]: ...
    def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Awaitable[bool]: ...

_Attempt = tuple[str, float | None, str | None]
_RecordedTest = tuple[Sequence[tuple[str, str]], str, str | None, Sequence[str], Sequence[_Attempt]]

@final
class Results:
    """Test results: JUnit import, recorded runs and test identity."""

    def import_junit(
        self,
        paths: _StrPath | Sequence[_StrPath],
        *,
        run_name: str | None = None,
        environment: str | None = None,
        revision: str | None = None,
        tickets: Sequence[str] | None = None,
        progress: Callable[[int, int, int], object] | None = None,
    ) -> ImportSummary:
        """Import JUnit XML reports as one run, in one transaction."""
    def async_import_junit(
        self,
        paths: _StrPath | Sequence[_StrPath],
        *,
        run_name: str | None = None,
        environment: str | None = None,
        revision: str | None = None,
        tickets: Sequence[str] | None = None,
        progress: Callable[[int, int, int], object] | None = None,
    ) -> Awaitable[ImportSummary]: ...
    def record_run(
        self,
        tests: Sequence[_RecordedTest],
        *,
        name: str,
        source: str = "pytest",
        environment: str | None = None,
        revision: str | None = None,
        url: str | None = None,
        started_at: datetime | None = None,
        finished_at: datetime | None = None,
    ) -> RecordedRun:
        """Store a run a test framework reported, in one transaction."""
    def async_record_run(
        self,
        tests: Sequence[_RecordedTest],
        *,
        name: str,
        source: str = "pytest",
        environment: str | None = None,
        revision: str | None = None,
        url: str | None = None,
        started_at: datetime | None = None,
        finished_at: datetime | None = None,
    ) -> Awaitable[RecordedRun]: ...
    def identities(self, system: str, key: str) -> list[TestIdentity]: ...
    def async_identities(self, system: str, key: str) -> Awaitable[list[TestIdentity]]: ...

@final
class RecordedRun:
    """What ``record_run`` stored."""

    @property
    def run_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def tests(self) -> int: ...
    @property
    def attempts(self) -> int: ...
    @property
    def new_tests(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def retried(self) -> int: ...
    @property
    def attached_steps(self) -> list[tuple[str, int]]: ...

@final
class ImportSummary:
    """What a JUnit import stored."""

    @property
    def run_id(self) -> str: ...
    @property
    def run_name(self) -> str: ...
    @property
    def files(self) -> int: ...
    @property
    def tests(self) -> int: ...
    @property
    def attempts(self) -> int: ...
    @property
    def passed(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def skipped(self) -> int: ...
    @property
    def retried(self) -> int: ...
    @property
    def new_tests(self) -> int: ...
    @property
    def attached_steps(self) -> list[tuple[str, int]]: ...

@final
class TestIdentity:
    """One system's name for a test."""

    @property
    def test_id(self) -> str: ...
    @property
    def system(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def valid_from(self) -> datetime: ...
    @property
    def valid_to(self) -> datetime | None: ...

# ---- Search and patterns ----------------------------------------------------------------------

@final
class SearchHit:
    """One search hit."""

    @property
    def source(self) -> str: ...
    @property
    def doc_type(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def project(self) -> str | None: ...
    @property
    def status(self) -> str | None: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def links(self) -> list[str]: ...
    @property
    def url(self) -> str | None: ...
    @property
    def updated_at(self) -> datetime | None: ...
    @property
    def score(self) -> float: ...
    @property
    def matched(self) -> str: ...
    @property
    def snippet(self) -> str | None: ...
    def raw(self) -> dict[str, Any]: ...

@final
class SearchResults:
    """The results of a search."""

    @property
    def query(self) -> str: ...
    @property
    def total(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def limit(self) -> int: ...
    @property
    def hits(self) -> list[SearchHit]: ...
    @property
    def groups(self) -> list[tuple[str, list[SearchHit]]]: ...
    @property
    def fuzzy(self) -> list[SearchHit]: ...
    @property
    def notes(self) -> list[str]: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[SearchHit]: ...

@final
class RelatedItems:
    """What belongs to a ticket."""

    @property
    def ticket(self) -> SearchHit: ...
    @property
    def test_cases(self) -> list[SearchHit]: ...
    @property
    def requests(self) -> list[SearchHit]: ...
    @property
    def clusters(self) -> list[SearchHit]: ...
    @property
    def other(self) -> list[SearchHit]: ...

@final
class Patterns:
    """Pattern detection over the stored results."""

    def flaky(self, *, all: bool = False) -> list[FlakyTest]: ...
    def async_flaky(self, *, all: bool = False) -> Awaitable[list[FlakyTest]]: ...
    def clusters(self, *, run: str | None = None) -> list[FailureCluster]: ...
    def async_clusters(self, *, run: str | None = None) -> Awaitable[list[FailureCluster]]: ...
    def analyze(self, *, run: str | None = None, persist: bool = True) -> Analysis: ...
    def async_analyze(
        self, *, run: str | None = None, persist: bool = True
    ) -> Awaitable[Analysis]: ...
    def alerts(
        self,
        *,
        states: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
        min_severity: str | None = None,
    ) -> list[Alert]: ...
    def async_alerts(
        self,
        *,
        states: Sequence[str] | None = None,
        kinds: Sequence[str] | None = None,
        min_severity: str | None = None,
    ) -> Awaitable[list[Alert]]: ...
    def update_alert(
        self, alert_id: str, action: str, *, until: datetime | None = None
    ) -> Alert: ...
    def async_update_alert(
        self, alert_id: str, action: str, *, until: datetime | None = None
    ) -> Awaitable[Alert]: ...

@final
class FlakyTest:
    """One test's flakiness."""

    @property
    def test_id(self) -> str: ...
    @property
    def external_id(self) -> str: ...
    @property
    def verdict(self) -> str: ...
    @property
    def runs(self) -> int: ...
    @property
    def failures(self) -> int: ...
    @property
    def flips(self) -> int: ...
    @property
    def passes_on_retry(self) -> int: ...
    @property
    def failure_rate(self) -> float: ...
    @property
    def failure_interval(self) -> tuple[float, float]: ...
    @property
    def score(self) -> float: ...
    @property
    def score_interval(self) -> tuple[float, float]: ...

@final
class FailureCluster:
    """A failure cluster."""

    @property
    def id(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def template(self) -> str: ...
    @property
    def exception(self) -> str | None: ...
    @property
    def failures(self) -> int: ...
    @property
    def tests(self) -> int: ...
    @property
    def runs(self) -> int: ...
    @property
    def environments(self) -> list[str]: ...
    @property
    def first_seen(self) -> datetime: ...
    @property
    def last_seen(self) -> datetime: ...
    @property
    def new_in_run(self) -> bool: ...
    @property
    def in_run(self) -> bool: ...
    @property
    def label(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def known_issue(self) -> str | None: ...
    @property
    def ticket(self) -> str | None: ...
    def raw(self) -> dict[str, Any]: ...

@final
class Alert:
    """A stored alert."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def occurrences(self) -> int: ...
    @property
    def first_seen(self) -> datetime: ...
    @property
    def last_seen(self) -> datetime: ...
    @property
    def muted_until(self) -> datetime | None: ...
    def evidence(self) -> Any: ...

@final
class Analysis:
    """A whole recompute."""

    @property
    def runs(self) -> int: ...
    @property
    def attempts(self) -> int: ...
    @property
    def failures(self) -> int: ...
    @property
    def focus_run(self) -> str | None: ...
    @property
    def clusters(self) -> list[FailureCluster]: ...
    @property
    def tests(self) -> list[FlakyTest]: ...
    @property
    def reassigned(self) -> int: ...
    @property
    def raised(self) -> int: ...
    def raw(self) -> dict[str, Any]: ...

# ---- Sync -------------------------------------------------------------------------------------

_ReportFormat = Literal["md", "markdown", "html", "htm", "json", "csv"]

@final
class SyncCounts:
    """What an integration's sync did so far (or in all)."""

    @property
    def seen(self) -> int:
        """Items read from the source."""
    @property
    def written(self) -> int:
        """Items written (new or changed)."""
    @property
    def unchanged(self) -> int:
        """Items read but unchanged, so not written."""
    @property
    def deleted(self) -> int:
        """Items deleted because the source no longer has them."""
    @property
    def renamed(self) -> int:
        """Items that moved to a new key."""
    @property
    def kept(self) -> int:
        """Test cases the source dropped but kept because results refer to them."""
    @property
    def scopes(self) -> int:
        """Scopes (projects, collections, ...) synced."""

@final
class SyncStarted:
    """Sync event: an integration's sync started."""

    @property
    def integration(self) -> str:
        """``jira``, ``testmo``, ``postman``, ``splunk`` or ``grafana``."""

@final
class SyncProgress:
    """Sync event: a batch was stored; the integration's totals so far."""

    @property
    def integration(self) -> str: ...
    @property
    def scope(self) -> str:
        """The project, collection or other part the batch belongs to."""
    @property
    def counts(self) -> SyncCounts: ...

@final
class SyncFinished:
    """Sync event: an integration's sync ended."""

    @property
    def integration(self) -> str: ...
    @property
    def outcome(self) -> Literal["ok", "failed", "cancelled"]: ...
    @property
    def report(self) -> IntegrationSyncReport: ...

@final
class SyncIndexed:
    """Sync event: the search index took a set of changes."""

    @property
    def upserted(self) -> int: ...
    @property
    def deleted(self) -> int: ...

@final
class SyncEmbedded:
    """Sync event: an embedding pass ran after an integration's batches."""

    @property
    def integration(self) -> str: ...
    @property
    def embedded(self) -> int:
        """Documents embedded in this pass."""
    @property
    def warning(self) -> str | None:
        """Why the pass stopped early (the endpoint failed); keyword search is unaffected."""

_SyncEvent = SyncStarted | SyncProgress | SyncFinished | SyncIndexed | SyncEmbedded

@final
class IntegrationSyncReport:
    """One integration's part of a sync report."""

    @property
    def integration(self) -> str: ...
    @property
    def outcome(self) -> Literal["ok", "failed", "cancelled"]: ...
    @property
    def counts(self) -> SyncCounts: ...
    @property
    def error(self) -> str | None:
        """Why it failed, in words a user can act on."""
    @property
    def elapsed(self) -> float:
        """Seconds it took."""

@final
class IndexSyncReport:
    """The search index's part of a sync report."""

    @property
    def upserted(self) -> int: ...
    @property
    def deleted(self) -> int: ...
    @property
    def error(self) -> str | None:
        """Set when an update failed; the index lags until a reindex."""

@final
class SyncReport:
    """What a whole sync did."""

    @property
    def ok(self) -> bool:
        """Every integration synced and the index took every change."""
    @property
    def integrations(self) -> list[IntegrationSyncReport]: ...
    @property
    def index(self) -> IndexSyncReport | None:
        """None when the sync ran without the search index."""
    def raw(self) -> dict[str, Any]:
        """The report as JSON (what ``qapms sync --json`` prints)."""
    def __bool__(self) -> bool: ...
