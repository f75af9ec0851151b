"""A stateful fake Jira on 127.0.0.1 that answers from the official contract's samples.

Every payload starts from a sample in ``shared/contracts/jira/samples`` (Atlassian's own
examples); the fake varies keys, summaries and statuses so paging and searches have something
to tell apart. It behaves like Jira where scripts trip up: Cloud pages ``search/jql`` by
``nextPageToken`` and never returns more than 100 issues a page whatever ``maxResults`` asks,
Data Center pages by offset with a ``total``, unknown issues get Jira's 404 body, and a queued
fault (a 429 with ``Retry-After``, say) answers the next request.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fake_http import serve_with

CLOUD_PAGE_LIMIT = 100


def contracts_dir() -> Path:
    """``shared/contracts`` beside the checkout (or above it)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "contracts"
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("shared/contracts not found above " + str(here))


def sample(name: str) -> Any:
    return json.loads((contracts_dir() / "jira" / "samples" / name).read_text())


STATUSES = [
    ("To Do", "new"),
    ("In Progress", "indeterminate"),
    ("In QA", "indeterminate"),
    ("Done", "done"),
]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]


@dataclass
class FakeJira:
    """The fake's state; ``url`` is its base URL once started."""

    deployment: str = "cloud"
    issue_count: int = 250
    project: str = "PAY"
    auth_header: str | None = None
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    worklogs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)
    faults: list[tuple[int, dict[str, str], Any]] = field(default_factory=list)
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    transitioned: list[tuple[str, str]] = field(default_factory=list)
    # Seconds each search page waits before answering (a slow site, for kill-and-resume tests).
    page_delay: float = 0.0
    # Set, the fake also plays Atlassian's OAuth gateway: the site's API under
    # `/ex/jira/<cloud_id>` and `/oauth/token/accessible-resources` naming `site` with this id.
    cloud_id: str | None = None
    site: str = "https://pay-team.atlassian.net"

    def __post_init__(self) -> None:
        template = sample("get-issue.response.json")
        for n in range(1, self.issue_count + 1):
            issue = copy.deepcopy(template)
            key = f"{self.project}-{n}"
            status, category = STATUSES[n % len(STATUSES)]
            issue["id"] = str(10000 + n)
            issue["key"] = key
            issue["self"] = f"https://example.atlassian.net/rest/api/3/issue/{10000 + n}"
            f = issue["fields"]
            f["summary"] = f"Checkout case {n}"
            f["status"] = {
                "id": str(n % len(STATUSES) + 1),
                "name": status,
                "statusCategory": {"key": category, "name": status},
            }
            f["issuetype"] = {"id": "10001", "name": "Bug" if n % 3 == 0 else "Story"}
            f["priority"] = {"id": "3", "name": "Medium"}
            f["labels"] = ["checkout", f"batch-{n % 5}"]
            f["customfield_10010"] = {"value": f"team-{n % 4}"}
            f["updated"] = "2026-11-20T10:00:00.000+0000"
            f["created"] = "2026-11-01T09:00:00.000+0000"
            self.issues[key] = issue

    # ---- what the handler answers --------------------------------------------------------

    def fail_next(
        self, status: int, headers: dict[str, str] | None = None, body: Any = None
    ) -> None:
        """Answers the next request with this status instead."""
        self.faults.append((status, headers or {}, body))

    def matching(self, jql: str) -> list[dict[str, Any]]:
        """A tiny JQL subset: `project = X`, `status = "Y"`, `key = K`; anything else is all.

        An `ORDER BY` suffix is accepted (and ignored: issues keep key order).
        """
        items = list(self.issues.values())
        jql = re.split(r"\s+ORDER\s+BY\s+", " " + jql, flags=re.IGNORECASE)[0].strip()
        for clause in jql.split(" AND "):
            name, _, value = clause.partition("=")
            name, value = name.strip().lower(), value.strip().strip('"')
            if name == "project":
                items = [i for i in items if i["key"].startswith(value + "-")]
            elif name == "status":
                items = [i for i in items if i["fields"]["status"]["name"] == value]
            elif name == "key":
                items = [i for i in items if i["key"] == value]
        return items

    @staticmethod
    def select(issue: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
        if not fields or "*all" in fields or "*navigable" in fields:
            return issue
        out = {k: v for k, v in issue.items() if k != "fields"}
        out["fields"] = {k: v for k, v in issue["fields"].items() if k in fields}
        return out


def _fields_param(values: list[str] | Any) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, list) and all(isinstance(v, str) for v in values):
        return [f for v in values for f in v.split(",") if f]
    return None


