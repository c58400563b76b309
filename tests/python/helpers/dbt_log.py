"""What dbt wrote to a data dir's own log (`<data dir>/dbt/logs/dbt.log`, where `oie`
points dbt's log path), for tests that check how dbt started: a full or a partial parse."""

from __future__ import annotations

from pathlib import Path


def dbt_log(data_dir: Path) -> str:
    return (data_dir / "dbt" / "logs" / "dbt.log").read_text()


def last_invocation(data_dir: Path) -> str:
    """The log of the latest dbt invocation only (dbt appends every run to the file)."""
    return dbt_log(data_dir).rsplit("running dbt with arguments", 1)[-1]
