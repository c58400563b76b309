"""Tuning the score by dbt vars never breaks a build (docs/warehouse.md, "Tuning the score").

Every numeric `oie_*` var of dbt_project.yml is moved off its default, once through
`--vars` and once by editing dbt_project.yml itself, and the labelled scenario is built:
dbt must exit 0 with every model, snapshot and mart rebuilt (a unit test that relied on a
default would fail the build and skip the marts), and every lead's five components, score
and level must equal the formula computed here in Python from the lead's activity columns.
Changing all vars in one build catches any unit test or data test that reads a default;
two builds move each var in opposite directions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from oie import warehouse
from tests.python.helpers import dbt_in_worker
from tests.python.warehouse import scenario, tuning

LEAD_COLUMNS = (
    "lead_id, is_internal_lead, last_activity_at, scored_as_of, total_sessions, "
    "total_pageviews, total_active_s, deep_pageviews, pricing_page_visits, case_study_views, "
    "product_page_views, form_submissions, videos_completed, score_recency, score_frequency, "
    "score_engagement, score_high_intent, score_conversions, intent_score, engagement_level"
)
# The engagement measures the score reads that lead_profiles does not show.
ACTIVITY_COLUMNS = "mean_cursor_jitter, median_reading_wpm"
TUNED_TIERS = [[12, 40], [48, 22], [500, 8]]


def lowered(name: str, value: int | float) -> int | float:
    """Every numeric var moved down (ints of 1 go up: 0 would switch a feature off)."""
    if isinstance(value, float):
        return round(value * 0.8, 4)
    return value + 1 if value <= 1 else max(1, round(value * 0.75))


def raised(name: str, value: int | float) -> int | float:
    """Every numeric var moved up, within the score's 0-100 contract."""
    if name == "oie_score_total_cap":
        return value - 1
    if isinstance(value, float):
        return round(value * 0.9, 4)  # the confidences stay within 0-1
    return value + 1


def tuned_vars(move: Any) -> dict[str, Any]:
    changed: dict[str, Any] = {n: move(n, v) for n, v in tuning.numeric_vars().items()}
    changed["oie_score_recency_tiers"] = TUNED_TIERS
    return changed


def built(data_dir: Path, project_dir: Path, vars: dict[str, Any]) -> Path:
    for batch in scenario.BATCHES:
        scenario.land_batch(data_dir / "landing", batch)
    build = warehouse.dbt_command(vars=vars, project_dir=project_dir)
    rc = dbt_in_worker.run(build, {"OIE_DATA_DIR": str(data_dir)})
    assert rc == 0, "dbt build failed with tuned vars"
    return data_dir


@pytest.fixture(scope="module")
def tuned_by_flag(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    proposed = tuned_vars(lowered) | {"oie_as_of": scenario.AS_OF}
    data_dir = built(tmp_path_factory.mktemp("flag"), warehouse.PROJECT_DIR, proposed)
    return data_dir, tuning.project_vars() | proposed


@pytest.fixture(scope="module")
def tuned_in_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    edits = tuned_vars(raised)
    project = tuning.copy_project(tmp_path_factory.mktemp("project"), edits)
    data_dir = built(tmp_path_factory.mktemp("edited"), project, {"oie_as_of": scenario.AS_OF})
    return data_dir, tuning.project_vars() | edits


def _results(data_dir: Path) -> dict[str, str]:
    run = json.loads((data_dir / "dbt" / "target" / "run_results.json").read_text())
    return {r["unique_id"]: r["status"] for r in run["results"]}


def _assert_everything_rebuilt(data_dir: Path) -> None:
    statuses = _results(data_dir)
    # dbt lists the report's exposure in a build with status "no-op": nothing to run.
    not_ok = {
        node: s
        for node, s in statuses.items()
        if s not in ("success", "pass") and not (node.startswith("exposure.") and s == "no-op")
    }
    assert not_ok == {}
    marts = {p.stem for p in (warehouse.PROJECT_DIR / "models" / "marts").rglob("*.sql")}
    rebuilt = {node.split(".")[-1] for node in statuses if node.startswith("model.")}
    assert marts - rebuilt == set(), "marts not rebuilt"
    assert any(node.startswith("unit_test.") for node in statuses), "unit tests did not run"
    assert any(node.startswith("snapshot.") for node in statuses), "score history not taken"


def _leads(data_dir: Path) -> list[dict[str, Any]]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        cursor = con.execute(
            f"select {LEAD_COLUMNS}, {ACTIVITY_COLUMNS} from lead_profiles inner join "
            f"(select lead_id, {ACTIVITY_COLUMNS} from int_lead_activity) using (lead_id) "
            "order by lead_id"
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _assert_scores_follow(data_dir: Path, vars: dict[str, Any]) -> None:
    leads = _leads(data_dir)
    assert len(leads) == 10
    for lead in leads:
        want = tuning.expected_score(lead, vars)
        got = {k: lead[k] for k in want}
        assert got == {
            **want,
            "score_engagement": pytest.approx(want["score_engagement"], abs=0.011),
        }, lead["lead_id"]
    # the tuned table matters: with the shipped defaults some lead would score differently
    defaults = tuning.project_vars()
    assert any(
        tuning.expected_score(lead, defaults) != tuning.expected_score(lead, vars) for lead in leads
    )


def test_every_numeric_var_lowered_by_flag_rebuilds_every_mart(tuned_by_flag) -> None:
    _assert_everything_rebuilt(tuned_by_flag[0])


def test_a_tuned_table_by_flag_scores_every_lead_as_the_formula_says(tuned_by_flag) -> None:
    _assert_scores_follow(*tuned_by_flag)


def test_every_numeric_var_raised_in_dbt_project_yml_rebuilds_every_mart(tuned_in_project) -> None:
    _assert_everything_rebuilt(tuned_in_project[0])


def test_a_tuned_table_in_dbt_project_yml_scores_every_lead_as_the_formula_says(
    tuned_in_project,
) -> None:
    _assert_scores_follow(*tuned_in_project)


def test_the_walk_covers_every_numeric_var() -> None:
    """Guard for the two builds above: each numeric var really changes in both."""
    for name, value in tuning.numeric_vars().items():
        assert lowered(name, value) != value, name
        assert raised(name, value) != value, name
    assert tuning.numeric_vars(), "dbt_project.yml declares no numeric vars?"
