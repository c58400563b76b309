"""`oie replay`: send dead-lettered batches (OIE_DEAD_LETTER) to the primary sink once."""

from __future__ import annotations

import typer
from rich.console import Console

from oie.commands._errors import handle_errors
from oie.errors import EXIT_FAILED, UserError
from oie.replay import replay_dead_letters
from oie_core.settings import Settings, SettingsError

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

HELP = """Re-send the batches the ingest function dead-lettered (because the primary sink
refused them) to the primary sink (OIE_SINK: local landing files or BigQuery), each exactly
once: a batch is deleted from the dead-letter store only after the sink took it. Safe to run
again or concurrently, and after a replay that was killed (its claims die with it); the
warehouse dedupes events by event_id. A file that cannot be read is moved to quarantine/
with its reason and listed; the others are replayed. Exit 1 when a batch failed or was
quarantined.

\b
Examples:
  OIE_DEAD_LETTER=data/dead-letter oie replay
  OIE_SINK=bigquery OIE_DEAD_LETTER=gs://my-bucket/oie-dead-letter oie replay --dry-run
"""


def register(app: typer.Typer) -> None:
    @app.command("replay", help=HELP)
    @handle_errors
    def replay_command(
        dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be sent."),
        limit: int | None = typer.Option(None, "--limit", min=1, help="At most N batches."),
    ) -> None:
        try:
            settings = Settings.from_env()
        except SettingsError as exc:
            raise UserError(str(exc)) from None
        with console.status("replaying dead letters..."):
            report, sink = replay_dead_letters(settings, limit=limit, dry_run=dry_run)
        verb = "would replay" if dry_run else "replayed"
        console.print(
            f"{verb} {report.batches} batch(es): {report.events} event(s), "
            f"{report.rejected} rejected record(s) to the {sink} sink"
        )
        for failure in report.failed:
            err.print(f"failed: {failure}")
        for bad in report.quarantined:
            err.print(f"quarantined: {bad}")
        if report.failed or (report.quarantined and not dry_run):
            raise typer.Exit(EXIT_FAILED)
