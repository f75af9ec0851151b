"""``Workspace.sync`` and ``Workspace.report`` (and their async twins) against the
contract-backed fake Jira.

The fake runs on a thread of this very process, so every sync here also shows that the GIL is
released while the sync waits: otherwise the fake could never answer and the sync would hang.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from conftest import Home, _basic
from fake_jira import FakeJira, serve

import qapms


def configure(home: Home, jira: FakeJira) -> None:
    (home.cwd / "qapms.yaml").write_text(
        f"store:\n  url: sqlite://{home.data_dir}/qapms.db\n"
        "integrations:\n  jira:\n"
        f"    base_url: {jira.url}\n"
        "    deployment: cloud\n    projects: [PAY]\n"
        "    auth:\n      method: basic\n      email: qa@example.com\n"
        "      api_token: ${JIRA_TOKEN}\n"
    )
    home.env["JIRA_TOKEN"] = "s3cret-token"


@pytest.fixture
def synced_home(in_home: Home, fake_jira: FakeJira, monkeypatch: pytest.MonkeyPatch) -> Home:
    configure(in_home, fake_jira)
    monkeypatch.setenv("JIRA_TOKEN", "s3cret-token")
    return in_home


def tickets(ws: qapms.Workspace) -> int:
    return dict(ws.store_info().tables)["tickets"]


def test_sync_reports_typed_events_and_fills_the_store(synced_home: Home) -> None:
    events: list[qapms.SyncEvent] = []
    with qapms.Workspace.open() as ws:
        report = ws.sync(progress=events.append)
        assert report.ok and bool(report)
        [jira] = report.integrations
        assert (jira.integration, jira.outcome) == ("jira", "ok")
        assert jira.counts.seen == 250 and jira.counts.written == 250
        assert jira.error is None and jira.elapsed >= 0
        assert report.index is not None and report.index.error is None
        assert report.index.upserted >= 250
        assert report.raw()["integrations"][0]["counts"]["written"] == 250
        assert "SyncReport(ok=True" in repr(report)
        assert tickets(ws) == 250
        # The index was fed by the same batches: the synced tickets are searchable at once.
        assert "PAY-7" in [h.key for h in ws.search("PAY-7", source="jira").hits]

        assert isinstance(events[0], qapms.SyncStarted) and events[0].integration == "jira"
        progress = [e for e in events if isinstance(e, qapms.SyncProgress)]
        # One event per stored batch (pages of 100, then the reconcile), never one per issue.
        written = [p.counts.written for p in progress]
        assert written[:3] == [100, 200, 250] and written[-1] == 250 and len(written) <= 5
        assert {p.scope for p in progress} == {"PAY"}
        finished = [e for e in events if isinstance(e, qapms.SyncFinished)]
        assert [(f.integration, f.outcome) for f in finished] == [("jira", "ok")]
        assert finished[0].report.counts.written == 250
        assert any(isinstance(e, qapms.SyncIndexed) and e.upserted > 0 for e in events)

        # A second sync finds nothing new.
        again = ws.sync(only="jira")
        assert again.ok and again.integrations[0].counts.written == 0


def test_sync_arguments_are_checked(synced_home: Home) -> None:
    with qapms.Workspace.open() as ws:
        with pytest.raises(qapms.InvalidInputError, match="only: unknown integration"):
            ws.sync(only="jirra")
        with pytest.raises(TypeError, match="only"):
            ws.sync(only=5)  # type: ignore[arg-type]
        # A known integration that is not configured is reported, not raised.
        report = ws.sync(only=["testmo"], index=False)
        assert not report.ok and report.index is None
        [testmo] = report.integrations
        assert testmo.outcome == "failed" and "not configured" in (testmo.error or "")


def test_sync_without_integrations_is_a_config_error(in_home: Home) -> None:
    with qapms.Workspace.open() as ws, pytest.raises(qapms.ConfigError, match="no integration"):
        ws.sync()


def test_an_exception_in_the_callback_stops_the_sync_after_its_batch(synced_home: Home) -> None:
    def stop(event: qapms.SyncEvent) -> None:
        if isinstance(event, qapms.SyncProgress):
            raise RuntimeError("enough")

    with qapms.Workspace.open() as ws:
        with pytest.raises(RuntimeError, match="enough"):
            ws.sync(progress=stop)
        # The first batch is committed, nothing after it; the next sync resumes from there.
        assert tickets(ws) == 100
        report = ws.sync()
        assert report.ok and tickets(ws) == 250


def test_async_sync_delivers_events_on_the_loop(synced_home: Home) -> None:
    seen: list[tuple[str, int]] = []

    async def main() -> qapms.SyncReport:
        with qapms.Workspace.open() as ws:
            report = await ws.async_sync(
                lambda e: seen.append((type(e).__name__, threading.get_ident())), index=False
            )
            # Events scheduled before the result have all run by now.
            assert tickets(ws) == 250
            return report

    loop_thread = threading.get_ident()
    report = asyncio.run(main())
    assert report.ok and report.integrations[0].counts.written == 250
    assert report.index is None
    assert {thread for _, thread in seen} == {loop_thread}
    names = [name for name, _ in seen]
    assert names[0] == "SyncStarted" and names[-1] == "SyncFinished"
    assert 3 <= names.count("SyncProgress") <= 5


def test_cancelling_async_sync_leaves_whole_batches(synced_home: Home, fake_jira: FakeJira) -> None:
    fake_jira.page_delay = 0.3

    async def main() -> None:
        first = asyncio.Event()

        def note(event: qapms.SyncEvent) -> None:
            if isinstance(event, qapms.SyncProgress):
                first.set()

        with qapms.Workspace.open() as ws:
            task = asyncio.ensure_future(ws.async_sync(note, index=False))
            await first.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    fake_jira.page_delay = 0.0
    with qapms.Workspace.open() as ws:
        # Whatever the cancelled task stored is whole batches; the next sync completes it.
        assert tickets(ws) % 100 == 0 or tickets(ws) == 250
        assert ws.sync(index=False).ok
        assert tickets(ws) == 250


SLOW_SYNC = textwrap.dedent(
    """
    import sys
    import qapms

    def show(event):
        name = type(event).__name__
        extra = getattr(event, "outcome", "")
        print(name, extra, flush=True)

    ws = qapms.Workspace.open()
    try:
        ws.sync(progress=show)
        print("completed", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    print("tickets", dict(ws.store_info().tables)["tickets"], flush=True)
    ws.close()
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_ctrl_c_cancels_a_slow_sync_cleanly(home: Home, tmp_path: Path) -> None:
    # A large, slow Jira: 2000 issues at one page of 100 per 0.5 s, ten seconds in all.
    gen = serve(
        FakeJira(
            auth_header="Basic " + _basic("qa@example.com", "s3cret-token"),
            issue_count=2000,
            page_delay=0.5,
        )
    )
    fake = next(gen)
    try:
        configure(home, fake)
        script = tmp_path / "slow_sync.py"
        script.write_text(SLOW_SYNC)
        env = dict(home.env, QAPMS_USER="quinn")
        child = subprocess.Popen(
            [sys.executable, str(script)],
            cwd=home.cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        lines: list[str] = []
        for line in child.stdout:
            lines.append(line.strip())
            if line.startswith("SyncProgress"):
                child.send_signal(signal.SIGINT)
                break
        rest, err = child.communicate(timeout=60)
        lines.extend(line.strip() for line in rest.split("\n"))
        assert child.returncode == 0, err
        assert "interrupted" in lines and "completed" not in lines
        # Whether the signal landed in the callback or in a network wait, the sync ended
        # through its cancel token: no event after the interrupt but its own end.
        after = lines[lines.index("SyncProgress") + 1 : lines.index("interrupted")]
        assert set(after) <= {"SyncIndexed", "SyncFinished cancelled"}, lines
        [count] = [int(line.split()[1]) for line in lines if line.startswith("tickets ")]
        assert 100 <= count < 2000 and count % 100 == 0
        # The store is consistent: the next sync resumes and completes it.
        fake.page_delay = 0.0
        done = home.qapms("sync", "--only", "jira", "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["integrations"][0]["outcome"] == "ok"
        final = home.qapms("store", "info", "--json")
        assert final.returncode == 0, final.stderr
        assert "2000" in final.stdout
    finally:
        gen.close()


def test_report_in_every_format(in_home: Home) -> None:
    with qapms.Workspace.open() as ws:
        wf = ws.workflows.start("verify_ticket", "PAY-7")
        wf = ws.workflows.add_evidence(wf, "https://ci.example.com/runs/1", kind="links")
        md = ws.report(wf)
        assert md.startswith("# QA report: verify\\_ticket for PAY-7")
        assert "https://ci.example.com/runs/1" in md
        data = json.loads(ws.report(wf.id, format="json"))
        assert data["schema"] == "qapms.report.workflow/v1"
        assert data["workflow"]["id"] == wf.id
        rows = list(csv.reader(io.StringIO(ws.report(wf, "csv"), newline="")))
        assert rows[0][:3] == ["workflow_id", "template", "ticket"]
        assert len(rows) == 1 + len(data["steps"])
        assert ws.report(wf, format="html").startswith("<!DOCTYPE html>")
        assert asyncio.run(_async_report(ws, wf.id)) == md

        with pytest.raises(qapms.InvalidInputError, match="md, html, json or csv"):
            ws.report(wf, format="pdf")  # type: ignore[arg-type]
        with pytest.raises(qapms.InvalidInputError):
            ws.report("not-a-uuid")
        with pytest.raises(qapms.NotFoundError):
            ws.report("01950000-0000-7000-8000-00000000000a")
        with pytest.raises(TypeError):
            ws.report(42)  # type: ignore[arg-type]


async def _async_report(ws: qapms.Workspace, wid: str) -> str:
    return await ws.async_report(wid)


def test_the_cli_and_python_render_the_same_report(in_home: Home) -> None:
    with qapms.Workspace.open() as ws:
        wf = ws.workflows.start("verify_ticket", "PAY-8")
        text = ws.report(wf, format="json")
    cli = in_home.qapms("report", wf.id, "--format", "json", "--user", "quinn")
    assert cli.returncode == 0, cli.stderr
    # Only the generation time may differ between two renderings.
    a, b = json.loads(text), json.loads(cli.stdout)
    assert "generatedAt" in a
    a.pop("generatedAt")
    b.pop("generatedAt")
    assert a == b
