"""A stateful fake Testmo (REST v1) on 127.0.0.1, shaped by the official contract.

The automation lifecycle answers from ``shared/contracts/testmo/samples`` (create run, create
thread, append, complete) and refuses calls out of order; lists follow the contract's page
schema (``page``, ``next_page``, ``last_page``, ``per_page``, ``total``, ``result``) with
Testmo's server-side cap of 100 per page, so clients must follow ``next_page``. A missing run
name gets the contract's 422 body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fake_http import Fake, Reply, Request, sample

TOKEN = "testmo-token-s3cret"
PAGE_CAP = 100

# What ``expands=statuses`` describes (the instance's configured result statuses).
STATUSES: list[dict[str, Any]] = [
    {"id": 1, "name": "Untested", "system_name": "untested", "is_untested": True},
    {"id": 2, "name": "Passed", "system_name": "passed", "is_passed": True, "is_final": True},
    {"id": 3, "name": "Failed", "system_name": "failed", "is_failed": True, "is_final": True},
]

# What ``expands=tags`` describes: the repository lists tags by id.
TAGS: list[dict[str, Any]] = [{"id": 7, "name": "smoke"}]


@dataclass
class FakeTestmo(Fake):
    """Project 1 with ``case_count`` cases in 3 folders, plus the automation lifecycle."""

    case_count: int = 230
    # Manual runs closed so far (of three); a test closes more to see them synced.
    closed_runs: int = 1
    runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    threads: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_run: int = 0
    next_thread: int = 0

    def __post_init__(self) -> None:
        self.auth_header = f"Bearer {TOKEN}"
        self.next_run = sample("testmo", "create-automation-run.response.json")["id"]
        self.next_thread = sample("testmo", "create-automation-run-thread.response.json")["id"]

    def unauthorized(self) -> Reply:
        return Reply(401, {"message": "Unauthenticated."})

    def _not_found(self) -> Reply:
        return Reply(404, {"message": "The requested resource could not be found."})

    @staticmethod
    def _page(r: Request, items: list[dict[str, Any]]) -> Reply:
        page = int(r.arg("page") or 1)
        per_page = min(int(r.arg("per_page") or 100), PAGE_CAP)
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        return Reply(
            body={
                "page": page,
                "prev_page": page - 1 if page > 1 else None,
                "next_page": page + 1 if page < last else None,
                "last_page": last,
                "per_page": per_page,
                "total": len(items),
                "result": chunk,
            }
        )

    def cases(self) -> list[dict[str, Any]]:
        return [
            {
                "id": 1000 + n,
                "project_id": 1,
                "folder_id": 10 + n % 3,
                "name": f"Checkout case {n}",
                "key": n + 1,
                "state_id": 4,
                "status_id": 1,
                "estimate": 300,
                "has_automation": n % 2 == 0,
                "tags": [7] if n % 5 == 0 else None,
                "created_at": "2024-05-01T10:00:00.000000Z",
                "updated_at": "2024-05-02T10:00:00.000000Z",
            }
            for n in range(self.case_count)
        ]

    def manual_runs(self) -> list[dict[str, Any]]:
        """Runs 40 to 42; ``closed_runs`` of them closed, a day apart."""
        return [
            {
                "id": 40 + n,
                "project_id": 1,
                "name": f"Regression {n}",
                "is_closed": n < self.closed_runs,
                "created_at": f"2024-05-0{1 + n}T10:00:00.000000Z",
                "closed_at": f"2024-05-0{1 + n}T12:00:00.000000Z" if n < self.closed_runs else None,
            }
            for n in range(3)
        ]

    def route(self, r: Request) -> Reply:
        parts = [p for p in r.path.split("/") if p]
        if parts[:2] != ["api", "v1"]:
            return self._not_found()
        parts = parts[2:]
        if r.method == "GET":
            return self._get(r, parts)
        if r.method == "POST":
            return self._post(r, parts)
        return self._not_found()

    def _get(self, r: Request, parts: list[str]) -> Reply:
        if parts == ["user"]:
            return Reply(body={"id": 7, "name": "Quinn QA", "timezone": "Europe/Berlin"})
        if parts == ["projects"]:
            return self._page(r, [{"id": 1, "name": "Checkout", "is_completed": False}])
        if len(parts) == 2 and parts[0] == "projects":
            if parts[1] != "1":
                return self._not_found()
            return Reply(body={"result": {"id": 1, "name": "Checkout", "is_completed": False}})
        if len(parts) >= 3 and parts[0] == "projects":
            if parts[1] != "1":
                return self._not_found()
            what = parts[2:]
            if what == ["cases"]:
                items = self.cases()
                if r.arg("folder_id"):
                    items = [c for c in items if str(c["folder_id"]) == r.arg("folder_id")]
                if r.arg("has_automation") is not None:
                    want = r.arg("has_automation") in ("1", "true")
                    items = [c for c in items if c["has_automation"] == want]
                reply = self._page(r, items)
                if r.arg("expands") == "tags":
                    reply.body["expands"] = {"tags": TAGS}
                return reply
            if what == ["folders"]:
                folders = [
                    {"id": 10 + n, "project_id": 1, "name": f"Folder {n}", "parent_id": None}
                    for n in range(3)
                ]
                return self._page(r, folders)
            if what == ["milestones"]:
                return self._page(r, [{"id": 5, "project_id": 1, "name": "Release 2.3"}])
            if what == ["runs"]:
                runs = self.manual_runs()
                if r.arg("is_closed") is not None:
                    want = r.arg("is_closed") in ("1", "true")
                    runs = [x for x in runs if x["is_closed"] == want]
                after = r.arg("closed_after")
                if after:
                    runs = [x for x in runs if x["closed_at"] and x["closed_at"] > after]
                return self._page(r, runs)
            if what == ["automation", "runs"]:
                return self._page(r, list(self.runs.values()))
        if len(parts) == 3 and parts[0] == "runs" and parts[2] == "results":
            run_id = int(parts[1])
            results = [
                {
                    "id": 900 + n,
                    "run_id": run_id,
                    "case_id": 1000 + n,
                    # Case 1000 failed first and passed on a retest; the others passed.
                    "status_id": 3 if n == 0 else 2,
                    "note": "Timeout at the payment step" if n == 0 else None,
                    "elapsed": 1_500_000,
                    "created_at": f"2024-05-0{1 + run_id % 3}T11:00:0{n}.000000Z",
                }
                for n in range(5)
            ]
            results.append(
                {
                    "id": 999,
                    "run_id": run_id,
                    "case_id": 1000,
                    "status_id": 2,
                    "note": None,
                    "elapsed": 1_000_000,
                    "created_at": f"2024-05-0{1 + run_id % 3}T11:30:00.000000Z",
                }
            )
            reply = self._page(r, results)
            if r.arg("expands") == "statuses":
                reply.body["expands"] = {"statuses": STATUSES}
            return reply
        return self._not_found()

    def _post(self, r: Request, parts: list[str]) -> Reply:
        body = r.body or {}
        if len(parts) == 4 and parts[0] == "projects" and parts[2:] == ["automation", "runs"]:
            if not body.get("name") or not body.get("source"):
                return Reply(422, sample("testmo", "error-422.response.json"))
            run_id = self.next_run
            self.next_run += 1
            self.runs[run_id] = {
                "id": run_id,
                "project_id": int(parts[1]),
                "name": body["name"],
                "tags": body.get("tags", []),
                "is_completed": False,
                "request": body,
                "tests": [],
            }
            return Reply(body={"id": run_id})
        if len(parts) == 4 and parts[:2] == ["automation", "runs"] and parts[3] == "threads":
            run = self.runs.get(int(parts[2]))
            if run is None or run["is_completed"]:
                return self._not_found()
            thread_id = self.next_thread
            self.next_thread += 1
            self.threads[thread_id] = {"run": run["id"], "complete": False}
            return Reply(body={"id": thread_id})
        if len(parts) == 5 and parts[:3] == ["automation", "runs", "threads"]:
            thread = self.threads.get(int(parts[3]))
            if thread is None or thread["complete"]:
                return self._not_found()
            if parts[4] == "append":
                self.runs[thread["run"]]["tests"].extend(body.get("tests", []))
                return Reply(204)
            if parts[4] == "complete":
                thread["complete"] = True
                return Reply(204)
        if len(parts) == 4 and parts[:2] == ["automation", "runs"] and parts[3] == "complete":
            run = self.runs.get(int(parts[2]))
            if run is None:
                return self._not_found()
            open_threads = [
                t for t in self.threads.values() if t["run"] == run["id"] and not t["complete"]
            ]
            if open_threads:
                return Reply(422, {"message": "The run has threads that are not complete."})
            run["is_completed"] = True
            return Reply(204)
        return self._not_found()
