#!/usr/bin/env python3
"""JUnit import: qapms against junitparser + sqlite3 executemany, in one run.

Generates a surefire-style report of N test cases with retries (`gen_junit`), imports it into a
fresh SQLite store with `junit_import_timer` (release build: parse, resolve identities, insert
runs, test cases, identities and every attempt, commit), then times the Python baseline on the
same file: `junitparser` (xunit2 dialect, so flaky and rerun failures count as attempts) builds
the rows and `sqlite3` inserts them with `executemany` in one transaction into equivalent
tables (test cases with a unique key, results with their primary key and test index). Prints
both times, the ratio and peak memory. Optionally also times qapms on PostgreSQL.

Usage (from the repository root):
    .venv/bin/pip install -r benches/requirements.txt
    .venv/bin/python benches/junit_compare.py [--cases 100000] [--runs 3] [--pg URL]
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from junitparser.xunit2 import JUnitXml

ROOT = Path(__file__).resolve().parent.parent


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def build() -> None:
    subprocess.run(
        [
            "cargo",
            "build",
            "--release",
            "-p",
            "qapms-benches",
            "--bin",
            "gen_junit",
            "--bin",
            "junit_import_timer",
        ],
        cwd=ROOT,
        check=True,
    )


def qapms_once(file: Path, url: str | None) -> dict[str, float]:
    args = [str(target_dir() / "release" / "junit_import_timer"), str(file)]
    if url:
        args.append(url)
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return {k: float(v) for k, v in (pair.split("=") for pair in out.split())}


SCHEMA = """
CREATE TABLE test_runs (id BLOB PRIMARY KEY, name TEXT NOT NULL, started_at INTEGER NOT NULL);
CREATE TABLE test_cases (
    id BLOB PRIMARY KEY, source TEXT NOT NULL, external_id TEXT NOT NULL, title TEXT NOT NULL,
    UNIQUE (source, external_id));
CREATE TABLE test_results (
    run_id BLOB NOT NULL, test_id BLOB NOT NULL, attempt INTEGER NOT NULL, status TEXT NOT NULL,
    duration_ms INTEGER, message TEXT, PRIMARY KEY (run_id, test_id, attempt));
CREATE INDEX test_results_test ON test_results (test_id, run_id);
"""


def message_of(result: object) -> str | None:
    parts = [getattr(result, "message", None), getattr(result, "text", None)]
    text = "\n".join(p for p in parts if p)
    return text[:16384] or None


def python_once(file: Path) -> tuple[float, int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "baseline.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(SCHEMA)
        start = time.perf_counter()
        xml = JUnitXml.fromfile(str(file))
        run_id = uuid.uuid4().bytes
        cases: list[tuple[bytes, str, str, str]] = []
        results: list[tuple[bytes, bytes, int, str, int | None, str | None]] = []
        for suite in xml:
            # junitparser types iteration with its base TestCase; xunit2 yields its own.
            case: Any
            for case in suite:
                test_id = uuid.uuid4().bytes
                cases.append((test_id, "junit", f"{case.classname}::{case.name}", case.name))
                duration = round(case.time * 1000) if case.time is not None else None
                attempt = 0
                for flaky in case.flaky_failures() + case.flaky_errors():
                    attempt += 1
                    results.append((run_id, test_id, attempt, "failed", None, message_of(flaky)))
                outcome = case.result
                status = "passed"
                message = None
                if outcome:
                    first = outcome[0]
                    kind = type(first).__name__
                    status = {"Failure": "failed", "Error": "error", "Skipped": "skipped"}.get(
                        kind, "passed"
                    )
                    message = message_of(first)
                attempt += 1
                results.append((run_id, test_id, attempt, status, duration, message))
                for rerun in case.rerun_failures() + case.rerun_errors():
                    attempt += 1
                    results.append((run_id, test_id, attempt, "failed", None, message_of(rerun)))
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT INTO test_runs VALUES (?, ?, ?)", (run_id, "generated", int(time.time()))
        )
        db.executemany("INSERT INTO test_cases VALUES (?, ?, ?, ?)", cases)
        db.executemany("INSERT INTO test_results VALUES (?, ?, ?, ?, ?, ?)", results)
        db.execute("COMMIT")
        elapsed = time.perf_counter() - start
        db.close()
        return elapsed * 1000, len(cases), len(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg", help="also time qapms on this PostgreSQL URL (fresh schemas)")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        build()
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / f"junit-{args.cases}.xml"
        gen = subprocess.run(
            [str(target_dir() / "release" / "gen_junit"), str(file), str(args.cases)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        print(f"generated {file.name}: {gen}")

        qapms = [qapms_once(file, None) for _ in range(args.runs)]
        q_ms = statistics.median(r["import_ms"] for r in qapms)
        q_rss = max(r["peak_rss_kb"] for r in qapms) / 1024
        parse_ms = statistics.median(r["parse_ms"] for r in qapms)
        print(
            f"qapms (SQLite)      median {q_ms:8.1f} ms over {args.runs} runs, "
            f"{int(qapms[0]['tests'])} tests, {int(qapms[0]['attempts'])} attempts, "
            f"peak RSS {q_rss:.0f} MiB"
        )
        print(f"qapms parse only    median {parse_ms:8.1f} ms (reader and identity keys)")
        if args.pg:
            sep = "&" if "?" in args.pg else "?"
            pg = [
                qapms_once(file, f"{args.pg}{sep}schema=qapms_bench_{uuid.uuid4().hex}")
                for _ in range(args.runs)
            ]
            pg_ms = statistics.median(r["import_ms"] for r in pg)
            print(
                f"qapms (PostgreSQL)  median {pg_ms:8.1f} ms over {args.runs} runs "
                "(schemas qapms_bench_* are left for inspection)"
            )

        py = [python_once(file) for _ in range(args.runs)]
        p_ms = statistics.median(r[0] for r in py)
        p_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"junitparser+sqlite3 median {p_ms:8.1f} ms over {args.runs} runs, "
            f"{py[0][1]} tests, {py[0][2]} attempts, peak RSS {p_rss:.0f} MiB"
        )
        print(f"ratio: qapms is {p_ms / q_ms:.1f}x faster")


if __name__ == "__main__":
    main()
