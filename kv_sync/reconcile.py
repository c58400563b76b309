"""`oie sync --reconcile`: rebuild a destination's sync state from the store itself.

Every key the sync writes carries `{"h": <hash>}` as metadata, and `keys.list` returns each
key's metadata and expiration, so a lost or dropped `kv_sync_state` comes back from the
store without re-sending anything that is already there. A key without our metadata gets
no hash: the sync that follows pushes it again (or deletes it when it left edge_profiles).
Only the sync's own key prefixes are listed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

from kv_sync.state import StateRow, SyncState
from kv_sync.store import KEY_PREFIXES, MAX_BATCH_KEYS, KVStore, ListedKey

_HASH = re.compile(r"^[0-9a-f]{32}$")


def rebuild(store: KVStore, state: SyncState, *, page: int = MAX_BATCH_KEYS) -> int:
    """Replace the state of `store` by what it lists; returns the number of keys."""
    listed: Iterator[ListedKey] = itertools.chain.from_iterable(
        store.list(prefix) for prefix in KEY_PREFIXES
    )
    # The first page is read before the old state goes: a rejected token or an unreachable
    # store leaves the state as it was.
    first = next(listed, None)
    state.clear(store.name)
    if first is None:
        return 0
    count, rows = 0, []
    for item in itertools.chain((first,), listed):
        rows.append(StateRow(item.key, _hash(item.metadata), item.expiration, None))
        if len(rows) >= page:
            state.record(store.name, pushed=rows)
            count, rows = count + len(rows), []
    if rows:
        state.record(store.name, pushed=rows)
    return count + len(rows)


def _hash(metadata: object) -> str | None:
    value = metadata.get("h") if isinstance(metadata, dict) else None
    return value if isinstance(value, str) and _HASH.match(value) else None
