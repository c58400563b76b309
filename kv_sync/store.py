"""The KV store the sync writes: one protocol for the local SQLite file and Workers KV.

The limits are Workers KV's; the sync applies them to every store, so a key that would fail
in production fails the same way locally, before anyone deploys.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

MAX_KEY_BYTES = 512
MAX_VALUE_BYTES = 25 * 1024 * 1024
MAX_BATCH_KEYS = 10_000
# Cloudflare takes at most 100 MB per bulk request. The batcher measures each entry exactly
# as the SDK serializes it (compact JSON, UTF-8) and still keeps a megabyte of room.
MAX_BATCH_BYTES = 99_000_000
# The key prefixes the sync owns (edge_profiles): reconcile lists only these, so nothing
# else that shares the namespace is ever taken for ours and deleted.
KEY_PREFIXES = ("v:", "t:")


class Entry(NamedTuple):
    """One key to write: the value as text, its time to live, and the metadata stored
    beside it (the sync's is `{"h": <hash>}`). `wire` is the pair as a bulk request's JSON
    when the caller has already serialized it (the sync has, to measure its batches), so a
    store that sends JSON does not build it twice. A tuple: one is made per key pushed."""

    key: str
    value: str
    expiration_ttl: int
    metadata: Mapping[str, Any] = MappingProxyType({})
    wire: bytes | None = None


@dataclass(frozen=True)
class WriteResult:
    """What a bulk write or delete confirmed: every key sent except `unsuccessful`."""

    unsuccessful: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ListedKey:
    key: str
    expiration: float | None  # epoch seconds; None = never expires
    metadata: Any = None


class KVStore(Protocol):
    @property
    def name(self) -> str:
        """The destination as the sync state names it: `local`, `cloudflare:<acct>/<ns>`."""
        ...

    def get(self, key: str) -> str | None: ...

    def put_many(self, entries: Sequence[Entry]) -> WriteResult: ...

    def delete_many(self, keys: Sequence[str]) -> WriteResult: ...

    def list(self, prefix: str) -> Iterator[ListedKey]:
        """Every live key starting with `prefix`, with its expiration and metadata."""
        ...


def entry_problem(key: str, value: str) -> str | None:
    """Why Workers KV would refuse this key, or None."""
    # A character is at most 4 bytes in UTF-8: most keys and values are decided by length.
    if len(key) * 4 <= MAX_KEY_BYTES and len(value) * 4 <= MAX_VALUE_BYTES:
        return None
    key_bytes = len(key.encode("utf-8"))
    if key_bytes > MAX_KEY_BYTES:
        return f"key is {key_bytes} bytes (Workers KV takes at most {MAX_KEY_BYTES})"
    value_bytes = len(value.encode("utf-8"))
    if value_bytes > MAX_VALUE_BYTES:
        return f"value is {value_bytes} bytes (Workers KV takes at most 25 MiB)"
    return None
