"""Where the sync remembers what each destination holds: the protocol over the warehouse
table `kv_sync_state` (kv_sync/state_sql.py has its SQL; duckdb_state.py and
bigquery_state.py run it)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import NamedTuple, Protocol

from kv_sync.scope import Scope


class DiffRow(NamedTuple):
    """A key to send (`new`, `changed`, `refresh`: with its value, hash and lead) or to
    delete (`gone`: the rest is None). A tuple: one is made per key of the diff."""

    key: str
    action: str
    value: str | None
    hash: str | None
    lead_id: str | None = None


class StateRow(NamedTuple):
    """What a destination confirmed for a key; times in epoch seconds (None: unknown), and
    whose key it is (None: unknown, as after --reconcile)."""

    key: str
    hash: str | None
    expires_at: float | None
    pushed_at: float | None
    lead_id: str | None = None


class SyncState(Protocol):
    def plan(self, store: str, refresh_before: float) -> Scope:
        """Which keys the diff compares (kv_sync/scope.py)."""
        ...

    def diff(self, store: str, refresh_before: float, within: Scope) -> Iterator[DiffRow]: ...

    def advance(self, store: str, done: Scope) -> None:
        """The diff of `done` was sent whole: record where the next diff starts."""
        ...

    def record(self, store: str, pushed: Sequence[StateRow] = (), gone: Sequence[str] = ()) -> None:
        """Advance the state by what the destination confirmed (one statement)."""
        ...

    def clear(self, store: str) -> None:
        """Forget everything about one destination (`oie sync --reconcile` refills it),
        where its next diff starts included."""
        ...


def utc(epoch: float | None) -> datetime | None:
    """Epoch seconds as an aware UTC datetime."""
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)
