"""A hand-moved stand-in for oie_core.landing's `time` module, for tests of file rotation:
`monotonic()` is whatever the test sets `now` to, `time()` a fixed instant."""

from __future__ import annotations

import time

T0 = 1795305600.0  # 2026-11-22T00:00:00Z


class Clock:
    """The landing module's view of time, moved by hand (the module's `time`, nothing else)."""

    gmtime = staticmethod(time.gmtime)

    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return T0
