"""`qapms patterns mine|report|analyze|flaky|clusters`, run as a user would run them.

The history is stored through the Python API (24 nightly runs, recorded as the pytest plugin
records them), then read back through the console script with the `patterns` section of
qapms.yaml applied: a known-issue rule, the template miner's settings and anomaly detection.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from conftest import Home

import qapms

RUNS = 24
BASE = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.timezone.utc)

KNOWN_ISSUE = """\
patterns:
  known_issues:
    - issue: PAY-12
      pattern: "expected 200, got 500"
      note: refunds are broken until PAY-12 ships
"""


def attempts_of(run: int) -> list[tuple[list[tuple[str, str]], str, str, list[str], list[Any]]]:
    """Every test's attempts in run `run` (0-based)."""
    last = run == RUNS - 1
    tests: list[tuple[list[tuple[str, str]], str, str, list[str], list[Any]]] = []

    def add(nodeid: str, attempts: list[Any], tickets: list[str] | None = None) -> None:
        folder, _, title = nodeid.rpartition("::")
        tests.append(([("pytest", nodeid)], title, folder, tickets or [], attempts))

    # Five unrelated modules lose the database in the last run only: systemic, and new.
    for k in range(5):
        if last:
            status = ("failed", 12.0, f"ConnectionError: connection to 10.0.0.{k}:5432 refused")
        else:
            status = ("passed", 12.0, None)
        add(f"tests/test_db_{k}.py::test_query", [status])
    # One test fails the same way in every run: a recurring defect, known as PAY-12.
    add(
        "tests/test_pay.py::test_refund",
        [("failed", 30.0, f"AssertionError: expected 200, got 500 for order {1000 + run}")],
        ["PAY-12"],
    )
    # One test fails and then passes on retry in every other run: flaky.
    if run % 2 == 0:
        add(
            "tests/test_ui.py::test_banner",
            [
                ("failed", 20.0, "TimeoutError: banner not visible after 5000 ms"),
                ("passed", 20.0, None),
            ],
        )
    else:
        add("tests/test_ui.py::test_banner", [("passed", 20.0, None)])
    # One test takes 100 ms, give or take, until the last run takes a minute.
    ms = 60_000.0 if last else 100.0 + (run % 3)
    add("tests/test_slow.py::test_export", [("passed", ms, None)])
    return tests


def configure(home: Home, patterns: str = KNOWN_ISSUE) -> None:
    (home.cwd / "qapms.yaml").write_text(
        f"store:\n  url: sqlite://{home.data_dir}/qapms.db\n" + patterns
    )


@pytest.fixture
def history(in_home: Home) -> Home:
    configure(in_home)
    with qapms.Workspace.open() as ws:
        for run in range(RUNS):
            started = BASE + dt.timedelta(days=run)
            ws.results.record_run(
                attempts_of(run),
                name="nightly",
                environment="staging",
                revision=f"r{run // 4}",
                started_at=started,
                finished_at=started + dt.timedelta(minutes=10),
            )
    return in_home


