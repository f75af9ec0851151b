"""The README's main command: `qapms-server` on the embedded default, over a real socket."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import Home


def server_bin() -> str:
    path = os.environ.get("QAPMS_SERVER_BIN")
    if not path or not Path(path).exists():
        pytest.fail("QAPMS_SERVER_BIN must point at a built qapms-server (make test sets it)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    port = free_port()
    proc = subprocess.Popen(
        [server_bin(), "--bind", f"127.0.0.1:{port}"],
        cwd=home.cwd,
        env=home.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health") as r:
                    body = json.load(r)
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.1)
        assert body is not None, "server did not answer"
        assert body["status"] == "ok"
        assert body["store"]["backend"] == "sqlite"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as r:
            assert "qapms" in r.read().decode()
        assert (home.data_dir / "qapms.db").exists()
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "shutdown" in err


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
