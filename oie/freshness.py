"""Is raw data still arriving? `dbt source freshness` on the sources that declare it.

The thresholds live with the raw tables (`oie_core/raw_schema.py`, `Freshness`: warn after
6 h, error after 24 h without a new event, on the server's `received_at`) and are generated
into `models/staging/__sources.yml`. This module runs dbt's own check, reads its
`sources.json` and returns a small typed report; `oie run` prints `report.summary()` in its
one-line status, e.g. `sources: events stale (last received 27 h ago)`.

On the local target a landing stream with no sealed file yet (a fresh clone) cannot be read
by DuckDB at all (`read_json` fails on a glob that matches nothing), so such a source is
reported as `no data` without asking dbt. Staleness is reported, never raised: a quiet
site is not a broken warehouse.

`oie run` on the local target does not start dbt a second time for this (a `dbt source
freshness` re-reads every landing file: tens of seconds per run). The build it just ran has
loaded every sealed file, so the newest `received_at` in the warehouse is the source's
newest row: `warehouse_freshness` reads it read-only and applies the same thresholds. On
BigQuery `dbt source freshness` is cheap (table metadata) and is what `check` runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from oie import warehouse
from oie_core.raw_schema import RAW_TABLES, RawTable
from oie_core.settings import Settings

PROJECT_NAME = "oie"  # dbt_project.yml `name`
SOURCE_NAME = "oie"  # the source block of models/staging/__sources.yml
_DBT_STATUSES: dict[str, Status] = {"pass": "pass", "warn": "warn", "error": "error"}
Status = Literal["pass", "warn", "error", "runtime error", "no data"]


class FreshnessError(warehouse.WarehouseError):
    """`dbt source freshness` did not produce results (a dbt or profile problem)."""


@dataclass(frozen=True)
class SourceFreshness:
    """One raw table's freshness: dbt's status and the age of its newest row."""

    table: str  # raw_events
    stream: str  # events (the landing stream; the short name used in the status line)
    status: Status
    max_loaded_at: datetime | None = None
    age_s: float | None = None
    message: str = ""

    @property
    def is_stale(self) -> bool:
        """Anything but a pass: past the warn threshold, no data at all, or not checkable."""
        return self.status != "pass"

    def describe(self) -> str:
        if self.status == "no data":
            return f"{self.stream}: no data landed yet"
        if self.status == "runtime error":
            return f"{self.stream}: freshness not checked ({self.message or 'dbt error'})"
        age = f"last received {format_age(self.age_s)} ago" if self.age_s is not None else ""
        word = {"pass": "fresh", "warn": "stale", "error": "stale"}[self.status]
        return f"{self.stream} {word} ({age})" if age else f"{self.stream} {word}"


@dataclass(frozen=True)
class FreshnessReport:
    sources: tuple[SourceFreshness, ...]

    @property
    def stale(self) -> tuple[SourceFreshness, ...]:
        return tuple(s for s in self.sources if s.is_stale)

    def summary(self) -> str:
        """The one-line status: the stale sources, or that every checked source is fresh."""
        if not self.sources:
            return "sources: no freshness declared"
        shown = self.stale or self.sources
        return "sources: " + "; ".join(s.describe() for s in shown)


def format_age(seconds: float) -> str:
    """27 h, 12 min, 3 d: the largest unit that keeps the number readable."""
    minutes = seconds / 60
    if minutes < 90:
        return f"{max(0, round(minutes))} min"
    hours = minutes / 60
    if hours < 48:
        return f"{round(hours)} h"
    return f"{round(hours / 24)} d"


def checked_tables() -> tuple[RawTable, ...]:
    """The raw tables that declare a freshness threshold."""
    return tuple(t for t in RAW_TABLES if t.freshness is not None)


def _has_sealed_files(landing_dir: Path, stream: str) -> bool:
    # The same glob as the source's external_location (sealed files only).
    return any((landing_dir / stream).glob("*/*/*.ndjson"))


def source_freshness(
    data_dir: Path,
    *,
    landing_dir: Path | None = None,
    target: str = "local",
    tables: tuple[RawTable, ...] | None = None,
) -> FreshnessReport:
    """Run `dbt source freshness` for the raw tables that declare it; never raises on
    staleness, raises FreshnessError when dbt produced no result at all."""
    landing = landing_dir or data_dir / "landing"
    tables = checked_tables() if tables is None else tables
    empty: dict[str, SourceFreshness] = {}
    if target == "local":
        for table in tables:
            if not _has_sealed_files(landing, table.stream):
                empty[table.name] = SourceFreshness(table.name, table.stream, "no data")
    to_check = [t for t in tables if t.name not in empty]
    results: dict[str, SourceFreshness] = {}
    if to_check:
        results = _run_dbt(data_dir, landing, target, to_check)
    return FreshnessReport(tuple(empty.get(t.name) or results[t.name] for t in tables))


def _run_dbt(
    data_dir: Path, landing: Path, target: str, tables: list[RawTable]
) -> dict[str, SourceFreshness]:
    env = {"OIE_DATA_DIR": str(data_dir), "OIE_LANDING_DIR": str(landing), "OIE_TARGET": target}
    select = " ".join(f"source:{SOURCE_NAME}.{t.name}" for t in tables)
    args = warehouse.dbt_command("source", select=select, extra_args=())
    args[2:2] = ["freshness"]  # dbt source freshness --project-dir ... --select ...
    sources_json = Path(warehouse.dbt_env(env)["DBT_TARGET_PATH"]) / "sources.json"
    sources_json.unlink(missing_ok=True)  # never read a previous run's answer
    # the run lock lives as long as this dbt does (run_dbt passes it down)
    completed = warehouse.run_dbt(args, env, capture=True)
    if not sources_json.is_file():
        tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-5:])
        raise FreshnessError(
            f"dbt source freshness exited with code {completed.returncode} and wrote no "
            f"sources.json:\n{tail}"
        )
    return parse_sources_json(json.loads(sources_json.read_text()), tables)


def parse_sources_json(
    document: Mapping[str, object], tables: list[RawTable]
) -> dict[str, SourceFreshness]:
    """dbt's sources.json (results per source) as SourceFreshness by raw table name."""
    by_id: dict[str, dict[str, object]] = {}
    results = document.get("results")
    for result in results if isinstance(results, list) else []:
        if isinstance(result, dict):
            by_id[str(result.get("unique_id"))] = result
    out: dict[str, SourceFreshness] = {}
    for table in tables:
        result = by_id.get(f"source.{PROJECT_NAME}.{SOURCE_NAME}.{table.name}")
        if result is None:
            out[table.name] = SourceFreshness(
                table.name, table.stream, "runtime error", message="not in dbt's results"
            )
            continue
        status = _DBT_STATUSES.get(str(result.get("status")))
        if status is None:
            message = str(result.get("error") or result.get("message") or result.get("status"))
            out[table.name] = SourceFreshness(
                table.name, table.stream, "runtime error", message=message.splitlines()[0]
            )
            continue
        loaded = result.get("max_loaded_at")
        age = result.get("max_loaded_at_time_ago_in_s")
        out[table.name] = SourceFreshness(
            table.name,
            table.stream,
            status,
            max_loaded_at=datetime.fromisoformat(loaded) if isinstance(loaded, str) else None,
            age_s=float(age) if isinstance(age, int | float) else None,
        )
    return out


