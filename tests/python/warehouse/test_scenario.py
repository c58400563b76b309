"""Snowplow-style integration suite: labelled hard cases -> full refresh and incremental
builds on DuckDB -> every mart equals the hand-written expectation, both ways."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.python.helpers.scenario_build import build_data
from tests.python.warehouse import scenario

VARS = scenario.pinned_vars()


def _sessions_of(warehouse: Path, visitor: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select started_at, ended_at, pageviews from sessions where visitor_id = ? "
            "order by started_at",
            [visitor],
        ).fetchall()


@pytest.fixture(scope="module")
def full_build(tmp_path_factory: pytest.TempPathFactory) -> Path:

    data_dir = tmp_path_factory.mktemp("full")
    for batch in scenario.BATCHES:
        scenario.land_batch(data_dir / "landing", batch)
    rc = build_data(data_dir, full_refresh=True, vars=VARS, not_null_tests=True, artifacts=True)
    assert rc == 0
    return data_dir / "warehouse.duckdb"


@pytest.fixture(scope="module")
def incremental_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Batch 1 as a full refresh, then batches 2-4 incrementally (batch 3 holds events that
    were received before batch 2's newest: out-of-order commits inside the lookback)."""

    data_dir = tmp_path_factory.mktemp("incremental")
    db = data_dir / "warehouse.duckdb"
    observed: dict[str, object] = {"db": db}
    for batch in scenario.BATCHES:
        scenario.land_batch(data_dir / "landing", batch)
        rc = build_data(data_dir, full_refresh=batch == 1, vars=VARS, not_null_tests=True)
        assert rc == 0, f"dbt build failed on batch {batch}"
        observed[f"bob_after_{batch}"] = _sessions_of(db, "v-bob")
    return observed


def test_full_refresh_matches_hand_written_expectations(full_build: Path) -> None:
    assert scenario.compare_marts(full_build) == {}


def test_incremental_runs_match_hand_written_expectations(incremental_build: dict) -> None:
    assert scenario.compare_marts(incremental_build["db"]) == {}


def test_the_full_build_ran_every_data_test_not_null_included(full_build: Path) -> None:
    """This build checks the SQL across the marts (tests/python/helpers/scenario_build.py):
    dbt's not_null tests ran in it, with every other data test, and passed."""
    run = json.loads((full_build.parent / "dbt" / "target" / "run_results.json").read_text())
    tests = {
        r["unique_id"]: r["status"] for r in run["results"] if r["unique_id"].startswith("test.")
    }
    not_null = [t for t in tests if t.startswith("test.oie.not_null_")]
    assert len(not_null) > 100
    assert set(tests.values()) == {"pass"}


def test_late_event_merges_two_sessions_incrementally(incremental_build: dict) -> None:
    # before the late page view arrives, the 50-minute gap splits Bob's visit in two
    assert [s[2] for s in incremental_build["bob_after_2"]] == [2, 1]
    # the late event (batch 3) bridges the gap: one session of four page views
    assert [s[2] for s in incremental_build["bob_after_3"]] == [4]
    # the event that arrives after the lookback still lands (watermark is on received_at)
    assert [s[2] for s in incremental_build["bob_after_4"]] == [1, 4]


def test_incremental_equals_full_refresh_row_for_row(
    full_build: Path, incremental_build: dict
) -> None:
    queries = {
        "events": "select * exclude (received_at, oie_updated_at) from events order by event_id",
        "sessions": "select * exclude (oie_updated_at) from sessions order by session_id",
        "lead_profiles": (
            "select * exclude (scored_as_of, oie_updated_at) from lead_profiles order by lead_id"
        ),
        "identity_map": (
            "select * exclude (oie_updated_at) from identity_map order by identity_key"
        ),
        "edge_profiles": "select * from edge_profiles order by key",
        "campaign_performance": "select * from campaign_performance order by campaign_id",
        "email_clicks": "select * exclude (oie_updated_at) from email_clicks order by event_id",
        "campaign_daily": "select * from campaign_daily order by all",
        "intent_distribution": "select * from intent_distribution order by all",
    }
    with (
        duckdb.connect(str(full_build), read_only=True) as full,
        duckdb.connect(str(incremental_build["db"]), read_only=True) as inc,
    ):
        for mart, sql in queries.items():
            assert full.execute(sql).fetchall() == inc.execute(sql).fetchall(), mart


def test_empty_landing_folder_builds_empty_marts(build, tmp_path: Path) -> None:
    assert build(vars=VARS) == 0
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        for mart in ("events", "sessions", "lead_profiles", "identity_map", "campaign_performance"):
            assert con.execute(f"select count(*) from {mart}").fetchone() == (0,), mart
