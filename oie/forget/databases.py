"""Erasure from database files: every SQLite and DuckDB file of the installation.

Every table is searched, not a list of known ones: a row is the person's when any text
column (JSON, lists and structs read as text) contains one of their needles, the same rule
as for files. A deleted row must not survive in the file's free pages either:
- SQLite: `secure_delete` zeroes what the DELETE frees, VACUUM rebuilds the file, and the
  write-ahead log is checkpointed and truncated;
- DuckDB keeps freed blocks until they are reused, so the database is copied into a fresh
  file (COPY FROM DATABASE) that replaces the old one.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from oie.forget.files import Needles

_DUCKDB_TEXT_TYPES = ("VARCHAR", "JSON", "BLOB")


@dataclass
class TableErasure:
    rows: int = 0
    tables: dict[str, int] = field(default_factory=dict)


def erase_sqlite(path: Path, needles: Needles, *, dry_run: bool) -> TableErasure:
    result = TableErasure()
    with closing(sqlite3.connect(path, timeout=60, isolation_level=None)) as db:
        db.execute("PRAGMA secure_delete=ON")
        tables = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        for table in tables:
            columns = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]
            texts = [f'CAST("{column}" AS TEXT)' for column in columns]
            where, args = _any_needle(texts, needles, "instr({text}, ?) > 0")
            if not where:
                continue
            count = db.execute(f'SELECT count(*) FROM "{table}" WHERE {where}', args).fetchone()
            if count and count[0]:
                result.tables[table] = count[0]
                result.rows += count[0]
                if not dry_run:
                    db.execute(f'DELETE FROM "{table}" WHERE {where}', args)
        if result.rows and not dry_run:
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return result


def _any_needle(texts: list[str], needles: Needles, contains: str) -> tuple[str, list[str]]:
    """A WHERE condition (and its arguments) true when any of the text expressions holds a
    needle: `contains` is the engine's substring test, with `{text}` and one `?`."""
    parts: list[str] = []
    args: list[str] = []
    for text in texts:
        for needle in needles.exact:
            parts.append(contains.format(text=text))
            args.append(needle.decode())
        for needle in needles.folded:
            parts.append(contains.format(text=f"lower({text})"))
            args.append(needle.decode())
    return " or ".join(parts), args


def erase_duckdb(path: Path, needles: Needles, *, dry_run: bool) -> TableErasure:
    result = TableErasure()
    with closing(duckdb.connect(str(path), read_only=dry_run)) as db:
        tables = db.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_catalog = current_database()"
        ).fetchall()
        for schema, table in tables:
            columns = db.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? AND table_catalog = current_database()",
                [schema, table],
            ).fetchall()
            texts = [
                f'cast("{column}" as varchar)'
                for column, data_type in columns
                # numbers, dates and booleans hold no identifier
                if data_type.startswith(_DUCKDB_TEXT_TYPES) or data_type.endswith(("[]", ")"))
            ]
            where, args = _any_needle(texts, needles, "contains({text}, ?)")
            if not where:
                continue
            name = f'"{schema}"."{table}"'
            row = db.execute(f"SELECT count(*) FROM {name} WHERE {where}", args).fetchone()
            if row and row[0]:
                result.tables[f"{schema}.{table}"] = row[0]
                result.rows += row[0]
                if not dry_run:
                    db.execute(f"DELETE FROM {name} WHERE {where}", args)
    if result.rows and not dry_run:
        compact_duckdb(path)
    return result


def compact_duckdb(path: Path) -> None:
    """Copy the database into a fresh file and put it in the old one's place."""
    fresh = path.with_name(f".{path.stem}.compact{path.suffix}")
    fresh.unlink(missing_ok=True)
    with closing(duckdb.connect(str(path))) as db:
        source = db.execute("SELECT current_database()").fetchone()
        db.execute(f"ATTACH '{_quote(fresh)}' AS oie_compact")
        db.execute(f'COPY FROM DATABASE "{source[0] if source else path.stem}" TO oie_compact')
        db.execute("DETACH oie_compact")
    os.replace(fresh, path)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
