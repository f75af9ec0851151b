"""schemathesis against the server's own OpenAPI: no request it generates gets a 5xx.

It runs the real `qapms-server` (QAPMS_SERVER_BIN) with an admin user and an API token made
through the admin commands (the password goes through stdin), so the generated requests reach
the handlers behind authentication too. schemathesis comes from PyPI; the test is skipped
when it is not installed in the environment running pytest (python/requirements-dev.txt
installs it, so `make test` runs it).

Every operation of the document is exercised (the JUnit report is read back to prove it, so a
route that schemathesis silently skipped fails the test), with a fixed seed so a CI failure can
be replayed, and few enough examples per operation that the run stays around a minute.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import Home
from test_server import admin_token, serving


def schemathesis_bin() -> str:
    found = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    if not Path(found).exists():
        pytest.skip("schemathesis is not installed (pip install schemathesis)")
    return found


def test_schemathesis_finds_no_server_errors(home: Home) -> None:
    tool = schemathesis_bin()
    token = admin_token(home)
    with serving(home) as served:
        base = served.base
        with urllib.request.urlopen(f"{base}/api/v1/openapi.json") as r:
            schema = json.load(r)
        # The token must really authenticate, or every protected operation would only ever
        # see a 401 and the run would prove little.
        me = urllib.request.Request(
            f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(me) as r:
            assert json.load(r)["user"]["name"] == "root"
        operations = {
            f"{method.upper()} {path}"
            for path, item in schema["paths"].items()
            for method in item
            if method in ("get", "put", "post", "delete", "patch")
        }
        assert "GET /api/v1/health" in operations
        junit = home.cwd / "schemathesis.xml"
        result = subprocess.run(
            [
                tool,
                *("run", f"{base}/api/v1/openapi.json", "--url", base),
                *("--checks", "not_a_server_error", "--max-examples", "25", "--seed", "9"),
                *("--phases", "examples,coverage,fuzzing,stateful"),
                *("--report", "junit", "--report-junit-path", str(junit)),
                *("--header", f"Authorization: Bearer {token}"),
            ],
            cwd=home.cwd,  # schemathesis writes a .schemathesis/ folder where it runs
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
        tested = {case.get("name", "") for case in ET.parse(junit).iter("testcase")}
        assert operations <= tested, f"not exercised: {sorted(operations - tested)}"
