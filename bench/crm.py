"""Benchmark of the HubSpot CRM sync. Run: `.venv/bin/python -m bench.crm`.

1. No-change sync over 100k leads: `crm_contacts` holds 100,000 eligible leads that a first
   sync pushed to the HubSpot stand-in (127.0.0.1, its own process) through the real
   client; a second `oie crm sync` (the real entry point, in a subprocess) finds nothing to
   send. Target < 5 s for the whole command.
2. 10k changed leads: 10,000 of them change (their campaign); the sync sends exactly those,
   in batches of 100. Target: 100 requests.

Figures go to bench/results/crm.md. Numbers are this machine's, measured, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from crm_sync import runner
from oie_core.settings import Settings

REPO = Path(__file__).resolve().parents[1]
OIE = str(REPO / ".venv" / "bin" / "oie")
RESULTS = REPO / "bench" / "results" / "crm.md"
SECRET = "bench-secret-0123456789abcdef"
NO_CHANGE_TARGET_S = 5.0


def write_crm_contacts(data_dir: Path, leads: int, *, changed: int = 0) -> None:
    """`leads` eligible rows shaped as the mart makes them, generated in SQL; the first
    `changed` of them name another campaign (a new value and hash)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    try:
        con.execute(
            f"""
            create or replace table crm_contacts as
            with v as (
                select
                    'lead' || lpad(cast(i as varchar), 7, '0') || '@bench.example' as key,
                    40 + i % 60 as score,
                    case when i < {changed} then 'bench-changed' else 'bench' end as campaign
                from range({leads}) as r(i)
            ),
            valued as (
                select
                    key,
                    '{{"oie_intent_score":"' || cast(score as varchar)
                    || '","oie_engagement_level":"'
                    || case when score >= 80 then 'burning' when score >= 60 then 'hot'
                            else 'warm' end
                    || '","oie_score_components":"recency 30, frequency 8, engagement 12.5, '
                    || 'high intent 16, conversions 10","oie_pages_seen":"/pricing, /features'
                    || '","oie_campaign":"' || campaign
                    || '","oie_last_visit_at":"2026-11-30T10:00:00.000Z"}}' as value
                from v
            )
            select key, value, md5(value) as "hash", 'eligible' as crm_status from valued
            """
        )
    finally:
        con.close()


