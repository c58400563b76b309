"""`oie leads`: the SDR's view: hottest leads, why they are hot, what they read."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from oie.commands._errors import handle_errors
from oie.commands._help import unwrap
from oie.errors import UserError
from oie.leads import LEVELS, show_leads

LEADS_HELP = """Hottest leads first, with the five score components that drove each score
(R recency, F frequency, E engagement, H high intent, C conversions), since when each lead
is at its level, last visit and pages.

--format csv or json adds each lead's email (CSV/JSON to stdout, or to --out FILE; a .csv
or .json file name picks the format). Reads the warehouse read-only; waits briefly while
`oie run` holds it.

\b
Examples:
  oie leads                       # top 20
  oie leads --level hot           # hot only (--level burning, warm, cold)
  oie leads --campaign fintech-cfos --limit 50
  oie leads --level hot --format csv --out hot-leads.csv
  oie leads --format json | jq '.[0].email'
"""


def register(app: typer.Typer) -> None:
    @app.command("leads", help=unwrap(LEADS_HELP))
    @handle_errors
    def leads(
        level: Annotated[
            str | None, typer.Option(help="Only this level: cold, warm, hot or burning.")
        ] = None,
        campaign: Annotated[
            str | None, typer.Option(help="Only this campaign (id or name).")
        ] = None,
        limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many rows.")] = 20,
        output_format: Annotated[
            str | None,
            typer.Option("--format", help="table (default), csv or json."),
        ] = None,
        out: Annotated[
            Path | None,
            typer.Option("--out", help="Write csv/json to this file instead of stdout."),
        ] = None,
    ) -> None:
        if level is not None and level not in LEVELS:
            raise UserError(f"--level must be one of {', '.join(LEVELS)}, not {level!r}")
        show_leads(None, level, campaign, limit, fmt=output_format, out=out)
