"""Benchmark of the `oie` command line (issue 5). Run: `.venv/bin/python -m bench.cli`.

1. `oie campaign create` for 100k and 1M leads: wall time and peak RSS of the command.
2. `oie simulate` for 10k visitors over 7 days, then `oie run` (first build) and a second
   `oie run` with nothing new.
3. Freshness: a cold lead clicks through `/go` and reads three pages on the running local
   server; `oie run` starts as soon as the server has sealed the landing file; we time from
   the click until `lead_profiles` shows the lead's new level. Target < 60 s.

Everything goes through the real entry point (.venv/bin/oie) in subprocesses, in a
temporary OIE_DATA_DIR; only 127.0.0.1 is used. Figures go to bench/results/cli.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from oie.stack import running_stack
from oie.traffic.http_sender import HttpSender
from oie.traffic.model import Click, SimLead, SimStats
from oie.traffic.scripted import PageSpec, scripted_visit

REPO = Path(__file__).resolve().parents[1]
OIE = os.environ.get("OIE_BENCH_BIN", str(REPO / ".venv" / "bin" / "oie")).split()
RESULTS = REPO / "bench" / "results" / "cli.md"
SECRET = "bench-secret-0123456789abcdef"
SITE = "http://127.0.0.1:5173"
UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
MEASURE = (
    "import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
    "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
    "sys.exit(rc)"
)


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OIE_")}
    env.update(
        {
            "OIE_DATA_DIR": str(data_dir),
            "OIE_TOKEN_SECRET": SECRET,
            "COLUMNS": "160",
            "NO_COLOR": "1",
            **extra,
        }
    )
    return env


def oie(env: dict[str, str], *args: str, cwd: Path, measure: bool = False) -> tuple[float, int]:
    """Run one command; (seconds, peak RSS in KB, or 0 when not measured)."""
    prefix = [sys.executable, "-c", MEASURE] if measure else []
    started = time.monotonic()
    proc = subprocess.run([*prefix, *OIE, *args], cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(
            f"oie {' '.join(args)} failed ({proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    peak = 0
    for line in proc.stdout.splitlines():
        if line.startswith("PEAK_RSS_KB"):
            peak = int(line.split()[1])
    return seconds, peak


def write_leads(path: Path, n: int) -> None:
    companies = ["Acme", "Globex", "Initech", "Hooli", "Umbrella", "Stark", "Wayne", "Tyrell"]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "Email",
                "First Name",
                "Last Name",
                "Company Name",
                "Job Title",
                "Industry",
                "LinkedIn URL",
            ]
        )
        for i in range(n):
            co = companies[i % len(companies)]
            w.writerow(
                [
                    f"person{i}@{co.lower()}{i % 1000}.example",
                    f"First{i}",
                    f"Last{i}",
                    f"{co} {i % 1000}",
                    "VP Sales",
                    "SaaS",
                    f"https://linkedin.example/{i}",
                ]
            )


def bench_campaigns(work: Path, sizes: list[int]) -> list[dict[str, float]]:
    rows = []
    for n in sizes:
        data = work / f"campaign-{n}"
        csv_path = work / f"leads-{n}.csv"
        write_leads(csv_path, n)
        env = env_for(data)
        create = (
            "campaign",
            "create",
            str(csv_path),
            "--campaign",
            f"bench {n}",
            "--landing-url",
            "https://acme.example/pricing",
        )
        seconds, peak = oie(env, *create, cwd=work, measure=True)
        again, _ = oie(env, *create, cwd=work)  # the re-import: must add nothing
        size_mb = csv_path.stat().st_size / 1e6
        rows.append(
            {
                "leads": n,
                "csv_mb": size_mb,
                "seconds": seconds,
                "rows_per_s": n / seconds,
                "peak_rss_mb": peak / 1024,
                "reimport_s": again,
            }
        )
        print(
            f"campaign create {n:>9,} leads ({size_mb:.0f} MB): {seconds:6.1f} s, "
            f"{n / seconds:,.0f} rows/s, peak RSS {peak / 1024:.0f} MB; re-import {again:.1f} s"
        )
        csv_path.unlink()
    return rows


def query(data_dir: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def bench_simulate_run(work: Path, visitors: int, days: int) -> tuple[dict[str, float], Path]:
    data = work / "simulate"
    env = env_for(data)
    write_leads(work / "sim-leads.csv", visitors)
    oie(
        env,
        "campaign",
        "create",
        str(work / "sim-leads.csv"),
        "--campaign",
        "bench sim",
        "--landing-url",
        "http://127.0.0.1/",
        cwd=work,
    )
    sim_s, _ = oie(
        env,
        "simulate",
        "--visitors",
        str(visitors),
        "--days",
        str(days),
        "--seed",
        "1",
        "--start-server",
        "--site",
        SITE,
        cwd=work,
    )
    events = sum(
        len(p.read_bytes().splitlines())
        for p in (data / "landing" / "events").glob("dt=*/hr=*/*.ndjson")
    )
    run1, _ = oie(env, "run", cwd=work)
    run2, _ = oie(env, "run", cwd=work)
    levels = dict(query(data, "select engagement_level, count(*) from lead_profiles group by 1"))
    result = {
        "visitors": visitors,
        "days": days,
        "events": events,
        "simulate_s": sim_s,
        "run_first_s": run1,
        "run_again_s": run2,
        **{f"level_{k}": v for k, v in levels.items()},
    }
    print(
        f"simulate {visitors:,} visitors / {days} days: {events:,} events in {sim_s:.1f} s; "
        f"oie run {run1:.1f} s (first), {run2:.1f} s (nothing new); levels {levels}"
    )
    return result, data


def bench_freshness(work: Path, data: Path) -> dict[str, float]:
    """Click -> new level in lead_profiles, with `oie run` started once the file is sealed."""
    env = env_for(data)
    cold = query(
        data,
        "select email, token from lead_profiles where total_sessions = 0 "
        "and email_clicks = 0 order by lead_id limit 1",
    )
    email, token = cold[0]
    lead = SimLead(email, token, "bench-sim")
    pages = [
        PageSpec("/", 30, 25, 50),
        PageSpec("/pricing.html", 90, 80, 100),
        PageSpec("/case-studies/acme.html", 80, 70, 90),
        PageSpec("/product.html", 60, 50, 75),
    ]
    with running_stack(
        site_port=None,
        log_path=data / "bench-server.log",
        env={**env, "OIE_REDIRECT_HOSTS": "127.0.0.1"},
    ) as stack:
        t0 = time.monotonic()
        stats = SimStats()
        sender = HttpSender(stack.collector, SITE, stats)
        sender.go(Click(time.time(), token, "/pricing.html", UA, "198.51.100.9"))
        for batch in scripted_visit(
            lead, pages, end=time.time(), site=SITE, visitor_id="bench-fresh-visitor", user_agent=UA
        ):
            sender.track(batch)
        sent = time.monotonic() - t0
        landing = data / "landing" / "events"
        while list(landing.glob("dt=*/hr=*/*.ndjson.open")):
            time.sleep(0.05)
        sealed = time.monotonic() - t0
        run_s, _ = oie(env, "run", cwd=work)
        level = query(
            data,
            "select engagement_level, intent_score from lead_profiles where email = ?",
            [email],
        )
        total = time.monotonic() - t0
    print(
        f"freshness: click -> {level[0][0]} ({level[0][1]}) in lead_profiles in {total:.1f} s "
        f"(sent {sent:.1f} s, sealed at {sealed:.1f} s, oie run {run_s:.1f} s)"
    )
    return {
        "sent_s": sent,
        "sealed_s": sealed,
        "run_s": run_s,
        "total_s": total,
        "level": level[0][0],
        "score": level[0][1],
    }


def bench_demo(work: Path) -> float:
    """`oie demo` from nothing (its own folder under a fresh OIE_DATA_DIR). Target < 60 s."""
    seconds, _ = oie(env_for(work / "demo-home"), "demo", cwd=work)
    print(f"oie demo: {seconds:.1f} s")
    return seconds


def write_results(
    campaigns: list[dict], sim: dict, fresh: dict, demo_s: float | None, started: float
) -> None:
    load = os.getloadavg()
    lines = [
        "# `oie` command line benchmark (issue 5)",
        "",
        f"Run `{' '.join(['.venv/bin/python', '-m', 'bench.cli'])}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}: {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average {load[0]:.1f} at the end (the "
        "machine is shared with other engineers' tests: treat times as upper bounds).",
        "",
        "## campaign create (Smartlead-style CSV, 7 columns, all valid)",
        "",
        "| leads | CSV | time | rows/s | peak RSS | re-import (no change) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in campaigns:
        lines.append(
            f"| {r['leads']:,} | {r['csv_mb']:.0f} MB | {r['seconds']:.1f} s | "
            f"{r['rows_per_s']:,.0f} | {r['peak_rss_mb']:.0f} MB | "
            f"{r['reimport_s']:.1f} s |"
        )
    lines += [
        "",
        "Target: 100k leads in seconds; 10M in bounded memory. The file is streamed in "
        "20k-row chunks and every per-lead fact (emails seen in this import, minted tokens) "
        "lives in the SQLite token registry (64 MB page cache), not in Python sets, so peak "
        "memory is bounded: what grows from 100k to 1M is SQLite's page cache filling up to "
        "its cap. Token "
        "minting (two HMAC-SHA256 per lead in oie_core/tokens.py) is about a third of the time.",
        "",
        "## simulate + run",
        "",
        f"`oie simulate --visitors {sim['visitors']:,} --days {sim['days']} --start-server`: "
        f"{sim['events']:,} events landed in {sim['simulate_s']:.1f} s (today through HTTP, "
        "earlier days in-process with the simulated clock).",
        f"`oie run`: {sim['run_first_s']:.1f} s for the first build, "
        f"{sim['run_again_s']:.1f} s for a run with nothing new (dbt start-up included).",
        "Levels: "
        + ", ".join(
            f"{k.removeprefix('level_')} {v}" for k, v in sim.items() if k.startswith("level_")
        )
        + ".",
        "",
        "## freshness (target < 60 s)",
        "",
        f"From the `/go` click to `lead_profiles` showing the lead as **{fresh['level']}** "
        f"({fresh['score']}): **{fresh['total_s']:.1f} s** — journey sent after "
        f"{fresh['sent_s']:.1f} s, landing file sealed by the server at {fresh['sealed_s']:.1f} s "
        f"(`oie serve`'s local OIE_LANDING_MAX_AGE=5s), `oie run` {fresh['run_s']:.1f} s "
        f"(incremental build on the {sim['visitors']:,}-visitor warehouse above).",
        "With the production default OIE_LANDING_MAX_AGE=5m the wait for the seal dominates: "
        "freshness is then up to 5 minutes plus one `oie run`.",
        "",
        "## oie demo (target < 60 s after install)",
        "",
        (
            f"`oie demo` from an empty data folder (campaign from the bundled list, collector and "
            f"example site started, 250 visitors over 7 days simulated through them, `oie run`, "
            f"tables printed): **{demo_s:.1f} s**."
            if demo_s is not None
            else "not run"
        ),
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print(f"wrote {RESULTS}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="campaign sizes")
    parser.add_argument("--visitors", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--no-demo", action="store_true", help="skip timing `oie demo`")
    args = parser.parse_args()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="oie-bench-cli-") as tmp:
        work = Path(tmp)
        campaigns = bench_campaigns(work, [int(s) for s in args.sizes.split(",")])
        sim, data = bench_simulate_run(work, args.visitors, args.days)
        fresh = bench_freshness(work, data)
        demo_s = None if args.no_demo else bench_demo(work)
    write_results(campaigns, sim, fresh, demo_s, started)
    print(
        json.dumps(
            {"campaigns": campaigns, "simulate_run": sim, "freshness": fresh, "demo_s": demo_s}
        )
    )


if __name__ == "__main__":
    main()
