"""`oie replay`: send dead-lettered batches (OIE_DEAD_LETTER) to the primary sink once."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console(highlight=False)
err = Console(stderr=True, highlight=False)

HELP = """Re-send the batches the ingest function dead-lettered (because the primary sink
refused them) to the primary sink (OIE_SINK: local landing files or BigQuery), each exactly
once: a batch is deleted from the dead-letter store only after the sink took it. Safe to run
again or concurrently; the warehouse dedupes events by event_id.

\b
Examples:
  OIE_DEAD_LETTER=data/dead-letter oie replay
  OIE_SINK=bigquery OIE_DEAD_LETTER=gs://my-bucket/oie-dead-letter oie replay --dry-run
"""


def register(app: typer.Typer) -> None:
    @app.command("replay", help=HELP)
    def replay_command(
        dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be sent."),
        limit: int | None = typer.Option(None, "--limit", min=1, help="At most N batches."),
    ) -> None:
        from ingest_function.sinks import make_dead_letter, make_primary
        from oie.replay import replay
        from oie_core.settings import Settings, SettingsError

        try:
            settings = Settings.from_env()
        except SettingsError as exc:
            err.print(f"error: {exc}")
            raise typer.Exit(2) from None
        # OIE_FAULT is for the test server only: a replay always uses the real stores.
        dead_letter = make_dead_letter(settings, with_faults=False)
        if dead_letter is None:
            err.print("error: OIE_DEAD_LETTER is not set: nothing to replay from")
            raise typer.Exit(2)
        primary = make_primary(settings, with_faults=False)
        try:
            with console.status("replaying dead letters..."):
                report = replay(primary, dead_letter, limit=limit, dry_run=dry_run)
        finally:
            primary.close()  # seals the landing files this command wrote
        verb = "would replay" if dry_run else "replayed"
        console.print(
            f"{verb} {report.batches} batch(es): {report.events} event(s), "
            f"{report.rejected} rejected record(s) to the {primary.name} sink"
        )
        for failure in report.failed:
            err.print(f"failed: {failure}")
        if report.failed:
            raise typer.Exit(1)
