"""The local KV store: `$OIE_DATA_DIR/kv.sqlite`, which the local /personalize reads.

The table is ingest_function.local_kv's (declared once there). Each bulk write is one
SQLite transaction, short enough that the server's read-only lookups (1 s busy timeout)
never notice it. The file is made on the first write, never by a dry run or a read; `fresh`
says it did not exist when the store was opened (deleted, or a new machine), so the sync
knows its memory of this store is worth nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path

import orjson

from ingest_function import local_kv
from kv_sync.clock import Clock
from kv_sync.store import Entry, ListedKey, WriteResult


class LocalKV:
    def __init__(self, path: Path, clock: Clock) -> None:
        self.path = path
        self._clock = clock
        self.fresh = not path.exists()
        self._ready = False

    @property
    def name(self) -> str:
        return "local"

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=10.0)) as con, con:
                con.execute(local_kv.SCHEMA)
                # A store written before the sync existed (tests, older checkouts) has no
                # metadata column: add it rather than refuse the file.
                table = con.execute(f"PRAGMA table_info({local_kv.TABLE})")
                if "metadata" not in {row[1] for row in table}:
                    con.execute(f"ALTER TABLE {local_kv.TABLE} ADD COLUMN metadata TEXT NULL")
            self._ready = True
        return sqlite3.connect(self.path, timeout=10.0)

    def get(self, key: str) -> str | None:
        if not self.path.exists():
            return None
        with closing(self._connect()) as con:
            row = con.execute(
                f"SELECT value, expires_at FROM {local_kv.TABLE} WHERE key = ?", (key,)
            ).fetchone()
        if row is None or (row[1] is not None and row[1] <= self._clock.now()):
            return None
        return str(row[0])

    def put_many(self, entries: Sequence[Entry]) -> WriteResult:
        now = self._clock.now()
        rows = [
            (e.key, e.value, int(now + e.expiration_ttl), orjson.dumps(dict(e.metadata)).decode())
            for e in entries
        ]
        # One transaction: all of the batch or none of it.
        with closing(self._connect()) as con, con:
            con.executemany(
                f"INSERT INTO {local_kv.TABLE} (key, value, expires_at, metadata) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "value = excluded.value, expires_at = excluded.expires_at, "
                "metadata = excluded.metadata",
                rows,
            )
        return WriteResult()

    def delete_many(self, keys: Sequence[str]) -> WriteResult:
        with closing(self._connect()) as con, con:
            con.executemany(f"DELETE FROM {local_kv.TABLE} WHERE key = ?", [(k,) for k in keys])
        return WriteResult()

    def list(self, prefix: str) -> Iterator[ListedKey]:
        if not self.path.exists():
            return
        with closing(self._connect()) as con:
            cursor = con.execute(
                f"SELECT key, expires_at, metadata FROM {local_kv.TABLE} "
                "WHERE substr(key, 1, ?) = ? AND (expires_at IS NULL OR expires_at > ?) "
                "ORDER BY key",
                (len(prefix), prefix, self._clock.now()),
            )
            for key, expires_at, metadata in cursor:
                yield ListedKey(key, expires_at, _metadata(metadata))


def _metadata(text: str | None) -> object:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
