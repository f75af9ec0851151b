"""The qapms pytest plugin: every test's outcome, per attempt, into the qapms store.

Enable it with ``--qapms`` or ``qapms = true`` in the ini file. While the suite runs, the
plugin only notes each report in memory (no store write, no call into the extension and no
network call per test); at the end of the session it stores the whole run in one
transaction, optionally submits it to Testmo as one automation run, and prints a short
summary: the run, linked tickets, new failure clusters and flaky tests. The cluster and
flakiness part recomputes over the whole store, so it runs only when a test of this run
failed, errored or was retried: without one there is no new cluster to name.

Identity: each test is stored under its pytest node id, the JUnit key pytest's own
``--junitxml`` would give it (so a later JUnit import lands on the same test), and any Testmo
case ids from ``@pytest.mark.testmo_case(1234)``. ``@pytest.mark.ticket("PAY-12")`` links it
to Jira issues. Reruns by pytest-rerunfailures are further attempts of the same test.

Under pytest-xdist only the controller records: every worker's reports reach it anyway, so
each attempt is stored once, in the controller's one transaction. Workers collect the tests
the controller never sees, so a worker adds each test's ``ticket`` and ``testmo_case`` marks
to its setup report (a plain attribute, which xdist carries over with the report).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from qapms._qapms import RecordedRun, Workspace

#: Failure text kept per attempt; longer tracebacks are cut (the cluster miner needs the top).
MAX_MESSAGE = 32 * 1024


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("qapms", "record test outcomes in the qapms store")
    group.addoption(
        "--qapms",
        action="store_true",
        default=None,
        help="record every test outcome (per attempt) in the qapms store",
    )
    group.addoption("--qapms-config", metavar="PATH", help="the qapms.yaml to use")
    group.addoption("--qapms-profile", metavar="NAME", help="the qapms profile to use")
    group.addoption("--qapms-run-name", metavar="NAME", help="the run's name")
    group.addoption("--qapms-environment", metavar="NAME", help="the environment tested")
    group.addoption("--qapms-revision", metavar="REV", help="the build or revision tested")
    group.addoption(
        "--qapms-testmo",
        action="store_true",
        default=None,
        help="also submit the run to Testmo as an automation run",
    )
    group.addoption("--qapms-testmo-project", metavar="ID", type=int, help="the Testmo project")
    group.addoption(
        "--qapms-testmo-source", metavar="NAME", help="the Testmo source (default: pytest)"
    )
    parser.addini("qapms", "record test outcomes in the qapms store", type="bool", default=False)
    parser.addini("qapms_run_name", "the run's name", default="")
    parser.addini("qapms_testmo", "submit the run to Testmo", type="bool", default=False)
    parser.addini("qapms_testmo_project", "the Testmo project id", default="")
    parser.addini("qapms_testmo_source", "the Testmo automation source", default="pytest")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "ticket(*keys): link the test to Jira issues, e.g. ticket('PAY-12')"
    )
    config.addinivalue_line(
        "markers", "testmo_case(*ids): the Testmo repository case(s) this test automates"
    )
    enabled = config.getoption("qapms") or config.getini("qapms")
    if not enabled:
        return
    # xdist workers forward their reports to the controller, which records them.
    if hasattr(config, "workerinput"):
        config.pluginmanager.register(_WorkerMarks(), "qapms-worker-marks")
    else:
        config.pluginmanager.register(Recorder(config), "qapms-recorder")


def _marks(item: pytest.Item) -> tuple[list[str], list[str]]:
    """The Jira keys and Testmo case ids an item's markers name, sorted and unique."""
    tickets: set[str] = set()
    cases: set[str] = set()
    for mark in item.iter_markers():
        if mark.name == "ticket":
            tickets.update(str(a) for a in mark.args)
        elif mark.name == "testmo_case":
            cases.update(str(a) for a in mark.args)
    return sorted(tickets), sorted(cases)


class _WorkerMarks:
    """On an xdist worker: puts each test's marks on its setup report for the controller."""

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        outcome = yield
        if call.when == "setup":
            tickets, cases = _marks(item)
            if tickets or cases:
                outcome.get_result().qapms_marks = [tickets, cases]


