"""dbt's start-up in a data dir: the first `dbt parse` of a new data dir without a kept
parse, the same with the parse cache (OIE_DBT_PARSE_CACHE), and a data dir
parsing again after its own parse, each through `oie`'s own dbt launcher
(oie.warehouse.dbt_build), the way every `oie run` starts dbt.

    .venv/bin/python -m bench.dbt_startup              # 3 rounds (≈ 1 min)
    .venv/bin/python -m bench.dbt_startup --rounds 5

No target in an issue: the figure the cache exists for is the first build of a new data
dir (every test, CI job or tenant), against a warm data dir as its floor.
Results: bench/results/dbt_startup.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from oie import warehouse
from oie.dbt_parse_cache import CACHE_ENV

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "dbt_startup.md"

CASES = (
    ("new data dir, no parse cache (full parse)", "cold"),
    ("new data dir, parse kept in OIE_DBT_PARSE_CACHE", "cached"),
    ("the same data dir again (its own partial parse)", "warm"),
)


def timed_parse(data_dir: Path, cache: Path | None) -> float:
    env = {"OIE_DATA_DIR": str(data_dir), CACHE_ENV: str(cache) if cache else ""}
    started = time.perf_counter()
    code = warehouse.dbt_build(command="parse", env=env, quiet=True)
    took = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"dbt parse failed in {data_dir} (exit {code}): see its dbt/logs")
    return took


def measure(rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {key: [] for _, key in CASES}
    with tempfile.TemporaryDirectory(prefix="oie-bench-startup-") as tmp:
        root = Path(tmp)
        cache = root / "cache"
        timed_parse(root / "seed", cache)  # fills the cache, unmeasured
        for n in range(rounds):
            times["cold"].append(timed_parse(root / f"cold-{n}", None))
            times["cached"].append(timed_parse(root / f"cached-{n}", cache))
            times["warm"].append(timed_parse(root / f"cold-{n}", None))
    return times


def report(times: dict[str, list[float]], rounds: int) -> str:
    load = os.getloadavg()[0]
    lines = [
        "# dbt start-up in a data dir",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({os.cpu_count()} cores, load {load:.1f} at the end), `python -m bench.dbt_startup "
        f"--rounds {rounds}`.",
        "Each figure is one `dbt parse` process started the way `oie run` starts dbt (Python's",
        "import of dbt included), median and range over the rounds.",
        "",
        "| data dir | median s | min s | max s |",
        "|---|---:|---:|---:|",
    ]
    for label, key in CASES:
        values = times[key]
        lines.append(
            f"| {label} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |"
        )
    saved = statistics.median(times["cold"]) - statistics.median(times["cached"])
    lines += [
        "",
        f"The kept parse saves {saved:.1f} s on the first dbt run of every new data dir.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    text = report(measure(args.rounds), args.rounds)
    RESULTS.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
