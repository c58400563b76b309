"""`oie tune`: preview proposed score vars on the current leads, without building anything."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console

from oie.commands._errors import handle_errors
from oie.commands._help import unwrap
from oie.errors import UserError
from oie.tune import render_table, tune

console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
FORMATS = ("table", "json")

TUNE_HELP = """What proposed score vars would do to today's leads, before you change
dbt_project.yml: how many leads move between cold, warm, hot and burning, which leads
would cross into hot or burning, and the exact dbt_project.yml lines to change.

dbt compiles the score model (int_lead_scores) with the proposed vars and the compiled SQL
runs read-only over the warehouse: nothing is built or written. The vars are checked first
(unknown names, non-numbers, thresholds out of order, negative caps: exit 2). Only the
score model's own vars can be previewed; the scoring clock is the warehouse's.

\b
Examples:
  oie tune --vars '{oie_level_hot: 55}'
  oie tune --vars '{"oie_score_high_intent_per_pricing_view": 10}' --limit 50
  oie tune --vars '{oie_level_hot: 55, oie_level_burning: 75}' --format json
"""


def register(app: typer.Typer) -> None:
    @app.command("tune", help=unwrap(TUNE_HELP))
    @handle_errors
    def tune_command(
        dbt_vars: Annotated[
            str,
            typer.Option(
                "--vars", help="Proposed dbt vars, JSON or YAML, e.g. '{oie_level_hot: 55}'."
            ),
        ],
        limit: Annotated[
            int, typer.Option(min=1, max=10_000, help="How many crossing leads to list.")
        ] = 20,
        output_format: Annotated[
            str, typer.Option("--format", help="table (default) or json.")
        ] = "table",
    ) -> None:
        if output_format not in FORMATS:
            raise UserError(f"--format must be one of {', '.join(FORMATS)}, not {output_format!r}")
        result = tune(dbt_vars, limit=limit)
        if output_format == "json":
            sys.stdout.write(json.dumps(result.as_json(), indent=2, default=str) + "\n")
        else:
            render_table(result, console)
