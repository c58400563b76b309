"""`oie demo`: the README's first command.

Default: the whole product live, in under a minute and with no account: a campaign from
the bundled lead list, the real collector and example site, simulated traffic through
them, `oie run`, then the hot leads and the campaign's performance.
`--sample`: the offline variant, the bundled raw sample built straight into the warehouse
(no server).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from oie import sample, warehouse
from oie.campaigns import create_campaign
from oie.commands import run as run_cmd
from oie.commands import serve as serve_cmd
from oie.commands import simulate as simulate_cmd
from oie.commands._errors import EXIT_FAILED, UserError, handle_errors
from oie.commands._help import unwrap
from oie.commands.leads import show_leads
from oie.pipeline import RunOptions
from oie.stack import running_stack
from oie_core.settings import Settings, SettingsError

# Piped output (CI logs, `| less`) gets a fixed, roomy width instead of rich's 80 columns.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)

SAMPLE_LEADS = Path(__file__).resolve().parents[1] / "samples" / "demo-leads.csv"
DEMO_CAMPAIGN = "Demo: Q4 outreach"

DEMO_HELP = """The whole product in under a minute: campaign, collector, traffic, warehouse.

No account and no network beyond 127.0.0.1: it imports the bundled lead list (400 leads,
one duplicate, one broken address) as a campaign, starts the real collector and the
example site, simulates a week of visitor traffic through them (today's over HTTP, earlier
days through the same ingest code with a simulated clock), runs `oie run`, and prints the
hottest leads and the campaign's performance. It ends with the command to try the example
site in a browser on the same data.

--sample is the offline variant: the bundled raw sample (≈ 9,000 events, 360 leads, three
campaigns) shifted so its newest day is today and built straight into the warehouse.

Everything goes to DIR (default: $OIE_DATA_DIR/demo), which the demo recreates each run.

\b
Examples:
  oie demo
  oie demo --visitors 1000 --days 14 --seed 7
  oie demo --sample
  oie demo --data-dir /tmp/oie-demo
"""


def campaign_table(data_dir: Path) -> Table:
    table = Table(title="Campaign performance", title_justify="left")
    for name, justify in [
        ("Campaign", "left"),
        ("Leads", "right"),
        ("Clicked", "right"),
        ("Scanner clicks", "right"),
        ("Visited", "right"),
        ("Sessions", "right"),
        ("Hot+", "right"),
        ("Form conv.", "right"),
        ("Avg score", "right"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
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
    with console.status("Building the warehouse (dbt build on DuckDB)…"):
        rc = warehouse.dbt_build(env={"OIE_DATA_DIR": str(data_dir)}, quiet=True)
    if rc != 0:
        raise UserError(
            f"dbt build failed (exit {rc}); rerun it to see why: OIE_DATA_DIR={data_dir} dbt build",
            exit_code=1,
        )
    console.print(f"[green]✓[/] built {data_dir / 'warehouse.duckdb'}")
    show_leads(data_dir, None, None, 15)
    console.print(campaign_table(data_dir))
    elapsed = time.monotonic() - started
    console.print(
        f"Done in {elapsed:.1f} s. Explore: "
        f"[bold]OIE_DATA_DIR={data_dir} .venv/bin/oie leads --level hot[/]"
    )
    return elapsed


@contextmanager
def demo_environment(data_dir: Path) -> Iterator[None]:
    """Point every OIE_* path at the demo folder while the demo runs (dbt and the
    collector inherit it) and restore the caller's environment afterwards. Production
    settings (BigQuery, dead letters, fault injection) never apply to the demo."""
    saved = dict(os.environ)
    os.environ["OIE_DATA_DIR"] = str(data_dir)
    os.environ["OIE_LANDING_DIR"] = str(data_dir / "landing")
    for name in (
        "OIE_REDIRECT_HOSTS",
        "OIE_TARGET",
        "OIE_SINK",
        "OIE_DEAD_LETTER",
        "OIE_FAULT",
        "OIE_KV",
    ):
        os.environ.pop(name, None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _step(index: int, title: str) -> float:
    console.print(f"[bold][{index}/5][/] {title}")
    return time.monotonic()


def _done(started: float, detail: str = "") -> None:
    console.print(f"      [green]✓[/] {time.monotonic() - started:.1f} s {detail}".rstrip())


def run_live_demo(data_dir: Path, visitors: int, days: int, seed: int) -> float:
    """Bundled lead list -> real collector -> simulated traffic -> oie run -> tables."""
    began = time.monotonic()
    sample.reset_dir(data_dir)
    with demo_environment(data_dir):
        try:
            settings = Settings.from_env()
        except SettingsError as exc:
            raise UserError(str(exc)) from None
        t = _step(1, "starting the collector and the example site")
        with running_stack(port=0, site_port=0, log_path=data_dir / "serve.log") as stack:
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
            stats = simulate_cmd.simulate(
                visitors=visitors,
                days=days,
                seed=seed,
                endpoint=stack.collector,
                site=site,
                out=console,
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
        t = _step(4, "oie run: seal landing files -> dbt build -> (kv sync, alerts)")
        with console.status("building the warehouse (dbt build on DuckDB) ..."):
            results = run_cmd.execute(
                RunOptions(quiet=True), wait=True, wait_timeout=120, out=Console(quiet=True)
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


def register(app: typer.Typer) -> None:
    @app.command("demo", help=unwrap(DEMO_HELP))
    @handle_errors
    def demo(
        data_dir: Annotated[
            Path | None,
            typer.Option("--data-dir", help="Where the demo writes (recreated each run)."),
        ] = None,
        use_sample: Annotated[
            bool, typer.Option("--sample", help="Offline: build the bundled raw sample, no server.")
        ] = False,
        visitors: Annotated[int, typer.Option("--visitors", help="Simulated visitors.")] = 250,
        days: Annotated[int, typer.Option("--days", help="Days of simulated traffic.")] = 7,
        seed: Annotated[int, typer.Option("--seed", help="Same seed, same traffic.")] = 1,
    ) -> None:
        if not 1 <= visitors <= 100_000:
            raise UserError("--visitors must be between 1 and 100000")
        if not 1 <= days <= 30:
            raise UserError("--days must be between 1 and 30")
        target = (data_dir or warehouse.data_dir() / "demo").resolve()
        serve_cmd.stop_on_sigterm()
        if use_sample:
            run_sample_demo(target)
        else:
            run_live_demo(target, visitors, days, seed)
