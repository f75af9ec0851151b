"""qapms-lsp over stdio (pytest-lsp): `qapms.yaml` support, nothing-configured mode and bad
input from the editor.
"""

from __future__ import annotations

import asyncio

import pytest
from conftest import Home
from lsp_harness import hover, open_doc, pos, start, wait_for
from lsprotocol import types

pytestmark = pytest.mark.asyncio


async def test_config_diagnostics_completion_and_hover(home: Home) -> None:
    client = await start(home.cwd, home.env)
    try:
        text = "logging:\n  level: inf\n  retention_dayz: 40\nintegrations:\n  jira:\n    ba\n"
        uri = open_doc(client, home.cwd / "qapms.yaml", text, "yaml")
        await wait_for(lambda: uri in client.diagnostics)
        messages = [d.message for d in client.diagnostics[uri]]
        unknown = next(d for d in client.diagnostics[uri] if "retention_dayz" in d.message)
        assert "retention_days" in unknown.message, messages
        assert unknown.range.start == pos(text, "retention_dayz")

        keys = await client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=pos(text, "    ba", 6),
            )
        )
        assert keys is not None
        labels = [i.label for i in (keys if isinstance(keys, list) else keys.items)]
        assert "base_url" in labels and "logging" not in labels, labels

        values = await client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=pos(text, "level: inf", 10),
            )
        )
        assert values is not None
        labels = [i.label for i in (values if isinstance(values, list) else values.items)]
        assert labels == ["info"], labels

        doc = await hover(client, uri, pos(text, "logging", 1))
        assert doc == "**logging**\n\nLog level, format, directory and retention."
        assert await hover(client, uri, pos(text, "retention_dayz", 1)) is None
    finally:
        await client.shutdown_session()


async def test_nothing_configured_degrades_quietly(home: Home) -> None:
    client = await start(home.cwd, home.env, {"keyPatterns": ["PAY"]})
    try:
        text = "# PAY-12 needs a look\n"
        uri = open_doc(client, home.cwd / "notes.md", text, "markdown")
        value = await hover(client, uri, pos(text, "PAY-12", 1))
        assert value is not None
        assert "not in the local cache" in value and "no Jira configured" in value
        assert uri not in client.diagnostics or client.diagnostics[uri] == []
        symbols = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="PAY"))
        assert not symbols
    finally:
        await client.shutdown_session()


async def test_bad_positions_unknown_documents_and_surrogate_pairs(home: Home) -> None:
    client = await start(home.cwd, home.env, {"keyPatterns": ["PAY"]})
    try:
        text = "# 😀😀 PAY-7 😀\n"
        uri = open_doc(client, home.cwd / "emoji.md", text, "markdown")
        # UTF-16: each emoji is two code units, so PAY-7 starts at character 7.
        value = await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=0, character=8),
            )
        )
        assert value is not None and value.range is not None
        assert value.range.start.character == 7 and value.range.end.character == 12
        # Inside a surrogate pair, past the end of a line, past the end of the document.
        for line, character in ((0, 3), (0, 500), (40, 2)):
            await client.text_document_hover_async(
                types.HoverParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    position=types.Position(line=line, character=character),
                )
            )
        unknown = await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri="file:///nowhere/x.py"),
                position=types.Position(line=0, character=0),
            )
        )
        assert unknown is None
        # A change for a document never opened, then the server still answers.
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri="file:///nowhere/y.py", version=3
                ),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text="x")],
            )
        )
        again = await asyncio.wait_for(
            client.text_document_hover_async(
                types.HoverParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    position=types.Position(line=0, character=8),
                )
            ),
            timeout=10,
        )
        assert again is not None
    finally:
        await client.shutdown_session()
