"""`oie run`: seal landing files -> dbt build -> KV sync -> alerts -> CRM sync, safe from
cron."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from oie.commands._errors import handle_errors
from oie.commands._help import unwrap
from oie.errors import EXIT_BAD_INPUT, EXIT_BUSY, EXIT_FAILED, UserError
from oie.run import SCHEDULED_DBT_COMMAND, TEST_SCOPE_ENV, RunOptions, execute, parse_vars
from oie.run_lock import LOCK_NAME, RunBusy

console = Console(highlight=False, soft_wrap=True)

RUN_HELP = f"""The scheduled pipeline: seal landing files, dbt build, freshness, KV sync,
alerts, CRM sync (HubSpot, when OIE_HUBSPOT_TOKEN is set).

A lock ($OIE_DATA_DIR/{LOCK_NAME}) keeps runs from overlapping: by default a second run
exits at once with code 75 (safe from cron every minute); --wait queues it instead. The
first failing step stops the run with exit code 1; the warehouse stays consistent and the
next run catches up.

The build is `{SCHEDULED_DBT_COMMAND}` (unit tests run in CI). Its data tests read only
the rows this run wrote ({TEST_SCOPE_ENV}=new); --full-tests (the nightly full check), a
full refresh, CI and a plain `dbt build` test every row. --vars is checked against
dbt_project.yml first (unknown names, non-numbers, thresholds out of order, negative caps:
exit 2, nothing built). When a seed CSV changed since the last successful run, the build
is a full refresh so the new classification applies to history.

--every 60s keeps one process running the pipeline on that cadence, with dbt parsed once
in the process (no start-up per run); SIGTERM lets the current run finish, then stops.

\b
Examples:
  oie run                                   # everything, once
  oie run --select lead_profiles+           # rebuild only part of the dbt project
  oie run --skip-dbt                        # dbt Cloud builds; we only sync + alert
  oie run --wait --wait-timeout 300         # queue behind a running pipeline
  oie run --vars '{{oie_level_hot: 55}}'   # checked before anything is built
  oie run --full-tests                      # nightly: data tests on every row
  oie run --every 60s                       # one process, a run every minute
  crontab: docs/scheduling.md (*/5 * * * * cd /srv/oie && OIE_DATA_DIR=... oie run)
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
            typer.Option(
                "--vars", help="dbt vars as JSON or YAML, e.g. '{\"oie_level_hot\": 55}'."
            ),
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
        full_tests: Annotated[
            bool,
            typer.Option(
                "--full-tests", help="Data tests on every row, not only this run's (nightly)."
            ),
        ] = False,
        every: Annotated[
            str | None,
            typer.Option("--every", help="Keep running, one run per interval: 60s, 5m, 1h."),
        ] = None,
        max_runs: Annotated[
            int | None,
            typer.Option("--max-runs", min=1, help="With --every: stop after this many runs."),
        ] = None,
    ) -> None:
        parsed = parse_vars(dbt_vars)
        options = RunOptions(
            skip_dbt=skip_dbt,
            select=select,
            full_refresh=full_refresh,
            dbt_vars=parsed,
            full_tests=full_tests,
        )
        if every is not None:
            from oie.scheduler import parse_interval, run_every

            if parsed:  # before anything is built, as a single run does
                from oie import dbt_vars as checked

                checked.validate(parsed)
            tally = run_every(parse_interval(every), options, out=console, max_runs=max_runs)
            if tally.failed:
                raise UserError(f"{tally.failed} of {tally.runs} run(s) failed", EXIT_FAILED)
            return
        if max_runs is not None:
            raise UserError("--max-runs needs --every")
        try:
            results = execute(options, wait=wait, wait_timeout=wait_timeout, out=console)
        except RunBusy as busy:
            raise UserError(str(busy), EXIT_BUSY) from None
        failed = [r for r in results if r.status == "failed"]
        if failed:
            step = failed[0]
            if step.exit_code == EXIT_BAD_INPUT:
                raise UserError(f"step '{step.name}' failed: {step.detail}", EXIT_BAD_INPUT)
            raise UserError(
                f"step '{step.name}' failed: {step.detail}; the next run catches up", EXIT_FAILED
            )
        console.print("[green]pipeline finished[/]")
