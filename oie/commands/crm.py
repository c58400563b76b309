"""`oie crm setup` and `oie crm sync`: lead scores into HubSpot contacts (oie run's crm sync
step)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from oie.commands._errors import handle_errors
from oie.commands._help import unwrap
from oie.crm import setup, sync
from oie.errors import EXIT_FAILED

console = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
SHOWN_FAILURES = 20

crm_app = typer.Typer(
    help="HubSpot CRM: each lead's intent score, level and last visit on its contact.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

SETUP_HELP = """Create the HubSpot contact properties the sync writes, once: the property
group `oie` (Outbound Intent Engine) and oie_intent_score, oie_engagement_level,
oie_score_components, oie_pages_seen, oie_campaign and oie_last_visit_at. What exists is
read first and only what is missing is created, so running it again creates nothing. Needs
OIE_HUBSPOT_TOKEN: a private app's access token with the scopes crm.objects.contacts.write,
crm.schemas.contacts.read and crm.schemas.contacts.write. Details: docs/crm.md.

\b
Example:
  oie crm setup           # once, before the first sync (again: nothing to do)
"""

SYNC_HELP = """Upsert the crm_contacts mart into HubSpot contacts by email, change-only:
only contacts that are new or whose properties changed are sent, in batches of 100. A lead
is sent from the dbt var oie_crm_min_level (warm) up; one sent before keeps being updated
when its score falls; a bounced or unsubscribed lead is never sent; no contact is ever
deleted. The warehouse table crm_sync_state remembers what HubSpot confirmed, so a sync
stopped anywhere resumes without losing or re-sending a contact. This is `oie run`'s crm
sync step, under the same lock (exit 75 while a run holds it). Contacts HubSpot refused
are listed on stderr with its message (exit 1) and retried by the next sync; a rejected
token or a missing setting is one line (exit 2). Details: docs/crm.md.

\b
Examples:
  oie crm sync --dry-run  # count what would be pushed; send and write nothing
  oie crm sync            # push what changed since the last sync
"""


@crm_app.command("setup", help=unwrap(SETUP_HELP))
@handle_errors
def setup_command() -> None:
    report = setup()
    for line in report.lines():
        console.print(escape(line))
    console.print(escape(report.summary()))


@crm_app.command("sync", help=unwrap(SYNC_HELP))
@handle_errors
def sync_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be pushed; send nothing.")
    ] = False,
) -> None:
    report = sync(dry_run=dry_run)
    console.print(escape(report.summary()))
    for failure in report.failed[:SHOWN_FAILURES]:
        err.print(escape(f"failed: {failure.key}: {failure.reason}"))
    if len(report.failed) > SHOWN_FAILURES:
        err.print(f"failed: ... and {len(report.failed) - SHOWN_FAILURES} more")
    if report.failed and not dry_run:
        raise typer.Exit(EXIT_FAILED)


def register(app: typer.Typer) -> None:
    app.add_typer(crm_app, name="crm")
