"""`oie run --every 60s`: the scheduled pipeline in one long-running process.

Each tick is an ordinary `oie run` (same steps, same lock, same exit rules per run), with
dbt in this process so the project is imported and parsed once (oie/dbt_in_process.py).
Ticks start on a fixed cadence; a run that takes longer than the interval delays the next
tick instead of overlapping it, and a tick that finds another pipeline holding the lock
is skipped and reported. SIGTERM or Ctrl-C lets the running run finish, then stops.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import FrameType

from rich.console import Console

from oie.dbt_in_process import InProcessDbt
from oie.errors import UserError
from oie.run import RunOptions, StepResult, execute
from oie.run_lock import RunBusy

_UNITS = {"s": 1, "m": 60, "h": 3600}
MIN_INTERVAL_S = 5.0


def parse_interval(text: str) -> float:
    """'60', '60s', '5m', '1h' -> seconds; anything else (or under 5 s) is a UserError."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match:
        raise UserError(f"--every {text!r}: expected a duration like 60s, 5m or 1h")
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds < MIN_INTERVAL_S:
        raise UserError(f"--every {text!r}: the interval must be at least {MIN_INTERVAL_S:.0f} s")
    return seconds


@dataclass
class Tally:
    runs: int = 0
    failed: int = 0
    skipped_busy: int = 0


class _Stop:
    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True


def run_every(
    interval_s: float,
    options: RunOptions,
    *,
    out: Console,
    max_runs: int | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Tally:
    """Run the pipeline every `interval_s` until stopped (or `max_runs` runs)."""
    dbt = InProcessDbt()
    options = replace(options, in_process=dbt)
    stop = _Stop()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    tally = Tally()
    try:
        next_tick = clock()
        while not stop.requested and (max_runs is None or tally.runs < max_runs):
            started = clock()
            out.print(f"run {tally.runs + 1}: starting")
            results: list[StepResult] = []
            try:
                results = execute(options, wait=False, wait_timeout=None, out=out)
            except RunBusy as busy:
                tally.skipped_busy += 1
                out.print(f"run {tally.runs + 1}: skipped, {busy}")
            else:
                failed = [r for r in results if r.status == "failed"]
                tally.failed += bool(failed)
                verdict = f"FAILED at {failed[0].name}" if failed else "ok"
                out.print(
                    f"run {tally.runs + 1}: {verdict} in {clock() - started:.1f} s "
                    f"(dbt parsed {dbt.parses} time(s) in this process)"
                )
            tally.runs += 1
            next_tick += interval_s
            # a run longer than the interval: start the next one now, never two at once
            next_tick = max(next_tick, clock())
            while not stop.requested and (max_runs is None or tally.runs < max_runs):
                remaining = next_tick - clock()
                if remaining <= 0:
                    break
                sleep(min(remaining, 0.5))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    out.print(
        f"scheduler stopped after {tally.runs} run(s): {tally.failed} failed, "
        f"{tally.skipped_busy} skipped (another pipeline held the lock)"
    )
    return tally
