"""Requests per window: Cloudflare allows 1,200 API requests per 5 minutes per user, and one
request over that blocks every call for 5 minutes. Staying under costs a wait now and then;
going over costs five minutes.

A sliding window over this process's own requests: another client spending the same
token's budget is not seen here, and its block reaches us as a RateLimitError, which the
store waits out (kv_sync/cloudflare.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from kv_sync.clock import Clock

REQUESTS_PER_WINDOW = 1200
WINDOW_S = 300.0


class Pacer:
    def __init__(
        self,
        clock: Clock,
        *,
        limit: int = REQUESTS_PER_WINDOW,
        window_s: float = WINDOW_S,
        on_wait: Callable[[float, str], None] | None = None,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("a pacer needs at least one request per positive window")
        self._clock = clock
        self._limit = limit
        self._window_s = window_s
        self._on_wait = on_wait
        self._sent: deque[float] = deque()

    def acquire(self) -> None:
        """Wait until one more request fits in the window, then count it."""
        while True:
            now = self._clock.monotonic()
            while self._sent and now - self._sent[0] >= self._window_s:
                self._sent.popleft()
            if len(self._sent) < self._limit:
                self._sent.append(now)
                return
            wait = self._window_s - (now - self._sent[0])
            if self._on_wait is not None:
                self._on_wait(
                    wait,
                    f"{self._limit} requests in {self._window_s:.0f} s sent: pausing "
                    f"{wait:.0f} s to stay under Cloudflare's rate limit",
                )
            self._clock.sleep(wait)
