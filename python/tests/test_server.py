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
