"""`qapms sync` and `qapms doctor` against the loopback fakes.

The first run reads everything, the second only what changed (Jira's JQL carries an
`updated >=` window, Testmo's run listing a `closed_after`); `--only` picks integrations;
`--json` is the whole report; one integration refusing its credentials does not stop the others.
A sync killed with SIGKILL halfway keeps every batch it committed, and the next run finishes
the job without storing anything twice. The doctor compares the store's schema with the
migrations this build knows.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import fake_http
import pytest
from conftest import Home
from fake_grafana import TOKEN as GRAFANA_TOKEN
from fake_grafana import FakeGrafana
from fake_jira import FakeJira, serve
from fake_splunk import TOKEN as SPLUNK_TOKEN
from fake_splunk import FakeSplunk
from fake_testmo import TOKEN as TESTMO_TOKEN
from fake_testmo import FakeTestmo

JIRA_TOKEN = "s3cret-token"
JIRA_AUTH = "Basic " + base64.b64encode(f"qa@example.com:{JIRA_TOKEN}".encode()).decode()


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    yield from serve(FakeJira(auth_header=JIRA_AUTH))


@pytest.fixture
def testmo() -> Iterator[FakeTestmo]:
    yield from fake_http.serve(FakeTestmo(case_count=30))


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    yield from fake_http.serve(FakeGrafana())


def configure(
    home: Home,
    jira: FakeJira,
    testmo: FakeTestmo,
    grafana: FakeGrafana,
    grafana_token: str = GRAFANA_TOKEN,
) -> None:
    home.env.update(
        {
            "JIRA_TOKEN": JIRA_TOKEN,
            "TESTMO_TOKEN": TESTMO_TOKEN,
            "GRAFANA_TOKEN": grafana_token,
        }
    )
    (home.cwd / "qapms.yaml").write_text(
        f"""
integrations:
  jira:
    base_url: {jira.url}
    deployment: cloud
    projects: [PAY]
    auth:
      method: basic
      email: qa@example.com
      api_token: ${{JIRA_TOKEN}}
  testmo:
    base_url: {testmo.url}
    token: ${{TESTMO_TOKEN}}
    projects: [1]
  grafana:
    base_url: {grafana.url}/api
    token: ${{GRAFANA_TOKEN}}
  splunk:
    mode: manual
    templates:
      checkout_errors:
        spl: "index=web status>=500 path=/checkout*"
        description: Checkout 5xx errors
"""
    )


def sync_json(home: Home, *args: str) -> tuple[int, dict[str, Any]]:
    result = home.qapms("sync", "--json", *args)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"not JSON (exit {result.returncode}): {result.stdout!r} {result.stderr!r}")
    return result.returncode, report


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["integration"]: r for r in report["integrations"]}


def db(home: Home) -> sqlite3.Connection:
    """The store, read beside a running (or killed) qapms; WAL lets both at it."""
    path = home.data_dir / "qapms.db"
    if not path.exists():
        raise sqlite3.OperationalError("no store yet")
    return sqlite3.connect(path, timeout=10)


def test_first_sync_reads_everything_then_only_changes(
    home: Home, jira: FakeJira, testmo: FakeTestmo, grafana: FakeGrafana
) -> None:
    configure(home, jira, testmo, grafana)
    code, report = sync_json(home)
    assert code == 0, report
    first = by_name(report)
    assert set(first) == {"jira", "testmo", "splunk", "grafana"}
    assert all(r["outcome"] == "ok" for r in first.values()), report
    assert first["jira"]["counts"]["written"] == 250
    # 30 cases and the one closed run.
    assert first["testmo"]["counts"]["written"] == 31
    assert first["splunk"]["counts"]["written"] == 1
    assert report["index"]["error"] is None
    # Testmo lists tags by id; they are stored and searched by name.
    tagged = home.qapms("search", "tag:smoke", "--source", "testmo", "--limit", "50", "--json")
    assert tagged.returncode == 0, tagged.stderr
    keys = sorted(int(h["key"]) for h in json.loads(tagged.stdout)["hits"])
    assert keys == [1000 + n for n in range(30) if n % 5 == 0], keys
    with db(home) as conn:
        assert conn.execute("SELECT count(*) FROM tickets").fetchone() == (250,)
        runs = conn.execute("SELECT name FROM test_runs WHERE source = 'testmo'").fetchall()
        assert runs == [("Regression 0",)]
        # Five cases, case 1000 twice (failed, then passed on the retest).
        assert conn.execute("SELECT count(*) FROM test_results").fetchone() == (6,)
        attempts = conn.execute(
            "SELECT r.attempt, r.status FROM test_results r "
            "JOIN test_cases c ON c.id = r.test_id "
            "WHERE c.source = 'testmo' AND c.external_id = '1000' ORDER BY r.attempt"
        ).fetchall()
        assert attempts == [(1, "failed"), (2, "passed")]

    searches_before = len(jira.requests)
    testmo.closed_runs = 2
    code, report = sync_json(home)
    assert code == 0, report
    second = by_name(report)
    assert second["jira"]["counts"]["written"] == 0
    jqls = [
        r.body.get("jql", "")
        for r in jira.requests[searches_before:]
        if r.path.endswith("/search/jql") and isinstance(r.body, dict)
    ]
    assert jqls and all('updated >= "-' in q for q in jqls), jqls
    # Only the newly closed run is written; the cases are unchanged.
    assert second["testmo"]["counts"]["written"] == 1
    assert second["testmo"]["counts"]["unchanged"] >= 30
    listings = [r for r in testmo.requests if r.path == "/api/v1/projects/1/runs"]
    assert listings[-1].arg("closed_after", "").startswith("2024-05-01T11:55:00")
    with db(home) as conn:
        assert conn.execute("SELECT count(*) FROM test_runs").fetchone() == (2,)
        assert conn.execute("SELECT count(*) FROM test_results").fetchone() == (12,)


def test_only_picks_integrations_and_text_output_summarises(
    home: Home, jira: FakeJira, testmo: FakeTestmo, grafana: FakeGrafana
) -> None:
    configure(home, jira, testmo, grafana)
    code, report = sync_json(home, "--only", "testmo,splunk")
    assert code == 0, report
    assert set(by_name(report)) == {"testmo", "splunk"}
    assert not [r for r in jira.requests if r.path.endswith("/search/jql")]

    result = home.qapms("sync", "--only", "splunk")
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("splunk"))
    assert " ok " in line and "unchanged 1" in line, result.stdout

    unknown = home.qapms("sync", "--only", "jiraa")
    assert unknown.returncode == 1
    assert "unknown integration `jiraa`" in unknown.stdout


def configure_splunk_rest(home: Home, splunk: FakeSplunk, token: str = SPLUNK_TOKEN) -> None:
    home.env["SPLUNK_TOKEN"] = token
    (home.cwd / "qapms.yaml").write_text(
        f"""\
