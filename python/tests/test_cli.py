"""The `qapms` console script, run as a user would run it."""

from __future__ import annotations

import json
import os
import stat

from conftest import Home

VALID = """\
# team configuration
integrations:
  jira:
    base_url: https://example.atlassian.net
    deployment: cloud
    projects: [PAY]
    auth:
      method: basic
      email: qa@example.com
      api_token: plain-token-123   # to be encrypted
store:
  url: sqlite://{data}/team.db
"""


def test_help_and_version_exit_zero(home: Home) -> None:
    result = home.qapms("--help")
    assert result.returncode == 0
    assert "config" in result.stdout and "secrets" in result.stdout
    assert home.qapms("--version").returncode == 0


def test_usage_error_exits_two(home: Home) -> None:
    result = home.qapms("config", "no-such-command")
    assert result.returncode == 2
    assert "no-such-command" in result.stderr


def test_validate_without_a_file_runs_on_defaults(home: Home) -> None:
    result = home.qapms("config", "validate")
    assert result.returncode == 0, result.stderr
    assert "defaults" in result.stdout


def test_validate_lists_every_error_with_position(home: Home) -> None:
    (home.cwd / "qapms.yaml").write_text(
        "integrations:\n  jira:\n    base_ur: https://x.atlassian.net\nstore:\n  urll: sqlite://x\n"
    )
    result = home.qapms("config", "validate")
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if "error" in line]
    assert len(lines) >= 2, result.stdout
    assert "qapms.yaml:3:5" in result.stdout
    assert "base_url" in result.stdout
    assert "qapms.yaml:5:3" in result.stdout

    as_json = json.loads(home.qapms("config", "validate", "--json").stdout)
    assert as_json["valid"] is False
    positions = {(e["line"], e["column"]) for e in as_json["errors"]}
    assert (3, 5) in positions and (5, 3) in positions


def test_schema_is_json_schema(home: Home) -> None:
    result = home.qapms("config", "schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert "integrations" in schema["properties"]
    out = home.cwd / "schema.json"
    assert home.qapms("config", "schema", "--output", str(out)).returncode == 0
    assert json.loads(out.read_text()) == schema


def test_secrets_encrypt_and_rotate_keep_the_file_readable(home: Home) -> None:
    config = home.cwd / "qapms.yaml"
    config.write_text(VALID.format(data=home.data_dir))
    home.env["QAPMS_KEY_PASSPHRASE"] = "correct horse battery staple"

    init = home.qapms("secrets", "init")
    assert init.returncode == 0, init.stderr
    key_files = list(home.config_dir.iterdir())
    assert len(key_files) == 1
    assert stat.S_IMODE(os.stat(key_files[0]).st_mode) == 0o600
    assert home.qapms("secrets", "init").returncode == 1, "must not overwrite a key file"

    enc = home.qapms("secrets", "encrypt", "integrations.jira.auth.api_token")
    assert enc.returncode == 0, enc.stderr
    text = config.read_text()
    assert "plain-token-123" not in text
    assert "enc:v1:" in text
    assert "# team configuration" in text and "# to be encrypted" in text
    assert home.qapms("config", "validate").returncode == 0

    before = config.read_text()
    rot = home.qapms("secrets", "rotate")
    assert rot.returncode == 0, rot.stderr
    after = config.read_text()
    assert after != before
    # Everything but the encrypted value is byte-for-byte the same.
    assert [line for line in before.splitlines() if "enc:v1:" not in line] == [
        line for line in after.splitlines() if "enc:v1:" not in line
    ]
    assert not any(p.suffix == ".next" for p in home.config_dir.iterdir())
    assert "plain-token-123" not in rot.stdout + rot.stderr


def test_wrong_passphrase_is_a_clear_error(home: Home) -> None:
    config = home.cwd / "qapms.yaml"
    config.write_text(VALID.format(data=home.data_dir))
    home.env["QAPMS_KEY_PASSPHRASE"] = "right passphrase"
    assert home.qapms("secrets", "init").returncode == 0
    home.env["QAPMS_KEY_PASSPHRASE"] = "wrong passphrase"
    result = home.qapms("secrets", "encrypt", "integrations.jira.auth.api_token")
    assert result.returncode == 1
    assert "passphrase" in result.stderr.lower()
    assert "Traceback" not in result.stderr and "panicked" not in result.stderr
    assert "plain-token-123" in config.read_text(), "nothing is written on failure"


def test_init_print_gives_an_env_key(home: Home) -> None:
    result = home.qapms("secrets", "init", "--print")
    assert result.returncode == 0
    assert result.stdout.startswith("QAPMS_MASTER_KEY=")
    assert list(home.config_dir.iterdir()) == []


def test_store_migrate_and_info(home: Home) -> None:
    migrate = home.qapms("store", "migrate")
    assert migrate.returncode == 0, migrate.stderr
    assert "sqlite" in migrate.stdout
    assert (home.data_dir / "qapms.db").exists()

    info = json.loads(home.qapms("store", "info", "--json").stdout)
    assert info["backend"] == "sqlite"
    assert info["schemaVersion"] >= 1
    for table in ("users", "tickets", "test_results", "time_entries", "integration_state"):
        assert info["tables"][table] == 0


def test_store_info_on_postgres(home: Home) -> None:
    url = os.environ.get("QAPMS_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/qapms_test")
    (home.cwd / "qapms.yaml").write_text(f"store:\n  url: {url}\n")
    info = home.qapms("store", "info", "--json")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["backend"] == "postgres"


def test_validate_reports_every_error_in_a_ten_thousand_line_file(home: Home) -> None:
    # 1,250 workflow templates of 8 lines each; every 25th has a misspelt key.
    lines = ["workflows:"]
    broken: list[int] = []
    for i in range(1250):
        lines.append(f"  flow_{i}:")
        lines.append(f"    description: Regression pass number {i}")
        lines.append("    steps:")
        lines.append("      - name: Prepare")
        key = "estimat" if i % 25 == 0 else "estimate"
        if i % 25 == 0:
            broken.append(len(lines) + 1)
        lines.append(f"        {key}: 30m")
        lines.append("        checklist: [environment ready, data seeded]")
        lines.append("      - name: Execute")
        lines.append("        estimate: 1h30m")
    assert len(lines) > 10_000
    (home.cwd / "qapms.yaml").write_text("\n".join(lines) + "\n")

    result = home.qapms("config", "validate", "--json")
    assert result.returncode == 1
    errors = json.loads(result.stdout)["errors"]
    assert [e["line"] for e in errors] == broken
    assert all(e["column"] == 9 and e["suggestion"] == "estimate" for e in errors)


def test_patterns_mine_groups_lines_into_templates(home: Home) -> None:
    log = home.cwd / "app.log"
    log.write_text(
        "".join(
            f"2026-11-25 10:00:{i:02d} ERROR Connection to 10.0.0.{i} timed out after {i * 7} ms\n"
            f"2026-11-25 10:01:{i:02d} INFO User u{i} logged in\n"
            for i in range(20)
        )
        + "\x00\xff binary garbage \xfe\n"
    )
    result = home.qapms("patterns", "mine", str(log), "--json")
    assert result.returncode == 0, result.stderr
    templates = json.loads(result.stdout)
    counts = sorted(t["count"] for t in templates)
    assert counts[-2:] == [20, 20], templates
    assert all(len(t["id"]) == 16 for t in templates)

    # The same input gives the same ids, from stdin as from a file.
    again = home.qapms("patterns", "mine", "-", "--json", stdin=log.read_text())
    assert {t["id"] for t in json.loads(again.stdout)} == {t["id"] for t in templates}
