"""Company inference cost: network lookups per second per backend, and the full warehouse
build of 1M events with network fields against the same events without them, same run.

    .venv/bin/python -m bench.networks                       # 1M events, 2 rounds (≈ 6 min)
    .venv/bin/python -m bench.networks --events 200000 --rounds 1

Target (issue 12): the full build with network fields at most 1.1x the build without.
The ingest side (throughput with a database at least 90 % of without) is measured by
bench/ingest.py beside its other figures (bench/results/ingest.md).
Results: bench/results/networks.md.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.warehouse import EVENTS_PER_VISITOR, FULL_BUILD, history_days
from oie import warehouse
from oie.network_db import write_network_db
from oie.traffic.cast import COMPANIES
from oie.traffic.generate import generate
from oie.traffic.networks import PUBLIC_NETWORKS, demo_networks
from oie_core.iporg import RAW_FIELDS, NetworkLookup, open_backend

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "networks.md"
TARGET_BUILD_RATIO = 1.10


def company_domain(company: str) -> str:
    # as oie/traffic/cast.py makes the leads' email domains
    return company.lower().replace(" ", "") + ".example"


def bench_databases(folder: Path) -> dict[str, Path]:
    """Three database shapes over the same 65,535 company /48s of 2001:db8::/32 (a tree the
    size of a regional ISP database) plus the demo's public networks."""
    blocks = [f"2001:db8:{n:x}::/48" for n in range(0xFFFF)]
    asn = [
        (
            cidr,
            {
                "autonomous_system_number": 64500 + n % 1000,
                "autonomous_system_organization": f"AS-{n}",
            },
        )
        for n, cidr in enumerate(blocks)
    ]
    isp = [
        (
            cidr,
            {
                "autonomous_system_number": 64500 + n % 1000,
                "autonomous_system_organization": f"AS-{n}",
                "isp": "Example Transit",
                "organization": f"Company {n}",
                "connection_type": "Corporate",
            },
        )
        for n, cidr in enumerate(blocks)
    ]
    ipinfo = [
        (
            cidr,
            {
                "asn": f"AS{64500 + n % 1000}",
                "as_name": f"Company {n}",
                "as_domain": f"c{n}.example",
            },
        )
        for n, cidr in enumerate(blocks)
    ]
    return {
        "GeoLite2-ASN shape": write_network_db(
            folder / "asn.mmdb", [*asn, *PUBLIC_NETWORKS], "GeoLite2-ASN"
        ),
        "GeoIP2-ISP shape": write_network_db(
            folder / "isp.mmdb", [*isp, *PUBLIC_NETWORKS], "GeoIP2-ISP"
        ),
        "IPinfo Lite shape": write_network_db(folder / "ipinfo.mmdb", ipinfo, "ipinfo lite"),
    }


def _per_second(fn: Any, addresses: list[Any]) -> float:
    started = time.perf_counter()
    for address in addresses:
        fn(address)
    return len(addresses) / (time.perf_counter() - started)


