"""`make bench`: every benchmark, one after the other, each writing bench/results/<name>.md.

    .venv/bin/python -m bench.run all            # the full set (tens of minutes)
    .venv/bin/python -m bench.run ingest pixel   # some of them
    .venv/bin/python -m bench.run all --dry-run  # print the commands only

Each benchmark runs as its own process (`python -m bench.<name>`), so one that fails does
not hide the others' figures; the exit code is non-zero if any failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"

# Each writes bench/results/<name>.md (and the warehouse also warehouse.json).
BENCHMARKS = (
    "ingest",
    "slow_clients",
    "pixel",
    "warehouse",
    "leads",
    "cli",
    "kv",
    "crm",
    "report",
    "forget",
    "networks",
    "dbt_startup",
)


def commands(names: list[str]) -> list[list[str]]:
    return [[sys.executable, "-m", f"bench.{name}"] for name in names]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("names", nargs="+", choices=["all", *BENCHMARKS])
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)
    names = list(BENCHMARKS) if "all" in args.names else list(dict.fromkeys(args.names))
    failed = []
    for command in commands(names):
        name = command[2].removeprefix("bench.")
        print(f"== {name}: {' '.join(command[2:])}", flush=True)
        if args.dry_run:
            continue
        started = time.monotonic()
        code = subprocess.run(command, cwd=REPO, check=False).returncode
        took = time.monotonic() - started
        status = "ok" if code == 0 else f"FAILED (exit {code})"
        print(f"== {name}: {status} in {took:.0f} s -> {RESULTS / (name + '.md')}", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
