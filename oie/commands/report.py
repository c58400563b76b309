"""`oie report`: the warehouse as one self-contained HTML page (docs/report.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from oie.commands._errors import handle_errors
from oie.commands._help import unwrap
from oie.report import build, serve

console = Console(highlight=False, soft_wrap=True)

HELP = """The warehouse as one self-contained HTML page: hot leads now (filter, sort, click
for a lead's timeline of sessions, email clicks and identity evidence), campaigns with
their daily series, the score distribution and level changes, and data health (last event,
rejects, last dbt build, last KV push, pending and failed alerts). Charts are inline SVG;
the page loads nothing from the network and never shows an email, email hash or IP.

Reads the warehouse read-only (waits up to --wait seconds while `oie run` holds it), or
BigQuery with OIE_TARGET=bigquery. Writes $OIE_DATA_DIR/report.html unless --out says
otherwise. --serve serves it on 127.0.0.1 instead, built again on every reload.
Details: docs/report.md.

\b
Examples:
  oie report                                 # writes $OIE_DATA_DIR/report.html
  oie report --out /tmp/intent.html --limit 50
  oie report --campaign fintech-cfos
  oie report --serve --port 8090             # http://127.0.0.1:8090/
"""


def register(app: typer.Typer) -> None:
    @app.command("report", help=unwrap(HELP))
    @handle_errors
    def report(
        out: Annotated[
            Path | None,
            typer.Option(
                "--out", help="Where to write the page (default $OIE_DATA_DIR/report.html)."
            ),
        ] = None,
        serve_it: Annotated[
            bool, typer.Option("--serve", help="Serve on 127.0.0.1, rebuilt on every reload.")
        ] = False,
        port: Annotated[int, typer.Option("--port", help="Port for --serve (0: any free).")] = 8090,
        limit: Annotated[
            int, typer.Option("--limit", help="Hot leads (with timelines) on the page.")
        ] = build.DEFAULT_LIMIT,
        campaign: Annotated[
            str | None, typer.Option("--campaign", help="Only this campaign (id or name).")
        ] = None,
        wait: Annotated[
            float, typer.Option("--wait", help="Seconds to wait while a build holds the warehouse.")
        ] = 30.0,
    ) -> None:
        build.check_limit(limit)
        if serve_it:
            if not 0 <= port <= 65535:
                raise typer.BadParameter("--port must be 0-65535")
            if out is not None:
                build.check_out(out)

            def rebuild() -> build.Report:
                if out is None:
                    made = build.build_report(limit=limit, campaign=campaign, wait_s=wait)
                    console.print(escape(made.summary()))
                    return made
                path, made = build.write_report(out, limit=limit, campaign=campaign, wait_s=wait)
                console.print(escape(made.summary(path)))
                return made

            rebuild()  # bad input (unknown campaign, no warehouse) fails before listening
            serve.serve(rebuild, port, lambda line: console.print(escape(line)))
            return
        path, made = build.write_report(out, limit=limit, campaign=campaign, wait_s=wait)
        console.print(escape(made.summary(path)))
