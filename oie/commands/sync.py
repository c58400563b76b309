"""`oie sync`: push edge_profiles to the KV store, change-only (oie run's KV sync step)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from oie.commands._errors import handle_errors
from oie.commands._help import unwrap
from oie.errors import EXIT_FAILED
from oie.sync import sync

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
SHOWN_FAILURES = 20

HELP = """Push the edge_profiles mart to the KV store the /personalize endpoint reads:
kv.sqlite in $OIE_DATA_DIR (OIE_KV=local, the default) or Workers KV (OIE_KV=cloudflare,
with CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID, OIE_KV_NAMESPACE_ID). Only keys that are
new, changed, gone or within a third of OIE_KV_TTL of expiring are sent; the warehouse table
kv_sync_state remembers what each store confirmed, so a sync stopped anywhere resumes
without losing or re-sending a key. This is `oie run`'s KV sync step, under the same lock
(exit 75 while a run holds it). Keys the store refused are listed on stderr (exit 1); a
rejected token or a missing setting is one line (exit 2). Details: docs/kv.md.

\b
Examples:
  oie sync                # push what changed since the last sync
  oie sync --dry-run      # count what would be pushed and deleted
  oie sync --reconcile    # kv_sync_state lost: rebuild it from the store
"""


def register(app: typer.Typer) -> None:
    @app.command("sync", help=unwrap(HELP))
    @handle_errors
    def sync_command(
        dry_run: Annotated[
            bool,
            typer.Option("--dry-run", help="Count what would be pushed and deleted; send nothing."),
        ] = False,
        reconcile: Annotated[
            bool,
            typer.Option(
                "--reconcile",
                help="First rebuild the sync state from the store's keys and their metadata.",
            ),
        ] = False,
    ) -> None:
        report = sync(dry_run=dry_run, reconcile=reconcile, notify=console.print)
        console.print(escape(report.summary()))
        for failure in report.failed[:SHOWN_FAILURES]:
            err.print(escape(f"failed: {failure.key}: {failure.reason}"))
        if len(report.failed) > SHOWN_FAILURES:
            err.print(f"failed: ... and {len(report.failed) - SHOWN_FAILURES} more")
        if report.failed and not dry_run:
            raise typer.Exit(EXIT_FAILED)