def cli_json(home: Home, *args: str) -> Any:
    result = home.qapms(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def by_template(clusters: list[dict[str, Any]], text: str) -> dict[str, Any]:
    found = [c for c in clusters if text.lower() in c["template"].lower()]
    assert len(found) == 1, [c["template"] for c in clusters]
    return found[0]


def test_clusters_are_labelled_with_their_known_issue(history: Home) -> None:
    clusters = cli_json(history, "patterns", "clusters")
    db = by_template(clusters, "connection to")
    assert "<*>" in db["template"]  # the five addresses are one template
    assert db["classification"]["label"] == "systemic"
    assert db["newInRun"] and db["tests"] == 5
    refund = by_template(clusters, "for order")
    assert refund["knownIssue"] == "PAY-12"
    assert refund["classification"]["label"] == "recurring_defect"
    assert refund["failures"] == RUNS and not refund["newInRun"]
    banner = by_template(clusters, "banner not visible")
    assert banner["classification"]["label"] == "flaky"

    text = history.qapms("patterns", "clusters")
    assert text.returncode == 0, text.stderr
    assert "known:PAY-12" in text.stdout and "systemic" in text.stdout


def test_flaky_lists_only_flaky_tests_unless_all(history: Home) -> None:
    flaky = cli_json(history, "patterns", "flaky")
    assert all(t["verdict"] == "flaky" for t in flaky)
    # The test that passes on retry every other run is the most flaky of all.
    banner = flaky[0]
    assert banner["externalId"] == "tests/test_ui.py::test_banner"
    assert banner["verdict"] == "flaky" and banner["passesOnRetry"] == RUNS // 2
    low, high = banner["scoreInterval"]
    assert 0.0 <= low <= banner["score"] <= high <= 1.0
    every = cli_json(history, "patterns", "flaky", "--all")
    verdicts = {t["externalId"]: t["verdict"] for t in every}
    # Always failing is broken, not flaky.
    assert verdicts["tests/test_pay.py::test_refund"] == "stable"
    assert "flaky" in history.qapms("patterns", "flaky").stdout


def test_analyze_persists_and_report_reads_it_back(history: Home) -> None:
    analysis = cli_json(history, "patterns", "analyze")["analysis"]
    assert analysis["runs"] == RUNS
    kinds = {a["kind"] for a in analysis["alerts"]}
    assert {"new_cluster", "systemic_failure", "flaky_test", "anomaly"} <= kinds
    [slow] = analysis["durationAnomalies"]
    assert slow["durationMs"] == 60_000
    info = cli_json(history, "store", "info")
    assert info["tables"]["patterns"] >= 3 and info["tables"]["alerts"] >= 4
    # Persisting twice changes nothing: the same failures give the same clusters.
    again = cli_json(history, "patterns", "analyze")["analysis"]
    assert [c["id"] for c in again["clusters"]] == [c["id"] for c in analysis["clusters"]]
    assert again["reassigned"] == 0
    report = history.qapms("patterns", "report")
    assert report.returncode == 0, report.stderr
    assert f"{RUNS} runs" in report.stdout and "Open alerts" in report.stdout


def test_anomaly_detection_follows_the_config(history: Home) -> None:
    on = cli_json(history, "patterns", "report")["analysis"]
    assert len(on["durationAnomalies"]) == 1
    configure(history, KNOWN_ISSUE + "  anomaly:\n    enabled: false\n")
    off = cli_json(history, "patterns", "report")["analysis"]
    assert off["durationAnomalies"] == [] and off["anomalies"] == []
    assert not [a for a in off["alerts"] if a["kind"] == "anomaly"]
    # A threshold outside (0, 1] is a config error with its position.
    configure(history, "patterns:\n  anomaly:\n    threshold: 3.5\n")
    bad = history.qapms("patterns", "report")
    assert bad.returncode != 0
    assert "qapms.yaml:5:" in bad.stderr and "threshold" in bad.stderr


def test_a_bad_known_issue_rule_is_refused(home: Home) -> None:
    configure(home, "patterns:\n  known_issues:\n    - issue: PAY-12\n      pattern: '(unclosed'\n")
    result = home.qapms("patterns", "report")
    assert result.returncode != 0
    assert "qapms.yaml:" in result.stderr


LOG = """\
2026-11-20 10:00:01 ERROR db Connection to 10.0.0.1:5432 refused after 3 retries
2026-11-20 10:00:02 INFO web user alice logged in from 192.168.1.10
2026-11-20 10:00:03 ERROR db Connection to 10.0.0.2:5432 refused after 5 retries
2026-11-20 10:00:04 INFO web user bob logged in from 192.168.1.11
2026-11-20 10:00:05 ERROR db Connection to 10.0.0.3:5432 refused after 1 retries
2026-11-20 10:00:06 INFO web user carol logged in from 192.168.1.12
"""


def test_mine_prints_templates_with_counts_from_a_file_or_stdin(home: Home) -> None:
    (home.cwd / "app.log").write_text(LOG)
    mined = cli_json(home, "patterns", "mine", "app.log")
    assert [m["count"] for m in mined] == [3, 3]
    texts = [m["template"] for m in mined]
    assert any("Connection to <*>:<*> refused after <*> retries" in t for t in texts)
    assert any("user <*> logged in from <*>" in t for t in texts)
    # Stable ids: the same input mined again, from stdin this time, gives the same ids.
    piped = home.qapms("patterns", "mine", "-", "--json", stdin=LOG)
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout) == mined
    text = home.qapms("patterns", "mine", "app.log")
    assert text.returncode == 0
    assert "6 lines, 2 templates" in text.stderr
    assert text.stdout.split()[0] == "3"


def test_mine_applies_the_configured_miner(home: Home) -> None:
    (home.cwd / "app.log").write_text(LOG)
    # Every fixed token must match: alice, bob and carol no longer share a template.
    configure(home, "patterns:\n  templates:\n    similarity: 1.0\n")
    strict = cli_json(home, "patterns", "mine", "app.log")
    assert sorted(m["count"] for m in strict) == [1, 1, 1, 3]
    configure(home, "patterns:\n  templates:\n    max_clusters: 1\n")
    one = home.qapms("patterns", "mine", "app.log")
    assert one.returncode == 0, one.stderr
    assert "evicted" in one.stderr


def test_mine_survives_garbage(home: Home) -> None:
    data = b"\xff\xfe garbage \x00\x01\n" + b"x" * (1 << 20) + b"\nok line 1\nok line 2\n"
    (home.cwd / "bad.log").write_bytes(data)
    mined = cli_json(home, "patterns", "mine", "bad.log", "--keep-headers")
    assert sum(m["count"] for m in mined) == 4
    assert any("truncated" in m["template"] for m in mined)
    missing = home.qapms("patterns", "mine", "nope.log")
    assert missing.returncode == 1 and "nope.log" in missing.stderr
