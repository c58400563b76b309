"""Company inference in the warehouse (docs/warehouse.md "Companies from networks"): the
labelled rows of networks/*.csv through real dbt builds on DuckDB, compared with the
hand-written expected CSVs of networks/expected/.

The build runs on a copy of the project whose network seed has one row an analyst added
(AS64512 is a business), so the seed's precedence over the name patterns is tested without
touching the repository's seed."""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.python.helpers.project_copy import copy_project, run_dbt
from tests.python.helpers.scenario_build import AS_SCHEDULED, WITHOUT_UNIT_TESTS
from tests.python.warehouse import scenario

HERE = Path(__file__).parent / "networks"
CAMPAIGN = "networks"
# Everything the expectations rely on, pinned (an analyst's edits never change them).
VARS: dict[str, Any] = {
    **scenario.pinned_vars(),
    "oie_isp_org_patterns": ["%broadband%", "%cable%"],
    "oie_mobile_org_patterns": ["%mobile%", "%wireless%"],
    "oie_hosting_org_patterns": ["%hosting%", "%cloud%"],
    "oie_isp_min_companies": 3,
    "oie_score_high_intent_per_colleague_session": 0,
}


def _rows(name: str) -> list[dict[str, str]]:
    with (HERE / name).open(newline="") as f:
        return list(csv.DictReader(f))


def land(data_dir: Path, batch: int) -> None:
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in _rows("events.csv"):
        if int(row["batch"]) != batch:
            continue
        at = scenario._parse(row["event_at"])
        record = scenario.landing_event(
            row["event_id"],
            "pageview",
            at,
            at + timedelta(seconds=2),
            visitor=row["visitor_id"],
            token=row["token"] or None,
            url=f"https://site.example{row['path']}",
            data={"title": row["path"]},
            ip=row["ip"],
            network={k: row[k] or None for k in scenario.NETWORK_FIELDS},
        )
        lines[scenario._partition(at + timedelta(seconds=2))].append(record)
    for partition, records in lines.items():
        path = data_dir / "landing" / "events" / partition / f"networks-{batch}.ndjson"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    if batch == 1:
        leads = [
            {
                "lead_id": row["lead_id"],
                "email": row["email"],
                "email_sha256": "0" * 64,
                "first_name": row["first_name"],
                "last_name": row["last_name"],
                "company": row["company"],
                "title": "CTO",
                "industry": "Software",
                "campaign_id": CAMPAIGN,
                "campaign_name": "Networks",
                "token": row["token"],
                "created_at": "2026-02-01T00:00:00.000Z",
            }
            for row in _rows("leads.csv")
        ]
        path = data_dir / "landing" / "leads" / "dt=2026-03-01" / "hr=00" / "networks.ndjson"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r) + "\n" for r in leads))


def _build(
    project: Path, data_dir: Path, *args: str, not_null_tests: bool = True, **extra_vars: Any
) -> None:
    tests = WITHOUT_UNIT_TESTS if not_null_tests else AS_SCHEDULED
    done = run_dbt(project, data_dir, "build", *args, *tests, vars={**VARS, **extra_vars})
    assert done.returncode == 0, done.stdout[-4000:]


def _query(data_dir: Path, sql: str) -> list[tuple[str, ...]]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return scenario.actual(con, sql)


def _compare(data_dir: Path, name: str, relation: str) -> None:
    header, want = scenario.expected_in(HERE / "expected", name)
    got = _query(data_dir, f"select {', '.join(header)} from {relation}")
    assert got == want, {
        "missing": [r for r in want if r not in got],
        "unexpected": [r for r in got if r not in want],
    }