class _Handler(BaseHTTPRequestHandler):
    fake: FakeJira

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _not_found(self, what: str) -> None:
        self._send(
            404,
            {
                "errorMessages": [
                    f"{what} does not exist or you do not have permission to see it."
                ],
                "errors": {},
            },
        )

    def _handle(self, method: str) -> None:
        fake = self.fake
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._send(400, {"errorMessages": ["invalid JSON"], "errors": {}})
            return
        fake.requests.append(
            Recorded(
                method, parts.path, query, body, {k.lower(): v for k, v in self.headers.items()}
            )
        )
        if fake.auth_header is not None and self.headers.get("Authorization") != fake.auth_header:
            self._send(401, {"errorMessages": ["You are not authenticated."], "errors": {}})
            return
        if fake.faults:
            status, headers, fault_body = fake.faults.pop(0)
            self._send(
                status,
                fault_body if fault_body is not None else {"errorMessages": ["fault"]},
                headers,
            )
            return
        segs = [s for s in parts.path.split("/") if s]
        if fake.cloud_id is not None:
            if segs == ["oauth", "token", "accessible-resources"]:
                self._send(
                    200,
                    [
                        {"id": "0000-other", "url": "https://other.atlassian.net", "name": "o"},
                        {"id": fake.cloud_id, "url": fake.site, "name": "pay-team"},
                    ],
                )
                return
            if segs[:3] != ["ex", "jira", fake.cloud_id]:
                self._not_found("Site")
                return
            segs = segs[3:]
        if segs[:2] != ["rest", "api"] or len(segs) < 4:
            self._not_found("Resource")
            return
        version, rest = segs[2], segs[3:]
        self._route(method, version, rest, query, body)

    def _route(
        self,
        method: str,
        version: str,
        rest: list[str],
        query: dict[str, list[str]],
        body: Any,
    ) -> None:
        fake = self.fake
        head = rest[0]
        if head == "serverInfo":
            info = sample("server-info.response.json")
            info["deploymentType"] = "Cloud" if fake.deployment == "cloud" else "Server"
            self._send(200, info)
        elif head == "myself":
            self._send(200, sample("myself.response.json"))
        elif head == "field":
            self._send(200, sample("get-fields.response.json"))
        elif head == "project":
            projects = sample("project-search.response.json")
            values = projects["values"]
            values[0]["key"] = fake.project
            if len(rest) > 1 and rest[1] == "search":
                projects.update(isLast=True, total=len(values), startAt=0, maxResults=50)
                projects.pop("nextPage", None)
                self._send(200, projects)
            else:
                self._send(200, values)
        elif head == "search" and len(rest) > 1 and rest[1] == "jql":
            self._search_jql(method, query, body)
        elif head == "search":
            self._search_offset(query, body)
        elif head == "issue":
            self._issue(method, rest[1:], query, body)
        else:
            self._not_found("Resource")

    def _search_jql(self, method: str, query: dict[str, list[str]], body: Any) -> None:
        fake = self.fake
        if method == "POST":
            params = body or {}
            jql = params.get("jql", "")
            asked = int(params.get("maxResults", 50))
            token = params.get("nextPageToken")
            fields = _fields_param(params.get("fields"))
        else:
            jql = query.get("jql", [""])[0]
            asked = int(query.get("maxResults", ["50"])[0])
            token = query.get("nextPageToken", [None])[0]
            fields = _fields_param(query.get("fields"))
        start = int(token) if token else 0
        size = max(1, min(asked, CLOUD_PAGE_LIMIT))
        if fake.page_delay:
            time.sleep(fake.page_delay)
        matches = fake.matching(jql)
        page = matches[start : start + size]
        out: dict[str, Any] = {"issues": [fake.select(i, fields) for i in page]}
        if start + size < len(matches):
            out["nextPageToken"] = str(start + size)
            out["isLast"] = False
        else:
            out["isLast"] = True
        self._send(200, out)

    def _search_offset(self, query: dict[str, list[str]], body: Any) -> None:
        fake = self.fake
        params = body or {k: v[0] for k, v in query.items()}
        start = int(params.get("startAt", 0))
        size = max(1, min(int(params.get("maxResults", 50)), 1000))
        fields = _fields_param(query.get("fields"))
        matches = fake.matching(str(params.get("jql", "")))
        page = matches[start : start + size]
        self._send(
            200,
            {
                "startAt": start,
                "maxResults": size,
                "total": len(matches),
                "issues": [fake.select(i, fields) for i in page],
            },
        )

    def _issue(self, method: str, rest: list[str], query: dict[str, list[str]], body: Any) -> None:
        fake = self.fake
        if not rest:
            if method == "POST":
                self._create(body)
            else:
                self._not_found("Resource")
            return
        if rest[0] == "createmeta":
            self._createmeta(rest[1:])
            return
        key = rest[0]
        issue = fake.issues.get(key)
        if issue is None:
            self._not_found("Issue")
            return
        sub = rest[1] if len(rest) > 1 else None
        if sub is None:
            self._send(200, fake.select(issue, _fields_param(query.get("fields"))))
        elif sub == "comment" and method == "POST":
            comment = sample("add-comment.response.json")
            comment["id"] = str(20000 + sum(len(c) for c in fake.comments.values()))
            comment["body"] = (body or {}).get("body")
            fake.comments.setdefault(key, []).append(comment)
            self._send(201, comment)
        elif sub == "comment":
            listing = fake.comments.get(key, [])
            self._send(
                200, {"startAt": 0, "maxResults": 100, "total": len(listing), "comments": listing}
            )
        elif sub == "transitions" and method == "POST":
            wanted = str(((body or {}).get("transition") or {}).get("id"))
            known = [t["id"] for t in sample("get-transitions.response.json")["transitions"]]
            if wanted not in known:
                self._send(
                    400,
                    {
                        "errorMessages": [f"Transition id '{wanted}' is not valid for this issue."],
                        "errors": {},
                    },
                )
                return
            fake.transitioned.append((key, wanted))
            self._send(204)
        elif sub == "transitions":
            self._send(200, sample("get-transitions.response.json"))
        elif sub == "worklog" and method == "POST":
            log = copy.deepcopy(sample("get-worklogs.response.json")["worklogs"][0])
            log["id"] = str(30000 + sum(len(w) for w in fake.worklogs.values()))
            log.update(
                {
                    k: v
                    for k, v in (body or {}).items()
                    if k in ("started", "timeSpentSeconds", "comment")
                }
            )
            fake.worklogs.setdefault(key, []).append(log)
            self._send(201, log)
        elif sub == "worklog":
            logs = fake.worklogs.get(key, [])
            self._send(
                200, {"startAt": 0, "maxResults": 1000, "total": len(logs), "worklogs": logs}
            )
        else:
            self._not_found("Resource")

    def _createmeta(self, rest: list[str]) -> None:
        if len(rest) == 2 and rest[1] == "issuetypes":
            self._send(
                200,
                {
                    "issueTypes": [
                        {"id": "10001", "name": "Story"},
                        {"id": "10004", "name": "Bug"},
                    ],
                    "total": 2,
                },
            )
        elif len(rest) == 3 and rest[1] == "issuetypes":
            self._send(
                200,
                {
                    "fields": [
                        {
                            "fieldId": "summary",
                            "key": "summary",
                            "name": "Summary",
                            "required": True,
                            "hasDefaultValue": False,
                        },
                        {
                            "fieldId": "project",
                            "key": "project",
                            "name": "Project",
                            "required": True,
                            "hasDefaultValue": False,
                        },
                        {
                            "fieldId": "issuetype",
                            "key": "issuetype",
                            "name": "Issue Type",
                            "required": True,
                            "hasDefaultValue": False,
                        },
                        {
                            "fieldId": "components",
                            "key": "components",
                            "name": "Components",
                            "required": rest[2] == "10004",
                            "hasDefaultValue": False,
                        },
                    ],
                    "total": 4,
                },
            )
        else:
            self._not_found("Project")

    def _create(self, body: Any) -> None:
        fake = self.fake
        fields = (body or {}).get("fields", {})
        n = len(fake.issues) + 1
        key = f"{fake.project}-{n}"
        issue = copy.deepcopy(next(iter(fake.issues.values())))
        issue.update(id=str(10000 + n), key=key)
        issue["fields"]["summary"] = fields.get("summary")
        if "description" in fields:
            issue["fields"]["description"] = fields["description"]
        fake.issues[key] = issue
        fake.created.append(body)
        response = sample("create-issue.response.json")
        response.update(id=str(10000 + n), key=key)
        self._send(201, response)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")


def serve(fake: FakeJira) -> Iterator[FakeJira]:
    """Runs the fake until the generator is closed."""
    yield from serve_with(_Handler, fake)
