"""The Python SDK, side by side in one run: call overhead, import time, and listing Postman
collections and Testmo cases against ``requests`` + ``orjson`` on the same loopback mock.

- call overhead: a trivial binding (a getter that returns a constant string) against a Python
  no-op function call and a Python ``@property``, ``timeit`` medians;
- import time: ``python -c "import qapms"`` minus ``python -c "pass"``, in fresh processes;
- listing: ``list_mock.py`` (its own process, pages serialised once) serves 10,000 Postman
  collections and 10,000 Testmo cases at 100 a page; each client walks every page and reads
  the same fields of every item (qapms: typed records from the batched iterator; requests +
  orjson: one session, ``orjson.loads`` of each page, fields picked into dicts).

    VIRTUAL_ENV=$PWD/.venv .venv/bin/maturin develop --release
    .venv/bin/python -m pip install -r benches/requirements.txt
    .venv/bin/python benches/sdk_compare.py [--items 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import requests

import qapms


def median_time(fn: Callable[[], Any], runs: int) -> float:
    fn()  # warm-up: connections, caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def call_overhead() -> list[tuple[str, float]]:
    client = qapms.SplunkClient(templates={"t": "index=app"})

    def noop() -> None:
        return None

    class Plain:
        @property
        def mode(self) -> str:
            return "manual"

    plain = Plain()
    number = 1_000_000
    out = []
    for name, stmt in [
        ("Python no-op function call", noop),
        ("Python @property read", lambda: plain.mode),
        ("qapms binding getter (SplunkClient.mode)", lambda: client.mode),
    ]:
        best = statistics.median(timeit.repeat(stmt, number=number, repeat=7))
        out.append((name, best / number * 1e9))
    # The lambdas add one Python call each; subtract an empty lambda so only the body counts.
    empty = statistics.median(timeit.repeat(lambda: None, number=number, repeat=7)) / number * 1e9
    return [(name, ns - empty if "function" not in name else ns) for name, ns in out]


def import_time(runs: int) -> tuple[float, float]:
    def spawn(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - start

    spawn("import qapms")
    base = statistics.median(spawn("pass") for _ in range(runs))
    with_qapms = statistics.median(spawn("import qapms") for _ in range(runs))
    return base * 1000, (with_qapms - base) * 1000


def start_mock(items: int) -> tuple[subprocess.Popen[str], str]:
    mock = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("list_mock.py")),
            "--collections",
            str(items),
            "--cases",
            str(items),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert mock.stdout is not None
    line = mock.stdout.readline().strip()
    if not line.startswith("listening on "):
        mock.kill()
        raise RuntimeError(f"list_mock did not start: {line!r}")
    return mock, line.removeprefix("listening on ")


def postman_qapms(url: str) -> Callable[[], int]:
    client = qapms.PostmanClient(url, api_key="PMAK-bench", pace_lists=False)

    def run() -> int:
        n = 0
        for c in client.collections():
            _ = (c.id, c.name, c.uid, c.updated_at)
            n += 1
        return n

    return run


def postman_requests(url: str) -> Callable[[], int]:
    session = requests.Session()
    session.headers["X-API-Key"] = "PMAK-bench"

    def run() -> int:
        out = []
        offset = 0
        while True:
            page = orjson.loads(
                session.get(f"{url}/collections", params={"limit": 100, "offset": offset}).content
            )
            for c in page["collections"]:
                out.append(
                    {
                        "id": c["id"],
                        "name": c["name"],
                        "uid": c.get("uid"),
                        "updated": c.get("updatedAt"),
                    }
                )
            offset += len(page["collections"])
            if not page["collections"] or offset >= page["meta"]["total"]:
                return len(out)

    return run


def testmo_qapms(url: str) -> Callable[[], int]:
    client = qapms.TestmoClient(url, token="bench", project=1)

    def run() -> int:
        n = 0
        for c in client.cases():
            _ = (c.id, c.name, c.folder_id, c.has_automation)
            n += 1
        return n

    return run


def testmo_requests(url: str) -> Callable[[], int]:
    session = requests.Session()
    session.headers["Authorization"] = "Bearer bench"

    def run() -> int:
        out = []
        page: int | None = 1
        while page is not None:
            body = orjson.loads(
                session.get(
                    f"{url}/api/v1/projects/1/cases", params={"page": page, "per_page": 100}
                ).content
            )
            for c in body["result"]:
                out.append(
                    {
                        "id": c["id"],
                        "name": c.get("name"),
                        "folder_id": c.get("folder_id"),
                        "has_automation": c.get("has_automation"),
                    }
                )
            page = body.get("next_page")
        return len(out)

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    print("## call overhead (ns per call, median of 7 x 1,000,000)")
    for name, ns in call_overhead():
        print(f"{name:45} {ns:8.1f}")

    base, extra = import_time(15)
    print("\n## import time (median of 15 fresh processes)")
    print(f"python -c pass: {base:.1f} ms; import qapms adds {extra:.1f} ms")

    mock, url = start_mock(args.items)
    try:
        print(f"\n## listing {args.items} items, median of {args.runs} runs after a warm-up")
        for what, ours, theirs in [
            ("Postman collections", postman_qapms(url), postman_requests(url)),
            ("Testmo cases", testmo_qapms(url), testmo_requests(url)),
        ]:
            assert ours() == theirs() == args.items
            t_ours = median_time(ours, args.runs)
            t_theirs = median_time(theirs, args.runs)
            print(
                f"{what:20} qapms {t_ours * 1000:8.1f} ms ({args.items / t_ours:9.0f}/s)   "
                f"requests+orjson {t_theirs * 1000:8.1f} ms ({args.items / t_theirs:9.0f}/s)   "
                f"ratio {t_theirs / t_ours:.2f}x"
            )
    finally:
        mock.kill()
        mock.wait()


if __name__ == "__main__":
    main()
