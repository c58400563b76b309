"""The seeds an analyst edits (seeds/*.csv, docs/warehouse.md "Seeds"), through real dbt builds
on DuckDB. Each test runs dbt on its own copy of the project, so a seed edited here never
touches the repository's seed."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from oie import warehouse
from tests.python.helpers import project_copy
from tests.python.helpers.dbt_in_worker import Finished
from tests.python.helpers.project_copy import copy_project
from tests.python.helpers.scenario_build import AS_SCHEDULED, WITHOUT_UNIT_TESTS
from tests.python.warehouse import scenario

VARS = scenario.pinned_vars()
START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
LEADS = {  # lead_id: token
    "lead_cara": "TkCara00001",  # a job seeker: careers pages only
    "lead_pia": "TkPia000002",  # a buyer: one pricing page, one page no seed row names yet
}
PROOFPOINT_UA = "Mozilla/5.0 (compatible; Proofpoint URL Defense)"


def run_dbt(project: Path, data_dir: Path, *args: str) -> Finished:
    return project_copy.run_dbt(project, data_dir, *args, vars=VARS)


def _event(
    event_id: str,
    kind: str,
    at: datetime,
    *,
    visitor: str | None,
    token: str,
    url: str,
    data: dict[str, Any],
    user_agent: str = scenario.DEFAULT_UA,
) -> dict[str, Any]:
    """One landing line, received two seconds after it happened."""
    return scenario.landing_event(
        event_id,
        kind,
        at,
        at + timedelta(seconds=2),
        visitor=visitor,
        token=token,
        url=url,
        data=data,
        user_agent=user_agent,
    )


def _pageview(event_id: str, minute: int, visitor: str, token: str, path: str) -> dict[str, Any]:
    return _event(
        event_id,
        "pageview",
        START + timedelta(minutes=minute),
        visitor=visitor,
        token=token,
        url=f"https://site.example{path}",
        data={"title": path},
    )


def land(data_dir: Path) -> None:
    cara, pia = LEADS["lead_cara"], LEADS["lead_pia"]
    events = [
        # /careers/product-engineer also matches %/product%: careers has the higher priority
        _pageview("s-cara-01", 0, "v-cara", cara, "/careers/product-engineer"),
        _pageview("s-cara-02", 1, "v-cara", cara, "/jobs"),
        _pageview("s-pia-01", 0, "v-pia", pia, "/pricing"),
        _pageview("s-pia-02", 1, "v-pia", pia, "/solutions/roi"),
        # a blog post about pricing: blog (80) outranks pricing (50), so it adds no intent
        _pageview("s-pia-03", 2, "v-pia", pia, "/blog/pricing-changes"),
        # a Proofpoint click on Pia's link, followed by her visit a minute later: still a scanner
        _event(
            "s-pia-c1",
            "email_click",
            START - timedelta(minutes=1),
            visitor=None,
            token=pia,
            url="https://site.example/",
            data={"to": "/", "scanner": False, "scanner_reason": None},
            user_agent=PROOFPOINT_UA,
        ),
    ]
    path = data_dir / "landing" / "events" / "dt=2026-03-10" / "hr=09" / "seeds-test.ndjson"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    leads = [
        {
            "lead_id": lead_id,
            "email": f"{lead_id}@example.com",
            "email_sha256": "0" * 64,
            "first_name": lead_id,
            "last_name": "Test",
            "company": "Example",
            "title": "CTO",
            "industry": "Computing",
            "campaign_id": "seeds",
            "campaign_name": "Seeds",
            "token": token,
            "created_at": "2026-02-01T00:00:00.000Z",
            "attributes": {},
        }
        for lead_id, token in LEADS.items()
    ]
    path = data_dir / "landing" / "leads" / "dt=2026-03-01" / "hr=00" / "seeds-test.ndjson"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(lead) + "\n" for lead in leads))


def query(data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def observe(data_dir: Path) -> dict[str, Any]:
    return {
        "classes": dict(
            query(
                data_dir,
                "select url_path, page_class from int_events_deduped where url_path != '/'",
            )
        ),
        "careers_views": dict(
            query(data_dir, "select visitor_id, careers_views from int_sessions")
        ),
        "scores": {
            row[0]: row[1:]
            for row in query(
                data_dir,
                "select lead_id, score_high_intent, pricing_page_visits, product_page_views "
                "from lead_profiles",
            )
        },
        "clicks": query(
            data_dir, "select event_id, scanner_vendor, is_scanner from int_email_clicks_classified"
        ),
    }


def _assert_ok(done: Finished) -> None:
    assert done.returncode == 0, done.stdout[-4000:]


@pytest.fixture(scope="module")
def seed_edit(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The shipped seeds built once; then /solutions made a pricing page in the copy's seed
    and built incrementally (history keeps its class), then with --full-refresh."""
    project = copy_project(tmp_path_factory.mktemp("project"))
    data_dir = tmp_path_factory.mktemp("data")
    land(data_dir)
    observed = {}
    _assert_ok(run_dbt(project, data_dir, "build", "--full-refresh", *WITHOUT_UNIT_TESTS))
    observed["shipped"] = observe(data_dir)
    with (project / "seeds" / "oie_page_classes.csv").open("a") as seed:
        seed.write("%/solutions/%,pricing,50\n")
    # the rebuilds after the edit build as a scheduled run does (the not_null tests check
    # the SQL, which the first build did: tests/python/helpers/scenario_build.py)
    _assert_ok(run_dbt(project, data_dir, "build", *AS_SCHEDULED))
    observed["incremental"] = observe(data_dir)
    _assert_ok(run_dbt(project, data_dir, "build", "--full-refresh", *AS_SCHEDULED))
    observed["full_refresh"] = observe(data_dir)
    return observed


