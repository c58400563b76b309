"""`oie run`: seal landing files -> dbt build -> KV sync -> alerts, safe from cron."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from oie.commands._errors import handle_errors
from oie.commands._help import unwrap
from oie.errors import EXIT_BUSY, EXIT_FAILED, UserError
from oie.run import RunBusy, RunOptions, execute

console = Console(highlight=False, soft_wrap=True)

RUN_HELP = """The scheduled pipeline: seal landing files, dbt build, KV sync, alerts.

A lock ($OIE_DATA_DIR/oie-run.lock) keeps runs from overlapping: by default a second run
exits at once with code 75 (safe from cron every minute); --wait queues it instead. The
first failing step stops the run with exit code 1; the warehouse stays consistent and the
next run catches up.

\b
Examples:
  oie run                                   # everything, once
  oie run --select lead_profiles+           # rebuild only part of the dbt project
  oie run --skip-dbt                        # dbt Cloud builds; we only sync + alert
  oie run --wait --wait-timeout 300         # queue behind a running pipeline
  * * * * * cd /srv/oie && .venv/bin/oie run >> data/run.log 2>&1   # crontab
"""


def register(app: typer.Typer) -> None:
    @app.command("run", help=unwrap(RUN_HELP))
    @handle_errors
    def run(
        skip_dbt: Annotated[
            bool, typer.Option("--skip-dbt", help="Skip dbt build (dbt Cloud builds).")
        ] = False,
        select: Annotated[
            str | None,
            typer.Option("--select", "-s", help="dbt node selection, e.g. 'lead_profiles+'."),
        ] = None,
        full_refresh: Annotated[
            bool, typer.Option("--full-refresh", help="Rebuild incremental models.")
        ] = False,
        dbt_vars: Annotated[
            str | None,
            typer.Option("--vars", help="dbt vars as JSON, e.g. '{\"oie_level_hot\": 55}'."),
        ] = None,
        wait: Annotated[
            bool,
            typer.Option(
                "--wait/--no-wait", help="Queue behind a running pipeline instead of exiting."
            ),
        ] = False,
        wait_timeout: Annotated[
            float | None,
            typer.Option("--wait-timeout", help="With --wait: give up after this many seconds."),
        ] = None,
    ) -> None:
        parsed: dict[str, object] = {}
        if dbt_vars:
            try:
                parsed = json.loads(dbt_vars)
            except ValueError:
                raise UserError(f"--vars must be a JSON object, got {dbt_vars!r}") from None
            if not isinstance(parsed, dict):
                raise UserError(f"--vars must be a JSON object, got {dbt_vars!r}")
        options = RunOptions(
            skip_dbt=skip_dbt, select=select, full_refresh=full_refresh, dbt_vars=parsed
        )
        try:
            results = execute(options, wait=wait, wait_timeout=wait_timeout, out=console)
        except RunBusy as busy:
            raise UserError(str(busy), EXIT_BUSY) from None
        failed = [r for r in results if r.status == "failed"]
        if failed:
            raise UserError(
                f"step '{failed[0].name}' failed: {failed[0].detail}; the next run catches up",
                EXIT_FAILED,
            )
        console.print("[green]pipeline finished[/]")
