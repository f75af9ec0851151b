"""Template-mining speed: qapms against Drain3 on the same 100,000 mixed raw log lines, one core.

The mix repeats the raw `.log` lines of every Loghub system under DATASET_DIR, shuffled with a
fixed seed, so both miners see identical input in identical order. qapms runs as the release
binary `qapms-eval templates-bench FILE` (it times the whole pass, then each line with `Instant`
for p50/p99); Drain3 runs in this process with its default `TemplateMiner` configuration plus
masking instructions for IPs, hex and numbers (the ones its README shows), timed over
`add_log_message` for every line. Each side reports the best of three fresh passes. Both are
pinned to one CPU with `os.sched_setaffinity` where the platform allows it.

Usage: python benches/template_compare.py [DATASET_DIR] [--lines N] [--bin PATH]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build_mix(dataset: Path, n: int, seed: int = 20241125) -> list[str]:
    lines: list[str] = []
    for log in sorted(dataset.glob("*/*.log")):
        text = log.read_bytes().decode("utf-8", errors="replace")
        lines.extend(line for line in text.splitlines() if line)
    if not lines:
        sys.exit(f"no */*.log under {dataset}")
    rng = random.Random(seed)
    mix: list[str] = []
    while len(mix) < n:
        batch = lines[:]
        rng.shuffle(batch)
        mix.extend(batch)
    return mix[:n]


def run_qapms(binary: Path, path: Path) -> dict[str, float]:
    out = subprocess.run(
        ["taskset", "-c", "0", str(binary), "templates-bench", str(path)]
        if os.path.exists("/usr/bin/taskset")
        else [str(binary), "templates-bench", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {k: float(v) for k, v in (kv.split("=") for kv in out.split())}


def run_drain3(lines: list[str]) -> tuple[float, int]:
    from drain3 import TemplateMiner
    from drain3.masking import MaskingInstruction
    from drain3.template_miner_config import TemplateMinerConfig

    config = TemplateMinerConfig()
    # The masking instructions from Drain3's README / example config: IPs, hex, numbers.
    config.masking_instructions = [
        MaskingInstruction(
            r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"
        ),
        MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
        MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
    ]
    config.profiling_enabled = False
    # Best of three fresh passes, as the qapms side does.
    best = float("inf")
    for _ in range(3):
        miner = TemplateMiner(config=config)
        start = time.perf_counter()
        for line in lines:
            miner.add_log_message(line)
        best = min(best, time.perf_counter() - start)
    return best, len(miner.drain.clusters)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "dataset", nargs="?", default=str(ROOT.parent / "shared/datasets/loghub-dev")
    )
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument(
        "--bin",
        default=os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target")) + "/release/qapms-eval",
    )
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    mix = build_mix(Path(args.dataset), args.lines)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mix.log"
        path.write_text("\n".join(mix) + "\n", encoding="utf-8")
        q = run_qapms(Path(args.bin), path)
    d_secs, d_clusters = run_drain3(mix)
    d_rate = len(mix) / d_secs
    print(f"lines: {len(mix)}")
    print(
        f"qapms:  {q['lines_per_s']:,.0f} lines/s ({q['seconds']:.3f} s), "
        f"clusters {q['clusters']:.0f}, "
        f"per line p50 {q['p50_us']:.2f} us p99 {q['p99_us']:.2f} us"
    )
    print(f"drain3: {d_rate:,.0f} lines/s ({d_secs:.3f} s), clusters {d_clusters}")
    print(f"ratio:  {q['lines_per_s'] / d_rate:.1f}x")


if __name__ == "__main__":
    main()
