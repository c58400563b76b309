"""Cutting the diff into bulk requests: at most 10,000 keys and under 100 MB each, measured
on the very bytes that are sent, so no request is refused for its size."""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson

from kv_sync.store import MAX_BATCH_BYTES, MAX_BATCH_KEYS


class Pending(NamedTuple):
    """A key on its way: what to write (value and hash; None for a delete), why, and its
    bytes in the request body (`wire`: the pair's JSON, or the key's for a delete), which
    are both its measured size and what a JSON store sends, and whose key it is (recorded
    with it). A tuple: one is made per key."""

    key: str
    action: str
    value: str | None
    hash: str | None
    wire: bytes
    lead_id: str | None = None

    @property
    def size(self) -> int:
        return len(self.wire)


def wire(obj: Any) -> bytes:
    """`obj` as it goes into a request body: compact JSON, UTF-8, no ASCII escaping
    (orjson: several times faster than the json module, for the same JSON)."""
    return orjson.dumps(obj)


class Batcher:
    def __init__(self, max_keys: int = MAX_BATCH_KEYS, max_bytes: int = MAX_BATCH_BYTES) -> None:
        self._max_keys = max_keys
        self._max_bytes = max_bytes
        self._items: list[Pending] = []
        self._bytes = 2  # the array's brackets

    def add(self, item: Pending) -> list[Pending] | None:
        """Queue `item`; returns the batch it did not fit in, to send now."""
        full = None
        fits = len(self._items) < self._max_keys and self._bytes + item.size + 1 <= self._max_bytes
        if self._items and not fits:
            full = self.take()
        self._items.append(item)
        self._bytes += item.size + 1  # and its comma
        return full

    def take(self) -> list[Pending]:
        items, self._items, self._bytes = self._items, [], 2
        return items
