"""Warehouse benchmark: N synthetic events as landing files, then a full build and an
incremental build of +1 % new events on DuckDB, models (`dbt run`) and tests (`dbt test`)
timed separately, with each step's peak memory.

    .venv/bin/python -m bench.warehouse                 # 1M events
    .venv/bin/python -m bench.warehouse --events 10000000

Targets (issue 2, this 2-core machine): full build of 1M events < 30 s, incremental +10k
< 10 s, dbt's own start-up (≈ 5 s) included. Results: bench/results/warehouse.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oie import warehouse
from oie.traffic.generate import generate
from oie_core.landing import iso_ms, partition_of

RESULTS = Path(__file__).parent / "results"
EVENTS_PER_VISITOR = 15.3  # measured mean of oie.traffic journeys over 30 days


def measured(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Runs a command in a fresh wrapper so RUSAGE_CHILDREN is this step's alone:
    returns (seconds, peak RSS in MB, exit code)."""
    wrapper = (
        "import resource, subprocess, sys, time, json;"
        "t = time.perf_counter();"
        "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode;"
        "print(json.dumps([time.perf_counter() - t,"
        " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, rc]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *args],
        env=env,
        cwd=warehouse.PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, peak_mb, rc = json.loads(out.stdout.strip().splitlines()[-1])
    return seconds, peak_mb, rc


def land_increment(landing: Path, events: int, after: float, now: float, seed: int) -> int:
    """+N events from new and returning-looking visitors, received between `after` and
    `now` (what arrives between two scheduled runs)."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        # One day of journeys has no return visits (≈ 11 events per visitor, not 15):
        # make twice the visitors and keep the first N events.
        generate(
            Path(tmp),
            visitors=max(1, int(2 * events / EVENTS_PER_VISITOR)),
            days=1,
            end=now,
            seed=seed,
            prefix="increment",
        )
        by_partition: dict[str, list[str]] = defaultdict(list)
        count = 0
        for file in sorted((Path(tmp) / "events").rglob("*.ndjson")):
            for line in file.read_text().splitlines():
                if count >= events:
                    break
                record = json.loads(line)
                received = rng.uniform(after, now)
                record["received_at"] = iso_ms(received)
                by_partition[partition_of(received)].append(json.dumps(record))
                count += 1
    for partition, lines in by_partition.items():
        folder = landing / "events" / partition
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"increment-{seed}.ndjson").write_text("\n".join(lines) + "\n")
    return count


def run(events: int, keep: bool) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"oie-bench-{events}-"))
    env = warehouse.dbt_env({"OIE_DATA_DIR": str(data_dir)})
    landing = data_dir / "landing"
    now = time.time()
    base_end = now - 3600
    steps: list[dict[str, Any]] = []

    def step(name: str, args: list[str], target: str = "") -> float:
        seconds, peak, rc = measured(args, env)
        if rc != 0:
            raise SystemExit(f"{name} failed (exit {rc}); data kept in {data_dir}")
        slowest = _slowest_nodes(Path(env["DBT_TARGET_PATH"]) / "run_results.json")
        steps.append(
            {
                "step": name,
                "seconds": round(seconds, 2),
                "peak_mb": round(peak),
                "target": target,
                "slowest": slowest,
            }
        )
        print(f"  {name:<40} {seconds:7.2f} s  {peak:7.0f} MB  {target}")
        return seconds

    print(f"Generating {events:,} events into {landing} …")
    t = time.perf_counter()
    stats = generate(
        landing,
        visitors=max(1, int(events / EVENTS_PER_VISITOR)),
        days=30,
        end=base_end,
        seed=11,
        prefix="bench",
    )
    gen_s = time.perf_counter() - t
    size_mb = sum(f.stat().st_size for f in landing.rglob("*.ndjson")) / 1e6
    print(
        f"  {stats.events:,} events, {stats.leads:,} leads, {stats.files:,} files, "
        f"{size_mb:.0f} MB in {gen_s:.1f} s"
    )

    dbt = warehouse.dbt_command
    step("dbt start-up (no-op `dbt run`)", dbt("run", select="nothing_matches_this"))
    full_run = step("full build: models (dbt run)", dbt("run", full_refresh=True))
    full_test = step("full build: tests (dbt test)", dbt("test"))
    inc_events = max(1, events // 100)
    landed = land_increment(landing, inc_events, base_end, now, seed=23)
    print(f"  +{landed:,} new events (1 %) received after the last run")
    inc_run = step("incremental: models (dbt run)", dbt("run"))
    inc_test = step("incremental: tests (dbt test)", dbt("test"))
    # What a scheduled `oie run` pays: one `dbt build` process (models + tests, one start-up)
    # for the next +1 %.
    land_increment(landing, inc_events, base_end, now, seed=29)
    inc_build = step(
        "incremental: `dbt build` (one process)",
        dbt("build"),
        "< 10 s for +10k" if events <= 1_100_000 else "",
    )
    result = {
        "events": stats.events,
        "increment": landed,
        "landing_mb": round(size_mb),
        "generate_s": round(gen_s, 1),
        "steps": steps,
        "full_build_s": round(full_run + full_test, 2),
        "incremental_build_s": round(inc_run + inc_test, 2),
        "full_models_s": round(full_run, 2),
        "incremental_models_s": round(inc_run, 2),
        "incremental_dbt_build_s": round(inc_build, 2),
    }
    if not keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    return result


def write_report(results: list[dict[str, Any]]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    lines = [
        "# Warehouse benchmark (DuckDB, embedded target)",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({os.cpu_count()} cores), dbt {_dbt_version()}, `python -m bench.warehouse`.",
        "Peak MB is the step's peak resident memory (dbt + DuckDB in one process).",
        "",
    ]
    for r in results:
        n = int(r["events"])
        lines += [
            f"## {n:,} events (+{int(r['increment']):,} incremental)",
            "",
            f"Landing files: {r['landing_mb']} MB; generated in {r['generate_s']} s.",
            "",
            "| step | seconds | peak MB | target |",
            "|---|---:|---:|---|",
        ]
        for s in r["steps"]:
            lines.append(f"| {s['step']} | {s['seconds']} | {s['peak_mb']} | {s['target']} |")
        full_target = "< 30 s" if n <= 1_100_000 else "(no target)"
        inc_target = "< 10 s" if n <= 1_100_000 else "(no target)"
        lines += [
            f"| **full build, models + tests** | **{r['full_build_s']}** | | {full_target} |",
            f"| **incremental +1 %, models + tests** | **{r['incremental_build_s']}** | | "
            f"{inc_target} |",
            "",
            "Slowest dbt nodes per step (seconds inside dbt):",
            "",
        ]
        for s in r["steps"]:
            if s["slowest"]:
                nodes = ", ".join(f"{n} {t}" for n, t in s["slowest"])
                lines.append(f"- {s['step']}: {nodes}")
        lines.append("")
    path = RESULTS / "warehouse.md"
    path.write_text("\n".join(lines) + "\n")
    (RESULTS / "warehouse.json").write_text(json.dumps(results, indent=2) + "\n")
    return path


def _slowest_nodes(run_results: Path, top: int = 4) -> list[tuple[str, float]]:
    try:
        results = json.loads(run_results.read_text())["results"]
    except (OSError, ValueError, KeyError):
        return []
    timed = sorted(results, key=lambda r: -r.get("execution_time", 0))[:top]
    return [(r["unique_id"].split(".")[-1][:48], round(r["execution_time"], 2)) for r in timed]


def _dbt_version() -> str:
    from dbt.version import __version__

    return __version__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--keep", action="store_true", help="keep the generated data dir")
    args = parser.parse_args()
    results = []
    for n in args.events:
        print(f"== {n:,} events")
        results.append(run(n, args.keep))
        r = results[-1]
        print(f"full build {r['full_build_s']} s, incremental {r['incremental_build_s']} s")
        # after each size, so a long 10M run never loses the figures already measured
        print(f"wrote {write_report(results)}")


if __name__ == "__main__":
    main()
