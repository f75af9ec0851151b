"""The config validator from Python: `qapms.check_config` and `qapms.config_schema`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import qapms

REPO = Path(__file__).resolve().parents[2]


def test_check_config_raises_with_every_diagnostic(tmp_path: Path) -> None:
    path = tmp_path / "qapms.yaml"
    path.write_text("store:\n  urll: x\nlogging:\n  retention_days: 3\n")
    with pytest.raises(qapms.ConfigError) as info:
        qapms.check_config(str(path))
    err = info.value
    assert isinstance(err, qapms.QapmsError)
    assert err.code == "CONFIG"
    assert err.path is not None and err.path.endswith("qapms.yaml")
    assert (err.line, err.column) == (2, 3)
    keys = [d.key_path for d in err.diagnostics]
    assert "store.urll" in keys and "logging.retention_days" in keys
    first = err.diagnostics[0]
    assert first.suggestion == "url"
    assert "2:3" in str(first) and "Diagnostic(" in repr(first)


def test_check_config_returns_warnings_for_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "qapms.yaml"
    path.write_text("integrations:\n  splunk:\n    mode: manual\n    verify_tls: yes\n")
    warnings = qapms.check_config(str(path))
    assert [w.severity for w in warnings] == ["warning"]
    assert warnings[0].key_path == "integrations.splunk.verify_tls"


def test_wrong_argument_type_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        qapms.check_config(42)  # type: ignore[arg-type]


def test_schema_describes_the_file() -> None:
    schema = qapms.config_schema()
    assert {"integrations", "store", "workflows", "users", "profiles"} <= set(schema["properties"])


def test_example_script_reports_errors(tmp_path: Path) -> None:
    path = tmp_path / "qapms.yaml"
    path.write_text("stor:\n  url: x\n")
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "check_config.py"), str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "QAPMS_CONFIG_DIR": str(tmp_path), "QAPMS_DATA_DIR": str(tmp_path)},
        timeout=60,
    )
    assert result.returncode == 1
    assert "did you mean `store`" in result.stdout
