"""stg_oie__leads builds incrementally (macros/incremental.sql, oie_leads_since): a run reads
the imports newer than the newest loaded, less the lookback while that one is recent, and
ranks them with the stored rows of the leads they touch. Real dbt builds on DuckDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from tests.python.helpers.lead_imports import land_import
from tests.python.helpers.scenario_build import build_data

COLUMNS = "lead_id, title, token, created_at, imported_at"
CREATED = datetime(2026, 2, 1, tzinfo=UTC)


def _land(
    data_dir: Path, imported_at: datetime, leads: dict[str, str], path: Path | None = None
) -> Path:
    """One import's file where `oie campaign create` lands it (or at `path`, rewriting that
    import): lead_id -> title."""
    fields = {lead_id: {"title": title} for lead_id, title in leads.items()}
    return land_import(data_dir, imported_at, fields, created_at=CREATED, path=path)


def _build(data_dir: Path, *, full_refresh: bool = False) -> list[tuple]:
    assert build_data(data_dir, select="stg_oie__leads", full_refresh=full_refresh) == 0
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(f"select {COLUMNS} from stg_oie__leads order by lead_id").fetchall()


def test_each_run_reads_new_imports_and_a_late_commit_inside_the_lookback(tmp_path: Path):
    now = datetime.now(UTC).replace(microsecond=0)
    _land(tmp_path, now - timedelta(minutes=10), {"ada": "CTO", "bob": "Engineer"})
    first = _build(tmp_path)
    assert [(r[0], r[1]) for r in first] == [("ada", "CTO"), ("bob", "Engineer")]

    # An import that started before the newest loaded one and committed after that run.
    _land(tmp_path, now - timedelta(minutes=20), {"cy": "CFO"})
    # A re-import renames Bob; Ada is not in it and keeps her row.
    _land(tmp_path, now - timedelta(minutes=5), {"bob": "Head of Engineering"})
    second = _build(tmp_path)
    assert [(r[0], r[1]) for r in second] == [
        ("ada", "CTO"),
        ("bob", "Head of Engineering"),
        ("cy", "CFO"),
    ]
    assert second[0] == first[0]  # untouched

    # A re-import older than Bob's latest one loses to it, as in a full build.
    loaded_before = _loaded_at(tmp_path)
    _land(tmp_path, now - timedelta(minutes=7), {"bob": "Engineer"})
    third = _build(tmp_path)
    assert third == second
    # The lookback read every import again; the rows already loaded were not written again,
    # only Bob's (a new row of his to rank).
    loaded_after = _loaded_at(tmp_path)
    assert {k for k in loaded_after if loaded_after[k] != loaded_before[k]} == {"bob"}
    assert _build(tmp_path, full_refresh=True) == third


def _loaded_at(data_dir: Path) -> dict[str, datetime]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return dict(con.execute("select lead_id, oie_loaded_at from stg_oie__leads").fetchall())


def test_an_import_loaded_long_ago_is_not_read_again(tmp_path: Path):
    """Once the last load is a lookback past the newest import, the bound is that import
    itself: a later run reads nothing of it (here: its file changed under the warehouse, which
    only a re-read would notice)."""
    imported = datetime(2026, 3, 1, 9, tzinfo=UTC)  # the last load (now) is months later
    loaded = _land(tmp_path, imported, {"ada": "CTO"})
    assert [(r[0], r[1]) for r in _build(tmp_path)] == [("ada", "CTO")]
    _land(tmp_path, imported, {"ada": "CEO"}, loaded)  # the same import, rewritten
    assert [(r[0], r[1]) for r in _build(tmp_path)] == [("ada", "CTO")]
    _land(tmp_path, imported + timedelta(seconds=1), {"eve": "COO"})
    assert [(r[0], r[1]) for r in _build(tmp_path)] == [("ada", "CTO"), ("eve", "COO")]


def test_an_import_file_already_loaded_is_not_parsed_again(tmp_path: Path):
    """The newest import's day is read on every run (a later import of the same day may
    come), but the sealed files the table already holds rows of are skipped unread: here
    the loaded file turns unparseable under the warehouse, and the next runs neither fail
    nor change, while a second import landed in the same day and hour is read."""
    imported = datetime(2026, 3, 1, 9, tzinfo=UTC)
    loaded = _land(tmp_path, imported, {"ada": "CTO", "bob": "Engineer"})
    first = _build(tmp_path)
    assert [(r[0], r[1]) for r in first] == [("ada", "CTO"), ("bob", "Engineer")]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        files = con.execute("select distinct oie_source_file from stg_oie__leads").fetchall()
    assert [Path(f) for (f,) in files] == [loaded]

    loaded.write_text("{ not json\n")
    assert _build(tmp_path) == first
    _land(tmp_path, imported + timedelta(minutes=5), {"cy": "CFO"})
    assert [(r[0], r[1]) for r in _build(tmp_path)] == [
        ("ada", "CTO"),
        ("bob", "Engineer"),
        ("cy", "CFO"),
    ]
