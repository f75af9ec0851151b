"""The QA loop from Python: ``ws.workflows`` (start and step control with optimistic
versioning), ``ws.timer(ticket)`` and ``ws.results`` (JUnit import, recorded runs, identity),
on the real store (SQLite, and PostgreSQL where it runs)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import Home

import qapms

JUNIT = """\
<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="pytest"><testsuite name="pytest" tests="3" timestamp="2026-01-05T10:00:00">
  <testcase classname="tests.test_pay.TestLogin" name="test_ok" time="0.12"/>
  <testcase classname="tests.test_pay.TestLogin" name="test_PAY_12_rejects" time="0.3">
    <failure message="AssertionError: 500">Traceback\nAssertionError: 500</failure>
  </testcase>
  <testcase classname="tests.test_pay" name="test_skip"><skipped message="later"/></testcase>
</testsuite></testsuites>
"""


def _drop_schema(base: str, schema: str) -> None:
    # Best effort: a leftover schema in the test database harms nothing.
    subprocess.run(
        ["psql", base.split("?")[0], "-qc", f"DROP SCHEMA IF EXISTS {schema} CASCADE"],
        capture_output=True,
        timeout=30,
        check=False,
    )


@pytest.fixture(params=["sqlite", "postgres"])
def ws(request: pytest.FixtureRequest, in_home: Home) -> qapms.Workspace:
    if request.param == "postgres":
        if os.environ.get("QAPMS_SKIP_PG") == "1":
            pytest.skip("QAPMS_SKIP_PG=1")
        base = os.environ.get("QAPMS_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/qapms_test")
        # A schema of its own, created by the store, so tests never see each other's rows.
        schema = f"qapms_py_{uuid.uuid4().hex}"
        sep = "&" if "?" in base else "?"
        (in_home.cwd / "qapms.yaml").write_text(f"store:\n  url: {base}{sep}schema={schema}\n")
        request.addfinalizer(lambda: _drop_schema(base, schema))
    workspace = qapms.Workspace.open(user="quinn")
    request.addfinalizer(workspace.close)
    return workspace


def test_a_workflow_step_by_step(ws: qapms.Workspace) -> None:
    names = {t.name for t in ws.workflows.templates()}
    assert "verify_ticket" in names
    wf = ws.workflows.start("verify_ticket", "PAY-12")
    assert isinstance(wf, qapms.Workflow)
    assert (wf.state, wf.ticket, wf.version) == ("in_progress", "PAY-12", wf.version)
    assert wf.active_step is not None and wf.active_step.name == "understand"
    assert "Workflow(" in repr(wf) and "understand" in repr(wf)
    timer = ws.timer_status()
    assert timer is not None and timer.workflow_id == wf.id and timer.step == "understand"

    with pytest.raises(qapms.InvalidInputError, match="Acceptance criteria"):
        ws.workflows.step_done(wf)
    wf = ws.workflows.tick(wf, 1)
    wf = ws.workflows.tick(wf, "Linked pull requests and builds are known")
    wf = ws.workflows.add_evidence(wf, "criteria read", kind="notes")
    wf = ws.workflows.step_done(wf, force=True)
    assert [s.state for s in wf.steps] == ["done", "active", "pending"]
    assert wf.steps[0].evidence[0] == ("notes", "criteria read")
    assert wf.steps[0].checklist[0] == ("Acceptance criteria are clear and testable", True)
    assert any(a["action"]["kind"] == "postman_search" for a in wf.due_actions)
    # The step's searches ran over the (empty) local index and were kept as evidence.
    records = {r["kind"]: r for r in wf.action_records}
    assert records["postman_search"]["status"] == "succeeded"
    assert records["postman_search"]["summary"] == "no Postman requests match `PAY-12`"
    assert records["testmo_search"]["key"] == "0.1"
    assert len(wf.steps[0].evidence) == 3

    wf = ws.workflows.pause(wf)
    assert wf.state == "paused" and ws.timer_status() is None
    wf = ws.workflows.resume(wf)
    wf = ws.workflows.skip_step(wf, "covered by CI", step="test")
    wf = ws.workflows.step_done(wf, "report", force=True)
    # Without Jira configured, the comment and the worklog are skipped, with the reason.
    skipped = [r for r in wf.action_records if r["status"] == "skipped"]
    assert {r["kind"] for r in skipped} == {"jira_comment", "jira_worklog"}
    assert "integrations.jira is not configured" in skipped[0]["summary"]
    wf = ws.workflows.complete(wf)
    assert wf.state == "completed" and wf.completed_at is not None
    # A retry runs what did not succeed (the searches did and are not repeated).
    retried = ws.workflows.retry_actions(wf)
    assert sorted(r["key"] for r in retried) == ["2.0", "2.1"]
    assert all(r["attempts"] == 2 for r in retried)
    assert ws.workflows.get(wf.id).state == "completed"
    assert ws.workflows.current() is None


def test_step_actions_can_wait_for_a_retry(ws: qapms.Workspace) -> None:
    wf = ws.workflows.start("release_smoke_test", "PAY-8")
    for _ in range(len(wf.steps) - 1):
        wf = ws.workflows.step_done(wf, force=True, run_actions=False)
    assert wf.action_records == []
    wf = ws.workflows.step_done(wf, force=True, run_actions=False)
    assert [a["action"]["kind"] for a in wf.due_actions] == ["jira_comment"]
    assert "quinn" in wf.due_actions[0]["action"]["body"]
    assert wf.action_records == []
    retried = asyncio.run(_retry(ws, wf.id))
    assert [(r["kind"], r["status"], r["attempts"]) for r in retried] == [
        ("jira_comment", "skipped", 1)
    ]


async def _retry(ws: qapms.Workspace, workflow_id: str) -> list[dict[str, object]]:
    return await ws.workflows.async_retry_actions(workflow_id)


def test_a_stale_workflow_object_is_a_conflict(ws: qapms.Workspace) -> None:
    seen = ws.workflows.start("release_smoke_test", "PAY-7")
    moved = ws.workflows.pause(seen.id)  # by id: no version check
    with pytest.raises(qapms.ConflictError):
        ws.workflows.resume(seen)  # the object is at an older version
    assert ws.workflows.get(seen.id).version == moved.version


def test_bad_workflow_input(ws: qapms.Workspace) -> None:
    with pytest.raises(qapms.NotFoundError):
        ws.workflows.start("no_such_template")
    with pytest.raises(qapms.InvalidInputError):
        ws.workflows.start("verify_ticket", "not a key")
    with pytest.raises(qapms.InvalidInputError):
        ws.workflows.get("not-a-uuid")
    wf = ws.workflows.start("verify_ticket")
    with pytest.raises(qapms.InvalidInputError):
        ws.workflows.add_evidence(wf, "x", kind="video")
    with pytest.raises(qapms.InvalidInputError, match="NUL"):
        ws.workflows.add_evidence(wf, "a\0b")
    with pytest.raises(TypeError):
        ws.workflows.start_step(wf, 1.5)  # type: ignore[arg-type]
    with pytest.raises(UnicodeEncodeError):
        ws.workflows.start("verify_ticket\ud800")


def test_timer_context_manager_writes_an_entry(ws: qapms.Workspace) -> None:
    with ws.timer("PAY-3") as t:
        running = ws.timer_status()
        assert running is not None and running.ticket == "PAY-3"
        assert t.timer is not None
    assert ws.timer_status() is None
    # A block shorter than a second may count no time; either way the timer is stopped.
    assert t.entry is None or (t.entry.ticket == "PAY-3" and t.entry.source == "timer")


def test_timer_left_alone_when_replaced(ws: qapms.Workspace) -> None:
    with ws.timer("PAY-3"):
        wf = ws.workflows.start("verify_ticket", "PAY-4")
    running = ws.timer_status()
    assert running is not None and running.workflow_id == wf.id, "the workflow's timer runs on"


def test_async_timer_and_workflow(ws: qapms.Workspace) -> None:
    async def main() -> tuple[str, bool]:
        async with ws.timer("PAY-9"):
            status = await ws.async_timer_status()
            assert status is not None
        wf = await ws.workflows.async_start("verify_ticket", "PAY-9")
        wf = await ws.workflows.async_abandon(wf, "duplicate")
        return wf.state, (await ws.async_timer_status()) is None

    assert asyncio.run(main()) == ("abandoned", True)


def test_import_junit_and_identity(ws: qapms.Workspace, in_home: Home) -> None:
    report = in_home.cwd / "junit.xml"
    report.write_text(JUNIT)
    calls: list[tuple[int, int, int]] = []
    summary = ws.results.import_junit(report, run_name="CI 7", progress=lambda *a: calls.append(a))
    assert isinstance(summary, qapms.ImportSummary)
    assert (summary.tests, summary.passed, summary.failed, summary.skipped) == (3, 1, 1, 1)
    assert summary.run_name == "CI 7" and calls and calls[-1] == (1, 1, 3)
    ids = ws.results.identities("pytest", "tests/test_pay.py::TestLogin::test_ok")
    assert {i.system for i in ids} == {"pytest", "junit"}
    assert len({i.test_id for i in ids}) == 1
    with pytest.raises(qapms.NotFoundError):
        ws.results.identities("pytest", "tests/nope.py::test_x")
    with pytest.raises(qapms.InvalidInputError):
        ws.results.identities("nunit", "x")


def test_a_broken_report_stores_nothing(ws: qapms.Workspace, in_home: Home) -> None:
    good = in_home.cwd / "good.xml"
    good.write_text(JUNIT)
    bad = in_home.cwd / "bad.xml"
    bad.write_text("<testsuite>\n<testcase name='a'>\n")
    before = dict(ws.store_info().tables)
    with pytest.raises(qapms.InvalidInputError, match=r"bad\.xml"):
        ws.results.import_junit([good, bad])
    assert dict(ws.store_info().tables)["test_runs"] == before["test_runs"]
    with pytest.raises(TypeError):
        ws.results.import_junit(42)  # type: ignore[arg-type]


def test_record_run_stores_every_attempt(ws: qapms.Workspace) -> None:
    tests = [
        ([("pytest", "t.py::test_a")], "test_a", "t.py", ["PAY-1"], [("passed", 3.0, None)]),
        (
            [("pytest", "t.py::test_b"), ("testmo", "1234")],
            "test_b",
            "t.py",
            [],
            [("failed", 5.0, "AssertionError: 1 != 2"), ("passed", 4.0, None)],
        ),
    ]
    run = ws.results.record_run(tests, name="local run")
    assert (run.tests, run.attempts, run.failed, run.retried, run.new_tests) == (2, 3, 0, 1, 2)
    again = ws.results.record_run(tests, name="local run 2")
    assert again.new_tests == 0, "the same keys resolve to the same tests"
    ids = ws.results.identities("testmo", "1234")
    assert {i.key for i in ids} == {"t.py::test_b", "1234"}
    flaky = {t.external_id: t for t in ws.patterns.flaky(all=True)}
    assert flaky["t.py::test_b"].passes_on_retry == 2


def test_record_run_rejects_bad_tests_and_stores_nothing(ws: qapms.Workspace) -> None:
    before = dict(ws.store_info().tables)["test_runs"]
    with pytest.raises(qapms.InvalidInputError, match=r"tests\[0\]"):
        ws.results.record_run([([], "x", None, [], [("passed", 1.0, None)])], name="r")
    with pytest.raises(qapms.InvalidInputError):
        ws.results.record_run(
            [([("pytest", "a")], "x", None, [], [("exploded", 1.0, None)])], name="r"
        )
    with pytest.raises(qapms.InvalidInputError):
        ws.results.record_run(
            [([("pytest", "a")], "x", None, [], [("passed", -1.0, None)])], name="r"
        )
    with pytest.raises(TypeError):
        ws.results.record_run([("not", "a", "test")], name="r")  # type: ignore[list-item]
    assert dict(ws.store_info().tables)["test_runs"] == before


def test_no_user_is_a_clear_error(in_home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QAPMS_USER")
    monkeypatch.delenv("USER", raising=False)
    with (
        qapms.Workspace.open() as ws,
        pytest.raises(qapms.InvalidInputError, match="QAPMS_USER"),
    ):
        ws.workflows.start("verify_ticket")


def test_the_workspace_names_its_user(in_home: Home, tmp_path: Path) -> None:
    with qapms.Workspace.open(user="ada") as ws:
        assert ws.user == "ada"
    with pytest.raises(qapms.InvalidInputError):
        qapms.Workspace.open(user="a\0b")
