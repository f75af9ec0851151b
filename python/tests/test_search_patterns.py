"""``ws.search``, ``ws.related`` and ``ws.patterns`` over a store filled by real imports."""

from __future__ import annotations

import asyncio

import pytest
from conftest import Home

import qapms

RUN = """\
<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="pytest">
<testsuite name="pytest" tests="4" timestamp="2026-01-0{day}T10:00:00">
  <testcase classname="tests.test_checkout.TestPay" name="test_token_refresh_PAY_12">
    {refresh}
  </testcase>
  <testcase classname="tests.test_checkout.TestPay" name="test_card_declined" time="0.2">
    <failure message="ConnectionError: database pool exhausted after 30s">
Traceback (most recent call last):
  File "tests/test_checkout.py", line 40, in test_card_declined
    db.connect()
ConnectionError: database pool exhausted after 30s</failure>
  </testcase>
  <testcase classname="tests.test_checkout.TestPay" name="test_refund" time="0.2">
    <failure message="ConnectionError: database pool exhausted after 31s">
Traceback (most recent call last):
  File "tests/test_checkout.py", line 55, in test_refund
    db.connect()
ConnectionError: database pool exhausted after 31s</failure>
  </testcase>
  <testcase classname="tests.test_checkout.TestPay" name="test_receipt" time="0.1"/>
</testsuite></testsuites>
"""


@pytest.fixture
def ws(in_home: Home) -> qapms.Workspace:
    workspace = qapms.Workspace.open()
    for day in range(1, 7):
        # The refresh test flips between runs: flaky.
        refresh = '<failure message="timeout">t</failure>' if day % 2 else ""
        path = in_home.cwd / f"run{day}.xml"
        path.write_text(RUN.format(day=day, refresh=refresh))
        workspace.results.import_junit(path, run_name="nightly")
    return workspace


def test_search_finds_imported_tests_with_typed_hits(ws: qapms.Workspace) -> None:
    results = ws.search("refund")
    assert isinstance(results, qapms.SearchResults)
    assert results.total >= 1
    hit = results.hits[0]
    assert isinstance(hit, qapms.SearchHit)
    # A pytest-style JUnit report: the tests are known by their pytest node ids.
    assert "refund" in hit.title and hit.source == "pytest"
    assert next(iter(results)).key == hit.key and len(results) == len(results.hits)
    only = ws.search("refund", source="jira")
    assert only.total == 0
    both = ws.search("refund", source=["jira", "pytest"], limit=1)
    assert both.limit == 1
    with pytest.raises(qapms.InvalidInputError):
        ws.search("x", limit=0)
    with pytest.raises(TypeError):
        ws.search("x", source=3)  # type: ignore[arg-type]
    with pytest.raises(qapms.InvalidInputError, match="NUL"):
        ws.search("a\0b")
    assert ws.reindex() >= 4


def test_async_search(ws: qapms.Workspace) -> None:
    async def main() -> int:
        return (await ws.async_search("receipt")).total

    assert asyncio.run(main()) >= 1


def test_patterns_clusters_flaky_and_alerts(ws: qapms.Workspace) -> None:
    clusters = ws.patterns.clusters()
    assert clusters, "the two database failures form a cluster"
    top = clusters[0]
    assert isinstance(top, qapms.FailureCluster)
    db = [c for c in clusters if "database pool exhausted after <*>" in c.template]
    assert sum(c.failures for c in db) == 12, "six runs, two failing tests each"
    assert top.label in {"systemic", "recurring_defect", "flaky", "one_off"}
    assert top.raw()["failures"] == top.failures
    flaky = ws.patterns.flaky()
    assert [t.external_id for t in flaky] == [
        "tests/test_checkout.py::TestPay::test_token_refresh_PAY_12"
    ]
    assert 0.0 <= flaky[0].score_interval[0] <= flaky[0].score <= flaky[0].score_interval[1] <= 1.0
    analysis = ws.patterns.analyze()
    assert analysis.runs == 6 and analysis.clusters
    alerts = ws.patterns.alerts()
    assert all(isinstance(a, qapms.Alert) for a in alerts)
    if alerts:
        acked = ws.patterns.update_alert(alerts[0].id, "acknowledge")
        assert acked.state == "acknowledged"
        with pytest.raises(qapms.InvalidInputError):
            ws.patterns.update_alert(alerts[0].id, "explode")
    with pytest.raises(qapms.InvalidInputError):
        ws.patterns.alerts(states=["sleeping"])
    with pytest.raises(qapms.InvalidInputError):
        ws.patterns.update_alert("not-a-uuid", "resolve")
