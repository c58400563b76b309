"""`oie alerts`: `oie run`'s alerts step on its own, under the same lock (docs/alerts.md).

The alerts themselves live in `kv_sync.alerts` (the episodes' alert points, the outbox, the
deliveries); this module checks the configuration before the lock is taken, takes the lock,
and turns what can stop a run into the command line's exit codes: 2 for a configuration to
fix, 1 for a warehouse that did not answer or nothing built yet, 75 when a run holds the
lock.
"""

from __future__ import annotations

from collections.abc import Callable

from kv_sync.alerts import runner
from kv_sync.alerts.runner import AlertReport
from kv_sync.clock import Clock
from kv_sync.errors import KVError
from oie.errors import EXIT_BUSY, EXIT_FAILED, UserError
from oie.run_lock import RunBusy, run_lock
from oie_core.settings import Settings, SettingsError


def alerts(
    *,
    dry_run: bool = False,
    settings: Settings | None = None,
    notify: Callable[[str], None] | None = None,
    clock: Clock | None = None,
) -> AlertReport:
    try:
        settings = settings or Settings.from_env()
        runner.check(settings)
    except SettingsError as exc:
        raise UserError(str(exc)) from None
    try:
        with run_lock(settings.data_dir, wait=False):
            return runner.run(settings, dry_run=dry_run, notify=notify, clock=clock)
    except RunBusy as busy:
        raise UserError(
            f"another `oie run`, `oie sync` or `oie alerts` holds the lock ({busy.holder}); "
            "try again later",
            EXIT_BUSY,
        ) from None
    except SettingsError as exc:
        raise UserError(str(exc)) from None
    except KVError as exc:
        raise UserError(str(exc), exc.exit_code or EXIT_FAILED) from None
