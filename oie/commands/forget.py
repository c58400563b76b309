"""`oie forget`: erase one person from every store (docs/privacy.md)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from oie.commands._errors import handle_errors
from oie.commands._help import unwrap
from oie.errors import EXIT_BUSY, EXIT_FAILED, UserError
from oie.forget import (
    ForgetError,
    ForgetIncomplete,
    Selector,
    SelectorError,
    StoreResult,
    forget_under_lock,
)
from oie.run_lock import RunBusy
from oie_core.settings import Settings, SettingsError

console = Console(highlight=False, soft_wrap=True)

HELP = """Erase one person from every store: landing files, the dead letter (folder or
gs://), the token registry, every warehouse table and snapshot (DuckDB or BigQuery), the
KV store and the alert log. An email
finds every lead and token minted for it and every visitor who used one of them, filled in
a form with the address, or was stitched to one of its leads; a token finds its lead's
address; --visitor forgets that one visitor only. A tombstone (a keyed hash, never the
value) is kept so that later events, imports and rebuilds never bring them back, even when
nothing was held. Prints per store how much it removed (counts, never values); runs under
the `oie run` lock (exit 75 while a run holds it). Rows BigQuery will not delete yet stay
pending for `oie run` to finish; exit 1 when it refuses for lack of permission. Details:
docs/privacy.md.

\b
Examples:
  oie forget --email " Ada@Example.COM " --dry-run
  oie forget --email ada@example.com
  oie forget --visitor 0b7e0c8e-6f1f-4b7c-9f3e-2f1f3c1d9a10
"""


def register(app: typer.Typer) -> None:
    @app.command("forget", help=unwrap(HELP))
    @handle_errors
    def forget_command(
        ctx: typer.Context,
        email: Annotated[
            str | None, typer.Option("--email", help="The person's address (any case).")
        ] = None,
        token: Annotated[
            str | None, typer.Option("--token", help="An email-link token of theirs.")
        ] = None,
        visitor: Annotated[
            str | None, typer.Option("--visitor", help="One visitor id (that visitor only).")
        ] = None,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Count what would be removed; change nothing.")
        ] = False,
    ) -> None:
        if sum(v is not None for v in (email, token, visitor)) != 1:
            raise typer.BadParameter(
                "give exactly one", ctx=ctx, param_hint="--email / --token / --visitor"
            )
        try:
            selector = Selector.parse(email, token, visitor)
        except SelectorError as exc:
            raise UserError(str(exc)) from None
        try:
            settings = Settings.from_env()
        except SettingsError as exc:
            raise UserError(str(exc)) from None

        def show(result: StoreResult) -> None:
            console.print(result.line(dry_run))

        try:
            report = forget_under_lock(settings, selector, dry_run=dry_run, on_store=show)
        except RunBusy as busy:
            raise UserError(
                f"another `oie run` holds the lock ({busy.holder}); try again later", EXIT_BUSY
            ) from None
        except (ForgetError, ForgetIncomplete) as exc:
            raise UserError(str(exc), EXIT_FAILED) from None
        if report.person.empty and report.removed == 0:
            console.print(f"nothing held for this {selector.kind}")
        verb = "would record" if dry_run else "recorded"
        console.print(f"{verb} {report.tombstones} tombstone(s)")
