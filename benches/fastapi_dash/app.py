"""The QA Manager dashboard written in FastAPI, for ``benches/dashboard_compare.py``.

It serves the same page as ``qapms-server``'s ``/dashboards/qa-manager?days=7|30|90`` (HTML,
rendered with Jinja2 from ``qa_manager.html``) and its data as JSON at
``/api/v1/dashboards/qa-manager``, over the same SQLite store file (``QAPMS_BENCH_DB``, opened
read-only), with SQL that computes the same figures as ``qapms_core::dashboard::qa_manager``:

- team time by activity and step, and per day, from the ``dashboard_facts`` rollups;
- estimate accuracy per workflow template (``verified`` facts);
- weekly attempts, pass rate and coverage (``result`` facts and the number of test cases);
- open alerts seen in the period;
- the portfolio: tracked time and verified workflows per project, open and blocked
  workflows, and open bugs.

Where qapms reads whole rows and aggregates in Rust (open workflows with their steps, every
ticket), this app lets SQLite aggregate, which only helps the FastAPI side. It has no sign-in,
sessions or CSRF: that too only helps it. Each worker process keeps one connection; the
handlers are ``async def`` and call sqlite directly, which is faster here than FastAPI's
thread pool for sub-millisecond queries on a 2-core machine.

    QAPMS_BENCH_DB=.../qapms.db uvicorn fastapi_dash.app:app --workers 2   # from benches/
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

NIL = uuid.UUID(int=0).bytes
EPOCH = date(1970, 1, 1)
OPEN_WORKFLOW_STATES = ("created", "in_progress", "paused")
OPEN_ALERT_STATES = ("new", "acknowledged")

_db: sqlite3.Connection | None = None


def db() -> sqlite3.Connection:
    """This worker's read-only connection to the store file."""
    global _db
    if _db is None:
        path = os.environ["QAPMS_BENCH_DB"]
        _db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    return _db


def day_date(day: int) -> date:
    return EPOCH + timedelta(days=day)


def week_of(day: int) -> int:
    # 1970-01-01 was a Thursday: three days after a Monday (as qapms's FactDim::Week).
    return day - ((day + 3) % 7)


def activity_label(activity: str) -> str:
    return activity or "ad hoc"


def project_of(key: str | None) -> str:
    return key.split("-", 1)[0] if key and "-" in key else ""


def iso_micros(micros: int) -> str:
    return datetime.fromtimestamp(micros / 1e6, UTC).isoformat().replace("+00:00", "Z")


def facts(kind: str, dims: list[str], from_day: int, to_day: int) -> list[tuple[Any, ...]]:
    cols = ", ".join(dims)
    group = f" GROUP BY {cols} ORDER BY {cols}" if dims else ""
    sql = (
        f"SELECT {cols + ', ' if dims else ''}SUM(n), SUM(passed), SUM(failed), SUM(amount), "
        "SUM(estimate), SUM(tracked), "
        "COUNT(DISTINCT CASE WHEN test_id <> ? THEN test_id END) "
        f"FROM dashboard_facts WHERE kind = ? AND day >= ? AND day < ?{group}"
    )
    return db().execute(sql, (NIL, kind, from_day, to_day)).fetchall()


