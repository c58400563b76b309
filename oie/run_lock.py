"""The pipeline lock: an flock on $OIE_DATA_DIR/oie-run.lock, held by `oie run` and by
every command that must not overlap it (`oie sync`, `oie alerts`, `oie forget`).

The descriptor is inherited by the dbt subprocess: the kernel drops the lock when the last
process holding it dies, so a crashed or killed run never leaves a stale lock behind, and a
killed `oie run` whose dbt lives on still holds it until that dbt ends (the next run waits
or exits 75 rather than colliding with it).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

# Cited by docs and job definitions: the lock file in $OIE_DATA_DIR.
LOCK_NAME = "oie-run.lock"


class RunBusy(Exception):
    """Another `oie run` holds the lock (and we were told not to wait, or waited too long)."""

    def __init__(self, holder: str, waited_s: float | None = None) -> None:
        self.holder = holder
        self.waited_s = waited_s
        if waited_s is None:
            msg = (
                f"another `oie run` is in progress ({holder}); this run exits (use --wait to queue)"
            )
        else:
            msg = f"another `oie run` still holds the lock after {waited_s:.0f} s ({holder})"
        super().__init__(msg)


@contextmanager
def run_lock(
    data_dir: Path,
    *,
    wait: bool,
    timeout_s: float | None = None,
    poll_s: float = 0.2,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[Path]:
    """Hold the pipeline lock for the body; raise RunBusy if it cannot be had."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        started = time.monotonic()
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(path)
                if not wait:
                    raise RunBusy(holder) from None
                waited = time.monotonic() - started
                if timeout_s is not None and waited >= timeout_s:
                    raise RunBusy(holder, waited) from None
                if not announced and on_wait is not None:
                    on_wait(holder)
                    announced = True
                time.sleep(poll_s)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "started_at": _now_iso()}).encode(), 0)
        from oie import warehouse  # lazily, like the steps: it imports duckdb

        with warehouse.children_inherit(fd):
            yield path
    finally:
        # Closing the descriptor releases the flock.
        os.close(fd)


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
        return f"pid {info.get('pid')}, started {info.get('started_at')}"
    except (OSError, ValueError):
        return "holder unknown"


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