def env_for(data_dir: Path, base_url: str, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OIE_")}
    env.update(
        {
            "OIE_DATA_DIR": str(data_dir),
            "OIE_TOKEN_SECRET": SECRET,
            "OIE_HUBSPOT_TOKEN": token,
            "OIE_HUBSPOT_BASE_URL": base_url,
            "NO_COLOR": "1",
        }
    )
    return env


def timed_cli(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [OIE, *args], env=env, capture_output=True, text=True, check=False, cwd=REPO
    )
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"oie {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return took, done.stdout.strip()


# The stand-in in a process of its own, as HubSpot is: in this one it would share the
# interpreter lock with the sync. It prints its address, then counts the batch upserts it
# answered when asked (a line on stdin), until stdin closes.
STANDIN = """
import sys
from tests.python.helpers.hubspot_standin import start_hubspot_standin
with start_hubspot_standin() as hs:
    print(hs.base_url, hs.token, flush=True)
    for _ in sys.stdin:
        print(len(hs.upserts()), sum(map(len, hs.upserts())), flush=True)
        hs.forget_calls()
"""


class Standin:
    def __init__(self, proc: subprocess.Popen[str], base_url: str, token: str) -> None:
        self._proc = proc
        self.base_url = base_url
        self.token = token

    def upserts(self) -> tuple[int, int]:
        """(batch upserts, inputs) answered since the last call."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write("count\n")
        self._proc.stdin.flush()
        requests, inputs = self._proc.stdout.readline().split()
        return int(requests), int(inputs)


@contextlib.contextmanager
def standin_process() -> Iterator[Standin]:
    proc = subprocess.Popen(
        [sys.executable, "-c", STANDIN],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base_url, token = proc.stdout.readline().split()
        yield Standin(proc, base_url, token)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(30)


def measure(leads: int, changed: int, work: Path) -> dict[str, Any]:
    data_dir = work / "crm"
    write_crm_contacts(data_dir, leads)
    with standin_process() as hs:
        env = env_for(data_dir, hs.base_url, hs.token)
        settings = Settings.from_env(env)
        runner.setup(settings)
        hs.upserts()  # reset the count

        started = time.perf_counter()
        first = runner.run(settings)
        first_s = time.perf_counter() - started
        first_requests, _ = hs.upserts()
        if first.new != leads or first.failed:
            raise SystemExit(f"the first sync did not push every lead: {first.summary()}")

        no_change_s, no_change_out = timed_cli(["crm", "sync"], env)
        started = time.perf_counter()
        again = runner.run(settings)  # the same diff in this process, without start-up
        in_process_s = time.perf_counter() - started
        if again.pushed or hs.upserts() != (0, 0):
            raise SystemExit(f"a no-change sync sent something: {again.summary()}")

        write_crm_contacts(data_dir, leads, changed=changed)
        started = time.perf_counter()
        report = runner.run(settings)
        changed_s = time.perf_counter() - started
        requests, inputs = hs.upserts()
        if report.changed != changed or inputs != changed or report.failed:
            raise SystemExit(f"expected {changed} changed leads: {report.summary()}")
    return {
        "leads": leads,
        "first_s": first_s,
        "first_requests": first_requests,
        "no_change_cli_s": no_change_s,
        "no_change_summary": no_change_out.splitlines()[-1] if no_change_out else "",
        "no_change_in_process_s": in_process_s,
        "changed": changed,
        "changed_s": changed_s,
        "changed_requests": requests,
        "changed_summary": report.summary(),
    }


def report_md(results: dict[str, Any]) -> str:
    r = results["crm"]
    target_requests = -(-r["changed"] // 100)
    lines = [
        "# CRM sync benchmark (HubSpot)",
        "",
        f"Measured {results['when']} on {results['machine']} by `.venv/bin/python -m bench.crm`,",
        "against the HubSpot stand-in (tests/python/helpers/hubspot_standin.py) in its own",
        "process on 127.0.0.1, through the real `hubspot-api-client`.",
        "",
        "| What | Measured | Target |",
        "|---|---|---|",
        f"| No-change `oie crm sync` over {r['leads']:,} leads (whole command) "
        f"| {r['no_change_cli_s']:.1f} s | < {NO_CHANGE_TARGET_S:.0f} s |",
        f"| ... the same diff in process (no interpreter start-up) "
        f"| {r['no_change_in_process_s']:.2f} s | |",
        f"| {r['changed']:,} changed leads: batch upserts sent | {r['changed_requests']} "
        f"| {target_requests} |",
        f"| ... their sync, in process | {r['changed_s']:.1f} s "
        f"({r['changed'] / r['changed_s']:,.0f} contacts/s) | |",
        f"| First sync of the {r['leads']:,} leads ({r['first_requests']:,} requests) "
        f"| {r['first_s']:.1f} s | |",
        "",
        f"No-change summary: `{r['no_change_summary']}`",
        "",
        f"Changed summary: `{r['changed_summary']}`",
        "",
        "The no-change figure is one SQL diff of crm_contacts against crm_sync_state in",
        "DuckDB: unchanged leads never reach Python. Most of the changed leads' time is the",
        "client parsing the timestamps of each answer's 100 results (dateutil, ~85 % in a",
        "profile), which the sync does not read. Against real HubSpot its rate limits set",
        "the pace instead (100 or 190 requests per 10 s for a private app, by plan): the",
        "100 requests take 5 to 10 s there whatever the client does.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--leads", type=int, default=100_000, help="leads in the no-change sync")
    parser.add_argument("--changed", type=int, default=10_000, help="leads that change")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not 0 < args.changed <= args.leads:
        parser.error("--changed must be between 1 and --leads")
    with tempfile.TemporaryDirectory(prefix="oie-bench-crm-") as tmp:
        results = {
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}",
            "crm": measure(args.leads, args.changed, Path(tmp)),
        }
    text = report_md(results)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"-> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
