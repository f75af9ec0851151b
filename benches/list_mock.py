"""A loopback Postman and Testmo for the SDK list benchmark (``sdk_compare.py``).

Serves ``GET /collections`` (Postman: ``offset``/``limit`` paging with ``meta.total``) and
``GET /api/v1/projects/1/cases`` (Testmo: ``page``/``per_page`` with ``next_page``), each item
built from the official contract's shapes (``shared/contracts``). Every page is serialised once
at start-up, so the server's own cost per request is small and the same for every client.
Runs in its own process, so it never competes with a client for the GIL.

    python benches/list_mock.py --collections 10000 --cases 10000
    # prints "listening on http://127.0.0.1:PORT", then serves until killed
"""

from __future__ import annotations

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

PAGE = 100


def contracts() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "contracts"
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("shared/contracts not found")


def postman_pages(count: int) -> dict[int, bytes]:
    sample = json.loads(
        (contracts() / "postman" / "samples" / "get-collections.response.json").read_text()
    )["collections"][0]
    items: list[dict[str, Any]] = []
    for n in range(count):
        c = dict(sample)
        c["id"] = f"{n:08d}-c108-4223-af5e-e97137865143"
        c["uid"] = f"892436-{c['id']}"
        c["name"] = f"Checkout API {n}"
        items.append(c)
    return {
        offset: json.dumps(
            {
                "collections": items[offset : offset + PAGE],
                "meta": {"total": count, "offset": offset, "limit": PAGE},
            }
        ).encode()
        for offset in range(0, max(count, 1), PAGE)
    }


def testmo_pages(count: int) -> dict[int, bytes]:
    last = max(1, -(-count // PAGE))
    pages = {}
    for page in range(1, last + 1):
        result = [
            {
                "id": 1000 + n,
                "project_id": 1,
                "folder_id": 10 + n % 7,
                "name": f"Checkout case {n}: pay with a saved card and a 3-D Secure challenge",
                "key": n + 1,
                "state_id": 4,
                "status_id": 1,
                "estimate": 300,
                "has_automation": n % 2 == 0,
                "tags": [7, 9],
                "created_at": "2024-05-01T10:00:00.000000Z",
                "updated_at": "2024-05-02T10:00:00.000000Z",
                "created_by": 3,
                "updated_by": 3,
                "template_id": 1,
                "custom_description": "<p>Given a signed-in user with a saved card</p>",
            }
            for n in range((page - 1) * PAGE, min(page * PAGE, count))
        ]
        pages[page] = json.dumps(
            {
                "page": page,
                "prev_page": page - 1 if page > 1 else None,
                "next_page": page + 1 if page < last else None,
                "last_page": last,
                "per_page": PAGE,
                "total": count,
                "result": result,
            }
        ).encode()
    return pages


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--collections", type=int, default=10_000)
    parser.add_argument("--cases", type=int, default=10_000)
    args = parser.parse_args()
    postman = postman_pages(args.collections)
    testmo = testmo_pages(args.cases)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *a: Any) -> None:
            pass

        def do_GET(self) -> None:
            split = urlsplit(self.path)
            q = parse_qs(split.query)
            if split.path == "/collections":
                body = postman.get(int(q.get("offset", ["0"])[0]), b'{"collections": []}')
            elif split.path == "/api/v1/projects/1/cases":
                body = testmo.get(int(q.get("page", ["1"])[0]), b'{"result": []}')
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            # One write for head and body: two small writes meet the peer's delayed ACK
            # (Nagle), a 40 ms stall per page that would swamp what is measured.
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            self.wfile.write(head + body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
