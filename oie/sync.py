"""`oie sync`: `oie run`'s KV sync step on its own, under the same lock (docs/kv.md).

The sync itself lives in `kv_sync` (the store, the state, the diff); this module checks
the configuration before the lock is taken, takes the lock, and turns what can stop a sync
into the command line's exit codes: 2 for a configuration or token to fix, 1 for a store or
warehouse that did not answer, 75 when a run holds the lock.
"""

from __future__ import annotations

from collections.abc import Callable

from kv_sync import runner
from kv_sync.clock import Clock
from kv_sync.errors import KVError
from kv_sync.sync import SyncReport
from oie.errors import EXIT_BUSY, UserError
from oie.run_lock import RunBusy, run_lock
from oie_core.settings import Settings, SettingsError


def sync(
    *,
    dry_run: bool = False,
    reconcile: bool = False,
    settings: Settings | None = None,
    notify: Callable[[str], None] | None = None,
    clock: Clock | None = None,
) -> SyncReport:
    try:
        settings = settings or Settings.from_env()
        if dry_run and reconcile:
            raise SettingsError("--reconcile rewrites the sync state: run it without --dry-run")
        runner.check(settings)
    except SettingsError as exc:
        raise UserError(str(exc)) from None
    try:
        with run_lock(settings.data_dir, wait=False):
            return runner.run(
                settings,
                dry_run=dry_run,
                reconcile_state=reconcile,
                notify=notify,
                clock=clock,
            )
    except RunBusy as busy:
        raise UserError(
            f"another `oie run` or `oie sync` holds the lock ({busy.holder}); try again later",
            EXIT_BUSY,
        ) from None
    except SettingsError as exc:
        raise UserError(str(exc)) from None
    except KVError as exc:
        raise UserError(str(exc), exc.exit_code) from None
