"""The qapms pytest plugin, run on sample suites through pytester: every attempt recorded
(reruns by pytest-rerunfailures included) under stable identities, markers, the summary, and
the optional Testmo submission."""

from __future__ import annotations

import pytest
from conftest import Home
from fake_testmo import TOKEN as TESTMO_TOKEN
from fake_testmo import FakeTestmo

import qapms

SUITE = """
import pytest

COUNT = {"n": 0}

@pytest.mark.ticket("PAY-12")
@pytest.mark.testmo_case(1234)
def test_pay_ok():
    assert True

@pytest.mark.flaky(reruns=2)
def test_flaky_once():
    COUNT["n"] += 1
    assert COUNT["n"] > 1, "first attempt fails"

def test_broken():
    assert 1 == 2, "always"

@pytest.mark.skip(reason="not today")
def test_skipped():
    pass

@pytest.mark.xfail(reason="known bug")
def test_expected_to_fail():
    assert False

class TestLogin:
    def test_ok(self):
        pass

@pytest.fixture
def broken_fixture():
    raise RuntimeError("no database")

def test_setup_error(broken_fixture):
    pass
"""


@pytest.fixture
def suite(
    pytester: pytest.Pytester, in_home: Home, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    pytester.makepyfile(test_sample=SUITE)
    # `in_home` moved to its own directory; the sample suite runs from pytester's.
    monkeypatch.chdir(pytester.path)
    return pytester


EXPECTED = {"passed": 3, "failed": 1, "skipped": 1, "xfailed": 1, "errors": 1, "rerun": 1}


def assert_outcomes(result: pytest.RunResult) -> None:
    """The sample suite's verdict, reruns included (pytest-rerunfailures counts them)."""
    assert result.parseoutcomes() == EXPECTED, result.stdout.str()


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # Both plugins load through their `pytest11` entry points, as in a user's environment.
    return pytester.runpytest(*args)


def test_disabled_by_default_records_nothing(suite: pytest.Pytester) -> None:
    result = _run(suite)
    assert_outcomes(result)
    assert "qapms" not in result.stdout.str().split("short test summary")[0].split("===")[-1]
    with qapms.Workspace.open() as ws:
        assert dict(ws.store_info().tables)["test_runs"] == 0


def test_records_every_attempt_with_stable_identities(suite: pytest.Pytester) -> None:
    result = _run(suite, "--qapms", "--qapms-run-name", "sample run")
    assert_outcomes(result)
    out = result.stdout.str()
    assert "qapms: recorded run" in out
    assert "7 tests, 8 attempts, 2 failed, 1 retried" in out, out
    assert "linked tickets: PAY-12" in out
    with qapms.Workspace.open() as ws:
        ids = ws.results.identities("pytest", "test_sample.py::test_pay_ok")
        assert {(i.system, i.key) for i in ids} == {
            ("pytest", "test_sample.py::test_pay_ok"),
            ("junit", "test_sample::test_pay_ok"),
            ("testmo", "1234"),
        }
        cls = ws.results.identities("junit", "test_sample.TestLogin::test_ok")
        assert cls[0].key == "test_sample.py::TestLogin::test_ok"
        tests = {t.external_id: t for t in ws.patterns.flaky(all=True)}
        flaky = tests["test_sample.py::test_flaky_once"]
        assert (flaky.failures, flaky.passes_on_retry) == (1, 1)
        assert "test_sample.py::test_broken" in tests

    # A second session lands on the same tests.
    again = _run(suite, "--qapms")
    assert "8 attempts" in again.stdout.str()
    with qapms.Workspace.open() as ws:
        tests = {t.external_id: t for t in ws.patterns.flaky(all=True)}
        assert tests["test_sample.py::test_broken"].runs == 2


def test_enabled_from_the_ini_file(suite: pytest.Pytester) -> None:
    suite.makeini("[pytest]\nqapms = true\nqapms_run_name = from ini\n")
    result = _run(suite)
    assert "qapms: recorded run" in result.stdout.str()


def test_markers_are_registered_even_when_disabled(suite: pytest.Pytester) -> None:
    result = _run(suite, "--strict-markers")
    assert_outcomes(result)


def test_a_store_failure_does_not_change_the_verdict(suite: pytest.Pytester, in_home: Home) -> None:
    (in_home.cwd / "qapms.yaml").write_text("store:\n  url: mysql://nowhere/db\n")
    result = _run(suite, "--qapms", "--qapms-config", str(in_home.cwd / "qapms.yaml"))
    assert_outcomes(result)
    assert "qapms: could not record the run" in result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_submits_to_testmo_at_session_end(
    suite: pytest.Pytester, in_home: Home, fake_testmo: FakeTestmo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TESTMO_TOKEN", TESTMO_TOKEN)
    config = in_home.cwd / "qapms.yaml"
    config.write_text(
        f"integrations:\n  testmo:\n    base_url: {fake_testmo.url}\n"
        "    token: ${TESTMO_TOKEN}\n    projects: [1]\n"
    )
    result = _run(suite, "--qapms", "--qapms-testmo", "--qapms-config", str(config))
    out = result.stdout.str()
    assert "submitted to Testmo: automation run" in out, out
    (run,) = fake_testmo.runs.values()
    assert run["is_completed"] and len(run["tests"]) == 7
    statuses = {t["name"]: t["status"] for t in run["tests"]}
    assert statuses["test_flaky_once"] == "passed"
    assert statuses["test_broken"] == "failed"
    # One lifecycle for the whole session: no per-test calls.
    assert len(fake_testmo.calls("POST", "/api/v1/projects/1/automation/runs")) == 1


def test_the_summary_names_new_clusters_and_flaky_tests(suite: pytest.Pytester) -> None:
    result = _run(suite, "--qapms")
    out = result.stdout.str()
    assert "new failure cluster" in out, out


def test_xdist_workers_results_are_recorded_once(suite: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    # Two workers run the sample; only the controller records, from the workers' reports.
    result = suite.runpytest_subprocess("-n", "2", "--qapms", "--qapms-run-name", "xdist run")
    assert_outcomes(result)
    out = result.stdout.str()
    assert "7 tests, 8 attempts, 2 failed, 1 retried" in out, out
    # The marks reached the controller with the workers' reports.
    assert "linked tickets: PAY-12" in out
    with qapms.Workspace.open() as ws:
        tables = dict(ws.store_info().tables)
        assert tables["test_runs"] == 1 and tables["test_results"] == 8
        ids = ws.results.identities("pytest", "test_sample.py::test_pay_ok")
        assert ("testmo", "1234") in {(i.system, i.key) for i in ids}
        flaky = {t.external_id: t for t in ws.patterns.flaky(all=True)}
        assert flaky["test_sample.py::test_flaky_once"].passes_on_retry == 1


def test_xdist_spreads_a_larger_suite_and_every_test_lands_once(
    pytester: pytest.Pytester, in_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("xdist")
    for f in range(4):
        body = "\n".join(f"def test_{i}():\n    assert {i} % 7 != 3\n" for i in range(50))
        pytester.makepyfile(**{f"test_many_{f}": body})
    monkeypatch.chdir(pytester.path)
    result = pytester.runpytest_subprocess("-n", "2", "--qapms")
    result.assert_outcomes(passed=172, failed=28)
    assert "200 tests, 200 attempts, 28 failed" in result.stdout.str()
    with qapms.Workspace.open() as ws:
        tables = dict(ws.store_info().tables)
        assert tables["test_runs"] == 1 and tables["test_results"] == 200
        assert tables["test_cases"] == 200


def test_a_clean_run_skips_the_recompute(
    pytester: pytest.Pytester, in_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_clean="def test_a():\n    pass\n\ndef test_b():\n    pass\n")
    monkeypatch.chdir(pytester.path)
    out = pytester.runpytest("--qapms").stdout.str()
    assert "2 tests, 2 attempts, 0 failed" in out, out
    assert "qapms: no failures or retries in this run" in out
    assert "failure cluster" not in out
