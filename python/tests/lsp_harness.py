"""Starts the built `qapms-lsp` binary under a real LSP client (pytest-lsp) for the tests.

The binary comes from `QAPMS_LSP_BIN` (the Makefile's test-python target sets it), else from
the shared or local Cargo target directory. Each test gets its own qapms home (config and data
directories), a `qapms.yaml` in the workspace root, and optionally a store seeded through the
`qapms` CLI from JUnit reports, exactly as a user's would be.
"""

from __future__ import annotations

import asyncio
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient


def lsp_binary() -> Path:
    explicit = os.environ.get("QAPMS_LSP_BIN")
    candidates = [Path(explicit)] if explicit else []
    here = Path(__file__).resolve().parents[2]
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        candidates.append(Path(target) / "debug" / "qapms-lsp")
    candidates.append(here / "target" / "debug" / "qapms-lsp")
    for c in candidates:
        if c.is_file():
            return c
    pytest.skip("qapms-lsp is not built (set QAPMS_LSP_BIN)")
    raise AssertionError  # unreachable: skip raises


def jira_config(url: str, projects: str = "[PAY]") -> str:
    return textwrap.dedent(
        f"""
        integrations:
          jira:
            base_url: {url}
            deployment: cloud
            projects: {projects}
            auth:
              method: basic
              email: qa@example.com
              api_token: ${{JIRA_TOKEN}}
        """
    )


def junit_report(cases: list[tuple[str, str, str | None, str | None]]) -> str:
    """A pytest-style JUnit report: (file, `Class::name` or `name`, failure message, ticket)."""
    body = []
    for file, qualified, failure, ticket in cases:
        module = file.removesuffix(".py").replace("/", ".")
        cls, _, name = qualified.rpartition("::")
        if cls:
            module = f"{module}.{cls}"
        props = (
            f'<properties><property name="ticket" value="{ticket}"/></properties>' if ticket else ""
        )
        fail = (
            f'<failure message="{failure}">{failure}\n  at checkout()</failure>' if failure else ""
        )
        body.append(
            f'<testcase classname="{module}" name="{name}" file="{file}" time="0.1">'
            f"{props}{fail}</testcase>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><testsuites>'
        f'<testsuite name="pytest" tests="{len(cases)}">{"".join(body)}</testsuite></testsuites>'
    )


async def start(
    root: Path, env: dict[str, str], settings: dict[str, Any] | None = None
) -> LanguageClient:
    """A client connected to a fresh server for `root`, initialised and done loading."""
    config = ClientServerConfig(server_command=[str(lsp_binary())], server_env=env)
    client = await config.start()
    assert isinstance(client, LanguageClient)
    capabilities = types.ClientCapabilities(
        window=types.WindowClientCapabilities(work_done_progress=True, show_document=None),
        text_document=types.TextDocumentClientCapabilities(
            hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown])
        ),
    )
    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities,
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="work")],
            initialization_options=settings or {},
        )
    )
    await wait_for(lambda: any(m.message.startswith("qapms: ") for m in client.log_messages))
    return client


async def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    """Polls `predicate` until it holds; fails the test after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def open_doc(client: LanguageClient, path: Path, text: str, language: str) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id=language, version=1, text=text
            )
        )
    )
    return uri


def pos(text: str, needle: str, offset: int = 0) -> types.Position:
    """The position of `needle` in `text` (plus `offset` characters), 0-based."""
    index = text.index(needle) + offset
    line = text.count("\n", 0, index)
    col = index - (text.rfind("\n", 0, index) + 1)
    return types.Position(line=line, character=col)


async def hover(client: LanguageClient, uri: str, position: types.Position) -> str | None:
    result = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    )
    if result is None:
        return None
    contents = result.contents
    assert isinstance(contents, types.MarkupContent)
    return contents.value


def command_of(action: types.Command | types.CodeAction) -> types.Command:
    """The command behind an action (a client without code action literals gets commands)."""
    if isinstance(action, types.Command):
        return action
    assert action.command is not None
    return action.command