@dataclass
class _Test:
    """What the plugin knows of one test by the end of the session."""

    nodeid: str
    title: str
    folder: str | None
    file: str | None
    line: int | None
    tickets: list[str] = field(default_factory=list)
    testmo_cases: list[str] = field(default_factory=list)
    attempts: list[tuple[str, float | None, str | None]] = field(default_factory=list)
    # The attempt being run: (status, duration in ms, message), or None between attempts.
    current: list[Any] | None = None


def junit_key(nodeid: str) -> str:
    """The key `--junitxml` gives a test: dotted module and classes, `::`, the name."""
    parts = nodeid.split("::")
    path = parts[0]
    module = path[:-3] if path.endswith(".py") else path
    classname = ".".join([module.replace("/", ".").replace("\\", "."), *parts[1:-1]])
    name = parts[-1] if len(parts) > 1 else path
    return f"{classname}::{name}" if classname else name


def _status(report: pytest.TestReport) -> str:
    """A report's verdict in qapms's terms."""
    was_xfail = hasattr(report, "wasxfail")
    # pytest-rerunfailures sets an outcome pytest's own types do not list.
    outcome: str = report.outcome
    if outcome == "rerun":
        return "failed" if report.when == "call" else "error"
    if report.when != "call":
        if report.failed:
            return "error"
        if report.skipped:
            return "expected_failure" if was_xfail else "skipped"
        return "passed"
    if report.passed:
        return "unexpected_pass" if was_xfail else "passed"
    if report.skipped:
        return "expected_failure" if was_xfail else "skipped"
    return "failed"


def _message(report: pytest.TestReport) -> str | None:
    if report.passed and not hasattr(report, "wasxfail"):
        return None
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    text = report.longreprtext or getattr(report, "wasxfail", "") or None
    if text and len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE] + "\n…[truncated]"
    return text


#: Which status wins when one attempt's phases disagree: the worse one.
_RANK = {
    "passed": 0,
    "skipped": 1,
    "expected_failure": 1,
    "unexpected_pass": 2,
    "failed": 3,
    "error": 4,
}


#: Attempt statuses that can start or extend a failure cluster.
_FAILING = frozenset({"failed", "error"})


