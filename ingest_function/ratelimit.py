"""Per-client token bucket, in process: a second line behind Cloud Armor / Cloudflare rate
limiting (each worker and each instance counts on its own).

A bucket holds up to OIE_RATE_LIMIT requests and refills at OIE_RATE_LIMIT per minute, so
a steady sender gets its rate and a burst gets at most one minute's worth, with no edge
effect at minute boundaries (which a fixed window has).

A client is an IPv4 address or an IPv6 /64 (`bucket_key`): a subscriber is handed a whole
/64 and may use any address in it, so counting IPv6 addresses one by one would let a single
sender rotate past the limit.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable
from functools import lru_cache


@lru_cache(maxsize=8192)
def bucket_key(ip: str) -> str:
    """The bucket of a client address: IPv4 as is, IPv4-mapped IPv6 as its IPv4 address,
    other IPv6 as its /64. Anything else (not an address) is its own key."""
    if ":" not in ip:
        return ip
    try:
        addr = ipaddress.IPv6Address(ip)
    except ValueError:
        return ip
    if addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(ipaddress.IPv6Network((addr, 64), strict=False))


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.rate = per_minute / 60.0  # tokens per second
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._lock = threading.Lock()

    def allow(self, key: str | None) -> bool:
        if self.per_minute <= 0:
            return True
        now = self.clock()
        key = bucket_key(key) if key else "-"
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > 100_000:
                self._prune(now)
            return allowed

    def _prune(self, now: float) -> None:
        # Drop buckets that have refilled completely: forgetting them changes nothing.
        full = self.per_minute / self.rate if self.rate else 0.0
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full}

    def retry_after(self) -> int:
        """Seconds until one token is back (at least 1)."""
        return max(1, int(1 / self.rate + 0.999)) if self.rate else 60
