"""Where the CRM sync remembers what each destination confirmed: the protocol over the
warehouse table `crm_sync_state` (crm_sync/state_sql.py has its SQL; duckdb_state.py and
bigquery_state.py run it)."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import NamedTuple, Protocol


class DiffRow(NamedTuple):
    """A contact to send: `new` (never confirmed to this destination) or `changed` (its
    hash differs from the one confirmed), with its properties as JSON text. A tuple: one is
    made per contact of the diff."""

    key: str
    action: str
    value: str
    hash: str


class StateRow(NamedTuple):
    """A contact a destination confirmed, with the hash it was sent with."""

    key: str
    hash: str


class SyncState(Protocol):
    def diff(self, destination: str) -> Generator[DiffRow, None, None]:
        """Read lazily; closing the generator releases the query."""
        ...

    def record(self, destination: str, pushed: Sequence[StateRow], pushed_at: float) -> None:
        """Advance the state by what the destination confirmed in one request (one
        statement); `pushed_at` in epoch seconds."""
        ...
