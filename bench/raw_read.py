"""The floor under a full build: DuckDB reading and parsing the landing files alone, with
the same reader, partitioning and column types as the raw_events source, every column
converted (one aggregate per column) and nothing stored.

    .venv/bin/python -m bench.raw_read /tmp/oie-bench/10000000/landing
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb

from oie_core.raw_schema import RAW_EVENTS


def read_json_of(landing: Path) -> str:
    columns = ", ".join(f"'{c.name}': '{c.landing_type}'" for c in RAW_EVENTS.columns)
    return (
        f"read_json('{landing}/events/*/*/*.ndjson', format='newline_delimited', "
        "hive_partitioning=true, hive_types={'dt': 'DATE', 'hr': 'INTEGER'}, "
        f"columns={{{columns}}})"
    )


def read_all(landing: Path) -> tuple[int, float]:
    """(lines, seconds) to parse every landing line into typed columns."""
    started = time.perf_counter()
    with duckdb.connect() as con:
        sql = f"select count(*), min(columns(*)) from {read_json_of(landing)}"
        row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0]), time.perf_counter() - started


if __name__ == "__main__":
    lines, seconds = read_all(Path(sys.argv[1]))
    print(f"{lines} lines read in {seconds:.2f} s")
