"""Per-IP fixed-window rate limit, in process (a second line behind Cloud Armor/Cloudflare:
each worker and each instance counts on its own)."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._window = 0
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def allow(self, key: str | None) -> bool:
        if self.per_minute <= 0:
            return True
        window = int(time.time() // 60)
        key = key or "-"
        with self._lock:
            if window != self._window or len(self._counts) > 100_000:
                # New minute (or a flood of distinct addresses): start counting afresh.
                self._window, self._counts = window, {}
            count = self._counts.get(key, 0) + 1
            self._counts[key] = count
            return count <= self.per_minute

    def retry_after(self) -> int:
        return max(1, 60 - int(time.time() % 60))
