#!/usr/bin/env python3
"""Config load: qapms against PyYAML (C loader) + jsonschema, in one run.

Generates the 10,000-line qapms.yaml (and its error variant and JSON Schema) with the
`gen_config` binary, times qapms loading and validating it with `config_load_timer`
(median of N loads in one process), then times PyYAML's CSafeLoader followed by
jsonschema validation against the schema qapms generates (median of N), and prints both
medians and the ratio. Both sides collect every error (qapms always does; jsonschema via
iter_errors) and both reuse their compiled schema across runs.

Usage (from the repository root; builds release binaries first):
    .venv/bin/python benches/config_compare.py [--runs 30]   (after `make venv` and
    `.venv/bin/pip install -r benches/requirements.txt`; `make bench` does both)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parent.parent


def target_dir() -> Path:
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def build() -> None:
    subprocess.run(
        ["cargo", "build", "--release", "-p", "qapms-benches", "--bins"],
        cwd=ROOT,
        check=True,
    )


def qapms_median(binary: Path, file: Path, runs: int) -> dict:
    out = subprocess.run(
        [str(binary), str(file), str(runs)], check=True, capture_output=True, text=True
    ).stdout
    return {k: float(v) for k, v in (pair.split("=") for pair in out.split())}


def python_median(file: Path, schema: dict, runs: int) -> tuple[float, int]:
    validator_cls = jsonschema.validators.validator_for(schema)
    validator = validator_cls(schema)
    errors = 0
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        with open(file, encoding="utf-8") as f:
            data = yaml.load(f, Loader=yaml.CSafeLoader)
        errors = len(list(validator.iter_errors(data)))
        elapsed = (time.perf_counter() - start) * 1000
        if i > 0:  # the first run is a warm-up, as on the Rust side
            times.append(elapsed)
    return statistics.median(times), errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()

    if not args.no_build:
        build()
    bin_dir = target_dir() / "release"
    out_dir = target_dir() / "config-bench"
    subprocess.run([str(bin_dir / "gen_config"), str(out_dir)], check=True, capture_output=True)
    schema = json.loads((out_dir / "qapms.schema.json").read_text())
    draft = jsonschema.validators.validator_for(schema).__name__

    print(f"PyYAML {yaml.__version__} (libyaml: {yaml.__with_libyaml__}), jsonschema {draft}")
    print(
        f"{'file':<20}{'lines':>7}{'qapms ms':>11}{'errors':>8}"
        f"{'python ms':>11}{'errors':>8}{'ratio':>8}"
    )
    for name in ["qapms.yaml", "qapms-errors.yaml"]:
        file = out_dir / name
        q = qapms_median(bin_dir / "config_load_timer", file, args.runs)
        p_ms, p_errors = python_median(file, schema, args.runs)
        ratio = p_ms / q["median_ms"]
        print(
            f"{name:<20}{int(q['lines']):>7}{q['median_ms']:>11.2f}{int(q['errors']):>8}"
            f"{p_ms:>11.2f}{p_errors:>8}{ratio:>7.1f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
