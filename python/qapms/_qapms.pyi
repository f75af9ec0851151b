"""Type stubs for the native module ``qapms._qapms``."""

from collections.abc import AsyncIterator, Awaitable, Iterator
from datetime import datetime
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any, final

__all__ = [
    "AsyncIssueIterator",
    "AuthError",
    "ConfigError",
    "ConflictError",
    "Diagnostic",
    "InvalidInputError",
    "Issue",
    "IssueIterator",
    "JiraClient",
    "JiraComment",
    "JiraCreatedIssue",
    "JiraProject",
    "JiraTransition",
    "JiraWorklog",
    "NotFoundError",
    "QapmsError",
    "RateLimitedError",
    "SecretError",
    "StoreError",
    "StoreInfo",
    "UpstreamError",
    "Workspace",
    "__version__",
    "check_config",
    "config_schema",
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
        cls, config: str | PathLike[str] | None = None, profile: str | None = None
    ) -> Workspace:
        """Find and validate qapms.yaml, decrypt its credentials and open the store."""

    @classmethod
    def async_open(
        cls, config: str | PathLike[str] | None = None, profile: str | None = None
    ) -> Awaitable[Workspace]:
        """``open()`` as an awaitable."""

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
