"""The README's main command: `qapms-server` on the embedded default, over a real socket."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Home
from fake_jira import FakeJira
from lsp_harness import jira_config


def server_bin() -> str:
    path = os.environ.get("QAPMS_SERVER_BIN")
    if not path or not Path(path).exists():
        pytest.fail("QAPMS_SERVER_BIN must point at a built qapms-server (make test sets it)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """A running `qapms-server`: its port and process; `stderr` is filled once it stopped."""

    port: int
    proc: subprocess.Popen[str]
    stderr: str = ""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def serving(home: Home, *args: str) -> Iterator[Served]:
    """Starts `qapms-server` for `home` on a free loopback port and waits until
    `/api/v1/health` answers; on exit stops it (SIGTERM) and checks it stopped cleanly."""
    port = free_port()
    proc = subprocess.Popen(
        [server_bin(), *args, "--bind", f"127.0.0.1:{port}"],
        cwd=home.cwd,
        env=home.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = Served(port=port, proc=proc)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{served.base}/api/v1/health", timeout=10):
                    break
            except OSError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "server did not answer"
                time.sleep(0.1)
        yield served
    finally:
        proc.terminate()
        _out, served.stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, served.stderr


def admin_token(home: Home) -> str:
    """Adds the admin `root` and returns a new API token of theirs."""
    admin(
        home,
        *("users", "add", "root", "--role", "admin", "--password-stdin"),
        stdin="a long admin password\n",
    )
    return admin(home, "tokens", "create", "--user", "root", "--name", "t").splitlines()[-1]


def admin(home: Home, *args: str, stdin: str = "") -> str:
    """Runs a `qapms-server` admin command (`users add`, `tokens create`) and returns stdout."""
    result = subprocess.run(
        [server_bin(), *args],
        cwd=home.cwd,
        env=home.env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_serves_health_on_defaults_with_no_config(home: Home) -> None:
    with serving(home) as served:
        with urllib.request.urlopen(f"{served.base}/api/v1/health") as r:
            body = json.load(r)
        assert body["status"] == "ok"
        assert body["store"]["backend"] == "sqlite"
        with urllib.request.urlopen(f"{served.base}/") as r:
            assert "qapms" in r.read().decode()
        assert (home.data_dir / "qapms.db").exists()
    assert "shutdown" in served.stderr


def test_refuses_a_public_bind_without_users(home: Home) -> None:
    result = subprocess.run(
        [server_bin(), "--bind", "0.0.0.0:0"],
        cwd=home.cwd,
        env=home.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "no users configured" in result.stderr


def test_encrypted_credentials_are_checked_at_start_up(home: Home) -> None:
    key = home.qapms("secrets", "init", "--print").stdout.strip().split("=", 1)[1]
    (home.cwd / "qapms.yaml").write_text(
        "integrations:\n"
        "  testmo:\n"
        "    base_url: https://acme.testmo.net\n"
        "    token: testmo-token-to-hide\n"
    )
    home.env["QAPMS_MASTER_KEY"] = key
    assert home.qapms("secrets", "encrypt", "integrations.testmo.token").returncode == 0
    assert "testmo-token-to-hide" not in (home.cwd / "qapms.yaml").read_text()

    # Without the key the server refuses to start and says which value it could not read.
    del home.env["QAPMS_MASTER_KEY"]
    result = subprocess.run(
        [server_bin(), "--bind", f"127.0.0.1:{free_port()}"],
        cwd=home.cwd,
        env=home.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "QAPMS_MASTER_KEY" in result.stderr
    assert "testmo-token-to-hide" not in result.stderr


def test_periodic_sync_fills_the_store_and_reports_its_lag(home: Home, fake_jira: FakeJira) -> None:
    (home.cwd / "qapms.yaml").write_text(jira_config(fake_jira.url) + "sync:\n  interval: 1h\n")
    home.env["JIRA_TOKEN"] = "s3cret-token"
    token = admin_token(home)
    with serving(home) as served:

        def get(path: str) -> bytes:
            request = urllib.request.Request(
                served.base + path, headers={"Authorization": f"Bearer {token}"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                body: bytes = response.read()
                return body

        # The first sync runs at start-up: the tickets reach the store and the search index.
        deadline = time.monotonic() + 60
        total = None
        while total != 250 and time.monotonic() < deadline:
            total = json.loads(get("/api/v1/tickets?pageSize=1"))["pagination"]["totalItems"]
            time.sleep(0.2)
        assert total == 250, total
        found = json.loads(get("/api/v1/search?q=%22Checkout+case+7%22"))
        assert "PAY-7" in [hit["key"] for hit in found["data"]], found
        metrics = get("/metrics").decode()
        lag = [line for line in metrics.splitlines() if line.startswith("qapms_sync_lag_seconds{")]
        assert lag and lag[0].startswith('qapms_sync_lag_seconds{integration="jira"} '), lag
        assert float(lag[0].split()[-1]) < 60
    assert "synced" in served.stderr and "s3cret-token" not in served.stderr
