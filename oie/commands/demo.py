"""`oie demo`: the README's first command."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from oie import sample, warehouse
from oie.commands._errors import UserError, handle_errors
from oie.commands.leads import show_leads

# Piped output (CI logs, `| less`) gets a fixed, roomy width instead of rich's 80 columns.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)

DEMO_HELP = """Build the embedded warehouse from the bundled sample and show the hottest leads.

No account, no network: the sample (≈ 9,000 raw events and 360 leads from three
campaigns) is shifted so its newest day is today, landed as NDJSON files, built with dbt on
DuckDB, and read back. Everything goes to DIR (default: $OIE_DATA_DIR/demo), which the demo
recreates on every run.

\b
Examples:
  oie demo
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


def register(app: typer.Typer) -> None:
    @app.command("demo", help=DEMO_HELP)
    @handle_errors
    def demo(
        data_dir: Annotated[
            Path | None,
            typer.Option("--data-dir", help="Where the demo writes (recreated each run)."),
        ] = None,
        use_sample: Annotated[
            bool, typer.Option("--sample", help="Build from the bundled raw sample (offline).")
        ] = True,
    ) -> None:
        target = (data_dir or warehouse.data_dir() / "demo").resolve()
        run_sample_demo(target)
