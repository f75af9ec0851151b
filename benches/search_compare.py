#!/usr/bin/env python3
"""Search: qapms (tantivy) against SQLite FTS5 with bm25() ranking, in one run.

Generates a corpus of N realistic test cases and 240 queries (`gen_search`: common, mid and
rare terms, two-term ANDs, phrases, prefixes), then:
- FTS5 (stdlib sqlite3): a `porter unicode61` FTS5 table over title and steps (stemmed, like
  qapms), filled in one transaction (timed), then each query as
  `SELECT rowid FROM cases WHERE cases MATCH ? ORDER BY bm25(cases, 2.0, 1.0) LIMIT 10`;
- qapms (`search_timer`, release build): the same corpus indexed, the same queries, top 10
  (and, separately, top 10 with snippets and the total count, as `qapms search` asks).

Each engine runs every query once to warm up, then PASSES times timed; percentiles are over
all timed samples. Prints both side by side with the p90 ratio.

Usage (from the repository root):
    python3 benches/search_compare.py [--cases 100000] [--passes 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

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
            "gen_search",
            "--bin",
            "search_timer",
        ],
        cwd=ROOT,
        check=True,
    )


def percentile(sorted_samples: list[float], p: float) -> float:
    if not sorted_samples:
        return 0.0
    rank = round(p / 100.0 * (len(sorted_samples) - 1))
    return sorted_samples[min(rank, len(sorted_samples) - 1)]


def summary(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {
        "p50": percentile(s, 50),
        "p90": percentile(s, 90),
        "p99": percentile(s, 99),
        "max": s[-1] if s else 0.0,
    }


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def fts5(work: Path, passes: int) -> dict[str, Any]:
    corpus = read_jsonl(work / "corpus.jsonl")
    queries = read_jsonl(work / "queries.jsonl")
    db_path = work / "fts5.db"
    if db_path.exists():
        db_path.unlink()
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE VIRTUAL TABLE cases USING fts5(title, steps, tokenize='porter unicode61')")
    started = time.perf_counter()
    with con:
        con.executemany(
            "INSERT INTO cases (title, steps) VALUES (?, ?)",
            ((c["title"], c["steps"]) for c in corpus),
        )
    index_seconds = time.perf_counter() - started
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    sql = "SELECT rowid FROM cases WHERE cases MATCH ? ORDER BY bm25(cases, 2.0, 1.0) LIMIT 10"
    for q in queries:
        con.execute(sql, (q["query"],)).fetchall()
    samples: list[float] = []
    by_category: dict[str, list[float]] = {}
    for _ in range(passes):
        for q in queries:
            t = time.perf_counter()
            con.execute(sql, (q["query"],)).fetchall()
            ms = (time.perf_counter() - t) * 1000.0
            samples.append(ms)
            by_category.setdefault(q["category"], []).append(ms)
    con.close()
    size = sum(p.stat().st_size for p in work.iterdir() if p.name.startswith("fts5.db"))
    return {
        "documents": len(corpus),
        "indexSeconds": index_seconds,
        "docsPerSecond": len(corpus) / index_seconds,
        "indexBytes": size,
        "all": summary(samples),
        "byCategory": {k: summary(v) for k, v in by_category.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write the corpus and indexes here")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        build()
    bin_dir = target_dir() / "release"
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        gen = subprocess.run(
            [str(bin_dir / "gen_search"), str(work), str(args.cases)],
            check=True,
            capture_output=True,
            text=True,
        )
        print(f"corpus: {gen.stdout.strip()}")
        lite = fts5(work, args.passes)
        out = subprocess.run(
            [str(bin_dir / "search_timer"), str(work), str(args.passes)],
            check=True,
            capture_output=True,
            text=True,
        )
        ours = json.loads(out.stdout)

    top10 = ours["latencyMs"]["top10"]
    full = ours["latencyMs"]["full"]
    mb = 1024 * 1024
    print(f"\n{'':28}{'qapms top10':>14}{'qapms full':>14}{'FTS5 bm25':>14}")
    for p in ("p50", "p90", "p99", "max"):
        print(
            f"{'latency ' + p + ' (ms)':28}{top10['all'][p]:14.3f}"
            f"{full['all'][p]:14.3f}{lite['all'][p]:14.3f}"
        )
    print(
        f"{'indexing (docs/s)':28}{ours['docsPerSecond']:14.0f}{'':14}{lite['docsPerSecond']:14.0f}"
    )
    print(
        f"{'index size (MB)':28}{ours['indexBytes'] / mb:14.1f}{'':14}"
        f"{lite['indexBytes'] / mb:14.1f}"
    )
    print(f"{'corpus size (MB)':28}{ours['corpusBytes'] / mb:14.1f}")
    print("\np90 by query category (ms):")
    print(f"{'':12}{'qapms top10':>14}{'qapms full':>14}{'FTS5':>14}{'FTS5/top10':>12}")
    for cat in ("common", "mid", "rare", "and2", "phrase", "prefix"):
        a = top10["byCategory"][cat]["p90"]
        b = full["byCategory"][cat]["p90"]
        c = lite["byCategory"][cat]["p90"]
        print(f"{cat:12}{a:14.3f}{b:14.3f}{c:14.3f}{c / max(a, 1e-9):12.1f}x")
    ratio = lite["all"]["p90"] / max(top10["all"]["p90"], 1e-9)
    ratio_full = lite["all"]["p90"] / max(full["all"]["p90"], 1e-9)
    print(f"\np90 speed-up over FTS5: {ratio:.1f}x (top10), {ratio_full:.1f}x (full)")


if __name__ == "__main__":
    main()