def qa_manager(days: int) -> dict[str, Any]:
    today = int(time.time() // 86400)
    from_day = today - days + 1
    to_day = today + 1
    start_micros = from_day * 86400 * 1_000_000

    team_time = [
        {"activity": activity_label(a), "step": s, "seconds": amount, "entries": n}
        for a, s, n, _p, _f, amount, _e, _t, _d in facts(
            "time", ["activity", "step"], from_day, to_day
        )
    ]
    by_day = {d: amount for d, _n, _p, _f, amount, *_ in facts("time", ["day"], from_day, to_day)}
    accuracy = [
        {
            "activity": activity_label(a),
            "workflows": n,
            "estimateSeconds": est,
            "trackedSeconds": tracked,
            "ratioPercent": tracked * 100 // est if est > 0 else None,
        }
        for a, n, _p, _f, _amount, est, tracked, _d in facts(
            "verified", ["activity"], from_day, to_day
        )
    ]
    weeks = {
        w: (n, p, f, d)
        for w, n, p, f, _a, _e, _t, d in facts(
            "result", ["(day - ((day + 3) % 7))"], from_day, to_day
        )
    }
    known = db().execute("SELECT COUNT(*) FROM test_cases").fetchone()[0]
    week_numbers = sorted({week_of(d) for d in range(from_day, to_day)})
    trends = []
    for w in week_numbers:
        n, p, f, tests = weeks.get(w, (0, 0, 0, 0))
        trends.append(
            {
                "weekStart": day_date(w).isoformat(),
                "attempts": n,
                "passed": p,
                "failed": f,
                "passRatePercent": p * 100 // (p + f) if p + f > 0 else None,
                "testsExecuted": tests,
                "coveragePercent": tests * 100 // known if known > 0 else None,
            }
        )
    alerts = [
        {
            "alertId": str(uuid.UUID(bytes=aid)),
            "kind": kind,
            "title": title,
            "severity": severity,
            "state": state,
            "occurrences": occ,
            "firstSeen": iso_micros(first),
            "lastSeen": iso_micros(last),
        }
        for aid, kind, title, severity, state, occ, first, last in db().execute(
            "SELECT id, kind, title, severity, state, occurrences, first_seen, last_seen "
            "FROM alerts WHERE state IN (?, ?) AND last_seen >= ? "
            "ORDER BY last_seen DESC, id DESC",
            (*OPEN_ALERT_STATES, start_micros),
        )
    ]
    return {
        "period": {
            "days": days,
            "from": day_date(from_day).isoformat(),
            "to": day_date(today).isoformat(),
        },
        "teamSeconds": sum(t["seconds"] for t in team_time),
        "teamTime": team_time,
        "timeByDay": [
            {"date": day_date(d).isoformat(), "value": by_day.get(d, 0)}
            for d in range(from_day, to_day)
        ],
        "estimateAccuracy": accuracy,
        "trends": trends,
        "alerts": alerts,
        "portfolio": portfolio(from_day, to_day),
    }


def portfolio(from_day: int, to_day: int) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}

    def row(project: str) -> dict[str, Any] | None:
        if not project:
            return None
        return rows.setdefault(
            project,
            {
                "project": project,
                "trackedSeconds": 0,
                "verified": 0,
                "openWorkflows": 0,
                "blocked": 0,
                "openBugs": 0,
            },
        )

    for project, _n, _p, _f, amount, *_ in facts("time", ["project"], from_day, to_day):
        if (r := row(project)) is not None:
            r["trackedSeconds"] += amount
    for project, n, *_ in facts("verified", ["project"], from_day, to_day):
        if (r := row(project)) is not None:
            r["verified"] += n
    for key, workflows, blocked in db().execute(
        "SELECT w.ticket_key, COUNT(*), SUM(EXISTS (SELECT 1 FROM workflow_steps s "
        "WHERE s.workflow_id = w.id AND s.state = 'blocked')) "
        "FROM workflows w WHERE w.state IN (?, ?, ?) AND w.ticket_key IS NOT NULL "
        "GROUP BY w.ticket_key",
        OPEN_WORKFLOW_STATES,
    ):
        if (r := row(project_of(key))) is not None:
            r["openWorkflows"] += workflows
            r["blocked"] += blocked
    for project, bugs in db().execute(
        "SELECT project, COUNT(*) FROM tickets WHERE (lower(issue_type) LIKE '%bug%' "
        "OR lower(issue_type) = 'defect') AND status_category <> 'done' GROUP BY project"
    ):
        if (r := row(project)) is not None:
            r["openBugs"] += bugs
    return [rows[k] for k in sorted(rows)]


def hours(seconds: int) -> str:
    return f"{seconds / 3600:,.1f} h"


TEMPLATE = Environment(
    loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(default=True)
).get_template("qa_manager.html")

app = FastAPI(title="qapms QA Manager dashboard (FastAPI comparison)")


def checked_days(days: int) -> int:
    if days not in (7, 30, 90):
        raise HTTPException(status_code=400, detail="`days` must be 7, 30 or 90")
    return days


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/v1/dashboards/qa-manager")
async def qa_manager_json(days: int = Query(30)) -> dict[str, Any]:
    return qa_manager(checked_days(days))


@app.get("/dashboards/qa-manager", response_class=HTMLResponse)
async def qa_manager_page(days: int = Query(30)) -> HTMLResponse:
    d = qa_manager(checked_days(days))
    peak = max([p["value"] for p in d["timeByDay"]] + [1])
    return HTMLResponse(TEMPLATE.render(d=d, hours=hours, peak=peak))
