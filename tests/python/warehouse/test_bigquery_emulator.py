"""Smoke test of the BigQuery target against the PyPI `bqemulator` on 127.0.0.1: raw tables
from the run-operation, the scenario rows sent with the real BigQuery client (insertAll with
row ids), a first build, more rows, an incremental build (MERGE + post-hook) with the data
tests, and the marts checked against the same hand-written expectations as DuckDB.

The emulator accepts some SQL real BigQuery rejects: this proves the path runs end to end,
not that every statement is valid on BigQuery (test_bigquery_compile checks the traps). It
cannot run dbt-bigquery's seed load job, so the seed tables are written with the client
(same names, the column types declared in seeds/_seeds.yml) and the builds skip seeds."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from oie import warehouse
from oie.run import SCHEDULED_DBT_ARGS, TEST_SCOPE_ENV
from tests.python.helpers.bqemulator import start_bqemulator
from tests.python.helpers.scenario_build import WITHOUT_UNIT_TESTS
from tests.python.warehouse import scenario

ROOT = warehouse.PROJECT_DIR
PROJECT, DATASET = "oie-smoke", "oie"
# each event-grain model and the stamp of the rows a run wrote into it
RUN_STAMPS = {"int_events_deduped": "oie_loaded_at", "int_events_sessionized": "oie_sessionized_at"}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with start_bqemulator(PROJECT, tmp_path_factory.mktemp("bqemu")) as emu:
        yield emu.url


def _env(url: str, tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        OIE_TARGET="bigquery",
        OIE_BQ_AUTH_METHOD="oauth-secrets",
        OIE_BQ_TOKEN="fake",
        OIE_BQ_PROJECT=PROJECT,
        OIE_BQ_DATASET=DATASET,
        OIE_BQ_API_ENDPOINT=url,
        OIE_DATA_DIR=str(tmp),
        DBT_TARGET_PATH=str(tmp / "target"),
        DBT_LOG_PATH=str(tmp / "logs"),
    )
    return env


def _dbt(env: dict[str, str], command: str, *args: str, vars: dict | None = None) -> None:
    cmd = warehouse.dbt_command(command, vars=vars, extra_args=list(args))
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:]


def _insert(client: bigquery.Client, batches: tuple[int, ...]) -> None:
    events, leads = scenario.event_records(), scenario.lead_records()
    rows = []
    for batch in batches:
        for _received, record in events.get(batch, []):
            rows.append({**record, "data": json.dumps(record["data"])})
    errors = client.insert_rows_json(
        f"{PROJECT}.{DATASET}.raw_events", rows, row_ids=[None] * len(rows)
    )
    assert errors == []
    lead_rows = [
        {**lead, "attributes": json.dumps(lead["attributes"])}
        for batch in batches
        for lead in leads.get(batch, [])
    ]
    if lead_rows:
        assert client.insert_rows_json(f"{PROJECT}.{DATASET}.raw_leads", lead_rows) == []


SEED_TYPES = {"string": "STRING", "int64": "INT64"}


def _load_seeds(client: bigquery.Client) -> None:
    """The seeds as tables, as `dbt seed` would create them (see the module docstring)."""
    declared = yaml.safe_load((ROOT / "seeds" / "_seeds.yml").read_text())["seeds"]
    for seed in declared:
        types = {c: SEED_TYPES[t] for c, t in seed["config"]["column_types"].items()}
        with (ROOT / "seeds" / f"{seed['name']}.csv").open(newline="") as f:
            rows = list(csv.DictReader(f))
        table = bigquery.Table(
            f"{PROJECT}.{DATASET}.{seed['name']}",
            schema=[bigquery.SchemaField(name, kind) for name, kind in types.items()],
        )
        client.create_table(table)
        typed = [
            {k: int(v) if types[k] == "INT64" and v != "" else (v or None) for k, v in row.items()}
            for row in rows
        ]
        assert client.insert_rows_json(table, typed) == []


def test_build_full_then_incremental_on_the_emulator(emulator: str, tmp_path: Path) -> None:
    env = _env(emulator, tmp_path)
    vars = scenario.pinned_vars()
    _dbt(env, "run-operation", "oie_create_raw_tables")
    client = bigquery.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": emulator},
    )

    _load_seeds(client)
    no_seeds = ("--exclude-resource-type", "seed")
    _insert(client, (1,))
    # The data tests run once, on the second build: each is a query the emulator answers
    # slowly. That build is a scheduled run's (oie.run.SCHEDULED_DBT_ARGS, the tests scoped
    # to the rows it wrote by macros/test_scope.sql, not_null left out), so the SQL every
    # scheduled run sends BigQuery runs here; the marts are then checked row for row.
    no_tests = (*WITHOUT_UNIT_TESTS, "--exclude-resource-type", "test")
    _dbt(env, "build", "--full-refresh", *no_tests, *no_seeds, vars=vars)
    _insert(client, (2, 3, 4))
    _dbt({**env, TEST_SCOPE_ENV: "new"}, *SCHEDULED_DBT_ARGS, *no_seeds, vars=vars)
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    assert tests and all(r["status"] == "pass" for r in tests)

    def rows(sql: str) -> list[tuple[str, ...]]:
        result = client.query(sql.replace("{ds}", f"`{PROJECT}.{DATASET}`")).result()
        return sorted(tuple(scenario._normalize(v) for v in row.values()) for row in result)

    # the MERGE of each event-grain table reads the stored rows from a day before its new
    # rows' earliest event only (oie_delete_floor, bigquery__get_merge_sql): a literal on
    # the partition column, which BigQuery prunes on
    for model, stamp in RUN_STAMPS.items():
        (run_sql,) = (tmp_path / "target" / "run").rglob(f"{model}.sql")
        merge = run_sql.read_text()
        assert "merge into" in merge.lower(), model
        bounds = re.findall(r"DBT_INTERNAL_DEST\.event_at >= timestamp_micros\((\d+)\)", merge)
        earliest = rows(
            f"select unix_micros(timestamp_sub(min(event_at), interval 1 day)) from {{ds}}.{model}"
            f" where {stamp} = (select max({stamp}) from {{ds}}.{model})"
        )
        assert [(b,) for b in bounds] == earliest, model

    marts = ("lead_profiles", "sessions", "identity_map", "campaign_performance")
    for mart in (*marts, "intent_distribution", "recent_sessions"):
        header, expected = scenario.expected(mart)
        assert rows(f"select {', '.join(header)} from {{ds}}.{mart}") == expected, mart
    # exactly once: the duplicated events land twice in raw, once in the events mart
    assert rows("select count(*), count(distinct event_id) from {ds}.events") == [("72", "72")]
    assert rows("select count(*) from {ds}.raw_events") == [("76",)]
    # score history on BigQuery: one snapshot version per lead at least, and each lead's
    # newest level change ends where lead_profiles says the lead is now
    assert rows("select count(distinct lead_id) from {ds}.lead_profiles_snapshot") == [("10",)]
    newest_change = (
        "select c.lead_id, c.to_level from {ds}.lead_level_changes as c inner join ("
        "select lead_id, max(recorded_at) as newest from {ds}.lead_level_changes "
        "group by lead_id) as n on c.lead_id = n.lead_id and c.recorded_at = n.newest"
    )
    assert rows(newest_change) == rows(
        "select lead_id, engagement_level from {ds}.lead_profiles where engagement_level != 'cold'"
    )
    assert rows("select sum(leads_reached_hot) from {ds}.campaign_daily") == [("3",)]
    # the on-run-end hook (macros/build_log.sql) logged each build, the first a full refresh
    assert rows(
        "select command, full_refresh, count(distinct invocation_id), min(nodes) > 0, "
        "max(finished_at) > max(started_at) from {ds}.oie_build_log group by 1, 2"
    ) == [("build", "false", "1", "true", "true"), ("build", "true", "1", "true", "true")]
    assert {s for (s,) in rows("select status from {ds}.oie_build_log")} <= {"success", "warn"}
