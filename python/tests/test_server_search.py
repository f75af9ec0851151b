"""The dashboard server's search sees what another process writes to the index.

The server opens the search index once at start-up; `qapms search --reindex` (or a sync) in
another process then rewrites it. The server's reader watches the index's commit file, so
new documents become searchable there without a restart, and a rebuild that drops a
document drops it there too.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from typing import Any

from conftest import Home
from test_server import admin_token, serving

REPORT = """\
<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="billing" tests="1">
  <testcase classname="tests.billing.TestInvoices" name="test_invoice_total_includes_tax"
            time="0.1"/>
</testsuite>
"""


def get(port: int, path: str, token: str) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def found(port: int, token: str, query: str) -> list[str]:
    body = get(port, "/api/v1/search?" + urllib.parse.urlencode({"q": query}), token)
    return [hit["key"] for hit in body["data"]]


def eventually(check: Any, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"the server never saw {what}"
        time.sleep(0.2)


def test_server_search_follows_a_reindex_by_another_process(home: Home) -> None:
    assert home.qapms("search", "--reindex").returncode == 0  # an empty index
    token = admin_token(home)
    with serving(home) as served:
        port = served.port
        assert found(port, token, "invoice") == []

        # Another process imports a test and rebuilds the index.
        report = home.cwd / "billing.xml"
        report.write_text(REPORT)
        assert home.qapms("import", "junit", str(report)).returncode == 0
        reindexed = home.qapms("search", "--reindex", "--json")
        assert reindexed.returncode == 0, reindexed.stderr
        assert json.loads(reindexed.stdout)["documents"] == 1
        key = "tests.billing.TestInvoices::test_invoice_total_includes_tax"
        eventually(lambda: found(port, token, "invoice") == [key], "the new test")

        # Typo-tolerant and key matching follow too (the key table is per index generation).
        def fuzzy_finds_it() -> bool:
            body = get(port, "/api/v1/search?q=TestInvoces", token)
            return any(h["key"] == key for h in body["fuzzy"] + body["data"])

        eventually(fuzzy_finds_it, "the new key in the fuzzy table")

        # A damaged index is reset and rebuilt by the next CLI search; the server follows it.
        (home.data_dir / "index" / "meta.json").write_text("{broken")
        rebuilt = home.qapms("search", "invoice", "--json")
        assert rebuilt.returncode == 0, rebuilt.stderr
        assert "damaged" in rebuilt.stderr
        eventually(lambda: found(port, token, "invoice") == [key], "the rebuilt index")
