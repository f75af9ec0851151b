"""A fake Splunk Enterprise REST API on 127.0.0.1, answering from the contract's samples.

Search jobs are stateful: a created job reports ``RUNNING`` on its first status poll and
``DONE`` after, so clients must poll; results page by ``offset``/``count`` from rows built
on ``results-stats.splunk5.json`` (plus the multivalue sample's fields). The export endpoint
streams the NDJSON sample with ``preview`` off, one line per write, as Splunk does.

``saved/searches`` is not in the derived contract; it answers in the shape of Splunk's REST
reference (the Atom feed as JSON: ``entry[].name``, ``id``, ``updated``, ``acl.app``,
``content.search``, ``paging``), paged by ``count`` and ``offset``, from ``saved``.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from fake_http import Fake, Reply, Request, sample, sample_text

TOKEN = "splunk-token-s3cret"


def saved_search(name: str, app: str, spl: str, **content: Any) -> dict[str, Any]:
    quoted = name.replace(" ", "%20")
    return {
        "name": name,
        "id": f"https://localhost:8089/servicesNS/nobody/{app}/saved/searches/{quoted}",
        "updated": "2026-11-30T17:42:10+00:00",
        "acl": {"app": app, "owner": "nobody", "sharing": "app"},
        "content": {"search": spl, **content},
    }


SAVED = [
    saved_search(
        "Token refresh failures",
        "auth_app",
        'search index=auth "refresh_token" (status=401 OR status=403) | timechart count',
        description="Refresh calls the auth service refused",
        **{"dispatch.earliest_time": "-7d@d", "is_scheduled": "1"},
    ),
    saved_search(
        "Checkout latency p95",
        "search",
        "| tstats perc95(duration) where index=web uri_path=/checkout* by _time span=1h",
        disabled=False,
    ),
    saved_search("Old smoke report", "search", "index=qa smoke=true | stats count", disabled=True),
]


@dataclass
class FakeSplunk(Fake):
    """Jobs return ``row_count`` rows each."""

    row_count: int = 1200
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    saved: list[dict[str, Any]] = field(default_factory=lambda: copy.deepcopy(SAVED))

    def __post_init__(self) -> None:
        self.auth_header = f"Bearer {TOKEN}"

    def unauthorized(self) -> Reply:
        return Reply(
            401, {"messages": [{"type": "WARN", "text": "call not properly authenticated"}]}
        )

    def rows(self, spl: str) -> list[dict[str, Any]]:
        base = sample("splunk", "results-stats.splunk5.json")["results"]
        multi = sample("splunk", "results-events-multivalue.splunk5.json")["results"][0]
        out = []
        for n in range(self.row_count):
            row = copy.deepcopy(base[n % len(base)])
            row["n"] = str(n)
            row["host"] = multi["host"]
            # Splunk sends multivalue fields as arrays.
            row["tag"] = ["checkout", f"shard-{n % 4}"]
            out.append(row)
        return out

    def route(self, r: Request) -> Reply:
        parts = [p for p in r.path.split("/") if p]
        if parts and parts[0] == "servicesNS":
            parts = ["services", *parts[3:]]
        if parts == ["services", "server", "info"] and r.method == "GET":
            return Reply(
                body={
                    "entry": [
                        {
                            "name": "server-info",
                            "content": {
                                "version": "9.2.1",
                                "serverName": "splunk-fake",
                                "build": "78803f08aabb",
                            },
                        }
                    ]
                }
            )
        if parts == ["services", "search", "jobs"] and r.method == "POST":
            form = r.body or {}
            spl = (form.get("search") or [""])[0]
            if not spl.strip():
                return Reply(400, {"messages": [{"type": "FATAL", "text": "Empty search."}]})
            sid = f"1700000000.{len(self.jobs) + 1}"
            self.jobs[sid] = {"spl": spl, "polls": 0, "form": form}
            return Reply(201, {"sid": sid})
        if len(parts) == 4 and parts[:3] == ["services", "search", "jobs"] and r.method == "GET":
            job = self.jobs.get(parts[3])
            if job is None:
                return Reply(404, {"messages": [{"type": "FATAL", "text": "Unknown sid."}]})
            job["polls"] += 1
            done = job["polls"] > 1
            content = {
                "sid": parts[3],
                "dispatchState": "DONE" if done else "RUNNING",
                "isDone": done,
                "isFailed": False,
                "doneProgress": 1.0 if done else 0.4,
                "resultCount": self.row_count if done else 0,
                "eventCount": self.row_count,
                "messages": [],
            }
            return Reply(body={"entry": [{"name": job["spl"], "content": content}]})
        if (
            len(parts) == 6
            and parts[:4] == ["services", "search", "v2", "jobs"]
            and parts[5] == "results"
        ):
            job = self.jobs.get(parts[4])
            if job is None:
                return Reply(404, {"messages": [{"type": "FATAL", "text": "Unknown sid."}]})
            offset = int(r.arg("offset") or 0)
            count = int(r.arg("count") or 100) or 100
            rows = self.rows(job["spl"])[offset : offset + count]
            return Reply(
                body={"preview": False, "init_offset": offset, "messages": [], "results": rows}
            )
        if parts == ["services", "saved", "searches"] and r.method == "GET":
            offset = int(r.arg("offset") or 0)
            count = int(r.arg("count") or 30)
            page = self.saved if count == 0 else self.saved[offset : offset + count]
            return Reply(
                body={
                    "origin": "https://localhost:8089/services/saved/searches",
                    "entry": page,
                    "paging": {"total": len(self.saved), "perPage": count, "offset": offset},
                    "messages": [],
                }
            )
        if parts == ["services", "search", "v2", "jobs", "export"] and r.method == "POST":
            lines = []
            for line in sample_text("splunk", "export-stream.ndjson").splitlines():
                if not line.strip():
                    continue
                row = json.loads(line)
                if row.get("preview"):
                    continue
                lines.append(json.dumps(row))
            if not lines:
                # The sample is all preview rows; send its last batch as the final results.
                for line in sample_text("splunk", "export-stream.ndjson").splitlines()[-4:]:
                    row = json.loads(line)
                    row["preview"] = False
                    lines.append(json.dumps(row))
            return Reply(text="\n".join(lines) + "\n", content_type="application/json")
        return Reply(404, {"messages": [{"type": "ERROR", "text": f"Not found: {r.path}"}]})
