"""The suite's in-worker dbt (tests/python/helpers/dbt_in_worker.py): one manifest per
vars and settings serves every data dir, each build reads its own landing files and writes
its own warehouse, and the worker's environment and folder are as they were after it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from oie import warehouse
from tests.python.helpers import dbt_in_worker
from tests.python.warehouse import scenario

ONE_MODEL = ("--select", "stg_oie__events")


def _events(data_dir: Path) -> int:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as db:
        (count,) = db.execute("select count(*) from stg_oie__events").fetchone()  # type: ignore[misc]
    return int(count)


def test_one_parse_serves_two_data_dirs_each_reading_its_own_files(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    scenario.land_batch(first / "landing", scenario.BATCHES[0])
    for batch in scenario.BATCHES:
        scenario.land_batch(second / "landing", batch)
    args = warehouse.dbt_command(vars={"oie_lookback_minutes": 181}, extra_args=ONE_MODEL)
    environment, folder = dict(os.environ), os.getcwd()

    assert dbt_in_worker.run(args, {"OIE_DATA_DIR": str(first)}) == 0
    parses = dbt_in_worker.parses
    assert dbt_in_worker.run(args, {"OIE_DATA_DIR": str(second)}) == 0
    assert dbt_in_worker.parses == parses  # the second data dir reused the manifest

    assert 0 < _events(first) < _events(second)
    assert (dict(os.environ), os.getcwd()) == (environment, folder)
    # Both warehouses are closed again: another process may open them for writing.
    for data_dir in (first, second):
        duckdb.connect(str(data_dir / "warehouse.duckdb")).close()


def test_failures_answer_as_dbt_does_and_put_the_worker_back(tmp_path: Path) -> None:
    environment, folder = dict(os.environ), os.getcwd()
    env = {"OIE_DATA_DIR": str(tmp_path)}
    # A lead line that is not JSON: DuckDB refuses it, the model fails.
    leads = tmp_path / "landing" / "leads" / "dt=2026-01-01" / "hr=0"
    leads.mkdir(parents=True)
    (leads / "broken.ndjson").write_text('{"lead_id": "l1", "campaign_id": "c", "imported_at": \n')
    one_model = warehouse.dbt_command(extra_args=("--select", "stg_oie__leads"))
    assert dbt_in_worker.run(one_model, env) == 1
    # A var of the wrong type stops the parse: dbt itself failed.
    unparsable = warehouse.dbt_command(
        vars={"oie_lookback_minutes": "not a number"}, extra_args=ONE_MODEL
    )
    assert dbt_in_worker.run(unparsable, env) == 2
    assert (dict(os.environ), os.getcwd()) == (environment, folder)


@pytest.mark.parametrize(
    ("change", "same"),
    [
        ({"vars": '{"oie_lookback_minutes": 1}'}, True),  # a value: read by the build only
        ({"vars": '{"oie_lookback_minutes": "1"}'}, False),  # a type: the parse may fail
        ({"vars": '{"oie_lookback_minutes": 180, "oie_raw_dataset": "raw"}'}, False),
        ({"OIE_TARGET": "bigquery"}, False),
        ({"OIE_LANDING_DIR": "/elsewhere"}, False),
        ({"DBT_OIE_TEST_SCOPE": "rows"}, False),
        ({"DBT_TARGET_PATH": "/t", "DBT_LOG_PATH": "/l", "OIE_DBT_PARSE_CACHE": "/c"}, True),
        ({"HOME": "/elsewhere"}, True),
    ],
)
def test_the_manifest_key_holds_what_a_parse_reads(change: dict[str, str], same: bool) -> None:
    base_env = {"OIE_DATA_DIR": ".", "HOME": "/root"}
    base_args = ["build", "--vars", '{"oie_lookback_minutes": 180}']
    args = ["build", "--vars", change["vars"]] if "vars" in change else base_args
    env = {**base_env, **{k: v for k, v in change.items() if k != "vars"}}
    project = warehouse.PROJECT_DIR
    key = dbt_in_worker.manifest_key(args, env, project)
    assert (key == dbt_in_worker.manifest_key(base_args, base_env, project)) is same


# Another valid value of each string var (a new one fails here until it has one).
MOVED_STRINGS = {
    "oie_private_dataset": "moved_private",
    "oie_as_of": "2026-02-03T04:05:06",
    "oie_edge_min_level": "warm",
    "oie_alert_rearm_level": "warm",
    "oie_crm_min_level": "hot",
}


def _moved(name: str, value: Any) -> Any:
    """Another value of the same JSON type (an empty list stays empty: its shape is part of
    the key, so a list that gains items is parsed again anyway)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value / 2
    if isinstance(value, str):
        return MOVED_STRINGS[name]
    if isinstance(value, list):
        return [item + "moved" if isinstance(item, str) else _moved(name, item) for item in value]
    raise AssertionError(f"{name}: no moved value for {value!r}")


def _parsed(manifest: Any) -> dict[str, dict]:
    """Everything a parse made of each node, source, unit test, exposure and macro."""
    made = {}
    for group in ("nodes", "sources", "unit_tests", "exposures", "macros"):
        for unique_id, node in getattr(manifest, group).items():
            facts = node.to_dict(omit_none=False)
            facts.pop("created_at")
            made[unique_id] = facts
    return made


def test_a_parse_reads_the_types_of_vars_and_the_values_of_parse_read_ones(
    tmp_path: Path,
) -> None:
    """Why one manifest may serve builds whose vars hold other values of the same types."""
    declared = yaml.safe_load((warehouse.PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    base = {
        name: value for name, value in declared.items() if name not in dbt_in_worker.PARSE_READ_VARS
    }
    base["oie_as_of"] = "2026-01-01T00:00:00"  # null is a type of its own
    moved = {name: _moved(name, value) for name, value in base.items()}
    assert [name for name in base if base[name] == moved[name]] == [
        name for name, value in base.items() if value == []
    ]
    key_part = dbt_in_worker.parse_vars
    assert key_part(json.dumps(base)) == key_part(json.dumps(moved))

    def parsed(vars: dict[str, Any], folder: str) -> dict[str, dict]:
        args = warehouse.dbt_command(vars=vars)
        return _parsed(dbt_in_worker.parse(args, {"OIE_DATA_DIR": str(tmp_path / folder)}))

    as_declared = parsed(base, "base")
    assert parsed(moved, "moved") == as_declared
    # and the comparison sees a var a parse does read: the sources' dataset
    elsewhere = {**base, "oie_raw_dataset": "elsewhere"}
    assert key_part(json.dumps(elsewhere)) != key_part(json.dumps(base))
    sources = {
        uid for uid, facts in parsed(elsewhere, "elsewhere").items() if facts != as_declared[uid]
    }
    assert sources and all(uid.startswith("source.") for uid in sources)