def test_a_careers_visit_is_recorded_and_adds_no_intent(seed_edit: dict) -> None:
    shipped = seed_edit["shipped"]
    assert shipped["classes"]["/careers/product-engineer"] == "careers"
    assert shipped["classes"]["/jobs"] == "careers"
    assert shipped["careers_views"]["v-cara"] == 2
    assert shipped["classes"]["/blog/pricing-changes"] == "blog"
    # (score_high_intent, pricing_page_visits, product_page_views)
    assert shipped["scores"]["lead_cara"] == (0, 0, 0)
    assert shipped["scores"]["lead_pia"] == (8, 1, 0)


def test_a_listed_scanner_click_is_a_scanner_despite_the_visit_after_it(seed_edit: dict) -> None:
    assert seed_edit["shipped"]["clicks"] == [("s-pia-c1", "Proofpoint", True)]


def test_a_page_class_seed_edit_reclassifies_history_on_full_refresh(seed_edit: dict) -> None:
    assert seed_edit["shipped"]["classes"]["/solutions/roi"] == "other"
    # an incremental run classifies new events only: the loaded page view keeps its class
    assert seed_edit["incremental"]["classes"]["/solutions/roi"] == "other"
    assert seed_edit["incremental"]["scores"]["lead_pia"] == (8, 1, 0)
    assert seed_edit["full_refresh"]["classes"]["/solutions/roi"] == "pricing"
    assert seed_edit["full_refresh"]["scores"]["lead_pia"] == (16, 2, 0)
    assert seed_edit["full_refresh"]["scores"]["lead_cara"] == (0, 0, 0)


def _broken_seed_build(tmp_path: Path, seed: str, rows: Sequence[str]) -> str:
    project = copy_project(tmp_path / "project")
    with (project / "seeds" / seed).open("a") as csv_file:
        csv_file.writelines(f"{row}\n" for row in rows)
    done = run_dbt(project, tmp_path / "data", "build", "--select", seed.removesuffix(".csv"))
    assert done.returncode != 0, done.stdout[-4000:]
    return done.stdout


def test_a_duplicate_pattern_fails_the_build_naming_the_pattern(tmp_path: Path) -> None:
    out = _broken_seed_build(tmp_path, "oie_page_classes.csv", ["%/pricing%,product,10"])
    assert 'oie_page_classes: pattern "%/pricing%" is on 2 rows' in out


def test_an_unknown_page_class_fails_the_build_naming_the_row(tmp_path: Path) -> None:
    out = _broken_seed_build(tmp_path, "oie_page_classes.csv", ["%/cost%,pricey,10"])
    assert 'oie_page_classes: page_class "pricey" (row pattern "%/cost%") is not one of' in out


def test_an_unknown_scanner_kind_fails_the_build_naming_the_row(tmp_path: Path) -> None:
    out = _broken_seed_build(tmp_path, "oie_link_scanners.csv", ["asn,AS8075,Microsoft"])
    assert 'oie_link_scanners: kind "asn" (row pattern "AS8075") is not one of' in out


def test_every_seed_is_described_typed_and_its_pattern_tested() -> None:
    seeds_dir = warehouse.PROJECT_DIR / "seeds"
    declared = {
        seed["name"]: seed
        for seed in yaml.safe_load((seeds_dir / "_seeds.yml").read_text())["seeds"]
    }
    csv_files = sorted(path.stem for path in seeds_dir.glob("*.csv"))
    assert sorted(declared) == csv_files
    for name in csv_files:
        with (seeds_dir / f"{name}.csv").open(newline="") as f:
            header = next(csv.reader(f))
        seed = declared[name]
        assert seed.get("description"), name
        assert list(seed["config"]["column_types"]) == header, name
        columns = {column["name"]: column for column in seed["columns"]}
        assert list(columns) == header, name
        assert all(columns[c].get("description") for c in header), name
        # the row key: a LIKE pattern, or the ASN of the network list
        key = "pattern" if "pattern" in header else header[0]
        assert {"not_null", "oie_seed_unique"} <= set(map(str, columns[key]["data_tests"])), name
