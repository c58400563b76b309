"""The SDR's view of the warehouse: hottest leads, why they are hot, what they read.

Used by `oie leads` and by `oie demo` to print its results.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from oie import warehouse
from oie.errors import UserError

# Piped output (CI logs, `| less`) gets a fixed, roomy width instead of rich's 80 columns.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
LEVELS = ("cold", "warm", "hot", "burning")
LEVEL_STYLE = {"burning": "bold red", "hot": "red", "warm": "yellow", "cold": "blue"}


def _pages(pages_seen: str | None, keep: int = 5) -> str:
    pages = [p for p in (pages_seen or "").split(", ") if p]
    if len(pages) <= keep:
        return ", ".join(pages) or "-"
    return ", ".join(pages[:keep]) + f" +{len(pages) - keep}"


def leads_table(rows: list[warehouse.LeadRow], title: str) -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("Lead")
    table.add_column("Company")
    table.add_column("Campaign")
    table.add_column("Score", justify="right")
    table.add_column("Level")
    table.add_column("R/F/E/H/C", justify="right")
    table.add_column("Last visit")
    table.add_column("Pages seen", overflow="fold", max_width=60)
    for row in rows:
        c = row.components
        parts = (c["recency"], c["frequency"], c["engagement"], c["high_intent"], c["conversions"])
        last = row.last_visit_at.strftime("%Y-%m-%d %H:%M") if row.last_visit_at else "-"
        table.add_row(
            row.name,
            row.company or "-",
            row.campaign_id or "-",
            str(row.intent_score),
            f"[{LEVEL_STYLE[row.engagement_level]}]{row.engagement_level}[/]",
            "/".join(f"{v:g}" for v in parts),
            last,
            _pages(row.pages_seen),
        )
    return table


def show_leads(
    data_dir: Path | None, level: str | None, campaign: str | None, limit: int
) -> list[warehouse.LeadRow]:
    try:
        rows = warehouse.hottest_leads(data_dir, limit=limit, level=level, campaign=campaign)
    except warehouse.WarehouseError as exc:
        raise UserError(str(exc), exit_code=1) from None
    title = (
        "Hottest leads" + (f" ({level})" if level else "") + (f" in {campaign}" if campaign else "")
    )
    if rows:
        console.print(leads_table(rows, title))
    else:
        console.print(f"{title}: none yet.")
    return rows
