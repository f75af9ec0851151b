"""qapms: a QA companion SDK.

The work happens in a Rust core (``qapms._qapms``); this package is its typed Python face.
Every error qapms raises derives from :class:`QapmsError`.
"""

import json
from typing import Any

from qapms._qapms import (
    AsyncIssueIterator,
    AuthError,
    ConfigError,
    ConflictError,
    Diagnostic,
    InvalidInputError,
    Issue,
    IssueIterator,
    JiraClient,
    JiraComment,
    JiraCreatedIssue,
    JiraProject,
    JiraTransition,
    JiraWorklog,
    NotFoundError,
    QapmsError,
    RateLimitedError,
    SecretError,
    StoreError,
    StoreInfo,
    UpstreamError,
    Workspace,
    __version__,
    check_config,
)
from qapms._qapms import config_schema as _config_schema


def config_schema() -> dict[str, Any]:
    """The JSON Schema of ``qapms.yaml`` (draft 2020-12), for editors and validators."""
    schema: dict[str, Any] = json.loads(_config_schema())
    return schema


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
]
