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

from kv_sync import duckdb_warehouse, scope, state_sql
from kv_sync.clock import Clock
from kv_sync.errors import NothingBuilt
from kv_sync.state import DiffRow, StateRow, utc
from kv_sync.store import MAX_BATCH_KEYS

D = state_sql.DUCKDB


def _naive(epoch: float | None) -> datetime | None:
    """DuckDB's TIMESTAMP holds UTC without a zone (the dbt profile runs in UTC too)."""
    value = utc(epoch)
    return None if value is None else value.replace(tzinfo=None)


def _leads_list(leads: tuple[str, ...]) -> str:
    """An SQL list of string literals: DuckDB pushes a constant list down to the tables
    under edge_profiles (0.09 s at 30M events), where a subquery or a list parameter
    computes every key first (1.0-1.4 s)."""
    return "(" + ", ".join("'" + lead.replace("'", "''") + "'" for lead in leads) + ")"


class DuckDBState:
    def __init__(self, con: duckdb.DuckDBPyConnection, *, read_only: bool) -> None:
        self._con = con
        self._read_only = read_only
        if not duckdb_warehouse.table_exists(con, state_sql.EDGE_PROFILES):
            raise NothingBuilt("the warehouse has no edge_profiles yet: run `oie run` first")
        self._has_state = duckdb_warehouse.table_exists(con, state_sql.STATE_TABLE)
        self._has_marks = duckdb_warehouse.table_exists(con, state_sql.MARKS_TABLE)
        if not read_only:
            con.execute(state_sql.create_state(D, state_sql.STATE_TABLE))
            con.execute(state_sql.add_lead_id(D, state_sql.STATE_TABLE))
            con.execute(state_sql.create_marks(D, state_sql.MARKS_TABLE))
            self._has_state = self._has_marks = True
        self._owned = "lead_id" in duckdb_warehouse.columns(con, state_sql.EDGE_PROFILES)

    def plan(self, store: str, refresh_before: float) -> scope.Scope:
        con = self._con
        if not (self._owned and duckdb_warehouse.table_exists(con, state_sql.CHANGES)):
            return scope.Scope(None, None)  # built by an older version: every key
        newest = con.execute(state_sql.newest_change(state_sql.CHANGES)).fetchone()
        current = scope.Mark(
            newest[0] if newest else None,
            scope.fingerprint(duckdb_warehouse.definition(con, state_sql.EDGE_PROFILES)),
        )
        stored = None
        if self._has_marks and self._has_state:
            found = con.execute(state_sql.read_mark(D, state_sql.MARKS_TABLE), {"store": store})
            row = found.fetchone()
            stored = scope.Mark(row[0], row[1]) if row else None
            if "lead_id" not in duckdb_warehouse.columns(con, state_sql.STATE_TABLE):
                stored = None  # a dry run before the column was added

        def unowned() -> int:
            sql = state_sql.unowned_keys(D, state_sql.STATE_TABLE)
            counted = con.execute(sql, {"store": store}).fetchone()
            return int(counted[0]) if counted else 0

        def changed(since: datetime) -> list[str]:
            sql = state_sql.changed_leads(D, state_sql.CHANGES, state_sql.STATE_TABLE)
            parameters = {
                "since": since,
                "store": store,
                "refresh_before": _naive(refresh_before),
            }
            return [row[0] for row in con.execute(sql, parameters).fetchall()]

        return scope.choose(
            stored=stored, current=current, unowned_keys=unowned, changed_leads=changed
        )

    def diff(self, store: str, refresh_before: float, within: scope.Scope) -> Iterator[DiffRow]:
        if within.leads == ():
            return  # nothing changed and nothing expires
        state = state_sql.STATE_TABLE if self._has_state else state_sql.empty_state(D)
        sql = state_sql.diff(
            D,
            state_sql.EDGE_PROFILES,
            state,
            leads=None if within.leads is None else _leads_list(within.leads),
            owned=self._owned,
        )
        # A cursor of its own: the batches it yields are recorded on the main connection
        # while it is still being read (DuckDB reads a snapshot).
        reader = self._con.cursor()
        try:
            reader.execute(sql, {"store": store, "refresh_before": _naive(refresh_before)})
            while rows := reader.fetchmany(MAX_BATCH_KEYS):
                yield from map(DiffRow._make, rows)  # (key, action, value, hash, lead_id)
        finally:
            reader.close()

    def advance(self, store: str, done: scope.Scope) -> None:
        """The diff of `done` was sent whole: record where the next one starts."""
        self._writable()
        if done.next_mark is None:
            return
        if done.every_key:
            sql = state_sql.fill_lead_ids(D, state_sql.EDGE_PROFILES, state_sql.STATE_TABLE)
            self._con.execute(sql, {"store": store})
        self._con.execute(
            state_sql.write_mark(D, state_sql.MARKS_TABLE),
            {
                "store": store,
                "synced_through": done.next_mark.synced_through,
                "profiles_sql": done.next_mark.profiles_sql,
            },
        )

    def record(self, store: str, pushed: Sequence[StateRow] = (), gone: Sequence[str] = ()) -> None:
        self._writable()
        if not pushed and not gone:
            return
        parameters: dict[str, object] = {"store": store}
        shared = False
        if pushed:
            parameters["keys"] = [r.key for r in pushed]
            parameters["hashes"] = [r.hash for r in pushed]
            parameters["leads"] = [r.lead_id for r in pushed]
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
        self._con.execute(state_sql.clear_mark(D, state_sql.MARKS_TABLE), {"store": store})

    def _writable(self) -> None:
        if self._read_only:
            raise RuntimeError("a dry run records nothing")


@contextmanager
def open_state(
    path: Path, *, read_only: bool, clock: Clock, wait_s: float = 30.0
) -> Iterator[DuckDBState]:
    with duckdb_warehouse.connect(path, read_only=read_only, clock=clock, wait_s=wait_s) as con:
        yield DuckDBState(con, read_only=read_only)
