"""`qapms import junit`, run as a user would run it."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Home

SUREFIRE = """\
<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.acme.LoginTest" time="0.6" timestamp="2025-03-01T09:00:00">
  <testcase name="logsIn" classname="com.acme.LoginTest" time="0.1"/>
  <testcase name="rejects_PAY_12" classname="com.acme.LoginTest" time="0.2">
    <flakyFailure message="expected 401" type="AssertionError">
      <stackTrace>at X</stackTrace>
    </flakyFailure>
  </testcase>
  <testcase name="locks" classname="com.acme.LoginTest" time="0.3">
    <failure message="still open">trace</failure>
  </testcase>
  <testcase name="legacy" classname="com.acme.LoginTest"><skipped/></testcase>
</testsuite>
"""

PLAYWRIGHT = """\
<testsuites><testsuite name="cart.spec.ts">
<testcase name="adds" classname="cart.spec.ts" time="1"><failure message="timeout"/></testcase>
<testcase name="adds" classname="cart.spec.ts" time="1"/>
</testsuite></testsuites>
"""


def _config(home: Home) -> None:
    (home.cwd / "qapms.yaml").write_text(f"store:\n  url: sqlite://{home.data_dir}/qapms.db\n")


def test_import_prints_the_run_and_counts(home: Home) -> None:
    _config(home)
    (home.cwd / "surefire.xml").write_text(SUREFIRE)
    (home.cwd / "playwright.xml").write_text(PLAYWRIGHT)

    result = home.qapms(
        "import", "junit", "surefire.xml", "playwright.xml", "--run-name", "nightly", "--json"
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["runName"] == "nightly"
    assert summary["tests"] == 5
    assert summary["attempts"] == 7
    assert summary["passed"] == 3
    assert summary["failed"] == 1
    assert summary["skipped"] == 1
    assert summary["retried"] == 2
    assert len(summary["runId"]) == 36

    text = home.qapms("import", "junit", "surefire.xml")
    assert text.returncode == 0, text.stderr
    assert "4 tests, 5 attempts" in text.stdout
    assert "1 retried" in text.stdout

    info = json.loads(home.qapms("store", "info", "--json").stdout)
    assert info["tables"]["test_runs"] == 2
    assert info["tables"]["test_results"] == 12
    assert info["tables"]["test_cases"] == 5


def test_bad_input_exits_one_with_file_and_line_and_stores_nothing(home: Home) -> None:
    _config(home)
    (home.cwd / "good.xml").write_text(SUREFIRE)
    bad = home.cwd / "bad.xml"
    bad.write_text('<testsuite name="x">\n  <testcase name="a">\n    <failure>oops</error>\n')
    laughs: Path = home.cwd / "laughs.xml"
    laughs.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE l [<!ENTITY a "aaaa">]>\n'
        '<testsuite><testcase name="&a;"/></testsuite>\n'
    )

    result = home.qapms("import", "junit", "good.xml", "bad.xml")
    assert result.returncode == 1
    assert "bad.xml:3:" in result.stderr, result.stderr

    result = home.qapms("import", "junit", "laughs.xml")
    assert result.returncode == 1
    assert "laughs.xml:2:" in result.stderr and "DOCTYPE" in result.stderr

    info = json.loads(home.qapms("store", "info", "--json").stdout)
    assert info["tables"]["test_runs"] == 0
    assert info["tables"]["test_cases"] == 0


def test_import_requires_a_path(home: Home) -> None:
    assert home.qapms("import", "junit").returncode == 2