integrations:
  splunk:
    mode: rest
    base_url: {splunk.url}
    auth:
      method: token
      token: ${{SPLUNK_TOKEN}}
    templates:
      checkout_errors:
        spl: "index=web status>=500 path=/checkout*"
"""
    )


def search_splunk(home: Home, query: str) -> list[dict[str, Any]]:
    result = home.qapms("search", query, "--source", "splunk", "--json")
    assert result.returncode == 0, result.stderr
    hits: list[dict[str, Any]] = json.loads(result.stdout)["hits"]
    return hits


def test_splunk_rest_mode_indexes_saved_searches(home: Home, fake_splunk: FakeSplunk) -> None:
    configure_splunk_rest(home, fake_splunk)
    code, report = sync_json(home, "--only", "splunk")
    assert code == 0, report
    splunk = by_name(report)["splunk"]
    assert splunk["counts"]["written"] == 4, splunk  # the template and three saved searches
    assert fake_splunk.calls("GET", "/services/saved/searches")

    hits = search_splunk(home, "refresh")
    assert [h["key"] for h in hits] == ["auth_app/Token refresh failures"]
    assert hits[0]["docType"] == "saved_search"
    assert hits[0]["url"].startswith("https://localhost:8089/servicesNS/nobody/auth_app/")
    assert hits[0]["status"] == "scheduled"
    assert [h["key"] for h in search_splunk(home, "smoke")] == ["search/Old smoke report"]
    assert search_splunk(home, "smoke")[0]["status"] == "disabled"

    # Deleted in Splunk: gone from the store and the index on the next sync.
    fake_splunk.saved = [s for s in fake_splunk.saved if s["name"] != "Old smoke report"]
    code, report = sync_json(home, "--only", "splunk")
    assert code == 0, report
    assert by_name(report)["splunk"]["counts"]["deleted"] == 1
    assert search_splunk(home, "smoke") == []


def test_splunk_rest_mode_with_a_wrong_token_fails_only_splunk(
    home: Home, fake_splunk: FakeSplunk
) -> None:
    configure_splunk_rest(home, fake_splunk, token="splunk-wrong-token")
    code, report = sync_json(home, "--only", "splunk")
    assert code == 1
    splunk = by_name(report)["splunk"]
    assert splunk["outcome"] == "failed"
    assert "authenticated" in splunk["error"] or "401" in splunk["error"], splunk
    assert "splunk-wrong-token" not in json.dumps(report)


def test_one_failing_integration_does_not_stop_the_others(
    home: Home, jira: FakeJira, testmo: FakeTestmo, grafana: FakeGrafana
) -> None:
    configure(home, jira, testmo, grafana, grafana_token="glsa_wrong")
    code, report = sync_json(home)
    assert code == 1
    reports = by_name(report)
    assert reports["grafana"]["outcome"] == "failed"
    assert "token" in reports["grafana"]["error"].lower()
    assert "glsa_wrong" not in json.dumps(report)
    assert reports["jira"]["outcome"] == "ok" and reports["jira"]["counts"]["written"] == 250
    assert reports["testmo"]["outcome"] == "ok"
    assert reports["splunk"]["outcome"] == "ok"


def test_a_killed_sync_resumes_without_losing_or_duplicating(
    home: Home, testmo: FakeTestmo, grafana: FakeGrafana
) -> None:
    slow = FakeJira(
        issue_count=1500,
        auth_header=JIRA_AUTH,
        page_delay=0.3,
    )
    served = serve(slow)
    jira = next(served)
    try:
        configure(home, jira, testmo, grafana)
        exe = shutil.which("qapms", path=os.path.dirname(sys.executable))
        assert exe
        proc = subprocess.Popen(
            [exe, "sync", "--only", "jira", "--no-index"],
            cwd=home.cwd,
            env=home.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stored = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
            try:
                with db(home) as conn:
                    stored = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
            except sqlite3.OperationalError:
                continue  # not created yet
            if stored >= 300:
                break
        assert proc.poll() is None, "the sync finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert 300 <= stored < 1500
        with db(home) as conn:
            kept = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
            cursor = conn.execute(
                "SELECT cursor FROM sync_scopes WHERE integration = 'jira' AND scope = 'PAY'"
            ).fetchone()
        assert kept >= stored, "committed batches survive the kill"
        assert cursor is not None and cursor[0], "the cursor was committed with the batches"

        slow.page_delay = 0.0
        code, report = sync_json(home, "--only", "jira")
        assert code == 0, report
        with db(home) as conn:
            assert conn.execute("SELECT count(*) FROM tickets").fetchone() == (1500,)
            assert conn.execute("SELECT count(DISTINCT key) FROM tickets").fetchone() == (1500,)
            items = conn.execute(
                "SELECT count(*), count(DISTINCT item_id) FROM sync_items "
                "WHERE integration = 'jira'"
            ).fetchone()
        assert items == (1500, 1500)
    finally:
        served.close()


def test_a_killed_testmo_sync_keeps_whole_runs(
    home: Home, jira: FakeJira, grafana: FakeGrafana
) -> None:
    fake = SlowTestmo(case_count=5, closed_runs=3)
    served = fake_http.serve(fake)
    testmo = next(served)
    try:
        configure(home, jira, testmo, grafana)
        exe = shutil.which("qapms", path=os.path.dirname(sys.executable))
        assert exe
        proc = subprocess.Popen(
            [exe, "sync", "--only", "testmo", "--no-index"],
            cwd=home.cwd,
            env=home.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        runs = 0
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
            try:
                with db(home) as conn:
                    runs = conn.execute("SELECT count(*) FROM test_runs").fetchone()[0]
            except sqlite3.OperationalError:
                continue
            if runs >= 1:
                break
        assert proc.poll() is None, "the sync finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        with db(home) as conn:
            rows = conn.execute(
                "SELECT count(*) FROM test_runs r WHERE (SELECT count(*) FROM test_results x "
                "WHERE x.run_id = r.id) = 6"
            ).fetchone()[0]
            total = conn.execute("SELECT count(*) FROM test_runs").fetchone()[0]
        assert 1 <= total < 3 and rows == total, "a stored run has all its results"

        fake.delay = 0.0
        code, report = sync_json(home, "--only", "testmo")
        assert code == 0, report
        with db(home) as conn:
            assert conn.execute("SELECT count(*) FROM test_runs").fetchone() == (3,)
            assert conn.execute("SELECT count(*) FROM test_results").fetchone() == (18,)
    finally:
        served.close()


class SlowTestmo(FakeTestmo):
    """Testmo whose run results answer slowly, so a kill lands between two runs."""

    delay: float = 1.0

    def route(self, r: fake_http.Request) -> fake_http.Reply:
        if r.path.endswith("/results") and self.delay:
            time.sleep(self.delay)
        return super().route(r)


def test_doctor_compares_the_schema_with_the_known_migrations(home: Home) -> None:
    ok = home.qapms("doctor", "--json")
    store = next(c for c in json.loads(ok.stdout)["checks"] if c["name"] == "store")
    assert store["status"] == "ok", store
    assert "the newest this qapms knows" in store["detail"]

    # A newer qapms migrated the store: this one does not know its latest migration.
    with sqlite3.connect(home.data_dir / "qapms.db") as conn:
        conn.execute(
            "INSERT INTO _sqlx_migrations "
            "(version, description, installed_on, success, checksum, execution_time) "
            "VALUES (9999, 'from the future', CURRENT_TIMESTAMP, 1, x'00', 0)"
        )
    bad = home.qapms("doctor", "--json")
    assert bad.returncode == 1
    store = next(c for c in json.loads(bad.stdout)["checks"] if c["name"] == "store")
    assert store["status"] == "problem", store
    assert "9999" in store["detail"]
    assert "upgrade qapms" in store["hint"]
    text = home.qapms("doctor")
    assert "upgrade qapms" in text.stdout


def test_sync_without_integrations_says_what_to_do(home: Home) -> None:
    (home.cwd / "qapms.yaml").write_text('store:\n  url: "sqlite::memory:"\n')
    result = home.qapms("sync")
    assert result.returncode != 0
    assert "no integration is configured" in result.stderr
