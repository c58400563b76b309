"""The alerts outbox in the embedded warehouse (`$OIE_DATA_DIR/warehouse.duckdb`).

Alerts run after dbt, under the `oie run` lock, so they are the only writer (as the KV sync
is); a reader that holds the file for a moment (`oie leads`) is waited for. A dry run opens
the file read-only and writes nothing, not even the table.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb

from kv_sync import duckdb_warehouse
from kv_sync.alerts import sql
from kv_sync.alerts.outbox import AlertPoint, Count, LogRow, Rearm, epoch, naive
from kv_sync.clock import Clock
from kv_sync.errors import NothingBuilt
from kv_sync.state_sql import DUCKDB as D


class DuckDBOutbox:
    def __init__(self, con: duckdb.DuckDBPyConnection, *, read_only: bool) -> None:
        self._con = con
        self._read_only = read_only
        if not duckdb_warehouse.table_exists(con, sql.EPISODES):
            raise NothingBuilt("the warehouse has no lead_level_episodes yet: run `oie run` first")
        self._has_log = duckdb_warehouse.table_exists(con, sql.LOG_TABLE)
        if not self._has_log and not read_only:
            con.execute(sql.create_log(D, sql.LOG_TABLE))
            self._has_log = True

    def rearm(self) -> Rearm | None:
        row = self._con.execute(sql.rearm(D, sql.EPISODES)).fetchone()
        return None if row is None else Rearm(row[0], int(row[1]))

    def points(self, channel: str, alert_rank: int) -> list[AlertPoint]:
        log = sql.LOG_TABLE if self._has_log else sql.empty_log(D)
        rows = self._con.execute(
            sql.points(D, sql.EPISODES, sql.LEAD_PROFILES, log),
            {"alert_rank": alert_rank, "channel": channel},
        ).fetchall()
        return [AlertPoint.from_row(r) for r in rows]

    def decide(self, rows: Sequence[LogRow], now: float) -> None:
        self._writable()
        if not rows:
            return
        parameters: dict[str, object] = {
            name: [getattr(r, name) for r in rows] for name in sql.DECIDED_FIELDS
        }
        parameters["next_attempt_at"] = [naive(r.next_attempt_at) for r in rows]
        parameters["payload"] = [r.payload for r in rows]
        parameters["now"] = naive(now)
        self._con.execute(sql.decide(D, sql.LOG_TABLE), parameters)

    def due(self, channel: str, now: float) -> list[LogRow]:
        if not self._has_log:
            return []
        rows = self._con.execute(
            sql.due(D, sql.LOG_TABLE), {"channel": channel, "now": naive(now)}
        ).fetchall()
        return [LogRow.from_row(r) for r in rows]

    def record(self, row: LogRow) -> None:
        self._writable()
        self._con.execute(
            sql.record(D, sql.LOG_TABLE),
            {
                "status": row.status,
                "attempts": row.attempts,
                "next_attempt_at": naive(row.next_attempt_at),
                "last_error": row.last_error,
                "delivered_at": naive(row.delivered_at),
                "alert_id": row.alert_id,
                "channel": row.channel,
            },
        )

    def counts(self) -> list[Count]:
        if not self._has_log:
            return []
        rows = self._con.execute(sql.counts(D, sql.LOG_TABLE)).fetchall()
        return [Count(c, s, int(n), epoch(t)) for c, s, n, t in rows]

    def _writable(self) -> None:
        if self._read_only:
            raise RuntimeError("a dry run records nothing")


@contextmanager
def open_outbox(
    path: Path, *, read_only: bool, clock: Clock, wait_s: float = 30.0
) -> Iterator[DuckDBOutbox]:
    with duckdb_warehouse.connect(path, read_only=read_only, clock=clock, wait_s=wait_s) as con:
        yield DuckDBOutbox(con, read_only=read_only)
