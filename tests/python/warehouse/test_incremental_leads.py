"""int_lead_activity recounts only the leads whose totals can change: when the score window
moves (a later or an earlier oie_as_of) with no new data at all, the incremental builds
must still match a full refresh at the final as_of, lead for lead."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.python.helpers.scenario_build import build_data
from tests.python.warehouse import scenario

START = "2026-03-12T12:00:00"
# Back two days: sessions and clicks after the as_of leave the window from the top.
EARLIER = "2026-03-10T08:00:00"
# Forward 50 days: every session started before 2026-01-30 leaves it from the bottom.
LATER = "2026-05-01T12:00:00"
LEADS = "select * exclude (scored_as_of, oie_updated_at) from lead_profiles order by lead_id"


def _build(data_dir: Path, as_of: str, *, full_refresh: bool, data_tests: bool = True) -> None:
    vars = scenario.pinned_vars(as_of)
    rc = build_data(data_dir, full_refresh=full_refresh, vars=vars, data_tests=data_tests)
    assert rc == 0, f"build as of {as_of} failed"


def _leads(data_dir: Path, sql: str = LEADS) -> list[tuple]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def moved_window(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    incremental = tmp_path_factory.mktemp("moved")
    full = tmp_path_factory.mktemp("full_later")
    for folder in (incremental, full):
        for batch in scenario.BATCHES:
            scenario.land_batch(folder / "landing", batch)
    _build(incremental, START, full_refresh=True)
    _build(incremental, EARLIER, full_refresh=False)
    _build(incremental, LATER, full_refresh=False)
    _build(full, LATER, full_refresh=True, data_tests=False)  # the reference
    return {"incremental": incremental, "full": full}


def test_moving_the_window_changes_totals(moved_window: dict[str, Path]) -> None:
    """The case is real: some lead has fewer sessions in the later window than today."""
    sessions = "select lead_id, total_sessions from lead_profiles order by lead_id"
    later = dict(_leads(moved_window["full"], sessions))
    scenario_dir = moved_window["incremental"]
    with duckdb.connect(str(scenario_dir / "warehouse.duckdb"), read_only=True) as con:
        seen = dict(
            con.execute(
                "select lead_id, count(*) from sessions where lead_id is not null "
                "and not is_bot and not is_internal and not is_quarantined group by lead_id"
            ).fetchall()
        )
    assert any(later.get(lead, 0) < count for lead, count in seen.items()), (later, seen)


def test_incremental_builds_over_a_moving_window_equal_a_full_refresh(
    moved_window: dict[str, Path],
) -> None:
    assert _leads(moved_window["incremental"]) == _leads(moved_window["full"])
