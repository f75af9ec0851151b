"""What the qapms pytest plugin costs a large suite: a generated suite of trivial tests run with
the plugin recording (``--qapms``), installed but idle, and not loaded at all (``-p no:qapms``).

Each run is a fresh ``pytest`` process with its own empty store, so every recording run pays
for opening (and migrating) the store, storing the whole run in one transaction and the
end-of-session summary (clusters and flaky tests of the run). The three variants are
interleaved run by run so that load from other processes hits them alike; medians are printed.
With ``--workers N`` the suite also runs under pytest-xdist (``-n N``) with and without the
plugin.

    .venv/bin/python benches/pytest_overhead.py [--tests 10000] [--runs 5] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def generate(root: Path, tests: int, per_file: int = 100) -> None:
    """``tests`` trivial tests, ``per_file`` to a module, some in classes, a few with markers."""
    root.mkdir(parents=True, exist_ok=True)
    files = (tests + per_file - 1) // per_file
    n = 0
    for f in range(files):
        lines = ["import pytest", ""]
        in_file = min(per_file, tests - n)
        for i in range(in_file):
            if i % 10 == 0:
                lines.append(f'@pytest.mark.ticket("PAY-{f + 1}")')
            lines.append(f"def test_{i}():\n    assert {i} == {i}\n")
        n += in_file
        (root / f"test_gen_{f:04d}.py").write_text("\n".join(lines))
    (root / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")


def run_once(suite: Path, args: list[str]) -> float:
    """Wall time of one pytest process over the suite, with a fresh store."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        (Path(tmp) / "config").mkdir()
        config = Path(tmp) / "qapms.yaml"
        config.write_text(f"store:\n  url: sqlite://{data}/qapms.db\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("QAPMS_", "PYTEST_"))}
        env.update(
            QAPMS_DATA_DIR=str(data),
            QAPMS_CONFIG_DIR=str(Path(tmp) / "config"),
            QAPMS_CONFIG=str(config),
            QAPMS_USER="bench",
        )
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", str(suite), *args],
            cwd=suite,
            env=env,
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"pytest {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        if "--qapms" in args and "qapms: recorded run" not in done.stdout:
            raise SystemExit(f"the plugin did not record the run:\n{done.stdout[-2000:]}")
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=0, help="also run under xdist -n N")
    opts = parser.parse_args()

    variants: dict[str, list[str]] = {
        "no plugin (-p no:qapms)": ["-p", "no:qapms"],
        "installed, idle": [],
        "recording (--qapms)": ["--qapms"],
    }
    if opts.workers:
        variants[f"xdist -n {opts.workers}, -p no:qapms"] = [
            "-n",
            str(opts.workers),
            "-p",
            "no:qapms",
        ]
        variants[f"xdist -n {opts.workers}, --qapms"] = ["-n", str(opts.workers), "--qapms"]

    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp) / "suite"
        generate(suite, opts.tests)
        times: dict[str, list[float]] = {name: [] for name in variants}
        for args in variants.values():  # warm-up: bytecode caches, page cache
            run_once(suite, args)
        for _ in range(opts.runs):
            for name, args in variants.items():
                times[name].append(run_once(suite, args))

    base = statistics.median(times["no plugin (-p no:qapms)"])
    xbase = (
        statistics.median(times[f"xdist -n {opts.workers}, -p no:qapms"]) if opts.workers else None
    )
    version = sys.version.split()[0]
    print(f"{opts.tests} trivial tests, median of {opts.runs} runs (s), Python {version}")
    print("| variant | median (s) | runs (s) | overhead |")
    print("|---|---:|---|---:|")
    for name, ts in times.items():
        med = statistics.median(ts)
        ref = xbase if name.startswith("xdist") else base
        assert ref is not None
        overhead = (med / ref - 1.0) * 100.0
        runs = ", ".join(f"{t:.2f}" for t in ts)
        print(f"| {name} | {med:.2f} | {runs} | {overhead:+.1f} % |")


if __name__ == "__main__":
    main()
