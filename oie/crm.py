"""`oie crm`: HubSpot's contact properties made once (`setup`), and `oie run`'s crm sync step
on its own (`sync`), under the same lock (docs/crm.md).

The sync itself lives in `crm_sync` (HubSpot's client, the state, the diff); this module
checks the configuration before the lock is taken, takes the lock, and turns what can stop
a sync into the command line's exit codes: 2 for a setting or token to fix, 1 for HubSpot
or the warehouse not answering (or nothing built yet), 75 when a run holds the lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kv_sync.clock import Clock
from kv_sync.errors import KVError
from oie.errors import EXIT_BUSY, UserError
from oie.run_lock import RunBusy, run_lock
from oie_core.settings import Settings, SettingsError

if TYPE_CHECKING:
    from crm_sync.setup import SetupReport
    from crm_sync.sync import CRM, SyncReport


def _checked(settings: Settings | None) -> Settings:
    # Imported here, not at the top: HubSpot's client takes a tenth of a second to import,
    # which every other `oie` command would pay at start-up.
    from crm_sync import runner

    try:
        settings = settings or Settings.from_env()
        runner.check(settings)
    except SettingsError as exc:
        raise UserError(str(exc)) from None
    return settings


def setup(*, settings: Settings | None = None) -> SetupReport:
    """No lock: it touches only HubSpot, never the warehouse."""
    from crm_sync import runner

    settings = _checked(settings)
    try:
        return runner.setup(settings)
    except KVError as exc:
        raise UserError(str(exc), exc.exit_code) from None


def sync(
    *,
    dry_run: bool = False,
    settings: Settings | None = None,
    clock: Clock | None = None,
    crm: CRM | None = None,
) -> SyncReport:
    from crm_sync import runner

    settings = _checked(settings)
    try:
        with run_lock(settings.data_dir, wait=False):
            return runner.run(settings, dry_run=dry_run, clock=clock, crm=crm)
    except RunBusy as busy:
        raise UserError(
            f"another `oie run` or sync holds the lock ({busy.holder}); try again later",
            EXIT_BUSY,
        ) from None
    except SettingsError as exc:
        raise UserError(str(exc)) from None
    except KVError as exc:
        raise UserError(str(exc), exc.exit_code) from None
