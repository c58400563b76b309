"""Score history: the lead_profiles_snapshot snapshot and the lead_level_changes mart over
three scheduled builds, and the daily campaign series that reads it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.python.helpers.scenario_build import build_data
from tests.python.warehouse import scenario

# Ada's last activity is 2026-03-10 09:04 (scenario): 64 points while it is under 24 h old
# (recency 30), 59 once it is older (recency 25), so hot -> warm.
RUNS = (
    ("2026-03-10T12:00:00", False),  # first build: Ada scored hot
    ("2026-03-10T18:00:00", False),  # still hot: no change recorded
    ("2026-03-12T12:00:00", True),  # warm, in a full-refresh build (history survives it)
)


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("history")
    for batch in scenario.BATCHES:
        scenario.land_batch(data_dir / "landing", batch)
    for as_of, full_refresh in RUNS:
        rc = build_data(
            data_dir,
            full_refresh=full_refresh,
            vars=scenario.pinned_vars(as_of),
            not_null_tests=True,
        )
        assert rc == 0, f"build as of {as_of} failed"
    return data_dir / "warehouse.duckdb"


def _rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_two_level_changes_over_three_runs_are_two_rows(three_runs: Path) -> None:
    changes = _rows(
        three_runs,
        "select from_level, to_level, intent_score, changed_at from lead_level_changes "
        "where lead_id = 'lead_ada' order by changed_at",
    )
    assert changes == [
        ("cold", "hot", 64, datetime(2026, 3, 10, 12, 0)),
        ("hot", "warm", 59, datetime(2026, 3, 12, 12, 0)),
    ]


def test_a_build_that_changes_nothing_adds_no_version(three_runs: Path) -> None:
    versions = _rows(
        three_runs,
        "select intent_score, engagement_level from lead_profiles_snapshot "
        "where lead_id = 'lead_ada' order by dbt_valid_from",
    )
    assert versions == [(64, "hot"), (59, "warm")]


def test_a_lead_that_never_left_cold_has_no_change(three_runs: Path) -> None:
    assert _rows(three_runs, "select * from lead_level_changes where lead_id = 'lead_hal'") == []
    assert _rows(
        three_runs, "select count(*) from lead_profiles_snapshot where lead_id = 'lead_hal'"
    ) == [(1,)]


def test_campaign_daily_is_a_gapless_series_with_level_ups(three_runs: Path) -> None:
    rows = _rows(
        three_runs,
        "select day, clicks, scanner_clicks, visits, sessions, form_submissions, "
        "leads_reached_hot from campaign_daily where campaign_id = 'spring-launch' order by day",
    )
    days = [row[0] for row in rows]
    # from Eve's visit (2025-11-01) to the last activity (2026-03-10), every day once
    assert days[0] == date(2025, 11, 1) and days[-1] == date(2026, 3, 10)
    assert days == [days[0] + timedelta(n) for n in range(len(days))]
    by_day = {row[0]: row[1:] for row in rows}
    # 03-09: Bob's scanner click, his own click and his session; 03-10: Fay's two scanner
    # clicks, Ada's session with a form, and Ada and Bob reach hot in that day's build
    assert by_day[date(2026, 3, 9)] == (1, 1, 1, 1, 0, 0)
    assert by_day[date(2026, 3, 10)] == (0, 2, 1, 1, 1, 2)
    assert by_day[date(2025, 12, 9)] == (0, 0, 1, 1, 0, 0)  # Ivy's lone visit
    assert by_day[date(2026, 1, 1)] == (0, 0, 0, 0, 0, 0)
