"""The CRM sync state in the embedded warehouse (`$OIE_DATA_DIR/warehouse.duckdb`).

Opened as the KV sync opens it (kv_sync.duckdb_warehouse: after dbt, under the `oie run`
lock, waiting a while for a reader that holds the file, in UTC). A dry run opens the file
read-only and writes nothing, not even the state table.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb

from crm_sync import state_sql
from crm_sync.state import DiffRow, StateRow
from kv_sync import duckdb_warehouse
from kv_sync.clock import Clock
from kv_sync.errors import NothingBuilt

D = state_sql.DUCKDB
FETCH_ROWS = 10_000


class DuckDBState:
    def __init__(self, con: duckdb.DuckDBPyConnection, *, read_only: bool) -> None:
        self._con = con
        self._read_only = read_only
        if not duckdb_warehouse.table_exists(con, state_sql.CRM_CONTACTS):
            raise NothingBuilt(
                "the warehouse has no crm_contacts yet: run `oie run` (a dbt build) first"
            )
        self._has_state = duckdb_warehouse.table_exists(con, state_sql.STATE_TABLE)
        if not self._has_state and not read_only:
            con.execute(state_sql.create_state(D, state_sql.STATE_TABLE))
            self._has_state = True

    def diff(self, destination: str) -> Generator[DiffRow, None, None]:
        state = state_sql.STATE_TABLE if self._has_state else state_sql.empty_state(D)
        # A cursor of its own: the batches it yields are recorded on the main connection
        # while it is still being read (DuckDB reads a snapshot).
        reader = self._con.cursor()
        try:
            reader.execute(
                state_sql.diff(D, state_sql.CRM_CONTACTS, state), {"destination": destination}
            )
            while rows := reader.fetchmany(FETCH_ROWS):
                yield from map(DiffRow._make, rows)  # (key, action, value, hash)
        finally:
            reader.close()

    def record(self, destination: str, pushed: Sequence[StateRow], pushed_at: float) -> None:
        if self._read_only:
            raise RuntimeError("a dry run records nothing")
        if not pushed:
            return
        self._con.execute(
            state_sql.merge(D, state_sql.STATE_TABLE),
            {
                "destination": destination,
                "keys": [r.key for r in pushed],
                "hashes": [r.hash for r in pushed],
                "pushed_at": pushed_at,
            },
        )


@contextmanager
def open_state(
    path: Path, *, read_only: bool, clock: Clock, wait_s: float = 30.0
) -> Iterator[DuckDBState]:
    with duckdb_warehouse.connect(path, read_only=read_only, clock=clock, wait_s=wait_s) as con:
        yield DuckDBState(con, read_only=read_only)