# The model that holds each checked raw table's rows once a build has loaded them.
LOADED_INTO = {"raw_events": "int_events_deduped"}


def _status(table: RawTable, age_s: float) -> Status:
    assert table.freshness is not None
    if age_s > table.freshness.error_after_hours * 3600:
        return "error"
    if age_s > table.freshness.warn_after_hours * 3600:
        return "warn"
    return "pass"


def warehouse_freshness(
    data_dir: Path, *, now: datetime | None = None, tables: tuple[RawTable, ...] | None = None
) -> FreshnessReport:
    """The declared thresholds applied to the newest loaded row in the local warehouse
    (read-only). A table the warehouse has no rows of (or no warehouse yet) is `no data`."""
    moment = (now or datetime.now(UTC)).replace(tzinfo=None)
    tables = checked_tables() if tables is None else tables
    newest: dict[str, datetime | None] = {}
    if (data_dir / "warehouse.duckdb").exists():
        with warehouse.connect_readonly(data_dir) as con:
            present = {
                row[0] for row in con.execute("select table_name from duckdb_tables()").fetchall()
            }
            for table in tables:
                model = LOADED_INTO.get(table.name)
                if model in present and table.freshness is not None:
                    column = table.freshness.loaded_at
                    (value,) = con.execute(f"select max({column}) from {model}").fetchone() or (
                        None,
                    )
                    newest[table.name] = value
    sources = []
    for table in tables:
        loaded = newest.get(table.name)
        if loaded is None:
            sources.append(SourceFreshness(table.name, table.stream, "no data"))
            continue
        age = (moment - loaded).total_seconds()
        sources.append(SourceFreshness(table.name, table.stream, _status(table, age), loaded, age))
    return FreshnessReport(tuple(sources))


def check(settings: Settings) -> str:
    """`oie run`'s freshness step: the one-line status. Staleness is reported, not raised
    (a quiet weekend is not a failed pipeline); a dbt that cannot check at all is said so."""
    if settings.target == "local":
        return warehouse_freshness(settings.data_dir).summary()
    try:
        report = source_freshness(
            settings.data_dir, landing_dir=settings.landing_dir, target=settings.target
        )
    except FreshnessError as exc:
        return "sources: freshness not checked (" + str(exc).splitlines()[0] + ")"
    return report.summary()
