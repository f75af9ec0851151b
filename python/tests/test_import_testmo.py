"""`qapms import junit --submit-testmo` against a small Testmo stand-in."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from conftest import Home

TOKEN = "testmo-cli-token-8c7b6a"

REPORT = """\
<testsuite name="com.acme.LoginTest">
  <testcase name="logsIn" classname="com.acme.LoginTest" time="0.1"/>
  <testcase name="locks" classname="com.acme.LoginTest" time="0.3">
    <failure message="still open">trace</failure>
  </testcase>
  <testcase name="legacy" classname="com.acme.LoginTest"><skipped/></testcase>
</testsuite>
"""


class FakeTestmo(BaseHTTPRequestHandler):
    calls: ClassVar[list[tuple[str, dict, str]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        FakeTestmo.calls.append((self.path, body, self.headers.get("authorization", "")))
        answers = {
            "/api/v1/projects/4/automation/runs": {"id": 345},
            "/api/v1/automation/runs/345/threads": {"id": 9876},
        }
        payload = json.dumps(answers.get(self.path, {})).encode()
        self.send_response(201 if self.path in answers else 204)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def testmo() -> Iterator[str]:
    FakeTestmo.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTestmo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_submit_testmo_runs_the_automation_lifecycle(home: Home, testmo: str) -> None:
    (home.cwd / "qapms.yaml").write_text(
        f"store:\n  url: sqlite://{home.data_dir}/qapms.db\n"
        f"integrations:\n  testmo:\n    base_url: {testmo}\n"
        "    token: ${TESTMO_TOKEN}\n    projects: [4]\n"
    )
    (home.cwd / "junit.xml").write_text(REPORT)
    home.env["TESTMO_TOKEN"] = TOKEN
    result = home.qapms(
        "import",
        "junit",
        "junit.xml",
        "--run-name",
        "CI 7",
        "--submit-testmo",
        "--testmo-source",
        "backend",
        "--testmo-tag",
        "nightly",
    )
    assert result.returncode == 0, result.stderr
    assert "automation run 345 (3 tests, 1 failed)" in result.stdout
    paths = [p for p, _, _ in FakeTestmo.calls]
    assert paths == [
        "/api/v1/projects/4/automation/runs",
        "/api/v1/automation/runs/345/threads",
        "/api/v1/automation/runs/threads/9876/append",
        "/api/v1/automation/runs/threads/9876/complete",
        "/api/v1/automation/runs/345/complete",
    ]
    assert all(auth == f"Bearer {TOKEN}" for _, _, auth in FakeTestmo.calls)
    create = FakeTestmo.calls[0][1]
    assert (create["name"], create["source"], create["tags"]) == ("CI 7", "backend", ["nightly"])
    tests = FakeTestmo.calls[2][1]["tests"]
    assert [t["status"] for t in tests] == ["passed", "failed", "skipped"]
    assert {t["folder"] for t in tests} == {"com.acme.LoginTest"}
    assert TOKEN not in result.stdout + result.stderr


def test_submit_testmo_without_a_testmo_config_fails_clearly(home: Home) -> None:
    (home.cwd / "qapms.yaml").write_text(f"store:\n  url: sqlite://{home.data_dir}/qapms.db\n")
    (home.cwd / "junit.xml").write_text(REPORT)
    result = home.qapms("import", "junit", "junit.xml", "--submit-testmo")
    assert result.returncode == 1
    assert "integrations.testmo" in result.stderr
