"""The shared machinery of the loopback fakes (Postman, Testmo, Splunk, Grafana).

Each fake is a dataclass with a ``route(request) -> Reply`` method that answers from the
official contract's samples in ``shared/contracts/<service>/samples``; this module runs it on
127.0.0.1 in a thread, records every request, checks the credentials, and answers queued
faults (a 429 with ``Retry-After``, a 500) before routing, so tests can see retries happen.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


def contracts_dir() -> Path:
    """``shared/contracts`` beside the checkout (or above it)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "contracts"
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("shared/contracts not found above " + str(here))


def sample(service: str, name: str) -> Any:
    """A JSON sample of a service's contract."""
    return json.loads((contracts_dir() / service / "samples" / name).read_text())


def sample_text(service: str, name: str) -> str:
    """A sample as text (NDJSON, XML, CSV)."""
    return (contracts_dir() / service / "samples" / name).read_text()


@dataclass
class Request:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Reply:
    """What the fake answers: a JSON value (or raw text with a content type)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    content_type: str = "application/json"


@dataclass
class Fake:
    """State every fake shares; subclasses implement ``route``."""

    auth_header: str | None = None
    auth_header_name: str = "Authorization"
    url: str = ""
    requests: list[Request] = field(default_factory=list)
    faults: list[Reply] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(
        self, status: int, body: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next request with this status instead of routing it."""
        self.faults.append(Reply(status, body or {"error": "fault"}, headers or {}))

    def unauthorized(self) -> Reply:
        return Reply(401, {"error": "unauthorized"})

    def route(self, request: Request) -> Reply:  # pragma: no cover - overridden
        raise NotImplementedError

    def calls(self, method: str, path: str) -> list[Request]:
        """Recorded requests to one endpoint."""
        return [r for r in self.requests if r.method == method and r.path == path]


class _Handler(BaseHTTPRequestHandler):
    fake: Fake
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _send(self, reply: Reply) -> None:
        if reply.text is not None:
            data = reply.text.encode()
            content_type = reply.content_type
        else:
            data = b"" if reply.body is None else json.dumps(reply.body).encode()
            content_type = "application/json"
        self.send_response(reply.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        if raw:
            ctype = self.headers.get("Content-Type", "")
            if "json" in ctype:
                body = json.loads(raw)
            elif "x-www-form-urlencoded" in ctype:
                body = parse_qs(raw.decode(), keep_blank_values=True)
            else:
                body = raw.decode(errors="replace")
        request = Request(
            method=method,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            body=body,
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        fake = self.fake
        with fake.lock:
            fake.requests.append(request)
            fault = fake.faults.pop(0) if fake.faults else None
        if fault is not None:
            self._send(fault)
            return
        expected = fake.auth_header
        if expected is not None and request.headers.get(fake.auth_header_name.lower()) != expected:
            self._send(fake.unauthorized())
            return
        try:
            reply = fake.route(request)
        except Exception as exc:  # a bug in the fake must show, not hang the client
            reply = Reply(500, {"error": f"fake failed: {exc!r}"})
        self._send(reply)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


def serve_with(handler_base: type[BaseHTTPRequestHandler], fake: Any) -> Iterator[Any]:
    """Runs ``fake`` behind a handler class on a free loopback port until the generator is
    closed; the handler finds the fake as ``self.fake``."""
    handler = type("Handler", (handler_base,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def serve(fake: Fake) -> Iterator[Any]:
    """Runs ``fake`` on a free loopback port until the generator is closed."""
    yield from serve_with(_Handler, fake)
