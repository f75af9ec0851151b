"""Check a qapms.yaml from a script, the way a CI job or a pre-commit hook would.

Usage: python examples/check_config.py [PATH] [--profile NAME]

Prints every problem as ``file:line:column: severity: key: message`` and exits 1 if the file
is invalid, 0 otherwise.
"""

from __future__ import annotations

import argparse
import sys

import qapms


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", nargs="?", help="qapms.yaml to check (default: discovered)")
    parser.add_argument("--profile", help="profile overlay to apply")
    args = parser.parse_args(argv)
    try:
        warnings = qapms.check_config(args.path, profile=args.profile)
    except qapms.ConfigError as err:
        for diagnostic in err.diagnostics:
            print(diagnostic)
        print(f"first error at {err.path}:{err.line}:{err.column}", file=sys.stderr)
        return 1
    for warning in warnings:
        print(warning)
    print("configuration is valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
