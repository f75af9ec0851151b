"""A fake Grafana HTTP API on 127.0.0.1, answering from the contract's samples.

Search, dashboard by uid and annotations start from ``shared/contracts/grafana/samples``;
created annotations are kept and listed back (newest first, filtered by tags as Grafana
does). ``/api/ds/query`` answers data frames in Grafana's JSON wire shape (a time field and a
number field with labels), with a ``null`` where a point is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fake_http import Fake, Reply, Request, sample

TOKEN = "glsa_fake_s3cret"


@dataclass
class FakeGrafana(Fake):
    """A Grafana with the sample dashboards and a Prometheus-like datasource."""

    annotations: list[dict[str, Any]] = field(default_factory=list)
    queries: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.auth_header = f"Bearer {TOKEN}"
        self.annotations = sample("grafana", "get-annotations.response.json")

    def unauthorized(self) -> Reply:
        return Reply(401, {"message": "invalid API key"})

    def route(self, r: Request) -> Reply:
        path = r.path
        if path == "/api/health":
            return Reply(body={"commit": "abc123", "database": "ok", "version": "11.4.0"})
        if path == "/api/search" and r.method == "GET":
            hits = sample("grafana", "search.response.json")
            q = (r.arg("query") or "").lower()
            if q:
                hits = [h for h in hits if q in h["title"].lower()]
            for tag in r.query.get("tag", []):
                hits = [h for h in hits if tag in h.get("tags", [])]
            return Reply(body=hits)
        if path.startswith("/api/dashboards/uid/"):
            body = sample("grafana", "get-dashboard-by-uid.response.json")
            if path.rsplit("/", 1)[1] != body["dashboard"]["uid"]:
                return Reply(404, {"message": "Dashboard not found"})
            body["dashboard"].setdefault(
                "panels",
                [
                    {"id": 2, "title": "Error rate", "type": "timeseries"},
                    {
                        "id": 3,
                        "title": "Row",
                        "type": "row",
                        "panels": [{"id": 4, "title": "Latency", "type": "timeseries"}],
                    },
                ],
            )
            return Reply(body=body)
        if path == "/api/annotations" and r.method == "POST":
            body = r.body or {}
            if not body.get("text"):
                return Reply(400, {"message": "text is required"})
            new_id = max([a["id"] for a in self.annotations] + [0]) + 1
            stored = {
                "id": new_id,
                "dashboardUID": body.get("dashboardUID"),
                "panelId": body.get("panelId"),
                "time": body["time"],
                "timeEnd": body.get("timeEnd", body["time"]),
                "text": body["text"],
                "tags": body.get("tags", []),
                "login": "qapms",
            }
            self.annotations.insert(0, stored)
            reply = sample("grafana", "post-annotation.response.json")
            reply["id"] = new_id
            return Reply(body=reply)
        if path == "/api/annotations" and r.method == "GET":
            found = self.annotations
            for tag in r.query.get("tags", []):
                found = [a for a in found if tag in a.get("tags", [])]
            if r.arg("limit"):
                found = found[: int(r.arg("limit") or 0)]
            return Reply(body=found)
        if path == "/api/ds/query" and r.method == "POST":
            self.queries.append(r.body)
            body = r.body or {}
            start = int(body.get("from", "0"))
            results = {}
            for q in body.get("queries", []):
                ref = q.get("refId", "A")
                times = [start + i * 60_000 for i in range(5)]
                values: list[float | None] = [0.5, 0.7, None, 0.9, 1.1]
                results[ref] = {
                    "status": 200,
                    "frames": [
                        {
                            "schema": {
                                "name": "error_rate",
                                "refId": ref,
                                "fields": [
                                    {"name": "Time", "type": "time"},
                                    {
                                        "name": "Value",
                                        "type": "number",
                                        "labels": {"service": "checkout"},
                                        "config": {"displayNameFromDS": "checkout errors"},
                                    },
                                ],
                            },
                            "data": {"values": [times, values]},
                        }
                    ],
                }
            return Reply(body={"results": results})
        return Reply(404, {"message": "Not found"})
