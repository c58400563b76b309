"""Benchmark of the KV sync and the edge Worker (issue 15). Run: `.venv/bin/python -m bench.kv`.

1. No-change sync over 1M keys: `edge_profiles` holds 1,000,000 keys that a first sync
   pushed to kv.sqlite; a second `oie sync` (the real entry point, in a subprocess) finds
   nothing to send. Target < 10 s for the whole command.
2. 100k changed keys to the Cloudflare v4 stand-in (127.0.0.1) through the real SDK, beside
   a bare httpx loop that PUTs the same bodies to the same stand-in in the same run.
   Target: the sync at >= 50 % of the bare loop's rate.
3. The Worker's /personalize under Miniflare (informational): p50/p99 of sequential GETs.

Figures go to bench/results/kv.md. Numbers are this machine's, measured, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
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
import httpx

from kv_sync import runner
from kv_sync.clock import SystemClock
from kv_sync.cloudflare import CloudflareKV
from kv_sync.store import MAX_BATCH_KEYS
from oie_core.settings import Settings

REPO = Path(__file__).resolve().parents[1]
OIE = str(REPO / ".venv" / "bin" / "oie")
RESULTS = REPO / "bench" / "results" / "kv.md"
SECRET = "bench-secret-0123456789abcdef"
TTL_S = 90 * 86400


def write_edge_profiles(data_dir: Path, keys: int, *, version: str = "a") -> None:
    """`keys` rows shaped as the model makes them (half visitor keys, half token keys),
    generated in SQL so a million rows take a second; `version` changes every value."""
    data_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    try:
        con.execute(
            f"""
            create or replace table edge_profiles as
            with v as (
                select
                    case when i % 2 = 0 then 'v:visitor-' || lpad(cast(i // 2 as varchar), 9, '0')
                         else 't:Tk' || lpad(cast(i // 2 as varchar), 9, '0') end as key,
                    '{{"first_name":"Lead' || cast(i // 2 as varchar)
                        || '","company":"Company ' || cast(i // 2 as varchar)
                        || '","engagement_level":"warm","campaign_id":"bench-{version}"}}'
                        as value
                from range({keys}) as r(i)
            )
            select key, value, md5(value) as "hash" from v
            """
        )
    finally:
        con.close()


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OIE_", "CLOUDFLARE_"))}
    env.update({"OIE_DATA_DIR": str(data_dir), "OIE_TOKEN_SECRET": SECRET, "NO_COLOR": "1"})
    env.update(extra)
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


def no_change(keys: int, work: Path) -> dict[str, Any]:
    data_dir = work / "nochange"
    write_edge_profiles(data_dir, keys)
    env = env_for(data_dir, OIE_KV="local")
    first_s, first_out = timed_cli(["sync"], env)
    again_s, again_out = timed_cli(["sync"], env)
    # The same diff in this process, without the interpreter's start-up.
    started = time.perf_counter()
    report = runner.run(Settings.from_env(env))
    in_process_s = time.perf_counter() - started
    if report.pushed or report.deleted:
        raise SystemExit(f"a no-change sync sent something: {report.summary()}")
    return {
        "keys": keys,
        "first_sync_s": first_s,
        "first_summary": first_out.splitlines()[-1] if first_out else "",
        "no_change_cli_s": again_s,
        "no_change_summary": again_out.splitlines()[-1] if again_out else "",
        "no_change_in_process_s": in_process_s,
    }


def bodies_for(data_dir: Path) -> list[bytes]:
    """The bulk_update bodies a sync of this edge_profiles sends: MAX_BATCH_KEYS pairs each,
    with the TTL and the metadata the sync writes."""
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute('select key, value, "hash" from edge_profiles order by key').fetchall()
    finally:
        con.close()
    return [
        json.dumps(
            [
                {"key": k, "value": v, "expiration_ttl": TTL_S, "metadata": {"h": h}}
                for k, v, h in rows[start : start + MAX_BATCH_KEYS]
            ]
        ).encode()
        for start in range(0, len(rows), MAX_BATCH_KEYS)
    ]


def bare_loop(
    base_url: str, token: str, account: str, namespace: str, bodies: list[bytes]
) -> float:
    url = f"{base_url}/accounts/{account}/storage/kv/namespaces/{namespace}/bulk"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    started = time.perf_counter()
    with httpx.Client(timeout=120) as client:
        for body in bodies:
            client.put(url, content=body, headers=headers).raise_for_status()
    return time.perf_counter() - started


# The stand-in in a process of its own, as Cloudflare is: in this one it would share the
# interpreter lock with the sync and turn any overlap of network and work into a queue.
STANDIN = """
import sys, time
from tests.python.helpers.cf_standin import start_cf_standin
with start_cf_standin() as cf:
    print(cf.base_url, cf.token, cf.account, cf.namespace, flush=True)
    sys.stdin.read()
"""


@contextlib.contextmanager
def standin_process() -> Iterator[tuple[str, str, str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", STANDIN],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base_url, token, account, namespace = proc.stdout.readline().split()
        yield base_url, token, account, namespace
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(30)


def changed(keys: int, work: Path, rounds: int) -> dict[str, Any]:
    data_dir = work / "changed"
    write_edge_profiles(data_dir, keys, version="0")
    with standin_process() as (base_url, token, account, namespace):
        env = env_for(
            data_dir,
            OIE_KV="cloudflare",
            CLOUDFLARE_API_TOKEN=token,
            CLOUDFLARE_ACCOUNT_ID=account,
            OIE_KV_NAMESPACE_ID=namespace,
            CLOUDFLARE_BASE_URL=base_url,
        )
        settings = Settings.from_env(env)
        sync_s: list[float] = []
        bare_s: list[float] = []
        requests = 0
        runner.run(settings)  # every key new: the state now knows them all
        for n in range(1, rounds + 1):
            write_edge_profiles(data_dir, keys, version=str(n))  # every value changes
            bodies = bodies_for(data_dir)
            bare_s.append(bare_loop(base_url, token, account, namespace, bodies))
            store = CloudflareKV(
                api_token=token,
                account_id=account,
                namespace_id=namespace,
                base_url=base_url,
                clock=SystemClock(),
            )
            started = time.perf_counter()
            report = runner.run(settings, store=store)
            sync_s.append(time.perf_counter() - started)
            if report.changed != keys or report.failed:
                raise SystemExit(f"expected {keys} changed keys: {report.summary()}")
            requests = report.write_requests
    best_sync, best_bare = min(sync_s), min(bare_s)
    return {
        "keys": keys,
        "requests": requests,
        "rounds": rounds,
        "sync_s": best_sync,
        "bare_s": best_bare,
        "sync_keys_per_s": keys / best_sync,
        "bare_keys_per_s": keys / best_bare,
        "ratio": best_bare / best_sync,
    }


def worker_latency(requests: int, work: Path) -> dict[str, Any] | None:
    """/personalize under Miniflare: keys written by the real sync through the harness's v4
    API Worker, then GETs timed from Node (pixel/worker/test/harness.mjs `measure`), one at
    a time and 8 in flight."""
    if requests <= 0:
        return None
    from tests.python.worker.support import HARNESS, PIXEL, node, start_edge

    data_dir = work / "worker"
    rows = {
        f"v:visitor-{i:06d}": f'{{"first_name":"Lead{i}","engagement_level":"hot"}}'
        for i in range(100)
    }
    rows.update({f"t:Tk{i:09d}": v for i, v in enumerate(rows.values())})
    data_dir.mkdir(parents=True)
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    try:
        con.execute('create table edge_profiles (key varchar, value varchar, "hash" varchar)')
        con.executemany(
            "insert into edge_profiles values (?, ?, md5(?))", [(k, v, v) for k, v in rows.items()]
        )
    finally:
        con.close()
    figures: dict[str, Any] = {}
    with start_edge("", work / "worker-logs") as edge:
        runner.run(Settings.from_env(edge.sync_env(data_dir)))
        urls = [f"{edge.worker}/personalize?vid=visitor-{i:06d}" for i in range(100)]
        urls += [
            f"{edge.worker}/personalize?vid=first-visit-{i:04d}&i=Tk{i:09d}" for i in range(100)
        ]
        for concurrency in (1, 8):
            script = (
                f"import {{ measure }} from {json.dumps(HARNESS.as_uri())};\n"
                f"const s = await measure({json.dumps(urls)}, "
                f"{{ requests: {requests}, concurrency: {concurrency}, warmup: 100 }});\n"
                "console.log(JSON.stringify(s));"
            )
            done = subprocess.run(
                [node(), "--input-type=module", "-e", script],
                cwd=PIXEL,
                capture_output=True,
                text=True,
                check=False,
                timeout=600,
            )
            if done.returncode != 0:
                raise SystemExit(f"measuring the Worker failed: {done.stderr}")
            stats = json.loads(done.stdout.strip().splitlines()[-1])
            if set(stats["statuses"]) != {"200"}:
                raise SystemExit(f"/personalize answered {stats['statuses']}")
            figures[f"c{concurrency}"] = stats
    return {"requests": requests, **figures}


def report_md(results: dict[str, Any]) -> str:
    nc, ch, wk = results["no_change"], results["changed"], results["worker"]
    lines = [
        "# KV sync and edge Worker benchmark",
        "",
        f"Measured {results['when']} on {results['machine']} by `.venv/bin/python -m bench.kv`.",
        "",
        "| What | Measured | Target |",
        "|---|---|---|",
        f"| No-change `oie sync` over {nc['keys']:,} keys (whole command) "
        f"| {nc['no_change_cli_s']:.1f} s | < 10 s |",
        f"| ... the same diff in process (no interpreter start-up) "
        f"| {nc['no_change_in_process_s']:.1f} s | |",
        f"| First sync of those {nc['keys']:,} keys to kv.sqlite | {nc['first_sync_s']:.1f} s | |",
        f"| {ch['keys']:,} changed keys to the Cloudflare stand-in through the SDK "
        f"({ch['requests']} requests) | {ch['sync_s']:.2f} s ({ch['sync_keys_per_s']:,.0f} keys/s) "
        "| |",
        f"| The same bodies from a bare httpx loop | {ch['bare_s']:.2f} s "
        f"({ch['bare_keys_per_s']:,.0f} keys/s) | |",
        f"| Sync rate / bare loop rate (best of {ch['rounds']}) | {ch['ratio']:.0%} | >= 50 % |",
    ]
    if wk is None:
        lines.append("| Worker /personalize under Miniflare | not measured (no harness) | |")
    else:
        for key, label in (("c1", "one at a time"), ("c8", "8 in flight")):
            st = wk[key]
            lines.append(
                f"| Worker /personalize under Miniflare, {st['requests']:,} GETs {label} "
                f"(half `v:` hits, half `t:` after a `v:` miss): p50 / p99 "
                f"| {st['p50_ms']:.2f} / {st['p99_ms']:.2f} ms ({st['rps']:,.0f} req/s) "
                "| (informational) |"
            )
    lines += [
        "",
        f"No-change summary: `{nc['no_change_summary']}`",
        "",
        "The no-change figure is one SQL diff of edge_profiles against kv_sync_state in",
        "DuckDB: unchanged keys never reach Python. The Miniflare latency is timed by Node's",
        "fetch over local HTTP; production latency is Cloudflare's edge plus KV's",
        "cache (cacheTtl 60 s).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--keys", type=int, default=1_000_000, help="keys in the no-change sync")
    parser.add_argument("--changed", type=int, default=100_000, help="changed keys to push")
    parser.add_argument("--rounds", type=int, default=3, help="changed-key rounds (best kept)")
    parser.add_argument("--worker-requests", type=int, default=2000, help="0: skip the Worker")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="oie-bench-kv-") as tmp:
        work = Path(tmp)
        results = {
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}",
            "no_change": no_change(args.keys, work),
            "changed": changed(args.changed, work, args.rounds),
            "worker": worker_latency(args.worker_requests, work),
        }
    text = report_md(results)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"-> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
