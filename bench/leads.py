"""What "every lead, always" costs: lead_profiles holds one row per imported lead, so the
lead-grain models (the lead list, activity, scores, profiles, snapshot, and the marts over
them) read every lead on every run. This benchmark imports N leads (1M and 10M: the
generated campaign's leads plus synthetic ones that never clicked) next to the 1M-event
landing data of bench/warehouse.py, then times a full build and a scheduled `oie run` with
no new events, and the lead-grain nodes inside each.

    .venv/bin/python -m bench.leads                           # 1M and 10M leads
    .venv/bin/python -m bench.leads --leads 1000000           # one size
    .venv/bin/python -m bench.leads --root /tmp/oie-bench   # where the 1M events are kept

Results: bench/results/leads.md (and leads.json).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.warehouse import landing_data
from oie import warehouse
from oie.run import FULL_TESTS_DBT_ARGS

RESULTS = Path(__file__).parent / "results"
SIZES = (1_000_000, 10_000_000)
LEAD_NODES = (
    "stg_oie__leads",
    "int_lead_activity",
    "int_lead_scores",
    "lead_profiles",
    "lead_profiles_snapshot",
    "edge_profiles",
    "high_intent_leads",
    "campaign_performance",
    "intent_distribution",
    "lead_level_changes",
)


def write_leads(folder: Path, count: int) -> int:
    """`count` synthetic leads of one bulk import, in the landing format of raw_leads."""
    folder.mkdir(parents=True, exist_ok=True)
    created = "2026-11-01T00:00:00.000Z"
    with (folder / "bulk-import.ndjson").open("w", encoding="utf-8") as out:
        for i in range(count):
            email = f"lead{i}@bulk{i % 5000}.example"
            out.write(
                json.dumps(
                    {
                        "lead_id": f"bulk{i:010d}",
                        "email": email,
                        "email_sha256": hashlib.sha256(email.encode()).hexdigest(),
                        "first_name": "Pat",
                        "last_name": f"Bulk{i}",
                        "company": f"Bulk {i % 5000}",
                        "title": "Head of Operations",
                        "industry": "SaaS",
                        "campaign_id": f"bulk-{i % 20}",
                        "campaign_name": f"Bulk import {i % 20}",
                        "token": f"b{i:010d}",
                        "created_at": created,
                        "attributes": {"source": "bench"},
                    },
                    separators=(",", ":"),
                )
                + "\n"
            )
    return count


def timed(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(args, env=env, cwd=warehouse.PROJECT_DIR, stdout=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[:2])} failed (exit {proc.returncode})")
    return time.perf_counter() - started


def lead_node_seconds(env: dict[str, str]) -> dict[str, float]:
    results = json.loads((Path(env["DBT_TARGET_PATH"]) / "run_results.json").read_text())
    seconds = {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results["results"]}
    return {name: round(seconds[name], 2) for name in LEAD_NODES if name in seconds}


def run(leads: int, root: Path) -> dict[str, Any]:
    # the 1M events of bench/warehouse.py, generated once and reused from root/1000000
    events_dir = root / "1000000" / "landing" / "events"
    landing_data(1_000_000, root / "1000000")
    data_dir = root / f"leads-{leads}"
    shutil.rmtree(data_dir, ignore_errors=True)
    landing = data_dir / "landing"
    landing.mkdir(parents=True)
    (landing / "events").symlink_to(events_dir.resolve())
    generated = events_dir.parent / "leads"
    kept = sum(1 for f in generated.rglob("*.ndjson") for _ in f.open())
    shutil.copytree(generated, landing / "leads")
    t = time.perf_counter()
    write_leads(landing / "leads" / "dt=2026-11-01" / "hr=00", max(0, leads - kept))
    write_s = time.perf_counter() - t
    mb = sum(f.stat().st_size for f in (landing / "leads").rglob("*.ndjson")) / 1e6
    # exactly the environment `oie run` gives dbt: a different OIE_LANDING_DIR (read when
    # the sources are parsed) would cost the measured run a partial re-parse
    env = warehouse.dbt_env(
        {
            "OIE_DATA_DIR": str(data_dir),
            "OIE_LANDING_DIR": str(data_dir / "landing"),
            "OIE_TARGET": "local",
        }
    )
    print(f"== {leads:,} leads ({mb:.0f} MB of lead files, written in {write_s:.0f} s)")
    full_s = timed(
        warehouse.dbt_command("build", full_refresh=True, extra_args=FULL_TESTS_DBT_ARGS[1:]), env
    )
    full_nodes = lead_node_seconds(env)
    with warehouse.connect_readonly(data_dir) as con:
        (profiles,) = con.execute("select count(*) from lead_profiles").fetchone() or (0,)
    if profiles != leads:  # the import must really be in the warehouse, or nothing is measured
        raise SystemExit(f"lead_profiles has {profiles:,} rows for {leads:,} imported leads")
    print(f"  full build {full_s:.1f} s; lead-grain nodes {sum(full_nodes.values()):.1f} s")
    oie = str(Path(sys.executable).with_name("oie"))
    run_s = timed([oie, "run"], env)
    run_nodes = lead_node_seconds(env)
    print(
        f"  `oie run`, no new events {run_s:.1f} s; "
        f"lead-grain nodes {sum(run_nodes.values()):.1f} s"
    )
    shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "leads": leads,
        "lead_files_mb": round(mb),
        "full_build_s": round(full_s, 2),
        "full_lead_nodes": full_nodes,
        "scheduled_run_s": round(run_s, 2),
        "scheduled_lead_nodes": run_nodes,
    }


def write_report(results: list[dict[str, Any]]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    lines = [
        "# Lead-grain cost (DuckDB, embedded target)",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} "
        "cores), `python -m bench.leads`: the 1M-event landing data of bench/warehouse.py",
        "with N imported leads (most never clicked). Seconds of the whole dbt process, and",
        "the dbt seconds of the nodes that read every lead (summed; 2 threads).",
        "",
        "| leads | lead files | full build | lead-grain nodes | scheduled `oie run` "
        "(no new events) | lead-grain nodes |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['leads']:,} | {r['lead_files_mb']} MB | {r['full_build_s']:.1f} s "
            f"| {sum(r['full_lead_nodes'].values()):.1f} s | {r['scheduled_run_s']:.1f} s "
            f"| {sum(r['scheduled_lead_nodes'].values()):.1f} s |"
        )
    lines += ["", "Per node, scheduled run:", ""]
    for r in results:
        nodes = ", ".join(f"{k} {v}" for k, v in r["scheduled_lead_nodes"].items())
        lines.append(f"- {r['leads']:,} leads: {nodes}")
    path = RESULTS / "leads.md"
    path.write_text("\n".join(lines) + "\n")
    (RESULTS / "leads.json").write_text(json.dumps(results, indent=2) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="+", default=list(SIZES))
    parser.add_argument(
        "--root", type=Path, default=Path("/tmp/oie-bench"), help="as bench.warehouse --data-root"
    )
    args = parser.parse_args()
    results = [run(n, args.root) for n in args.leads]
    print(f"wrote {write_report(results)}")


if __name__ == "__main__":
    main()
