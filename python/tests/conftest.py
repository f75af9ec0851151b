"""Shared fixtures: an isolated qapms home for every test.

Each test gets its own working, config and data directories, so nothing reads the developer's
real `~/.config/qapms` or a `qapms.yaml` further up the tree, and tests can run in any order.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import fake_http
import pytest
from fake_grafana import FakeGrafana
from fake_jira import FakeJira, serve
from fake_postman import API_KEY, FakePostman
from fake_splunk import FakeSplunk
from fake_testmo import FakeTestmo

# The pytest plugin's own tests run sample suites through pytester.
pytest_plugins = ["pytester"]


@dataclass
class Home:
    """Directories and environment of one isolated qapms installation."""

    cwd: Path
    config_dir: Path
    data_dir: Path
    env: dict[str, str]

    def qapms(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run the installed `qapms` console script."""
        exe = shutil.which("qapms", path=os.path.dirname(sys.executable))
        assert exe, "the qapms console script is not installed in this environment"
        return subprocess.run(
            [exe, *args],
            cwd=self.cwd,
            env=self.env,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    cwd = tmp_path / "work"
    config_dir = tmp_path / "config"
    data_dir = tmp_path / "data"
    for d in (cwd, config_dir, data_dir):
        d.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("QAPMS_") or k in ("QAPMS_SERVER_BIN", "QAPMS_TEST_PG_URL")
    }
    env.update(
        {
            "QAPMS_CONFIG_DIR": str(config_dir),
            "QAPMS_DATA_DIR": str(data_dir),
            "HOME": str(tmp_path),
        }
    )
    yield Home(cwd=cwd, config_dir=config_dir, data_dir=data_dir, env=env)


@pytest.fixture
def fake_jira() -> Iterator[FakeJira]:
    """A fake Jira Cloud site with 250 issues in project PAY, answering from the contract."""
    yield from serve(FakeJira(auth_header="Basic " + _basic("qa@example.com", "s3cret-token")))


@pytest.fixture
def fake_jira_dc() -> Iterator[FakeJira]:
    """A fake Jira Data Center site with 250 issues, for a personal access token."""
    yield from serve(FakeJira(deployment="data_center", auth_header="Bearer pat-s3cret"))


def _basic(user: str, token: str) -> str:
    import base64

    return base64.b64encode(f"{user}:{token}".encode()).decode()


@pytest.fixture
def fake_postman() -> Iterator[FakePostman]:
    """A fake Postman API with 250 collections, answering from the contract's samples."""
    fake = FakePostman(auth_header=API_KEY, auth_header_name="X-API-Key")
    yield from fake_http.serve(fake)


@pytest.fixture
def fake_testmo() -> Iterator[FakeTestmo]:
    """A fake Testmo with project 1 (230 cases) and the automation run lifecycle."""
    yield from fake_http.serve(FakeTestmo())


@pytest.fixture
def fake_splunk() -> Iterator[FakeSplunk]:
    """A fake Splunk REST API whose jobs poll RUNNING then DONE."""
    yield from fake_http.serve(FakeSplunk())


@pytest.fixture
def fake_grafana() -> Iterator[FakeGrafana]:
    """A fake Grafana with the contract's dashboards and annotations."""
    yield from fake_http.serve(FakeGrafana())


@pytest.fixture
def in_home(home: Home, monkeypatch: pytest.MonkeyPatch) -> Home:
    """``home``, applied to this process (environment and working directory), for tests that
    open a ``qapms.Workspace`` in-process."""
    for name in list(os.environ):
        if name.startswith("QAPMS_") and name not in home.env:
            monkeypatch.delenv(name)
    for k, v in home.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("QAPMS_USER", "quinn")
    monkeypatch.chdir(home.cwd)
    return home