def _copy(data_dir: Path, to: Path) -> Path:
    """A data dir's landing files and warehouse, copied: the next build starts from them."""
    shutil.copytree(data_dir / "landing", to / "landing")
    shutil.copy2(data_dir / "warehouse.duckdb", to / "warehouse.duckdb")
    return to


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Batch 1 built from scratch; then a copy of that warehouse with batch 2 landed and
    built incrementally, then rebuilt with colleague sessions weighted in the score, and
    (another copy) rebuilt with Bo's company network named an ISP."""
    project = copy_project(tmp_path_factory.mktemp("project"))
    with (project / "seeds" / "oie_network_classes.csv").open("a") as seed:
        seed.write("64512,business,an analyst's own row\n")
    first = tmp_path_factory.mktemp("first")
    land(first, 1)
    _build(project, first, "--full-refresh")
    later = _copy(first, tmp_path_factory.mktemp("later"))
    land(later, 2)
    _build(project, later)
    weighted = _copy(later, tmp_path_factory.mktemp("weighted"))
    # the var rebuilds build as a scheduled run does: the not_null tests check the SQL,
    # which the first two builds did on these rows (tests/python/helpers/scenario_build.py)
    _build(project, weighted, not_null_tests=False, oie_score_high_intent_per_colleague_session=5)
    unmatched = _copy(later, tmp_path_factory.mktemp("unmatched"))
    isp_patterns = [*VARS["oie_isp_org_patterns"], "%globex%"]
    _build(project, unmatched, not_null_tests=False, oie_isp_org_patterns=isp_patterns)
    return {"first": first, "later": later, "weighted": weighted, "unmatched": unmatched}


def test_networks_are_classified_by_type_seed_pattern_and_spread(built: dict) -> None:
    _compare(built["first"], "int_networks", "int_networks")


def test_sessions_carry_their_network_class_and_clouds_are_bot_suspect(built: dict) -> None:
    _compare(built["first"], "sessions", "sessions")


def test_company_activity_lists_business_networks_only(built: dict) -> None:
    _compare(built["first"], "company_activity", "company_activity")


def test_leads_match_their_company_network_by_domain_or_name(built: dict) -> None:
    _compare(built["first"], "lead_profiles", "lead_profiles")


def test_a_later_colleague_session_reaches_the_lead_on_an_incremental_run(built: dict) -> None:
    rows = _query(
        built["later"],
        "select lead_id, colleague_sessions, score_high_intent from lead_profiles "
        "where lead_id in ('lead_ada', 'lead_bo')",
    )
    # the score is unchanged while the colleague weight is 0
    assert rows == [("lead_ada", "3", "8"), ("lead_bo", "0", "5")]
    activity = _query(
        built["later"],
        "select org, sessions, anonymous_visitors, pricing_views from company_activity "
        "where org = 'Acme Holdings'",
    )
    assert activity == [("Acme Holdings", "4", "3", "4")]


def test_the_colleague_weight_adds_to_high_intent_up_to_its_cap(built: dict) -> None:
    rows = _query(
        built["weighted"],
        "select lead_id, colleague_sessions, score_high_intent from lead_profiles "
        "where lead_id in ('lead_ada', 'lead_bo')",
    )
    # Ada: 1 pricing view (8) + 3 colleague sessions x 5 = 23; Bo has no colleagues: 5
    assert rows == [("lead_ada", "3", "23"), ("lead_bo", "0", "5")]


def test_a_lead_whose_network_stops_matching_loses_it_on_an_incremental_run(
    built: dict,
) -> None:
    # int_lead_networks keeps matched leads only: Bo's row goes, and his stored score must
    # notice the row that is no longer there
    assert _query(built["later"], "select lead_id from int_lead_networks order by 1") == [
        ("lead_ada",),
        ("lead_bo",),
        ("lead_fe",),
    ]
    sql = (
        "select lead_id, network_company, company_match, colleague_sessions from lead_profiles "
        "where lead_id in ('lead_ada', 'lead_bo') order by lead_id"
    )
    assert _query(built["later"], sql) == [
        ("lead_ada", "Acme Holdings", "domain", "3"),
        ("lead_bo", "GLOBEX Corporation", "name", "0"),
    ]
    assert _query(built["unmatched"], sql) == [
        ("lead_ada", "Acme Holdings", "domain", "3"),
        ("lead_bo", "", "", "0"),
    ]


def test_the_documented_company_query_runs_as_written(built: dict) -> None:
    doc = (Path(__file__).parents[3] / "docs" / "warehouse.md").read_text()
    section = doc[doc.index("\n## Companies from networks\n") :]
    section = section[: section.index("\n## ", 1)]
    (sql,) = re.findall(r"```sql\n(.*?)```", section, re.DOTALL)
    with duckdb.connect(str(built["later"] / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(sql).fetchall()
    # newest first: Acme's latest colleague (11:00), Bo at Globex (09:30), Fe (09:00)
    assert [(org, visitors) for org, _, visitors, _, _ in rows] == [
        ("Acme Holdings", 3),
        ("GLOBEX Corporation", 0),
        ("Example Mobile Offices", 0),
    ]
