"""`qapms report` (workflow and period, every format, -o FILE, --post-jira) and
`qapms time export`, through the console script against the contract-backed fake Jira."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from conftest import Home
from fake_jira import FakeJira


def configure(home: Home, jira: FakeJira | None = None) -> None:
    text = f"store:\n  url: sqlite://{home.data_dir}/qapms.db\n"
    if jira is not None:
        text += (
            "integrations:\n  jira:\n"
            f"    base_url: {jira.url}\n"
            "    deployment: cloud\n    projects: [PAY]\n"
            "    auth:\n      method: basic\n      email: qa@example.com\n"
            "      api_token: ${JIRA_TOKEN}\n"
        )
        home.env["JIRA_TOKEN"] = "s3cret-token"
    (home.cwd / "qapms.yaml").write_text(text)


def run(home: Home, *args: str) -> str:
    result = home.qapms(*args, "--user", "ada")
    assert result.returncode == 0, result.stderr
    return result.stdout


def start_and_step(home: Home) -> str:
    started = json.loads(run(home, "workflow", "start", "verify_ticket", "PAY-7", "--json"))
    wid: str = started["workflow"]["id"]
    run(home, "workflow", "note", "https://ci.example.com/runs/1", "--kind", "links")
    run(home, "workflow", "step", "done", "--force")
    return wid


def test_workflow_report_in_every_format(home: Home) -> None:
    configure(home)
    wid = start_and_step(home)
    md = run(home, "report", wid)
    assert md.startswith("# QA report: verify\\_ticket for PAY-7")
    assert "[https://ci.example.com/runs/1](https://ci.example.com/runs/1)" in md
    data: Any = json.loads(run(home, "report", wid, "--format", "json"))
    assert data["schema"] == "qapms.report.workflow/v1"
    assert data["workflow"]["id"] == wid
    assert [s["state"] for s in data["steps"][:2]] == ["done", "active"]
    rows = list(csv.reader(io.StringIO(run(home, "report", wid, "--format", "csv"), newline="")))
    assert rows[0][:3] == ["workflow_id", "template", "ticket"]
    assert len(rows) == 1 + len(data["steps"])
    # Without an id: the current workflow; -o writes the file, stdout stays empty.
    out = run(home, "report", "--format", "html", "-o", "report.html")
    assert out == ""
    html = (home.cwd / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html


def test_bad_arguments_fail_clearly(home: Home) -> None:
    configure(home)
    bad = home.qapms("report", "--format", "pdf", "--user", "ada")
    assert bad.returncode == 2
    assert "md, html, json or csv" in bad.stderr
    none = home.qapms("report", "--user", "ada")
    assert none.returncode == 1
    assert "no open workflow" in none.stderr
    unknown = home.qapms("report", "not-a-uuid", "--user", "ada")
    assert unknown.returncode == 1
    no_jira = home.qapms(
        "report", "01950000-0000-7000-8000-00000000000a", "--post-jira", "comment", "--user", "ada"
    )
    assert no_jira.returncode == 1
    backwards = home.qapms(
        "report", "period", "--from", "2025-03-02", "--to", "2025-03-01", "--user", "ada"
    )
    assert backwards.returncode == 1
    assert "--from must be before --to" in backwards.stderr


def test_period_report(home: Home) -> None:
    configure(home)
    run(home, "time", "add", "1h30m", "--ticket", "PAY-3", "--start", "2025-03-03T09:00:00Z")
    run(home, "time", "add", "45m", "--ticket", "PAY-4", "--start", "2025-03-04T09:00:00Z")
    run(home, "time", "add", "2h", "--ticket", "PAY-5", "--start", "2025-04-01T09:00:00Z")
    data: Any = json.loads(
        run(home, "report", "period", "--from", "2025-03-01", "--to", "2025-04-01", "-f", "json")
    )
    assert data["schema"] == "qapms.report.period/v1"
    assert data["totalSeconds"] == 8100
    assert [r["key"] for r in data["byTicket"]] == ["PAY-3", "PAY-4"]
    assert data["byUser"] == [{"key": "ada", "seconds": 8100, "entries": 2}]
    mine = json.loads(
        run(home, "report", "period", "--for", "ada", "--ticket", "PAY-5", "--format", "json")
    )
    assert mine["totalSeconds"] == 7200
    md = run(home, "report", "period", "--from", "2025-03-01", "--to", "2025-04-01")
    assert "| PAY-3 | 1h30m | 1 |" in md


def test_post_jira_comment_and_worklogs_are_idempotent(home: Home, fake_jira: FakeJira) -> None:
    configure(home, fake_jira)
    wid = start_and_step(home)
    # A manual entry on the workflow's ticket but not the workflow is not its worklog.
    run(home, "time", "add", "20m", "--ticket", "PAY-7", "--start", "2025-03-03T09:00:00Z")
    first = home.qapms("report", wid, "--post-jira", "comment", "--user", "ada")
    assert first.returncode == 0, first.stderr
    assert "posted the report on PAY-7" in first.stderr
    again = home.qapms("report", wid, "--post-jira", "comment", "--user", "ada")
    assert again.returncode == 0, again.stderr
    assert "nothing posted" in again.stderr
    comments = fake_jira.comments["PAY-7"]
    assert len(comments) == 1
    body = json.dumps(comments[0]["body"])
    assert comments[0]["body"]["type"] == "doc"
    assert "QA report: verify_ticket" in body and f"qapms-report:{wid}" in body

    # Workflow time under a minute is refused by Jira, so nothing is due; the manual entry
    # goes with `time export`, once.
    worklog = home.qapms("report", wid, "--post-jira", "worklog", "--user", "ada")
    assert worklog.returncode == 0, worklog.stderr
    assert "0 created" in worklog.stderr
    dry = run(home, "time", "export", "--dry-run")
    assert "would log 0h20m on PAY-7 started 2025-03-03 09:00 UTC" in dry
    assert "PAY-7" not in fake_jira.worklogs
    exported = json.loads(run(home, "time", "export", "--json"))
    assert len(exported["exported"]) == 1
    again_export = json.loads(run(home, "time", "export", "--json"))
    assert again_export["exported"] == [] and again_export["alreadyExported"] == 1
    logs = fake_jira.worklogs["PAY-7"]
    assert len(logs) == 1
    assert logs[0]["started"].startswith("2025-03-03T09:00:00.000")
    assert logs[0]["timeSpentSeconds"] == 1200