class Recorder:
    """Collects attempts during the session and stores them at its end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.tests: dict[str, _Test] = {}
        self.started = dt.datetime.now(dt.timezone.utc)
        self.summary: list[str] = []
        self.recorded: RecordedRun | None = None

    def _option(self, name: str, ini: str | None = None) -> Any:
        value = self.config.getoption(name)
        if value is None and ini is not None:
            value = self.config.getini(ini) or None
        return value

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            self._note_item(item)

    def _note_item(self, item: pytest.Item) -> _Test:
        known = self.tests.get(item.nodeid)
        if known is not None:
            return known
        tickets, cases = _marks(item)
        path, line, _ = item.location
        parts = item.nodeid.split("::")
        test = _Test(
            nodeid=item.nodeid,
            title=item.name,
            folder="::".join(parts[:-1]) or None,
            file=path,
            line=None if line is None else line + 1,
            tickets=tickets,
            testmo_cases=cases,
        )
        self.tests[item.nodeid] = test
        return test

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        test = self.tests.get(report.nodeid)
        if test is None:
            # An item collected elsewhere (xdist worker): its location is in the report.
            parts = report.nodeid.split("::")
            path, line, _ = report.location
            test = _Test(
                nodeid=report.nodeid,
                title=parts[-1],
                folder="::".join(parts[:-1]) or None,
                file=path,
                line=None if line is None else line + 1,
            )
            self.tests[report.nodeid] = test
        if report.when == "setup":
            marks = getattr(report, "qapms_marks", None)
            if marks:
                test.tickets, test.testmo_cases = list(marks[0]), list(marks[1])
        # Each attempt (the first run, and each rerun by pytest-rerunfailures) starts with its
        # setup report and ends with its teardown report.
        if report.when == "setup" and test.current is not None:
            test.attempts.append((test.current[0], test.current[1], test.current[2]))
            test.current = None
        if test.current is None:
            test.current = ["passed", 0.0, None]
        current = test.current
        status = _status(report)
        current[1] += report.duration * 1000.0
        if _RANK[status] > _RANK[current[0]]:
            current[0] = status
            current[2] = _message(report)
        if report.when == "teardown":
            test.attempts.append((current[0], current[1], current[2]))
            test.current = None

    def _tuples(self) -> list[tuple[Any, ...]]:
        out = []
        for t in self.tests.values():
            attempts = list(t.attempts)
            if t.current is not None:  # interrupted before its teardown
                attempts.append((t.current[0], t.current[1], t.current[2]))
            if not attempts:
                continue
            keys = [("pytest", t.nodeid), ("junit", junit_key(t.nodeid))]
            keys.extend(("testmo", c) for c in t.testmo_cases)
            out.append((keys, t.title, t.folder, t.tickets, attempts))
        return out

    def _open(self) -> Workspace:
        import qapms

        return qapms.Workspace.open(
            config=self._option("qapms_config"), profile=self._option("qapms_profile")
        )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        tests = self._tuples()
        if not tests:
            self.summary.append("qapms: no test ran; nothing recorded")
            return
        finished = dt.datetime.now(dt.timezone.utc)
        name = self._option("qapms_run_name", "qapms_run_name") or (
            f"pytest {os.path.basename(str(self.config.rootpath))} {self.started:%Y-%m-%d %H:%M}"
        )
        try:
            with self._open() as ws:
                recorded = ws.results.record_run(
                    tests,
                    name=name,
                    source="pytest",
                    environment=self._option("qapms_environment"),
                    revision=self._option("qapms_revision"),
                    started_at=self.started,
                    finished_at=finished,
                )
                self.recorded = recorded
                self.summary.append(
                    f"qapms: recorded run {recorded.run_id}: {recorded.tests} tests, "
                    f"{recorded.attempts} attempts, {recorded.failed} failed, "
                    f"{recorded.retried} retried"
                )
                tickets = sorted({k for t in tests for k in t[3]})
                if tickets:
                    self.summary.append("qapms: linked tickets: " + ", ".join(tickets))
                # New clusters and flips need a failed or retried attempt in this run; without
                # one the recompute over the whole store (which grows run by run) is skipped.
                if recorded.retried or any(a[0] in _FAILING for t in tests for a in t[4]):
                    self._patterns(ws, recorded.run_id, {t[0][0][1] for t in tests})
                else:
                    self.summary.append("qapms: no failures or retries in this run")
                if self._option("qapms_testmo") or self.config.getini("qapms_testmo"):
                    self._testmo(ws, name)
        except Exception as exc:  # the suite's verdict is the suite's, not the recorder's
            self.summary.append(f"qapms: could not record the run: {exc}")

    def _patterns(self, ws: Workspace, run_id: str, nodeids: set[str]) -> None:
        analysis = ws.patterns.analyze(run=run_id, persist=False)
        new = [c for c in analysis.clusters if c.new_in_run]
        if new:
            self.summary.append(f"qapms: {len(new)} new failure cluster(s):")
            for c in new[:5]:
                self.summary.append(
                    f"  {c.key} {c.label} ({c.failures} failures): {c.template[:100]}"
                )
        flaky = [t for t in analysis.tests if t.verdict == "flaky" and t.external_id in nodeids]
        if flaky:
            self.summary.append(f"qapms: {len(flaky)} flaky test(s):")
            for t in flaky[:5]:
                self.summary.append(
                    f"  {t.external_id} score {t.score:.2f} "
                    f"[{t.score_interval[0]:.2f}, {t.score_interval[1]:.2f}]"
                )

    def _testmo(self, ws: Workspace, name: str) -> None:
        project = self._option("qapms_testmo_project", "qapms_testmo_project")
        source = self._option("qapms_testmo_source", "qapms_testmo_source") or "pytest"
        tests = []
        for t in self.tests.values():
            if not t.attempts:
                continue
            status, ms, message = t.attempts[-1]
            tests.append((t.title, t.folder or "", status, ms, message, t.file, t.line))
        submitted = ws.testmo.submit_results(
            tests, name=name, project=None if project is None else int(project), source=source
        )
        self.summary.append(
            f"qapms: submitted to Testmo: automation run {submitted.id} "
            f"({submitted.tests} tests, {submitted.failures} failed)"
        )

    @pytest.hookimpl(hookwrapper=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> Generator[None, None, None]:
        yield
        if self.summary:
            terminalreporter.write_sep("-", "qapms")
            for line in self.summary:
                terminalreporter.write_line(line)
