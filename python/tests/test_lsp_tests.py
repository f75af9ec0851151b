"""qapms-lsp over stdio (pytest-lsp): test intelligence from a store seeded with the CLI.

Four runs of a pytest suite are imported with `qapms import junit` and analysed with
`qapms patterns analyze`: `test_charge` fails in the last two (one cluster), `test_flip`
alternates (flaky), `test_refund` always passes. The server's hovers and lenses must show the
same numbers the CLI computes.
"""

from __future__ import annotations

import pytest
from conftest import Home
from fake_jira import FakeJira
from lsp_harness import command_of, hover, jira_config, junit_report, open_doc, pos, start, wait_for
from lsprotocol import types

pytestmark = pytest.mark.asyncio

TEST_FILE = """import pytest


def test_refund():
    pass


def test_charge():
    pass


class TestFlaky:
    def test_flip(self):
        pass


def test_never_ran():
    pass
"""


def seed(home: Home, fake_jira: FakeJira) -> dict[str, str]:
    (home.cwd / "qapms.yaml").write_text(jira_config(fake_jira.url))
    home.env["JIRA_TOKEN"] = "s3cret-token"
    env = home.env
    fake_jira.issues["PAY-3"]["fields"]["components"] = [{"id": "1", "name": "Checkout"}]
    for run in range(8):
        charge = "Timeout after 30s waiting for gateway" if run >= 6 else None
        flip = "AssertionError: expected 200, got 503" if run % 2 == 0 else None
        report = home.cwd / f"run{run}.xml"
        report.write_text(
            junit_report(
                [
                    ("tests/test_pay.py", "test_refund", None, "PAY-3"),
                    ("tests/test_pay.py", "test_charge", charge, "PAY-3"),
                    ("tests/test_pay.py", "TestFlaky::test_flip", flip, None),
                ]
            )
        )
        done = home.qapms("import", "junit", "--run-name", "nightly", str(report))
        assert done.returncode == 0, done.stderr
    analyzed = home.qapms("patterns", "analyze")
    assert analyzed.returncode == 0, analyzed.stderr
    return env


async def test_test_hover_code_lens_and_bug_from_a_failing_test(
    home: Home, fake_jira: FakeJira
) -> None:
    env = seed(home, fake_jira)
    client = await start(home.cwd, env)
    answers = ["Create"]

    @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def _confirm(params: types.ShowMessageRequestParams) -> types.MessageActionItem:
        return types.MessageActionItem(title=answers.pop(0))

    try:
        path = home.cwd / "tests" / "test_pay.py"
        uri = open_doc(client, path, TEST_FILE, "python")

        charge = await hover(client, uri, pos(TEST_FILE, "test_charge", 2))
        assert charge is not None
        assert "`tests/test\\_pay.py::test\\_charge`" in charge, charge
        assert "Last results (newest first): ✗✗✓✓✓✓✓✓" in charge
        assert "Failing since" in charge
        assert "Failure cluster: #" in charge
        assert "Jira: PAY-3" in charge

        flip = await hover(client, uri, pos(TEST_FILE, "test_flip", 2))
        assert flip is not None and "flaky" in flip, flip
        assert "8 runs, 4 failures" in flip

        never = await hover(client, uri, pos(TEST_FILE, "test_never_ran", 2))
        assert never is not None and "No results recorded" in never

        lenses = await client.text_document_code_lens_async(
            types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        titles = {
            lens.range.start.line: lens.command.title for lens in lenses or [] if lens.command
        }
        assert titles[pos(TEST_FILE, "def test_refund").line] == "passed 8/8 recent"
        assert titles[pos(TEST_FILE, "def test_charge").line].startswith("failing since ")
        assert ": cluster #" in titles[pos(TEST_FILE, "def test_charge").line]
        assert titles[pos(TEST_FILE, "def test_flip").line].startswith("flaky 0.")
        assert "(±0." in titles[pos(TEST_FILE, "def test_flip").line]
        assert pos(TEST_FILE, "def test_never_ran").line not in titles

        # The key is fetched (and its components cached) before the bug is filed.
        note = "# PAY-3\n"
        note_uri = open_doc(client, home.cwd / "note.md", note, "markdown")
        await hover(client, note_uri, pos(note, "PAY-3", 1))

        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(
                    start=pos(TEST_FILE, "test_charge", 1), end=pos(TEST_FILE, "test_charge", 1)
                ),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        bug = command_of(
            next(a for a in actions or [] if a.title == "Create Jira bug from this failing test")
        )
        passing = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(
                    start=pos(TEST_FILE, "test_refund", 1), end=pos(TEST_FILE, "test_refund", 1)
                ),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        assert all(a.title != "Create Jira bug from this failing test" for a in passing or [])

        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=bug.command, arguments=bug.arguments)
        )
        assert result is not None and result["key"].startswith("PAY-")
        (created,) = fake_jira.created
        fields = created["fields"]
        assert fields["project"] == {"key": "PAY"}
        assert fields["summary"] == "Failing test: test_charge"
        assert fields["components"] == [{"name": "Checkout"}]
        description = str(fields["description"])
        assert "Timeout after 30s waiting for gateway" in description
        assert "Failure cluster #" in description
        assert client.shown_documents[-1].uri.endswith("/browse/" + result["key"])
    finally:
        await client.shutdown_session()


async def test_progress_is_reported_while_loading(home: Home, fake_jira: FakeJira) -> None:
    env = seed(home, fake_jira)
    client = await start(home.cwd, env)
    try:
        await wait_for(lambda: "qapms/load" in client.progress_reports)
        reports = client.progress_reports["qapms/load"]
        await wait_for(lambda: any(isinstance(r, types.WorkDoneProgressEnd) for r in reports))
        assert isinstance(reports[0], types.WorkDoneProgressBegin)
        assert reports[0].title == "qapms: loading"
        messages = [r.message for r in reports if isinstance(r, types.WorkDoneProgressReport)]
        assert "opening the store" in messages
        assert "loading tickets" in messages
    finally:
        await client.shutdown_session()
