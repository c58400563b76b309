"""Warehouse benchmark: N synthetic events as landing files, then what `oie run` pays on
DuckDB: a full build, the raw read floor under it, and an incremental run of +10,000 new
events as one cold `oie run` process and as one run of a warm `oie run --every`, with CPU
seconds, peak memory and the slowest dbt nodes of each step.

    .venv/bin/python -m bench.warehouse                      # 1M and 10M (≈ 15 min)
    .venv/bin/python -m bench.warehouse --events 1000000     # 1M only
    .venv/bin/python -m bench.warehouse --events 30000000 --data-root /tmp/oie-bench \
        --build-days 10 --merge   # 30M: its one-statement full build runs out of memory

Every size is a history at one daily rate (RATE_PER_DAY), so the sizes differ in how much
history the warehouse holds, not in the traffic a scheduled run sees. Targets (issue 17,
this 2-core machine): the 1M incremental under 10 s as one process, the 10M and 30M
incremental at most 1.5x the 1M one, the 10M full build under 90 s. The report puts each
figure beside its target and beside a previous run's (`--before` a warehouse.json).
Results: bench/results/warehouse.md (and warehouse.json).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.warehouse_report import RESULTS, load_before, size_key, summary, write_report
from oie import warehouse
from oie.run import FULL_TESTS_DBT_ARGS, SCHEDULED_DBT_ARGS
from oie.traffic.generate import generate
from oie_core.landing import iso_ms, partition_of

EVENTS_PER_VISITOR = 15.3  # measured mean of oie.traffic journeys over 30 days
RATE_PER_DAY = 333_333  # events a day in every size: 10M is 30 days of history
SIZES = (1_000_000, 10_000_000)
INCREMENT = 10_000  # new events between two scheduled runs
# Each incremental figure is the median of this many runs, each with its own new events: on
# a shared 2-core VM one run's wall time moves by a fifth from one minute to the next.
REPEAT = 3
# A full build tests every row, as `oie run --full-refresh` does; the incremental run is
# `oie run` itself.
FULL_BUILD = list(FULL_TESTS_DBT_ARGS[1:])
DEDUPE_NODE = "int_events_deduped"


def measured(
    args: list[str], env: dict[str, str], cwd: Path = warehouse.PROJECT_DIR
) -> tuple[float, float, float, int]:
    """Runs a command in a fresh wrapper so RUSAGE_CHILDREN is this step's alone:
    returns (seconds, CPU seconds, peak RSS in MB, exit code). CPU seconds (user + system)
    hardly move when other processes share the machine; wall seconds do."""
    wrapper = (
        "import resource, subprocess, sys, time, json;"
        "t = time.perf_counter();"
        "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode;"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN);"
        "print(json.dumps([time.perf_counter() - t, u.ru_utime + u.ru_stime,"
        " u.ru_maxrss / 1024, rc]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, cpu_s, peak_mb, rc = json.loads(out.stdout.strip().splitlines()[-1])
    return seconds, cpu_s, peak_mb, rc


HISTORY_SEED = 11  # the generated history's leads; increments are traffic of the same leads


def land_increment(landing: Path, events: int, after: float, now: float, seed: int) -> int:
    """+N events from new visitors of leads the history already holds (its cast: the same
    tokens and addresses, so they link and their leads are recounted and rescored),
    received between `after` and `now` (what arrives between two scheduled runs)."""
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
            cast_seed=HISTORY_SEED,
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


def history_days(events: int) -> int:
    return max(1, round(events / RATE_PER_DAY))


def landing_data(events: int, data_dir: Path) -> dict[str, Any]:
    """Generated landing files for `events` under data_dir/landing, reused when a previous
    run left them there with the same history length (`--data-root`): the increments it
    added are removed first and the generation's own clock is read back, so the increment
    lands after the same base."""
    landing = data_dir / "landing"
    meta_path = data_dir / "bench-meta.json"
    days = history_days(events)
    if meta_path.exists() and json.loads(meta_path.read_text()).get("days", 30) == days:
        meta: dict[str, Any] = json.loads(meta_path.read_text())
        _restore_held_events(landing)  # a sliced history build that was killed
        for stale in landing.rglob("increment-*.ndjson"):
            stale.unlink()
        (data_dir / "warehouse.duckdb").unlink(missing_ok=True)
        # the KV store goes with the warehouse that holds its sync state: kept, it would
        # hold the last run's keys that the new state knows nothing of
        (data_dir / "kv.sqlite").unlink(missing_ok=True)
        print(f"  reusing {meta['events']:,} events generated at {meta['generated_at']}")
        return meta
    shutil.rmtree(landing, ignore_errors=True)
    base_end = time.time() - 3600
    print(f"  generating {events:,} events over {days} days into {landing} …")
    t = time.perf_counter()
    stats = generate(
        landing,
        visitors=max(1, int(events / EVENTS_PER_VISITOR)),
        days=days,
        end=base_end,
        seed=HISTORY_SEED,
        prefix="bench",
    )
    meta = {
        "events": stats.events,
        "days": days,
        "leads": stats.leads,
        "files": stats.files,
        "base_end": base_end,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "generate_s": round(time.perf_counter() - t, 1),
        "landing_mb": round(sum(f.stat().st_size for f in landing.rglob("*.ndjson")) / 1e6),
    }
    meta_path.write_text(json.dumps(meta) + "\n")
    print(
        f"  {stats.events:,} events, {stats.leads:,} leads, {stats.files:,} files, "
        f"{meta['landing_mb']} MB in {meta['generate_s']} s"
    )
    return meta


def _held_events(landing: Path) -> Path:
    """Where a sliced history build keeps the event days it has not reached yet: beside the
    landing folder, so no landing glob reads them."""
    return landing.parent / "landing-held-events"


def _restore_held_events(landing: Path) -> None:
    held = _held_events(landing)
    if held.exists():
        for day in sorted(held.glob("dt=*")):
            day.rename(landing / "events" / day.name)
        held.rmdir()


def build_history_in_slices(
    landing: Path, days_per_run: int, step: Any, dbt: Any
) -> dict[str, Any]:
    """The history built the way it grows: the landing's event days shown to dbt
    `days_per_run` at a time, the first slice by a full-refresh build with every test and
    each later one by the scheduled run's `dbt build` (tests on the run's rows). For a
    history whose one-statement full build does not fit in memory (30M events here). The
    event days are moved aside and back (a rename), and back again if a build fails."""
    _restore_held_events(landing)
    days = sorted((landing / "events").glob("dt=*"))
    held = _held_events(landing)
    held.mkdir()
    for day in days:
        day.rename(held / day.name)
    slices = [days[i : i + days_per_run] for i in range(0, len(days), days_per_run)]
    command, *scheduled_flags = SCHEDULED_DBT_ARGS
    records = []
    try:
        for number, chunk in enumerate(slices):
            for day in chunk:
                (held / day.name).rename(day)
            first = number * days_per_run + 1
            span = f"days {first}-{first + len(chunk) - 1} of {len(days)}"
            if number == 0:
                records.append(
                    step(
                        f"history build, {span}: `dbt build --full-refresh`",
                        dbt("build", full_refresh=True, extra_args=FULL_BUILD),
                        dbt_step=True,
                    )
                )
            else:
                records.append(
                    step(
                        f"history build, {span}: the scheduled `dbt build`",
                        dbt(command, extra_args=scheduled_flags),
                        dbt_step=True,
                        test_scope="new",
                    )
                )
    finally:
        _restore_held_events(landing)
    return {
        "seconds": round(sum(r["seconds"] for r in records), 2),
        "cpu_s": round(sum(r["cpu_s"] for r in records), 2),
        "runs": len(records),
    }


def run(
    events: int,
    data_root: Path | None,
    increment: int = INCREMENT,
    repeat: int = REPEAT,
    build_days: int | None = None,
) -> dict[str, Any]:
    if data_root is None:
        data_dir = Path(tempfile.mkdtemp(prefix=f"oie-bench-{events}-"))
    else:
        data_dir = data_root / str(events)
        data_dir.mkdir(parents=True, exist_ok=True)
    # The benchmark's own dbt steps run exactly as `oie run` runs dbt (oie.warehouse.run_dbt):
    # inside the data dir, with the environment that names it `.`. Another profile or
    # OIE_LANDING_DIR (both read when the project is parsed) would cost the measured `oie run`
    # a re-parse that no scheduled run pays.
    landing = data_dir / "landing"
    env = warehouse.dbt_env({"OIE_DATA_DIR": str(data_dir), "OIE_LANDING_DIR": str(landing)})
    dbt_env, dbt_cwd = warehouse.dbt_subprocess_env(env)
    meta = landing_data(events, data_dir)
    base_end = float(meta["base_end"])
    steps: list[dict[str, Any]] = []

    def step(
        name: str, args: list[str], *, dbt_step: bool = False, test_scope: str = "all"
    ) -> dict[str, Any]:
        load = os.getloadavg()[0]
        if dbt_step:
            step_env = {**dbt_env, "DBT_OIE_TEST_SCOPE": test_scope}
            seconds, cpu, peak, rc = measured(args, step_env, dbt_cwd)
        else:
            seconds, cpu, peak, rc = measured(args, env)
        if rc != 0:
            raise SystemExit(f"{name} failed (exit {rc}); data kept in {data_dir}")
        nodes = _node_times(Path(env["DBT_TARGET_PATH"]) / "run_results.json")
        slowest = sorted(nodes.items(), key=lambda kv: -kv[1])[:5]
        record = {
            "step": name,
            "seconds": round(seconds, 2),
            "cpu_s": round(cpu, 2),
            "peak_mb": round(peak),
            "load_before": round(load, 1),
            "slowest": slowest,
            "dedupe_s": nodes.get(DEDUPE_NODE),
        }
        steps.append(record)
        print(f"  {name:<46} {seconds:7.2f} s  {cpu:7.2f} CPU s  {peak:6.0f} MB  (load {load:.1f})")
        return record

    dbt = warehouse.dbt_command
    # Parse once unmeasured: the start-up figure is a scheduled run's, with partial parsing
    # finding nothing changed, not the first parse after an upgrade. Through `oie`'s own
    # dbt start (run_dbt), which notes the project folder the parse belongs to: the measured
    # `oie run` then keeps it instead of parsing again (oie.dbt_parse_cache).
    warehouse.run_dbt(dbt("parse"), env, capture=True)
    step(
        "dbt start-up (no-op `dbt run`)",
        dbt("run", select="nothing_matches_this"),
        dbt_step=True,
    )
    raw_read = step(
        "raw read floor: DuckDB parsing the landing files alone",
        [sys.executable, "-m", "bench.raw_read", str(landing)],
    )
    if build_days is None:
        full = step(
            "full build: one `dbt build --full-refresh`",
            dbt("build", full_refresh=True, extra_args=FULL_BUILD),
            dbt_step=True,
        )
        history = None
    else:
        history = build_history_in_slices(landing, build_days, step, dbt)
        full = {"seconds": None, "cpu_s": None, "dedupe_s": None}
    oie = str(Path(sys.executable).with_name("oie"))
    # Unmeasured, as after a deploy: the KV store brought level with the full build, so the
    # measured run pushes what a scheduled run pushes (the profiles its new events changed),
    # not every profile of a store that never saw this warehouse.
    subprocess.run(
        [oie, "sync"], env=env, cwd=warehouse.PROJECT_DIR, stdout=subprocess.DEVNULL, check=True
    )
    cold_runs: list[dict[str, Any]] = []
    received_after = base_end
    for i in range(repeat):
        now = time.time()
        landed = land_increment(landing, increment, received_after, now, seed=23 + i)
        received_after = now
        print(f"  +{landed:,} new events received after the last run")
        cold = step(
            f"incremental +{landed:,}: one `oie run` process (run {i + 1} of {repeat})",
            [oie, "run"],
        )
        cold.update(_split(Path(env["DBT_TARGET_PATH"]) / "run_results.json", cold))
        cold_runs.append(cold)
    incremental = _median(cold_runs)
    # The same increment as runs of a long-running `oie run --every`: dbt already imported
    # and the project parsed by the scheduler's previous run (bench/scheduler_tick.py).
    tick_json = data_dir / "tick.json"
    tick = step(
        f"incremental +{increment:,}: `oie run --every`, {repeat} warm run(s) after a warm-up",
        [sys.executable, "-m", "bench.scheduler_tick", str(increment), str(tick_json), str(repeat)],
    )
    tick_runs = [round(t, 2) for t in json.loads(tick_json.read_text())["tick_runs"]]
    tick.update(
        seconds=statistics.median(tick_runs),
        runs=tick_runs,
        note="the median timed run (each after the warm-up run)",
    )
    result = {
        "events": int(meta["events"]),
        "days": meta.get("days", 30),
        "increment": landed,
        "landing_mb": meta["landing_mb"],
        "generate_s": meta["generate_s"],
        "steps": steps,
        "full_build_s": full["seconds"],
        "full_build_cpu_s": full["cpu_s"],
        "full_dedupe_s": full["dedupe_s"],
        "history_build": history,
        "raw_read_s": raw_read["seconds"],
        "raw_read_cpu_s": raw_read["cpu_s"],
        "incremental_s": incremental["seconds"],
        "incremental_cpu_s": incremental["cpu_s"],
        "incremental_split": incremental["split"],
        "incremental_runs": [r["seconds"] for r in cold_runs],
        "tick_s": tick["seconds"],
        "tick_runs": tick["runs"],
    }
    if data_root is None:
        shutil.rmtree(data_dir, ignore_errors=True)
    return result


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median wall time (the lower middle one of an even count), so its
    CPU seconds and split belong to the figure they stand beside."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    return ordered[(len(ordered) - 1) // 2]


def _split(run_results: Path, step: dict[str, Any]) -> dict[str, Any]:
    """Where a one-process run's seconds went: dbt's own elapsed time and the thread-seconds
    of its models and tests (2 threads: their sum exceeds the elapsed time), the rest being
    process start-up, dbt's import and parse, and oie's other steps."""
    data = json.loads(run_results.read_text())
    by_kind: dict[str, float] = defaultdict(float)
    for r in data["results"]:
        by_kind[r["unique_id"].split(".")[0]] += r.get("execution_time", 0.0)
    elapsed = float(data["elapsed_time"])
    return {
        "split": {
            "start-up and other steps": round(step["seconds"] - elapsed, 2),
            "dbt nodes (elapsed)": round(elapsed, 2),
            "models (thread-s)": round(by_kind["model"] + by_kind["snapshot"] + by_kind["seed"], 2),
            "tests (thread-s)": round(by_kind["test"], 2),
        }
    }


def _node_times(run_results: Path) -> dict[str, float]:
    try:
        results = json.loads(run_results.read_text())["results"]
    except (OSError, ValueError, KeyError):
        return {}
    return {
        r["unique_id"].split(".")[-1][:48]: round(r.get("execution_time", 0.0), 2) for r in results
    }


def _dbt_version() -> str:
    from dbt.version import __version__

    return __version__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=list(SIZES))
    parser.add_argument(
        "--data-root",
        type=Path,
        help="keep each size's generated data under DIR/<events>/ and reuse it next time",
    )
    parser.add_argument("--before", type=Path, help="a previous warehouse.json: the before column")
    parser.add_argument("--increment", type=int, default=INCREMENT, help="new events per run")
    parser.add_argument(
        "--repeat",
        type=int,
        default=REPEAT,
        help="incremental runs per size, cold and warm (their median is the figure)",
    )
    parser.add_argument("--label", default="", help="stored in warehouse.json, shown as its before")
    parser.add_argument(
        "--build-days",
        type=int,
        help="build the history as runs over N days of landing each (the first a full"
        " refresh, then the scheduled build), not as one full build: for 30M events",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the other sizes of the last bench/results/warehouse.json (re-run one size)",
    )
    args = parser.parse_args()
    before = load_before(args.before)
    results: list[dict[str, Any]] = []
    if args.merge and (RESULTS / "warehouse.json").exists():
        kept = json.loads((RESULTS / "warehouse.json").read_text())["results"]
        wanted = {size_key(n) for n in args.events}
        results = [r for r in kept if size_key(r["events"]) not in wanted]
    for n in args.events:
        print(f"== {n:,} events")
        r = run(n, args.data_root, args.increment, max(1, args.repeat), args.build_days)
        results.append(r)
        results.sort(key=lambda x: int(x["events"]))
        print(f"full build {r['full_build_s']} s, incremental {r['incremental_s']} s")
        # after each size, so a long 10M run never loses the figures already measured
        path = write_report(results, before, _dbt_version(), args.label)
        print(f"wrote {path}")
    for row in summary(results, before):
        print("  " + " | ".join(row))


if __name__ == "__main__":
    main()
