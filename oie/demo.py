"""`oie demo`: the README's first command, as plain functions.

Default: the whole product live, in under a minute and with no account: a campaign from
the bundled lead list, the real collector and example site, simulated traffic through
them, `oie run`, then the hot leads and the campaign's performance.
`--sample`: the offline variant, the bundled raw sample built straight into the warehouse
(no server).

Every part gets the demo folder explicitly (a Settings object, or an environment for the
processes it starts); the caller's environment is never changed.
"""

from __future__ import annotations

import csv
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from rich.console import Console
from rich.table import Table

from oie import sample, warehouse
from oie.campaign import create_campaign
from oie.errors import EXIT_FAILED, UserError
from oie.leads import show_leads
from oie.network_db import write_network_db
from oie.report.build import write_report
from oie.run import SCHEDULED_DBT_ARGS, SCHEDULED_DBT_COMMAND, RunOptions, execute
from oie.simulate import simulate
from oie.stack import running_stack
from oie.traffic.networks import demo_networks, email_domain
from oie_core.settings import Settings, SettingsError

# Piped output (CI logs, `| less`) gets a fixed, roomy width instead of rich's 80 columns.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)

SAMPLE_LEADS = Path(__file__).resolve().parent / "samples" / "demo-leads.csv"
DEMO_CAMPAIGN = "Demo: Q4 outreach"
# The demo's own network database (no licence needed): see oie/traffic/networks.py.
DEMO_NETWORKS = "demo-networks.mmdb"


def _table(title: str, first: str, *numbers: str) -> Table:
    """A result table: a text column, then right-aligned figures."""
    table = Table(title=title, title_justify="left")
    table.add_column(first, justify="left")
    for name in numbers:
        table.add_column(name, justify="right")
    return table


def campaign_table(data_dir: Path) -> Table:
    table = _table(
        "Campaign performance",
        "Campaign",
        *("Leads", "Clicked", "Scanner clicks", "Visited", "Sessions", "Hot+"),
        *("Form conv.", "Avg score"),
    )
    with warehouse.connect_readonly(data_dir) as con:
        rows = con.execute(
            "select campaign_name, leads, leads_clicked, scanner_clicks, leads_visited, "
            "sessions, hot_leads, form_conversion_rate, avg_intent_score "
            "from campaign_performance order by hot_leads desc, campaign_name"
        ).fetchall()
    for name, leads, clicked, scanners, visited, sessions, hot, conv, avg in rows:
        table.add_row(
            name,
            str(leads),
            str(clicked),
            str(scanners),
            str(visited),
            str(sessions),
            str(hot),
            f"{(conv or 0) * 100:.0f}%",
            f"{avg:.1f}",
        )
    return table


def company_table(data_dir: Path, limit: int = 8) -> Table:
    """The companies reading the site (company_activity), busiest first."""
    table = _table(
        "Companies reading the site (from their networks)",
        "Company network",
        *("Matched leads", "Leads seen", "Anonymous visitors", "Sessions", "Pricing views"),
    )
    with warehouse.connect_readonly(data_dir) as con:
        rows = con.execute(
            "select org, matched_leads, known_leads_seen, anonymous_visitors, sessions, "
            "pricing_views from company_activity "
            "order by sessions desc, pricing_views desc, org limit ?",
            [limit],
        ).fetchall()
    for row in rows:
        table.add_row(*(str(v) for v in row))
    return table


def write_demo_networks(data_dir: Path, leads_csv: Path = SAMPLE_LEADS) -> Path:
    """The network database of the demo's companies (`Company Name`, `Email` of the
    bundled lead list) and of the public networks the other simulated visitors use."""
    with leads_csv.open(newline="", encoding="utf-8") as f:
        companies = [
            (row["Company Name"], email_domain(row["Email"]))
            for row in csv.DictReader(f)
            if row.get("Company Name") and "@" in (row.get("Email") or "")
        ]
    return write_network_db(data_dir / DEMO_NETWORKS, demo_networks(companies))


def _report(data_dir: Path) -> Path:
    """The demo's last step: the intent report of the demo warehouse (`oie report`)."""
    with console.status("Writing the intent report (oie report)…"):
        path, _ = write_report(data_dir / "report.html", data_dir=data_dir)
    console.print(f"[green]✓[/] intent report: [bold]{path}[/] (open it in a browser)")
    return path


def run_sample_demo(data_dir: Path) -> float:
    """Sample -> landing files -> dbt build -> hot leads and campaigns; returns seconds."""
    started = time.monotonic()
    sample.reset_dir(data_dir)
    with console.status("Landing the bundled sample (shifted to today)…"):
        counts = sample.load_sample(data_dir / "landing")
    console.print(
        f"[green]✓[/] landed {counts.get('events', 0):,} events and "
        f"{counts.get('leads', 0):,} leads in {data_dir / 'landing'}"
    )
    # built as `oie run` (and the other demo) builds: dbt's unit tests check the SQL, not
    # the sample, and run in CI
    with console.status("Building the warehouse (dbt build on DuckDB)…"):
        rc = warehouse.dbt_build(
            env={"OIE_DATA_DIR": str(data_dir)}, quiet=True, extra_args=SCHEDULED_DBT_ARGS[1:]
        )
    if rc != 0:
        raise UserError(
            f"dbt build failed (exit {rc}); rerun it to see why: "
            f"OIE_DATA_DIR={data_dir} {SCHEDULED_DBT_COMMAND}",
            exit_code=1,
        )
    console.print(f"[green]✓[/] built {data_dir / 'warehouse.duckdb'}")
    show_leads(data_dir, None, None, 15)
    console.print(campaign_table(data_dir))
    _report(data_dir)
    elapsed = time.monotonic() - started
    console.print(
        f"Done in {elapsed:.1f} s. Explore: "
        f"[bold]OIE_DATA_DIR={data_dir} .venv/bin/oie leads --level hot[/]"
    )
    return elapsed


