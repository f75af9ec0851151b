"""``from qapms.compat.jira import JIRA``: pycontribs ``jira`` calls on qapms's Jira client.

The most used methods of ``jira.JIRA`` keep their signatures and return shapes: resources with
attribute access built from Jira's JSON (``issue.key``, ``issue.fields.summary``,
``issue.fields.status.name``, ``issue.fields.customfield_10010``, ``issue.raw``), and lists
of plain dicts where pycontribs returns dicts (``transitions``, ``fields``, ``myself``).

What differs, on purpose:

- ``search_issues`` never truncates: ``maxResults=False`` (or ``0``) returns every match, and
  any ``maxResults`` above Jira Cloud's 100-per-page limit is reached by paging, not cut at 100.
  ``startAt`` works on Cloud too (pycontribs raises there).
- Rich text (comment bodies, descriptions, worklog comments) is written as Markdown and sent as
  ADF on Cloud and wiki markup on Data Center.
- Errors are :class:`JIRAError`, which is also a :class:`qapms.QapmsError`, with
  ``status_code`` and ``text`` as in pycontribs.

Calls outside this subset raise ``AttributeError`` like any missing attribute; the table in
the README lists what is covered.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal, TypeVar, cast, overload
from urllib.parse import urlsplit

from qapms._qapms import JiraClient, QapmsError

__all__ = [
    "JIRA",
    "Comment",
    "Issue",
    "JIRAError",
    "Project",
    "PropertyHolder",
    "Resource",
    "ResultList",
    "Worklog",
]

_F = TypeVar("_F", bound=Callable[..., Any])

# What each qapms error code means as an HTTP status, for scripts that branch on status_code.
_STATUS_OF_CODE = {
    "NOT_FOUND": 404,
    "UNAUTHORIZED": 401,
    "RATE_LIMITED": 429,
    "INVALID_INPUT": 400,
    "CONFLICT": 409,
}


class JIRAError(QapmsError):
    """An error from Jira, shaped like pycontribs' ``JIRAError``."""

    def __init__(
        self,
        text: str | None = None,
        status_code: int | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(text)
        self.text = text
        self.status_code = status_code
        self.url = url

    def __str__(self) -> str:
        prefix = f"JiraError HTTP {self.status_code}" if self.status_code else "JiraError"
        return f"{prefix}: {self.text}"


def _translate_errors(method: _F) -> _F:
    """Re-raises qapms errors as :class:`JIRAError`, keeping the original as the cause."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except JIRAError:
            raise
        except QapmsError as err:
            status = getattr(err, "status", None) or _STATUS_OF_CODE.get(getattr(err, "code", ""))
            raise JIRAError(text=str(err), status_code=status) from err

    return cast("_F", wrapper)


class PropertyHolder:
    """Attribute access over a JSON object, as pycontribs' resources offer it."""

    def __init__(self, raw: dict[str, Any]) -> None:
        for key, value in raw.items():
            setattr(self, key, _wrap(value))

    def __repr__(self) -> str:
        names = ", ".join(sorted(k for k in vars(self) if not k.startswith("_")))
        return f"<{type(self).__name__} {names}>"


def _wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return PropertyHolder(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


class Resource:
    """A Jira resource: its JSON in ``raw``, and every top-level key as an attribute."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        for key, value in raw.items():
            # `self` is the resource's URL in Jira's JSON; pycontribs exposes it as `.self`.
            setattr(self, key, _wrap(value))

    def __repr__(self) -> str:
        ident = self.raw.get("key") or self.raw.get("id") or ""
        return f"<JIRA {type(self).__name__}: {ident!r}>"


class Issue(Resource):
    """An issue: ``key``, ``id``, ``fields`` (attribute access) and ``raw``."""

    key: str
    id: str
    fields: Any

    def __init__(self, raw: dict[str, Any], site: str | None = None) -> None:
        raw.setdefault("fields", {})
        super().__init__(raw)
        self._site = site

    def permalink(self) -> str:
        """The issue's page in Jira."""
        base = (self._site or "").rstrip("/")
        return f"{base}/browse/{self.key}"


class Comment(Resource):
    """A comment: ``id``, ``body``, ``author``, ``created`` and ``raw``."""


class Worklog(Resource):
    """A worklog: ``id``, ``timeSpentSeconds``, ``started``, ``author`` and ``raw``."""


class Project(Resource):
    """A project: ``id``, ``key``, ``name`` and ``raw``."""


_T = TypeVar("_T")


class ResultList(list[_T]):
    """A page of results with pycontribs' paging attributes."""

    def __init__(
        self,
        iterable: Iterable[_T] = (),
        _startAt: int = 0,
        _maxResults: int = 0,
        _total: int | None = None,
        _isLast: bool | None = None,
    ) -> None:
        super().__init__(iterable)
        self.startAt = _startAt
        self.maxResults = _maxResults
        # Token-paged searches (Cloud) do not report a total; this is the count returned.
        self.total = _total if _total is not None else len(self)
        self.isLast = _isLast


def _key(issue: str | int | Issue) -> str:
    if isinstance(issue, Issue):
        return issue.key
    return str(issue)


def _field_list(fields: str | list[str] | None) -> list[str]:
    if fields is None:
        return ["*all"]
    if isinstance(fields, str):
        return [f.strip() for f in fields.split(",") if f.strip()]
    return list(fields)


# Standard fields Jira sends as null when empty, under `*all`.
_NULLABLE_FIELDS = (
    "assignee",
    "reporter",
    "priority",
    "description",
    "resolution",
    "resolutiondate",
    "duedate",
    "environment",
    "parent",
)

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhm])", re.IGNORECASE)
# Jira's default time-tracking settings: 8-hour days, 5-day weeks.
_UNIT_SECONDS = {"w": 5 * 8 * 3600, "d": 8 * 3600, "h": 3600, "m": 60}


