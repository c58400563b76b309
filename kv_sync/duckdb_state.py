"""The sync state in the embedded warehouse (`$OIE_DATA_DIR/warehouse.duckdb`).

The sync runs after dbt, under the `oie run` lock, so it is the only writer; a reader that
holds the file for a moment (`oie leads`) is waited for. A dry run opens the file read-only
and writes nothing, not even the state table.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb

from kv_sync import duckdb_warehouse, state_sql
from kv_sync.clock import Clock
from kv_sync.errors import NothingBuilt
from kv_sync.state import DiffRow, StateRow, utc
from kv_sync.store import MAX_BATCH_KEYS

D = state_sql.DUCKDB


def _naive(epoch: float | None) -> datetime | None:
    """DuckDB's TIMESTAMP holds UTC without a zone (the dbt profile runs in UTC too)."""
    value = utc(epoch)
    return None if value is None else value.replace(tzinfo=None)


class DuckDBState:
    def __init__(self, con: duckdb.DuckDBPyConnection, *, read_only: bool) -> None:
        self._con = con
        self._read_only = read_only
        if not duckdb_warehouse.table_exists(con, state_sql.EDGE_PROFILES):
            raise NothingBuilt("the warehouse has no edge_profiles yet: run `oie run` first")
        self._has_state = duckdb_warehouse.table_exists(con, state_sql.STATE_TABLE)
        if not self._has_state and not read_only:
            con.execute(state_sql.create_state(D, state_sql.STATE_TABLE))
            self._has_state = True

    def diff(self, store: str, refresh_before: float) -> Iterator[DiffRow]:
        state = state_sql.STATE_TABLE if self._has_state else state_sql.empty_state(D)
        # A cursor of its own: the batches it yields are recorded on the main connection
        # while it is still being read (DuckDB reads a snapshot).
        reader = self._con.cursor()
        try:
            reader.execute(
                state_sql.diff(D, state_sql.EDGE_PROFILES, state),
                {"store": store, "refresh_before": _naive(refresh_before)},
            )
            while rows := reader.fetchmany(MAX_BATCH_KEYS):
                yield from map(DiffRow._make, rows)  # (key, action, value, hash)
        finally:
            reader.close()

    def record(self, store: str, pushed: Sequence[StateRow] = (), gone: Sequence[str] = ()) -> None:
        self._writable()
        if not pushed and not gone:
            return
        parameters: dict[str, object] = {"store": store}
        shared = False
        if pushed:
            parameters["keys"] = [r.key for r in pushed]
            parameters["hashes"] = [r.hash for r in pushed]
            # Epoch seconds; a bulk request's keys share their times: one value each then.
            expires = {r.expires_at for r in pushed}
            times = {r.pushed_at for r in pushed}
            shared = len(expires) == 1 and len(times) == 1
            parameters["expires"] = expires.pop() if shared else [r.expires_at for r in pushed]
            parameters["pushed"] = times.pop() if shared else [r.pushed_at for r in pushed]
        if gone:
            parameters["gone"] = list(gone)
        sql = state_sql.merge(
            D, state_sql.STATE_TABLE, pushed=bool(pushed), gone=bool(gone), shared_times=shared
        )
        self._con.execute(sql, parameters)

    def clear(self, store: str) -> None:
        self._writable()
        self._con.execute(state_sql.clear_store(D, state_sql.STATE_TABLE), {"store": store})

    def _writable(self) -> None:
        if self._read_only:
            raise RuntimeError("a dry run records nothing")


@contextmanager
def open_state(
    path: Path, *, read_only: bool, clock: Clock, wait_s: float = 30.0
) -> Iterator[DuckDBState]:
    with duckdb_warehouse.connect(path, read_only=read_only, clock=clock, wait_s=wait_s) as con:
        yield DuckDBState(con, read_only=read_only)