def demo_env(data_dir: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of everything the demo starts: the caller's, with every OIE_* path
    pointed at the demo folder. Production settings (BigQuery, dead letters, fault
    injection) never apply to the demo. The caller's own environment is left untouched."""
    env = dict(os.environ if base is None else base)
    env["OIE_DATA_DIR"] = str(data_dir)
    env["OIE_LANDING_DIR"] = str(data_dir / "landing")
    for name in (
        "OIE_REDIRECT_HOSTS",
        "OIE_TARGET",
        "OIE_SINK",
        "OIE_DEAD_LETTER",
        "OIE_FAULT",
    ):
        env.pop(name, None)
    # The KV sync step fills the demo folder's kv.sqlite: never the caller's Workers KV,
    # which a CLOUDFLARE_API_TOKEN in the environment would otherwise choose.
    env["OIE_KV"] = "local"
    # Its visitors' networks come from its own database, their addresses from the
    # simulator's CF-Connecting-IP header (the collector trusts it as if behind Cloudflare).
    env["OIE_TRUSTED_PROXY"] = "cloudflare"
    env["OIE_IP_ORG_DB"] = str(data_dir / DEMO_NETWORKS)
    # Nor does it page anyone or write to a CRM: the caller's alert destinations and
    # HubSpot account never apply to the demo (its made-up leads would become contacts).
    for name in (
        "OIE_ALERT_SLACK_WEBHOOK_URL",
        "OIE_ALERT_WEBHOOK_URL",
        "OIE_ALERT_WEBHOOK_SECRET",
        "OIE_HUBSPOT_TOKEN",
        "OIE_HUBSPOT_BASE_URL",
    ):
        env.pop(name, None)
    return env


def _step(index: int, title: str) -> float:
    console.print(f"[bold][{index}/5][/] {title}")
    return time.monotonic()


def _done(started: float, detail: str = "") -> None:
    console.print(f"      [green]✓[/] {time.monotonic() - started:.1f} s {detail}".rstrip())


def run_live_demo(data_dir: Path, visitors: int, days: int, seed: int) -> float:
    """Bundled lead list -> real collector -> simulated traffic -> oie run -> tables."""
    began = time.monotonic()
    sample.reset_dir(data_dir)
    write_demo_networks(data_dir)
    env = demo_env(data_dir)
    try:
        settings = Settings.from_env(env)
    except SettingsError as exc:
        raise UserError(str(exc)) from None
    t = _step(1, "starting the collector and the example site")
    with running_stack(port=0, site_port=0, log_path=data_dir / "serve.log", env=env) as stack:
        site = stack.site or "http://127.0.0.1:5173"
        _done(t, f"collector {stack.collector}, example site {site}")
        t = _step(2, f"campaign {DEMO_CAMPAIGN!r} from the bundled lead list")
        result = create_campaign(
            SAMPLE_LEADS,
            DEMO_CAMPAIGN,
            f"{site}/pricing.html",
            keyring=settings.keyring,
            data_dir=settings.data_dir,
            landing_dir=settings.landing_dir,
            tracking_base=stack.collector,
            out_path=data_dir / "demo-q4-outreach-urls.csv",
        )
        problems = result.problems_path.name if result.problems_path else "-"
        _done(
            t,
            f"{result.new} leads with tracking links, {result.duplicates} duplicate and "
            f"{result.invalid} invalid rows dropped (listed in {problems})",
        )
        t = _step(3, f"simulating {visitors} visitors over {days} days through the collector")
        stats = simulate(
            visitors=visitors,
            days=days,
            seed=seed,
            endpoint=stack.collector,
            site=site,
            out=console,
            settings=settings,
        )
        if stats.errors:
            detail = ", ".join(f"{k} x{v}" for k, v in stats.errors.most_common())
            raise UserError(f"simulated requests failed: {detail}", EXIT_FAILED)
        _done(
            t,
            f"{stats.accepted:,} events accepted, {stats.clicks:,} email clicks "
            f"({stats.http_requests:,} HTTP requests today, "
            f"{stats.in_process_requests:,} in-process for earlier days)",
        )
    # The collector has stopped and sealed its landing files: dbt sees everything.
    t = _step(4, "oie run: seal landing files -> dbt build -> (kv sync, alerts, crm sync)")
    with console.status("building the warehouse (dbt build on DuckDB) ..."):
        results = execute(
            RunOptions(quiet=True),
            wait=True,
            wait_timeout=120,
            out=Console(quiet=True),
            settings=settings,
        )
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise UserError(
            f"oie run failed at {failed[0].name}: {failed[0].detail}; rerun it to see "
            f"why: OIE_DATA_DIR={data_dir} oie run",
            EXIT_FAILED,
        )
    _done(t, "; ".join(f"{r.name} {r.status}" for r in results))
    _step(5, "results")
    show_leads(data_dir, None, None, 12)
    console.print(campaign_table(data_dir))
    console.print(company_table(data_dir))
    _report(data_dir)
    elapsed = time.monotonic() - began
    console.print(
        f"Done in {elapsed:.1f} s. Try it in a browser (collector, example site and "
        f"an email link with a real token), then rebuild and look again:"
    )
    console.print(f"  [bold]OIE_DATA_DIR={data_dir} .venv/bin/oie serve[/]")
    console.print(
        f"  [bold]OIE_DATA_DIR={data_dir} .venv/bin/oie run && "
        f"OIE_DATA_DIR={data_dir} .venv/bin/oie leads --level hot[/]"
    )
    return elapsed