def _duration_seconds(text: str) -> int:
    """Seconds in a Jira duration such as ``"1h 30m"`` or ``"2d"``."""
    matches = list(_DURATION.finditer(text))
    leftover = _DURATION.sub("", text).strip()
    if not matches or leftover:
        raise JIRAError(
            text=f"timeSpent {text!r} is not a Jira duration like '1h 30m' or '2d'",
            status_code=400,
        )
    return round(sum(float(m[1]) * _UNIT_SECONDS[m[2].lower()] for m in matches))


def _utc(started: _dt.datetime | None) -> _dt.datetime | None:
    # pycontribs sends a naive `started` as UTC; keep that meaning.
    if started is not None and started.tzinfo is None:
        return started.replace(tzinfo=_dt.timezone.utc)
    return started


def _name_or_id(value: Any, what: str) -> str:
    if isinstance(value, dict):
        for key in ("key", "name", "id"):
            if key in value:
                return str(value[key])
        raise JIRAError(text=f"{what} needs a key, name or id: {value!r}", status_code=400)
    return str(value)


def _plain_text(value: Any) -> str | None:
    """The text of a description or comment given as a str or an ADF dict."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        parts: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if node.get("type") == "text":
                    parts.append(str(node.get("text", "")))
                for child in node.get("content", []) or []:
                    walk(child)
                if node.get("type") == "paragraph":
                    parts.append("\n\n")

        walk(value)
        return "".join(parts).strip()
    return str(value)


class JIRA:
    """A Jira client with pycontribs' ``JIRA`` interface, running on qapms.

    ``JIRA(server, basic_auth=(email, api_token))`` for Cloud, or
    ``JIRA(server, token_auth=pat)`` for Data Center. The deployment is recognised from the
    host (``*.atlassian.net``) or from ``serverInfo``; pass
    ``options={"deployment": "cloud"|"data_center"}`` to skip the look-up.
    """

    def __init__(
        self,
        server: str | None = None,
        options: dict[str, Any] | None = None,
        basic_auth: tuple[str, str] | None = None,
        token_auth: str | None = None,
        timeout: float | None = None,
        get_server_info: bool = True,
        validate: bool = False,
        **unsupported: Any,
    ) -> None:
        options = dict(options or {})
        server = server or options.get("server")
        if not server:
            raise JIRAError(text="JIRA(server=...) is required", status_code=None)
        if unsupported:
            names = ", ".join(sorted(unsupported))
            raise JIRAError(
                text=f"qapms.compat.jira does not support {names}; "
                "use basic_auth=(email, api_token) or token_auth=PAT",
            )
        self._server = server.rstrip("/")
        self._auth: dict[str, Any] = {"timeout": timeout}
        if basic_auth is not None:
            self._auth.update(email=basic_auth[0], api_token=basic_auth[1])
        elif token_auth is not None:
            self._auth.update(token=token_auth)
        deployment = options.get("deployment")
        if deployment is None:
            deployment = self._guess_deployment(get_server_info)
        self._client = self._connect(deployment)
        if validate:
            self.myself()

    @_translate_errors
    def _connect(self, deployment: str) -> JiraClient:
        return JiraClient(self._server, deployment=deployment, **self._auth)

    def _guess_deployment(self, ask_server: bool) -> str:
        host = urlsplit(self._server).hostname or ""
        if host.endswith((".atlassian.net", ".jira.com", ".jira-dev.com")):
            return "cloud"
        if not ask_server:
            return "data_center"
        # /rest/api/2/serverInfo exists on both deployments; only Cloud says "Cloud".
        info = self._connect("data_center").server_info()
        return "cloud" if info.get("deploymentType") == "Cloud" else "data_center"

    @property
    def server_url(self) -> str:
        """The site's base URL."""
        return self._server

    @property
    def _is_cloud(self) -> bool:
        return self._client.deployment == "cloud"

    def _issue(self, raw: dict[str, Any], requested: list[str] | None = None) -> Issue:
        # Jira sends an empty field as null (an unassigned issue has `"assignee": null`);
        # the core model drops nulls, so put them back for the fields that were asked for,
        # letting `if issue.fields.assignee:` work as it does on pycontribs.
        fields = raw.setdefault("fields", {})
        wanted = _NULLABLE_FIELDS if requested is None or "*all" in requested else requested
        for name in wanted:
            fields.setdefault(name, None)
        return Issue(raw, site=self._server)

    # ---- server -------------------------------------------------------------------------

    @_translate_errors
    def server_info(self) -> dict[str, Any]:
        """``GET /serverInfo``."""
        return self._client.server_info()

    @_translate_errors
    def myself(self) -> dict[str, Any]:
        """The signed-in user, as Jira's JSON."""
        return self._client.myself()

    @_translate_errors
    def fields(self) -> list[dict[str, Any]]:
        """Every field definition, as Jira's JSON."""
        return self._client.fields()

    @_translate_errors
    def projects(self, expand: str | None = None) -> list[Project]:
        """Every project the account can browse."""
        return [Project(p.raw()) for p in self._client.projects()]

    @_translate_errors
    def project(self, id: str, expand: str | None = None) -> Project:
        """One project by key or id."""
        wanted = str(id)
        for project in self._client.projects():
            if wanted in (project.key, project.id) or wanted.upper() == project.key:
                return Project(project.raw())
        raise JIRAError(
            text=f"No project could be found with key or id {wanted!r}", status_code=404
        )

    # ---- issues -------------------------------------------------------------------------

    @_translate_errors
    def issue(
        self,
        id: Issue | str,
        fields: str | None = None,
        expand: str | None = None,
        properties: str | None = None,
    ) -> Issue:
        """One issue by key or id; every field unless ``fields`` names some."""
        if isinstance(id, Issue):
            return id
        wanted = _field_list(fields)
        found = self._client.issue(str(id), fields=wanted)
        return self._issue(found.raw(), wanted)

    @overload
    def search_issues(
        self,
        jql_str: str,
        startAt: int = ...,
        maxResults: int | bool = ...,
        validate_query: bool = ...,
        fields: str | list[str] | None = ...,
        expand: str | None = ...,
        properties: str | None = ...,
        *,
        json_result: Literal[False] = ...,
        use_post: bool = ...,
    ) -> ResultList[Issue]: ...

    @overload
    def search_issues(
        self,
        jql_str: str,
        startAt: int = ...,
        maxResults: int | bool = ...,
        validate_query: bool = ...,
        fields: str | list[str] | None = ...,
        expand: str | None = ...,
        properties: str | None = ...,
        *,
        json_result: Literal[True],
        use_post: bool = ...,
    ) -> dict[str, Any]: ...

    @_translate_errors
    def search_issues(
        self,
        jql_str: str,
        startAt: int = 0,
        maxResults: int | bool = 50,
        validate_query: bool = True,
        fields: str | list[str] | None = "*all",
        expand: str | None = None,
        properties: str | None = None,
        *,
        json_result: bool = False,
        use_post: bool = False,
    ) -> dict[str, Any] | ResultList[Issue]:
        """Issues matching ``jql_str``: ``maxResults`` of them from ``startAt``, or every one
        when ``maxResults`` is ``False`` or ``0``. Never silently cut at 100."""
        if startAt < 0:
            raise JIRAError(text="startAt must not be negative", status_code=400)
        limit = None if maxResults is False or not maxResults else int(maxResults)
        if limit is not None and limit < 0:
            raise JIRAError(text="maxResults must not be negative", status_code=400)
        page = 100 if limit is None else max(1, min(100, startAt + limit))
        found: list[dict[str, Any]] = []
        wanted = _field_list(fields)
        iterator: Iterator[Any] = self._client.search(jql_str, fields=wanted, page_size=page)
        exhausted = True
        for index, issue in enumerate(iterator):
            if index < startAt:
                continue
            if limit is not None and len(found) >= limit:
                exhausted = False
                break
            found.append(issue.raw())
        if json_result:
            return {
                "startAt": startAt,
                "maxResults": limit if limit is not None else len(found),
                "total": len(found) + startAt if exhausted else None,
                "isLast": exhausted,
                "issues": found,
            }
        return ResultList(
            (self._issue(raw, wanted) for raw in found),
            _startAt=startAt,
            _maxResults=limit if limit is not None else len(found),
            _total=len(found) + startAt if exhausted else None,
            _isLast=exhausted,
        )

    @_translate_errors
    def create_issue(
        self,
        fields: dict[str, Any] | None = None,
        prefetch: bool = True,
        **fieldargs: Any,
    ) -> Issue:
        """Creates an issue from Jira-style fields (``project``, ``issuetype``, ``summary``,
        ``description`` and any other field by id), checked against createmeta first."""
        data = dict(fields if fields is not None else fieldargs)
        try:
            project = _name_or_id(data.pop("project"), "project")
            issue_type = _name_or_id(data.pop("issuetype"), "issuetype")
            summary = str(data.pop("summary"))
        except KeyError as missing:
            raise JIRAError(
                text=f"create_issue needs the field {missing}", status_code=400
            ) from None
        description = _plain_text(data.pop("description", None))
        created = self._client.create_issue(
            project, issue_type, summary, description=description, fields=data or None
        )
        if prefetch:
            return self.issue(created.key)
        return self._issue({"id": created.id, "key": created.key, "fields": {}})

    # ---- comments, transitions, worklogs ------------------------------------------------

    @_translate_errors
    def comments(self, issue: str | int | Issue, expand: str | None = None) -> list[Comment]:
        """Every comment on an issue, oldest first."""
        return [Comment(c.raw()) for c in self._client.comments(_key(issue))]

    @_translate_errors
    def add_comment(
        self,
        issue: str | int | Issue,
        body: str,
        visibility: dict[str, str] | None = None,
        is_internal: bool = False,
    ) -> Comment:
        """Adds a comment (Markdown; ADF on Cloud, wiki text on Data Center)."""
        if visibility is not None or is_internal:
            raise JIRAError(
                text="qapms.compat.jira does not support comment visibility or internal comments",
                status_code=400,
            )
        return Comment(self._client.add_comment(_key(issue), body).raw())

    @_translate_errors
    def transitions(
        self, issue: str | int | Issue, id: str | None = None, expand: Any = None
    ) -> list[dict[str, Any]]:
        """The transitions available on an issue, as Jira's JSON."""
        found = [t.raw() for t in self._client.transitions(_key(issue))]
        if id is not None:
            found = [t for t in found if str(t.get("id")) == str(id)]
        return found

    @_translate_errors
    def find_transitionid_by_name(
        self, issue: str | int | Issue, transition_name: str
    ) -> int | None:
        """The id of the transition with this name, or None."""
        for transition in self.transitions(issue):
            if str(transition.get("name", "")).lower() == transition_name.lower():
                return int(transition["id"])
        return None

    @_translate_errors
    def transition_issue(
        self,
        issue: str | int | Issue,
        transition: str,
        fields: dict[str, Any] | None = None,
        comment: str | None = None,
        worklog: str | None = None,
        **fieldargs: Any,
    ) -> None:
        """Moves an issue through a transition given by id or name; ``comment`` and
        ``worklog`` are added after the transition."""
        if fields or fieldargs:
            raise JIRAError(
                text="qapms.compat.jira does not set fields during a transition; "
                "set them with a separate update",
                status_code=400,
            )
        key = _key(issue)
        self._client.transition(key, str(transition))
        if comment:
            self._client.add_comment(key, comment)
        if worklog:
            self._client.add_worklog(key, _duration_seconds(worklog))

    @_translate_errors
    def worklogs(self, issue: str | int | Issue) -> list[Worklog]:
        """Every worklog on an issue."""
        return [Worklog(w.raw()) for w in self._client.worklogs(_key(issue))]

    @_translate_errors
    def add_worklog(
        self,
        issue: str | int | Issue,
        timeSpent: str | None = None,
        timeSpentSeconds: str | int | None = None,
        adjustEstimate: str | None = None,
        newEstimate: str | None = None,
        reduceBy: str | None = None,
        comment: str | None = None,
        started: _dt.datetime | None = None,
        user: str | None = None,
        visibility: dict[str, Any] | None = None,
    ) -> Worklog:
        """Logs time on an issue: ``timeSpent`` like ``"1h 30m"`` or ``timeSpentSeconds``;
        ``started`` defaults to now, and a naive ``started`` is UTC as in pycontribs."""
        if adjustEstimate or newEstimate or reduceBy or user or visibility:
            raise JIRAError(
                text="qapms.compat.jira does not support estimate adjustment, "
                "another user or visibility on worklogs",
                status_code=400,
            )
        if timeSpentSeconds is not None:
            seconds = int(timeSpentSeconds)
        elif timeSpent is not None:
            seconds = _duration_seconds(timeSpent)
        else:
            raise JIRAError(text="add_worklog needs timeSpent or timeSpentSeconds", status_code=400)
        when = _utc(started) or _dt.datetime.now(_dt.timezone.utc)
        log = self._client.add_worklog(_key(issue), seconds, started=when, comment=comment)
        return Worklog(log.raw())

    def close(self) -> None:
        """Nothing to release; kept for pycontribs compatibility."""

    def __repr__(self) -> str:
        return f"<qapms.compat.jira.JIRA {self._server!r} ({self._client.deployment})>"
