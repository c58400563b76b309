"""`oie alerts`: tell the SDRs when a lead turns hot (oie run's alerts step)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from oie.alerts import alerts
from oie.commands._errors import handle_errors
from oie.commands._help import unwrap
from oie.errors import EXIT_FAILED

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
SHOWN_PROBLEMS = 20

HELP = """Send an alert when a lead reaches OIE_ALERT_LEVEL (hot by default): once per
episode, which ends only when the lead falls to the dbt var oie_alert_rearm_level (cold) or
below, so a score jittering at 60 never re-alerts. Destinations: a Slack incoming webhook
(OIE_ALERT_SLACK_WEBHOOK_URL) and/or a webhook for n8n, Zapier and the like
(OIE_ALERT_WEBHOOK_URL), signed per Standard Webhooks with OIE_ALERT_WEBHOOK_SECRET. The
warehouse table oie_alert_log decides each alert once and retries a delivery on later runs
(429, 5xx, timeouts: with backoff, up to OIE_ALERT_MAX_ATTEMPTS); a level-up older than
OIE_ALERT_MAX_AGE is recorded as stale and never sent. This is `oie run`'s alerts step,
under the same lock (exit 75 while a run holds it). Exit 1 when a delivery failed in this
run (each listed on stderr), 2 for a setting to fix. Details: docs/alerts.md.

\b
Examples:
  oie alerts --dry-run    # what would be sent now; nothing is sent or written
  oie alerts              # decide new alerts, deliver what is due
"""


def register(app: typer.Typer) -> None:
    @app.command("alerts", help=unwrap(HELP))
    @handle_errors
    def alerts_command(
        dry_run: Annotated[
            bool,
            typer.Option("--dry-run", help="Print what would be sent; send and write nothing."),
        ] = False,
    ) -> None:
        report = alerts(dry_run=dry_run, notify=lambda line: console.print(escape(line)))
        console.print(escape(report.summary()))
        for problem in report.problems[:SHOWN_PROBLEMS]:
            err.print(escape(problem.line()))
        if len(report.problems) > SHOWN_PROBLEMS:
            err.print(f"... and {len(report.problems) - SHOWN_PROBLEMS} more")
        if report.problems and not dry_run:
            raise typer.Exit(EXIT_FAILED)
