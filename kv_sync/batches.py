"""Cutting the diff into bulk requests: at most 10,000 keys and under 100 MB each, measured
as the SDK sends them, so no request is refused for its size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from kv_sync.store import MAX_BATCH_BYTES, MAX_BATCH_KEYS


def json_size(obj: Any) -> int:
    """Bytes of `obj` in a request body as the SDK serializes it (compact JSON, UTF-8, no
    ASCII escaping). orjson writes the same bytes for the strings and numbers the sync
    sends, several times faster than the json module."""
    return len(orjson.dumps(obj))


@dataclass(frozen=True)
class Pending:
    """A key on its way: what to write (value and hash; None for a delete), why, and its
    size in the request body."""

    key: str
    action: str
    value: str | None
    hash: str | None
    size: int


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
