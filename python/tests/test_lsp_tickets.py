"""qapms-lsp driven by a real LSP client (pytest-lsp) over stdio: ticket keys.

The server reads a `qapms.yaml` with a (fake, loopback) Jira Cloud whose issues come from the
official contract's samples, and a store seeded through the `qapms` CLI. Keys are fetched on a
cache miss, cached (a second hover asks Jira nothing), and recognised only for configured
projects, only in comments, strings and prose.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from conftest import Home
from fake_jira import FakeJira
from lsp_harness import command_of, hover, jira_config, junit_report, open_doc, pos, start, wait_for
from lsprotocol import types

pytestmark = pytest.mark.asyncio


def setup_home(home: Home, fake_jira: FakeJira, seed: bool = True) -> dict[str, str]:
    (home.cwd / "qapms.yaml").write_text(jira_config(fake_jira.url))
    home.env["JIRA_TOKEN"] = "s3cret-token"
    env = home.env
    if seed:
        report = home.cwd / "report.xml"
        report.write_text(
            junit_report(
                [
                    ("tests/test_pay.py", "test_refund", None, "PAY-3"),
                    ("tests/test_pay.py", "test_charge", "Timeout after 30s", "PAY-3"),
                ]
            )
        )
        done = home.qapms("import", "junit", str(report))
        assert done.returncode == 0, done.stderr
    return env


def issue_gets(fake: FakeJira, key: str) -> int:
    return sum(1 for r in fake.requests if r.method == "GET" and r.path.endswith(f"/issue/{key}"))


async def test_hover_fetches_a_cold_key_once_and_shows_its_tests(
    home: Home, fake_jira: FakeJira
) -> None:
    env = setup_home(home, fake_jira)
    client = await start(home.cwd, env)
    try:
        text = (
            "import pytest\n\n# Regression for PAY-3, see also 2024-PAY-3 and PAY_3.\nPAY_3 = 1\n"
        )
        uri = open_doc(client, home.cwd / "tests" / "test_other.py", text, "python")
        value = await hover(client, uri, pos(text, "PAY-3", 2))
        assert value is not None
        assert "**PAY-3** · Checkout case 3" in value
        assert "Status: **Done** (resolved)" in value
        assert "Priority: Medium" in value
        assert "`tests/test\\_pay.py::test\\_refund`" in value, value
        assert "[Open PAY-3 in Jira]" in value
        assert issue_gets(fake_jira, "PAY-3") == 1
        # Cached: the second hover does not ask Jira again.
        again = await hover(client, uri, pos(text, "PAY-3", 1))
        assert again == value
        assert issue_gets(fake_jira, "PAY-3") == 1
        # Not keys: glued to a date-like prefix, an identifier, or outside comments/strings.
        assert await hover(client, uri, pos(text, "2024-PAY-3", 6)) is None
        assert await hover(client, uri, pos(text, "PAY_3.", 1)) is None
        assert await hover(client, uri, pos(text, "PAY_3 = 1", 1)) is None
    finally:
        await client.shutdown_session()


async def test_unconfigured_projects_are_never_sent_to_jira(
    home: Home, fake_jira: FakeJira
) -> None:
    env = setup_home(home, fake_jira, seed=False)
    client = await start(home.cwd, env)
    try:
        text = "# OPS-12, UTF-8, SHA-256, ISO-8601 and PAY-1\n"
        uri = open_doc(client, home.cwd / "notes.md", text, "markdown")
        assert await hover(client, uri, pos(text, "OPS-12", 1)) is None
        assert await hover(client, uri, pos(text, "UTF-8", 1)) is None
        assert "Checkout case 1" in (await hover(client, uri, pos(text, "PAY-1", 1)) or "")
        paths = [r.path for r in fake_jira.requests]
        assert all("OPS" not in p and "UTF" not in p for p in paths), paths
    finally:
        await client.shutdown_session()


async def test_diagnostics_for_missing_tickets_and_resolved_skips(
    home: Home, fake_jira: FakeJira
) -> None:
    env = setup_home(home, fake_jira, seed=False)
    client = await start(home.cwd, env)
    try:
        text = (
            "import pytest\n\n"
            '@pytest.mark.skip(reason="PAY-3 breaks checkout")\n'
            "def test_refund():\n"
            "    pass\n\n"
            '@pytest.mark.skip(reason="PAY-2 still open")\n'
            "def test_open():\n"
            "    pass\n\n"
            "# PAY-999 was never filed\n"
        )
        uri = open_doc(client, home.cwd / "tests" / "test_skips.py", text, "python")

        def messages() -> list[str]:
            return [d.message for d in client.diagnostics.get(uri, [])]

        await wait_for(lambda: len(messages()) == 2)
        diags = {d.message: d for d in client.diagnostics[uri]}
        resolved = diags["PAY-3 is Done; unskip this test?"]
        assert resolved.range.start == pos(text, "PAY-3")
        assert resolved.severity == types.DiagnosticSeverity.Information
        missing = diags["PAY-999 does not exist in Jira (or is hidden from you)"]
        assert missing.severity == types.DiagnosticSeverity.Warning
        assert missing.range.start == pos(text, "PAY-999")
    finally:
        await client.shutdown_session()


async def test_diagnostic_severity_is_configurable(home: Home, fake_jira: FakeJira) -> None:
    env = setup_home(home, fake_jira, seed=False)
    settings = {"diagnostics": {"missingTicket": "error", "resolvedSkip": "off"}}
    client = await start(home.cwd, env, settings)
    try:
        text = '@pytest.mark.xfail(reason="PAY-3")\ndef test_a():\n    pass\n# PAY-998\n'
        uri = open_doc(client, home.cwd / "tests" / "test_sev.py", text, "python")
        await wait_for(lambda: len(client.diagnostics.get(uri, [])) == 1)
        (only,) = client.diagnostics[uri]
        assert only.severity == types.DiagnosticSeverity.Error
        assert "PAY-998" in only.message
    finally:
        await client.shutdown_session()


async def test_completion_links_and_code_actions(home: Home, fake_jira: FakeJira) -> None:
    env = setup_home(home, fake_jira)
    client = await start(home.cwd, env, {"user": "nobody"})
    try:
        # Warm the cache with two tickets, then complete after the project prefix.
        warm = "# PAY-5 PAY-6\n"
        warm_uri = open_doc(client, home.cwd / "warm.md", warm, "markdown")
        await hover(client, warm_uri, pos(warm, "PAY-5", 1))
        await hover(client, warm_uri, pos(warm, "PAY-6", 1))
        text = 'import pytest\n\n@pytest.mark.ticket("PAY-")\ndef test_x():\n    pass\n# see PAY-\n'
        uri = open_doc(client, home.cwd / "tests" / "test_complete.py", text, "python")
        for at in (pos(text, 'PAY-")', 4), pos(text, "see PAY-", 8)):
            result = await client.text_document_completion_async(
                types.CompletionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri), position=at
                )
            )
            assert result is not None
            items = result if isinstance(result, list) else result.items
            labels = [i.label for i in items]
            assert {"PAY-5", "PAY-6"} <= set(labels), labels
            five = next(i for i in items if i.label == "PAY-5")
            assert five.detail == "Checkout case 5"
        # No completion outside comments and strings.
        code = "x = PAY-\n"
        code_uri = open_doc(client, home.cwd / "tests" / "test_code.py", code, "python")
        none = await client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=code_uri),
                position=types.Position(line=0, character=8),
            )
        )
        assert none is None or (none if isinstance(none, list) else none.items) == []

        links = await client.text_document_document_link_async(
            types.DocumentLinkParams(text_document=types.TextDocumentIdentifier(uri=warm_uri))
        )
        assert links is not None
        targets = [link.target for link in links]
        assert targets == [f"{fake_jira.url}/browse/PAY-5", f"{fake_jira.url}/browse/PAY-6"]

        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=warm_uri),
                range=types.Range(start=pos(warm, "PAY-5", 1), end=pos(warm, "PAY-5", 1)),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        titles = [a.title for a in actions or []]
        assert "Open PAY-5 in Jira" in titles
        assert "Start QA workflow for PAY-5" in titles
        open_action = command_of(next(a for a in actions or [] if a.title == "Open PAY-5 in Jira"))
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=open_action.command, arguments=open_action.arguments)
        )
        assert client.shown_documents[-1].uri.endswith("/browse/PAY-5")
        assert client.shown_documents[-1].external is True
    finally:
        await client.shutdown_session()


async def test_todo_comment_becomes_a_ticket_after_confirmation(
    home: Home, fake_jira: FakeJira
) -> None:
    env = setup_home(home, fake_jira, seed=False)
    client = await start(home.cwd, env)
    answers: list[str] = ["Cancel", "Create"]
    asked: list[str] = []

    @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def _confirm(params: types.ShowMessageRequestParams) -> types.MessageActionItem:
        asked.append(params.message)
        return types.MessageActionItem(title=answers.pop(0))

    try:
        text = "s = 'TODO: not a comment'\n# TODO: refund rounding is off by a cent\n"
        uri = open_doc(client, home.cwd / "tests" / "test_todo.py", text, "python")

        async def actions_at(needle: str, offset: int) -> list[str]:
            got = await client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    range=types.Range(
                        start=pos(text, needle, offset), end=pos(text, needle, offset)
                    ),
                    context=types.CodeActionContext(diagnostics=[]),
                )
            )
            return [a.title for a in got or []]

        assert "Create ticket from TODO comment" not in await actions_at("TODO: not", 1)
        got = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=pos(text, "refund", 0), end=pos(text, "refund", 0)),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        todo = command_of(
            next(a for a in got or [] if a.title == "Create ticket from TODO comment")
        )
        params = types.ExecuteCommandParams(command=todo.command, arguments=todo.arguments)
        # Cancelled: nothing is created.
        await client.workspace_execute_command_async(params)
        assert fake_jira.created == []
        result = await client.workspace_execute_command_async(params)
        assert len(fake_jira.created) == 1
        fields = fake_jira.created[0]["fields"]
        assert fields["summary"] == "refund rounding is off by a cent"
        assert result["key"].startswith("PAY-")
        assert asked[0].startswith("Create a Task in PAY")
        assert client.shown_documents[-1].uri.endswith("/browse/" + result["key"])
    finally:
        await client.shutdown_session()


async def test_rapid_edits_answer_for_the_version_each_hover_followed(
    home: Home, fake_jira: FakeJira
) -> None:
    env = setup_home(home, fake_jira, seed=False)
    client = await start(home.cwd, env)
    try:
        base = "# PAY-1 PAY-2\n"
        uri = open_doc(client, home.cwd / "burst.md", base, "markdown")
        await hover(client, uri, pos(base, "PAY-1", 1))
        await hover(client, uri, pos(base, "PAY-2", 1))
        pending = []
        for version in range(2, 102):
            key = f"PAY-{version % 2 + 1}"
            indent = " " * (version % 7)
            text = f"{indent}# {key}\n"
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
                )
            )
            at = types.Position(line=0, character=len(indent) + 3)
            request = asyncio.ensure_future(
                client.text_document_hover_async(
                    types.HoverParams(
                        text_document=types.TextDocumentIdentifier(uri=uri), position=at
                    )
                )
            )
            # Let the request go out before the next change: change, hover, change, hover...
            await asyncio.sleep(0)
            pending.append((key, len(indent), request))
        answers = await asyncio.gather(*(p[2] for p in pending))
        for (key, indent, _), answer in zip(pending, answers, strict=True):
            assert answer is not None
            assert answer.range is not None and answer.range.start.character == indent + 2
            assert isinstance(answer.contents, types.MarkupContent)
            assert answer.contents.value.startswith(f"**{key}**")
    finally:
        await client.shutdown_session()


async def test_background_refresh_syncs_jira_into_the_store(
    home: Home, fake_jira: FakeJira
) -> None:
    env = setup_home(home, fake_jira)
    client = await start(home.cwd, env, {"refreshSecs": 1})
    try:
        text = "# Covers PAY-7.\n"
        uri = open_doc(client, home.cwd / "notes.md", text, "markdown")

        async def shows(summary: str) -> None:
            # A cold fetch may outlast the hover's short timeout on a busy machine (the
            # refresh is syncing at the same time); it fills the cache in the background.
            deadline = asyncio.get_running_loop().time() + 30
            while summary not in (await hover(client, uri, pos(text, "PAY-7", 1)) or ""):
                assert asyncio.get_running_loop().time() < deadline, f"never showed {summary!r}"
                await asyncio.sleep(0.2)

        await shows("Checkout case 7")

        # Jira changes; the next refresh syncs it into the store and the hover follows.
        fields = fake_jira.issues["PAY-7"]["fields"]
        fields["summary"] = "Refund after a partial capture"
        fields["updated"] = "2026-11-25T10:00:00.000+0000"
        await shows("Refund after a partial capture")

        # It went through sync: the JQL search, not one GET per key, and into the store and
        # the search index, where the CLI finds it.
        assert any(r.path.endswith("/search/jql") for r in fake_jira.requests)
        found = home.qapms("search", "partial capture", "--source", "jira", "--json")
        assert found.returncode == 0, found.stderr
        assert [h["key"] for h in json.loads(found.stdout)["hits"]] == ["PAY-7"]
        titles = [
            getattr(report, "title", None)
            for reports in client.progress_reports.values()
            for report in reports
        ]
        assert "qapms: refreshing tickets" in titles, titles
    finally:
        await client.shutdown_session()
