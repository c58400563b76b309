"""The embedded warehouse as the KV sync and the alerts open it: after dbt, under the
`oie run` lock, waiting a while for a reader (`oie leads`, `oie report`) that holds the
file, in UTC, read-only for a dry run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from kv_sync.clock import Clock
from kv_sync.errors import KVUnavailable, NothingBuilt


@contextmanager
def connect(
    path: Path, *, read_only: bool, clock: Clock, wait_s: float = 30.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    if not path.is_file():
        raise NothingBuilt(f"no warehouse at {path}: run `oie run` (or `oie demo`) first")
    waited, delay = 0.0, 0.05
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:  # another process holds the file
            if waited >= wait_s:
                raise KVUnavailable(
                    f"the warehouse at {path} stayed locked for {wait_s:.0f} s: {exc}"
                ) from None
            clock.sleep(delay)
            waited += delay
            delay = min(delay * 2, 1.0)
    try:
        con.execute("set TimeZone = 'UTC'")
        yield con
    finally:
        con.close()


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = current_schema() and table_name = ?",
        [name],
    ).fetchone()
    return bool(found and found[0])


def columns(con: duckdb.DuckDBPyConnection, name: str) -> set[str]:
    found = con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = current_schema() and table_name = ?",
        [name],
    ).fetchall()
    return {row[0].lower() for row in found}


def definition(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """A view's SQL as DuckDB keeps it (a table's: its name; nothing to compare)."""
    found = con.execute(
        "select sql from duckdb_views() where schema_name = current_schema() and view_name = ?",
        [name],
    ).fetchone()
    return str(found[0]) if found else name