def lookup_rates(databases: dict[str, Path], count: int) -> list[dict[str, Any]]:
    rng = random.Random(5)
    word = lambda: f"{rng.randrange(0xFFFF):x}"  # noqa: E731
    v6 = [f"2001:db8:{word()}:{word()}::{word()}" for _ in range(count)]
    octet = lambda: rng.randrange(1, 255)  # noqa: E731
    first = [8, 23, 31, 52, 81, 104, 151, 185]  # public blocks the bundled data covers
    public_v4 = [f"{rng.choice(first)}.{octet()}.{octet()}.{octet()}" for _ in range(count)]
    rows = []
    for name, path in databases.items():
        backend = open_backend(str(path))
        lookup = NetworkLookup((str(path),))
        lookup.lookup(v6[0])  # open in this process
        parsed = [ipaddress.ip_address(a) for a in v6]
        rows.append(
            {
                "backend": f"maxminddb, {name}",
                "raw_per_s": _per_second(backend.lookup, parsed),
                "uncached_per_s": _per_second(lookup.lookup, v6),  # distinct addresses: misses
                "cached_per_s": _per_second(lookup.lookup, v6[: count // 100] * 100),
            }
        )
    started = time.perf_counter()
    fast = open_backend("geoip2fast")
    load_s = time.perf_counter() - started
    sample = public_v4[: max(1000, count // 10)]
    rows.append(
        {
            "backend": f"geoip2fast (evaluation only; load {load_s:.1f} s)",
            "raw_per_s": _per_second(fast.lookup, [ipaddress.ip_address(a) for a in sample]),
            "uncached_per_s": float("nan"),
            "cached_per_s": float("nan"),
        }
    )
    return rows


def strip_network_fields(source: Path, target: Path) -> None:
    """The same landing files with every network field null: a collector without
    OIE_IP_ORG_DB, for the same traffic."""
    for path in source.rglob("*.ndjson"):
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        with path.open() as src, out.open("w") as dst:
            for line in src:
                record = json.loads(line)
                if "asn" in record:
                    record.update(dict.fromkeys(RAW_FIELDS))
                dst.write(json.dumps(record, separators=(",", ":")) + "\n")


def full_build(data_dir: Path) -> float:
    env = warehouse.dbt_env(
        {"OIE_DATA_DIR": str(data_dir), "OIE_LANDING_DIR": str(data_dir / "landing")}
    )
    (data_dir / "warehouse.duckdb").unlink(missing_ok=True)
    started = time.perf_counter()
    done = subprocess.run(
        warehouse.dbt_command("build", full_refresh=True, extra_args=FULL_BUILD),
        env=env,
        cwd=warehouse.PROJECT_DIR,
        stdout=subprocess.DEVNULL,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"dbt build failed (exit {done.returncode}) in {data_dir}")
    return seconds


def build_ratio(events: int, rounds: int, work: Path) -> dict[str, Any]:
    demo_db = write_network_db(
        work / "demo.mmdb", demo_networks((c, company_domain(c)) for c, _ in COMPANIES)
    )
    enriched, plain = work / "enriched", work / "plain"
    print(f"generating {events:,} events with network fields …", flush=True)
    stats = generate(
        enriched / "landing",
        visitors=max(1, int(events / EVENTS_PER_VISITOR)),
        days=history_days(events),
        end=time.time() - 3600,
        seed=11,
        prefix="bench",
        networks=NetworkLookup((str(demo_db),)),
    )
    strip_network_fields(enriched / "landing", plain / "landing")
    seconds: dict[str, list[float]] = {"with": [], "without": []}
    for round_ in range(rounds):
        for kind, folder in (("without", plain), ("with", enriched)):
            took = full_build(folder)
            seconds[kind].append(took)
            print(
                f"  round {round_ + 1}: full build {kind:7} network fields {took:6.1f} s",
                flush=True,
            )
    with_s, without_s = statistics.median(seconds["with"]), statistics.median(seconds["without"])
    import duckdb

    with duckdb.connect(str(enriched / "warehouse.duckdb"), read_only=True) as con:
        classes = dict(
            con.execute("select network_class, count(*) from sessions group by 1").fetchall()
        )
        (companies,) = con.execute("select count(*) from company_activity").fetchall()[0]
    return {
        "events": stats.events,
        "with_s": with_s,
        "without_s": without_s,
        "ratio": with_s / without_s,
        "rounds": seconds,
        "classes": classes,
        "companies": companies,
    }


def _each(build: dict[str, Any], kind: str) -> str:
    return ", ".join(f"{s:.1f}" for s in build["rounds"][kind])


def render(rates: list[dict[str, Any]], build: dict[str, Any], lookups: int) -> str:
    ok = build["ratio"] <= TARGET_BUILD_RATIO
    lines = [
        "# Company inference benchmark",
        "",
        f"`python -m bench.networks` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"{os.cpu_count()} cores ({platform.machine()}), load average at the end "
        f"{os.getloadavg()[0]:.2f} (the cores are shared with other work).",
        "",
        "## Lookups per second, one process",
        "",
        f"{lookups:,} random addresses. `raw`: the backend alone; `uncached`: the collector's "
        "lookup (address check, every field, LRU cache) on distinct addresses, all misses; "
        "`cached`: 1 % of them repeated, all hits.",
        "",
        "| backend | raw /s | uncached /s | cached /s |",
        "|---|---|---|---|",
    ]
    for row in rates:
        cells = [
            f"{row[k]:,.0f}" if row[k] == row[k] else "-"
            for k in ("raw_per_s", "uncached_per_s", "cached_per_s")
        ]
        lines.append(f"| {row['backend']} | {' | '.join(cells)} |")
    classes = ", ".join(f"{k} {v:,}" for k, v in sorted(build["classes"].items()))
    lines += [
        "",
        "## Full build with and without network fields",
        "",
        f"{build['events']:,} events (bench.warehouse's generator, each company on its own "
        "network: the demo's database) built with `dbt build --full-refresh` as "
        "bench.warehouse does; the same files with every network field null for the "
        f"build without. Median of {len(build['rounds']['with'])} alternating rounds.",
        "",
        "| build | seconds | rounds |",
        "|---|---|---|",
        f"| without network fields | {build['without_s']:.1f} | {_each(build, 'without')} |",
        f"| with network fields | {build['with_s']:.1f} | {_each(build, 'with')} |",
        "",
        f"- Ratio with/without: {build['ratio']:.2f}x (target ≤ {TARGET_BUILD_RATIO:.1f}x: "
        f"{'met' if ok else 'NOT met'}).",
        f"- Sessions by network class: {classes}; {build['companies']:,} companies in "
        "company_activity.",
        "- Ingest throughput with a database against without: bench/results/ingest.md.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--lookups", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="oie-bench-networks-") as tmp:
        work = Path(tmp)
        print("writing the benchmark databases …", flush=True)
        rates = lookup_rates(bench_databases(work / "dbs"), args.lookups)
        for row in rates:
            print(f"  {row['backend']}: {row['raw_per_s']:,.0f} lookups/s", flush=True)
        build = build_ratio(args.events, args.rounds, work)
        shutil.rmtree(work / "plain", ignore_errors=True)
    report = render(rates, build, args.lookups)
    print(report)
    RESULTS.write_text(report)
    print(f"wrote {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
