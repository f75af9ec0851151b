"""The `qapms workflow`, `qapms timer` and `qapms time` commands, through the console script."""

from __future__ import annotations

import json
from typing import Any

from conftest import Home


def run_json(home: Home, *args: str) -> Any:
    result = home.qapms(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_templates_list_the_built_ins(home: Home) -> None:
    names = {t["name"] for t in run_json(home, "workflow", "templates", "--user", "ada")}
    assert {
        "verify_ticket",
        "regression_pass",
        "exploratory_session",
        "reproduce_bug",
        "release_smoke_test",
    } <= names


def test_a_workflow_from_start_to_completion(home: Home) -> None:
    started = run_json(home, "workflow", "start", "release_smoke_test", "PAY-7", "--user", "ada")
    workflow = started["workflow"]
    assert workflow["state"] == "in_progress"
    assert workflow["ticket"] == "PAY-7"
    assert workflow["steps"][0]["state"] == "active"
    wid = workflow["id"]

    timer = run_json(home, "timer", "status", "--user", "ada")
    assert timer["workflowId"] == wid
    assert timer["step"] == "deploy_check"

    # Unticked checklist items refuse `done`, with exit code 1 and the items named.
    refused = home.qapms("workflow", "step", "done", "--user", "ada")
    assert refused.returncode == 1
    assert "Version deployed" in refused.stderr

    run_json(home, "workflow", "tick", "1", "--user", "ada")
    run_json(home, "workflow", "tick", "Health checks and dashboards green", "--user", "ada")
    run_json(home, "workflow", "note", "https://grafana/d/1", "--kind", "links", "--user", "ada")
    done = run_json(home, "workflow", "step", "done", "--user", "ada")
    steps = done["workflow"]["steps"]
    assert [s["state"] for s in steps[:2]] == ["done", "active"]
    assert steps[0]["evidence"][0]["kind"] == "links"

    paused = run_json(home, "workflow", "pause", "--user", "ada")
    assert paused["workflow"]["state"] == "paused"
    assert run_json(home, "timer", "status", "--user", "ada") is None
    again = home.qapms("workflow", "pause", "--user", "ada")
    assert again.returncode == 1
    assert "paused" in again.stderr

    run_json(home, "workflow", "resume", "--user", "ada")
    blocked = home.qapms("workflow", "step", "block", "--reason", "", "--user", "ada")
    assert blocked.returncode == 1
    run_json(home, "workflow", "step", "skip", "2", "--reason", "covered by e2e", "--user", "ada")
    run_json(home, "workflow", "step", "done", "--force", "--user", "ada")
    last = run_json(home, "workflow", "step", "done", "--force", "--user", "ada")
    assert last["actions"][0]["action"]["kind"] == "jira_comment"
    # No Jira is configured: the comment is skipped, with the reason, and kept on the step.
    (record,) = last["actionRecords"]
    assert (record["kind"], record["status"]) == ("jira_comment", "skipped")
    assert "integrations.jira" in record["summary"]
    assert last["workflow"]["steps"][-1]["evidence"][-1]["action"]["key"] == record["key"]
    listed = run_json(home, "workflow", "actions", "--id", wid, "--user", "ada")
    assert [r["key"] for r in listed["records"]] == [record["key"]]
    assert listed["ran"] == []
    retried = run_json(home, "workflow", "actions", "--retry", "--id", wid, "--user", "ada")
    assert [(r["status"], r["attempts"]) for r in retried["ran"]] == [("skipped", 2)]
    text = home.qapms("workflow", "actions", "--id", wid, "--user", "ada")
    assert text.returncode == 0, text.stderr
    assert "jira_comment" in text.stdout
    assert "attempt 2" in text.stdout
    completed = run_json(home, "workflow", "complete", "--id", wid, "--user", "ada")
    assert completed["workflow"]["state"] == "completed"
    skipped = completed["workflow"]["steps"][1]
    assert (skipped["state"], skipped["reason"]) == ("skipped", "covered by e2e")

    status = home.qapms("workflow", "status", wid, "--user", "ada")
    assert status.returncode == 0
    assert "completed" in status.stdout


def test_a_stale_version_is_a_conflict(home: Home) -> None:
    started = run_json(home, "workflow", "start", "verify_ticket", "--no-branch", "--user", "ada")
    wid = started["workflow"]["id"]
    version = started["workflow"]["version"]
    run_json(home, "workflow", "note", "first", "--id", wid, "--user", "bob")
    stale = home.qapms(
        "workflow", "pause", "--id", wid, "--expect-version", str(version), "--user", "ada"
    )
    assert stale.returncode == 1
    assert "version" in stale.stderr
    status = run_json(home, "workflow", "status", wid, "--user", "ada")
    assert status["state"] == "in_progress"
    assert status["version"] == version + 1


def test_unknown_template_and_usage_errors(home: Home) -> None:
    unknown = home.qapms("workflow", "start", "verify_tiket", "--user", "ada")
    assert unknown.returncode == 1
    assert "verify_ticket" in unknown.stderr
    assert home.qapms("workflow", "step", "skip", "--user", "ada").returncode == 2
    assert home.qapms("workflow", "status", "--user", "ada").returncode == 1


def test_ticket_comes_from_the_git_branch(home: Home) -> None:
    git = home.cwd / ".git"
    git.mkdir()
    (git / "HEAD").write_text("ref: refs/heads/feature/pay-42-login\n")
    started = run_json(home, "workflow", "start", "verify_ticket", "--user", "ada")
    assert started["workflow"]["ticket"] == "PAY-42"
    timer = run_json(home, "timer", "start", "--user", "bob")
    assert timer["ticket"] == "PAY-42"


def test_timer_manual_entries_and_report(home: Home) -> None:
    timer = run_json(home, "timer", "start", "OPS-3", "--user", "ada")
    assert timer["ticket"] == "OPS-3"
    stopped = run_json(home, "timer", "stop", "--user", "ada")
    assert "entry" in stopped
    assert home.qapms("timer", "stop", "--user", "ada").returncode == 1

    entry = run_json(
        home,
        "time",
        "add",
        "1h30m",
        "--ticket",
        "OPS-3",
        "--start",
        "2025-03-01T09:00:00Z",
        "--note",
        "pairing",
        "--user",
        "ada",
    )
    assert entry["source"] == "manual"
    assert entry["startedAt"].startswith("2025-03-01T09:00:00")
    run_json(home, "time", "add", "20m", "--ticket", "OPS-4", "--user", "bob")
    future = home.qapms("time", "add", "1h", "--start", "2999-01-01", "--user", "ada")
    assert future.returncode == 1
    assert home.qapms("time", "add", "ninety", "--user", "ada").returncode == 2

    mine = run_json(home, "time", "report", "--user", "ada")
    assert mine["totalSeconds"] >= 90 * 60
    assert {r["key"] for r in mine["byTicket"]} == {"OPS-3"}
    day = run_json(
        home, "time", "report", "--from", "2025-03-01", "--to", "2025-03-02", "--user", "ada"
    )
    assert day["totalSeconds"] == 90 * 60
    assert day["byDay"] == [{"key": "2025-03-01", "seconds": 5400, "entries": 1}]
    everyone = run_json(home, "time", "report", "--for", "all", "--user", "ada")
    assert {r["key"] for r in everyone["byTicket"]} == {"OPS-3", "OPS-4"}
    bobs = run_json(home, "time", "report", "--for", "bob", "--ticket", "OPS-4", "--user", "ada")
    assert bobs["totalSeconds"] == 20 * 60
    text = home.qapms("time", "report", "--user", "ada")
    assert text.returncode == 0
    assert "by ticket" in text.stdout


def test_templates_from_a_named_file(home: Home) -> None:
    (home.cwd / "flows.yaml").write_text(
        "triage:\n  extends: reproduce_bug\n  steps:\n    - name: follow_up\n      estimate: 5m\n"
    )
    (home.cwd / "qapms.yaml").write_text("workflow_files: [flows.yaml]\n")
    started = run_json(home, "workflow", "start", "triage", "BUG-1", "--user", "ada")
    assert started["workflow"]["steps"][-1]["name"] == "follow_up"
    (home.cwd / "flows.yaml").write_text("loop:\n  extends: loop\n  steps:\n    - name: x\n")
    broken = home.qapms("workflow", "templates", "--user", "ada")
    assert broken.returncode == 1
    assert "flows.yaml:2:" in broken.stderr
    assert "cycle" in broken.stderr
