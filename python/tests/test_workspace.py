"""`qapms.Workspace`: open, context manager, sync and async calls, errors."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

import qapms


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    for name in list(os.environ):
        if name.startswith("QAPMS_") and name != "QAPMS_TEST_PG_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("QAPMS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("QAPMS_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.chdir(work)
    return work


def test_opens_on_defaults_as_a_context_manager(tmp_path: Path) -> None:
    with qapms.Workspace.open() as ws:
        assert ws.config_path is None
        assert ws.credential_paths == []
        info = ws.store_info()
        assert info.backend == "sqlite"
        assert info.schema_version >= 1
        assert dict(info.tables)["tickets"] == 0
        assert "sqlite" in repr(ws) and "StoreInfo(" in repr(info)
    assert (tmp_path / "data" / "qapms.db").exists()


def test_async_twins_run_on_asyncio(isolated: Path) -> None:
    async def main() -> tuple[str, str]:
        ws = await qapms.Workspace.async_open()
        info = await ws.async_store_info()
        ws.close()
        return info.backend, info.location

    backend, location = asyncio.run(main())
    assert backend == "sqlite"
    assert location.endswith("qapms.db")


def test_postgres_store_from_the_config(isolated: Path) -> None:
    url = os.environ.get("QAPMS_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/qapms_test")
    (isolated / "qapms.yaml").write_text(f"store:\n  url: {url}\n")
    with qapms.Workspace.open() as ws:
        assert ws.store_info().backend == "postgres"
        assert ws.config_path is not None and ws.config_path.name == "qapms.yaml"


def test_credentials_are_listed_by_path_never_by_value(isolated: Path) -> None:
    (isolated / "qapms.yaml").write_text(
        "integrations:\n  grafana:\n    base_url: https://g.example/api\n    token: glsa_x1\n"
    )
    with qapms.Workspace.open() as ws:
        assert ws.credential_paths == ["integrations.grafana.token"]
        assert "glsa_x1" not in repr(ws)


def test_errors_map_to_the_exception_hierarchy(isolated: Path) -> None:
    (isolated / "qapms.yaml").write_text("stor: {}\n")
    with pytest.raises(qapms.ConfigError) as info:
        qapms.Workspace.open()
    assert info.value.line == 1

    (isolated / "qapms.yaml").write_text(
        "integrations:\n  grafana:\n    base_url: https://g.example/api\n"
        "    token: enc:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
    )
    with pytest.raises(qapms.SecretError) as secret:
        qapms.Workspace.open()
    assert secret.value.code == "SECRET"

    (isolated / "qapms.yaml").write_text("store:\n  url: postgres://nobody@127.0.0.1:1/none\n")
    with pytest.raises(qapms.StoreError):
        qapms.Workspace.open()


def test_unknown_profile_is_a_config_error(isolated: Path) -> None:
    (isolated / "qapms.yaml").write_text("profiles:\n  dev: {}\n")
    with pytest.raises(qapms.ConfigError, match="dev"):
        qapms.Workspace.open(profile="prod")
