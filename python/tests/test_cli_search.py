"""`qapms search`, run as a user would run it: over test cases imported from JUnit XML."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from conftest import Home

REPORT = """\
<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="auth" tests="3">
    <testcase classname="tests.auth.TestTokens" name="test_refresh_token_renewed_before_expiry"
              time="0.2"/>
    <testcase classname="tests.auth.TestTokens" name="test_expired_token_is_rejected" time="0.1">
      <failure message="AssertionError: 200 != 401">trace</failure>
    </testcase>
    <testcase classname="tests.checkout.TestCurrency" name="test_currency_symbol_matches_locale"
              time="0.3"/>
  </testsuite>
</testsuites>
"""


def imported(home: Home) -> Home:
    report = home.cwd / "report.xml"
    report.write_text(REPORT)
    result = home.qapms("import", "junit", str(report))
    assert result.returncode == 0, result.stderr
    return home


def test_search_builds_the_index_and_finds_cases(home: Home) -> None:
    imported(home)
    result = home.qapms("search", "token", "--json")
    assert result.returncode == 0, result.stderr
    # The first search finds no index and says it built one.
    assert "search index rebuilt" in result.stderr
    body = json.loads(result.stdout)
    titles = [hit["title"] for hit in body["hits"]]
    assert body["total"] == 2, body
    assert any("refresh_token" in t for t in titles)
    assert all(hit["source"] == "junit" for hit in body["hits"])
    hit = body["hits"][0]
    assert hit["url"].startswith("qapms://tests/")
    assert hit["matched"] == "text"

    # The second search opens the index as is.
    again = home.qapms("search", "currency", "--json")
    assert again.returncode == 0, again.stderr
    assert "rebuilt" not in again.stderr
    assert [h["key"] for h in json.loads(again.stdout)["hits"]] == [
        "tests.checkout.TestCurrency::test_currency_symbol_matches_locale"
    ]


def test_plain_output_filters_and_limit(home: Home) -> None:
    imported(home)
    result = home.qapms("search", "token", "--limit", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('2 results for "token" (showing 1-1)'), result.stdout
    none = home.qapms("search", "token", "--source", "testmo")
    assert none.returncode == 0
    assert "no results" in none.stdout
    grouped = json.loads(home.qapms("search", "token", "--group", "--json").stdout)
    assert [g["source"] for g in grouped["groups"]] == ["junit"]


def test_reindex_rebuilds_and_reports(home: Home) -> None:
    imported(home)
    result = home.qapms("search", "--reindex", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["status"] == "rebuilt"
    assert status["reason"] == "requested"
    assert status["documents"] == 3


def test_corrupt_index_is_rebuilt_and_the_user_told(home: Home) -> None:
    imported(home)
    assert home.qapms("search", "token").returncode == 0
    index = home.data_dir / "index"
    (index / "meta.json").write_text("{broken")
    result = home.qapms("search", "token", "--json")
    assert result.returncode == 0, result.stderr
    assert "damaged" in result.stderr
    assert json.loads(result.stdout)["total"] == 2


def test_syntax_errors_point_at_the_column(home: Home) -> None:
    imported(home)
    result = home.qapms("search", 'token "refresh')
    assert result.returncode == 1
    assert "column 7" in result.stderr
    assert "never closed" in result.stderr
    unknown = home.qapms("search", "sorce:junit")
    assert unknown.returncode == 1
    assert "did you mean `source:`" in unknown.stderr
    assert home.qapms("search").returncode == 2


def test_bad_bytes_long_queries_and_control_characters(home: Home) -> None:
    imported(home)
    # Control characters are spaces.
    ok = home.qapms("search", "token\t\x1b[31mexpired\n", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["total"] == 1
    # Too long: rejected with a message, not a crash.
    long = home.qapms("search", "a " * 3000)
    assert long.returncode == 1
    assert "limit" in long.stderr
    # Invalid UTF-8 on the command line is sanitised, not a traceback.
    exe = shutil.which("qapms", path=os.path.dirname(sys.executable))
    assert exe
    raw = subprocess.run(
        [exe.encode(), b"search", b"token\xff\xfe", b"--json"],
        cwd=home.cwd,
        env=home.env,
        capture_output=True,
        timeout=120,
    )
    assert raw.returncode == 0, raw.stderr
    assert b"Traceback" not in raw.stderr
    json.loads(raw.stdout)


def test_fuzzy_key_matches(home: Home) -> None:
    imported(home)
    body = json.loads(home.qapms("search", "TestCurrency1", "--json").stdout)
    assert body["hits"] == []
    # Not id-like enough for the key matcher and no typo match: nothing, cleanly.
    assert isinstance(body["fuzzy"], list)
    typo = json.loads(home.qapms("search", "curency", "--json").stdout)
    assert typo["hits"][0]["matched"] == "typo"
    assert typo["notes"]


def test_clusters_and_workflow_notes_are_searchable(home: Home) -> None:
    imported(home)
    assert home.qapms("search", "token").returncode == 0  # the index exists before both
    analysis = home.qapms("patterns", "analyze", "--json")
    assert analysis.returncode == 0, analysis.stderr
    started = home.qapms("workflow", "start", "verify_ticket", "PAY-7", "--user", "ada", "--json")
    assert started.returncode == 0, started.stderr
    note = home.qapms(
        "workflow", "note", "the refund webhook retried three times", "--user", "ada", "--json"
    )
    assert note.returncode == 0, note.stderr

    clusters = json.loads(
        home.qapms("search", "AssertionError", "--source", "cluster", "--json").stdout
    )
    assert [h["docType"] for h in clusters["hits"]] == ["cluster"], clusters
    assert clusters["hits"][0]["url"].startswith("qapms://clusters/")
    workflows = json.loads(home.qapms("search", "webhook", "--source", "workflow", "--json").stdout)
    assert len(workflows["hits"]) == 1, workflows
    hit = workflows["hits"][0]
    assert hit["key"] == json.loads(started.stdout)["workflow"]["id"]
    assert hit["links"] == ["PAY-7"]
    linked = json.loads(home.qapms("search", "ticket:PAY-7", "--json").stdout)
    assert [h["key"] for h in linked["hits"]] == [hit["key"]]
