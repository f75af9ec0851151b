"""Jira search, side by side: 10,000 realistic issues fetched and parsed by each client.

Starts ``jira_mock`` (10,000 issues of about 11 KB in Jira Cloud's ``*all`` shape, paged by
``nextPageToken`` at 100 a page) and, in one run, times:

- pycontribs ``jira`` ``search_issues(maxResults=False)`` as scripts call it (every field), and
  again asking for only the fields in use;
- the fastest pure-Python path: ``requests`` + ``orjson``, asking for the fields in use and
  picking them into dicts;
- qapms from Python: ``JiraClient.search`` materialising every issue and reading its fields;
- qapms from Rust: ``jira_search_timer`` (the core client, issues to tickets).

Each client runs ``--runs`` times after one warm-up; the median is reported, with each one's
issues per second and its ratio to pycontribs.

    cargo build --release -p qapms-benches --bin jira_mock --bin jira_search_timer
    .venv/bin/python -m pip install -r benches/requirements.txt
    .venv/bin/python benches/jira_compare.py [--issues 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FIELDS = [
    "summary",
    "status",
    "issuetype",
    "priority",
    "assignee",
    "labels",
    "components",
    "fixVersions",
    "updated",
]
JQL = "project = BENCH"


def target_dir() -> Path:
    root = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("CARGO_TARGET_DIR", root / "target")) / "release"


def start_mock(issues: int) -> tuple[subprocess.Popen[str], str]:
    mock = subprocess.Popen(
        [str(target_dir() / "jira_mock"), "--issues", str(issues)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert mock.stdout is not None
    line = mock.stdout.readline().strip()
    if not line.startswith("listening on "):
        mock.kill()
        raise SystemExit(f"jira_mock did not start: {line!r}")
    return mock, line.removeprefix("listening on ")


def pycontribs(url: str, fields: list[str] | None) -> int:
    from jira import JIRA

    jira = JIRA(url, basic_auth=("bench@example.com", "bench-token"))
    issues = jira.search_issues(JQL, maxResults=False, fields=fields)
    picked = [(i.key, i.fields.summary, i.fields.status.name) for i in issues]
    return len(picked)


def requests_orjson(url: str) -> int:
    import orjson
    import requests

    session = requests.Session()
    session.auth = ("bench@example.com", "bench-token")
    picked: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        body: dict[str, Any] = {"jql": JQL, "maxResults": 100, "fields": FIELDS}
        if token:
            body["nextPageToken"] = token
        r = session.post(
            f"{url}/rest/api/3/search/jql",
            data=orjson.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        r.raise_for_status()
        page = orjson.loads(r.content)
        for issue in page["issues"]:
            f = issue["fields"]
            picked.append(
                {
                    "key": issue["key"],
                    "summary": f.get("summary"),
                    "status": (f.get("status") or {}).get("name"),
                    "type": (f.get("issuetype") or {}).get("name"),
                    "priority": (f.get("priority") or {}).get("name"),
                    "assignee": (f.get("assignee") or {}).get("displayName"),
                    "labels": f.get("labels"),
                    "components": [c["name"] for c in f.get("components") or []],
                    "fix_versions": [v["name"] for v in f.get("fixVersions") or []],
                    "updated": f.get("updated"),
                }
            )
        token = page.get("nextPageToken")
        if page.get("isLast") or not token:
            return len(picked)


def qapms_python(url: str) -> int:
    import qapms

    client = qapms.JiraClient(url, email="bench@example.com", api_token="bench-token")
    picked = [
        (i.key, i.summary, i.status, i.issue_type, i.priority, i.assignee, i.labels, i.updated)
        for i in client.search(JQL)
    ]
    return len(picked)


def timed(fn: Callable[[], int], runs: int) -> tuple[float, int]:
    fn()  # warm-up: connection pools, the mock's page cache, imports
    times = []
    count = 0
    for _ in range(runs):
        start = time.perf_counter()
        count = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), count


def rust_timer(url: str, runs: int) -> tuple[float, int, float]:
    out = subprocess.run(
        [str(target_dir() / "jira_search_timer"), url, "--runs", str(runs + 1)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    # Drop the first run (warm-up) and take the median of the rest.
    runs_ms = [float(line.split("ms=")[1].split()[0]) for line in out if line.startswith("run ")][
        1:
    ]
    summary = dict(kv.split("=") for kv in out[-1].split())
    return (
        statistics.median(runs_ms) / 1000,
        int(summary["issues"]),
        float(summary["cpu_ms_per_page"]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    mock, url = start_mock(args.issues)
    try:
        results: list[tuple[str, float, int]] = []
        rows: list[tuple[str, Callable[[], int]]] = [
            ("pycontribs jira search_issues (every field)", lambda: pycontribs(url, None)),
            ("pycontribs jira search_issues (fields in use)", lambda: pycontribs(url, FIELDS)),
            ("requests + orjson (fields in use)", lambda: requests_orjson(url)),
            ("qapms Python JiraClient.search", lambda: qapms_python(url)),
        ]
        for name, fn in rows:
            seconds, count = timed(fn, args.runs)
            results.append((name, seconds, count))
            print(f"  {name}: {seconds * 1000:.0f} ms", file=sys.stderr)
        seconds, count, cpu_page = rust_timer(url, args.runs)
        results.append(("qapms Rust core (jira_search_timer)", seconds, count))
    finally:
        mock.kill()
    base = results[0][1]
    fastest_python = results[2][1]
    header = f"{'client':48} {'median ms':>10} {'issues/s':>10}"
    print(f"{header} {'vs pycontribs':>14} {'vs requests':>12}")
    for name, seconds, count in results:
        print(
            f"{name:48} {seconds * 1000:10.0f} {count / seconds:10.0f} "
            f"{base / seconds:13.1f}x {fastest_python / seconds:11.1f}x"
        )
    print(f"qapms Rust client CPU per 100-issue page: {cpu_page:.3f} ms")


if __name__ == "__main__":
    main()
