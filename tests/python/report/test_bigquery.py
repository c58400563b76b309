"""The report on BigQuery: the marts of the hostile one-lead warehouse and the demo's
health tables copied into the PyPI `bqemulator` (as dbt-bigquery would have built them),
then `oie report` with OIE_TARGET=bigquery runs every query there, and the page holds the
same leads, timelines, campaigns and facts as the DuckDB report of the same rows."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.python.helpers.bqemulator import emulator_dataset

from .conftest import Cli, Warehouses

PROJECT, DATASET = "oie-report", "oie"
TABLES = (
    "events",
    "sessions",
    "email_clicks",
    "identity_map",
    "lead_profiles",
    "high_intent_leads",
    "campaign_performance",
    "campaign_daily",
    "lead_level_changes",
    "rejected_events",
    "kv_sync_state",
    "oie_build_log",  # the on-run-end hook's table, when the build recorded it
)
TYPES = {
    "VARCHAR": "STRING",
    "BIGINT": "INT64",
    "INTEGER": "INT64",
    "HUGEINT": "INT64",
    "DOUBLE": "FLOAT64",
    "FLOAT": "FLOAT64",
    "BOOLEAN": "BOOL",
    "TIMESTAMP": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
    "DATE": "DATE",
    "JSON": "STRING",
}


def bq_type(duck: str) -> str:
    return "FLOAT64" if duck.startswith("DECIMAL") else TYPES.get(duck, "STRING")


def plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


@pytest.fixture(scope="module")
def bigquery(warehouses: Warehouses, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    from google.cloud import bigquery as bq

    with emulator_dataset(PROJECT, DATASET, tmp_path_factory.mktemp("bqemu")) as (client, url):
        con = duckdb.connect(str(warehouses.hostile.data_dir / "warehouse.duckdb"), read_only=True)
        try:
            present = {r[0] for r in con.execute("show tables").fetchall()}
            for table in (t for t in TABLES if t in present):
                described = con.execute(f"describe {table}").fetchall()
                schema = [bq.SchemaField(c[0], bq_type(c[1])) for c in described]
                created = client.create_table(bq.Table(f"{PROJECT}.{DATASET}.{table}", schema))
                cursor = con.execute(f"select * from {table}")
                names = [d[0] for d in cursor.description]
                rows = [
                    {n: plain(v) for n, v in zip(names, row, strict=True)}
                    for row in cursor.fetchall()
                ]
                if rows:
                    assert client.insert_rows_json(created, rows) == []
        finally:
            con.close()
        env = {
            **warehouses.hostile.env,
            "OIE_TARGET": "bigquery",
            "OIE_BQ_PROJECT": PROJECT,
            "OIE_BQ_DATASET": DATASET,
            "OIE_BQ_API_ENDPOINT": url,
        }
        yield Cli(env, warehouses.hostile.cwd)


def page_data(path: Path) -> dict[str, Any]:
    html = path.read_text()
    block = re.search(r'<script type="application/json" id="oie-data">(.*?)</script>', html, re.S)
    assert block is not None
    return json.loads(block.group(1))  # type: ignore[no-any-return]


def visible_text(path: Path, element: str) -> str:
    html = path.read_text()
    found = re.search(rf'<(?:table|dl) id="{element}">(.*?)</(?:table|dl)>', html, re.S)
    assert found is not None, element
    return re.sub(r"\s+", " ", found.group(1))


def test_report_from_bigquery_equals_the_duckdb_report(
    bigquery: Cli, warehouses: Warehouses, tmp_path: Path
) -> None:
    from_bq, from_duck = tmp_path / "bq.html", tmp_path / "duck.html"
    proc = bigquery("report", "--out", str(from_bq))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "top 1 of 1 hot lead(s), 1 campaign(s)" in proc.stdout
    warehouses.hostile("report", "--out", str(from_duck), check=True)
    assert "from the bigquery warehouse" in from_bq.read_text()
    assert page_data(from_bq) == page_data(from_duck)
    for element in ("campaign-table", "moves-table"):
        assert visible_text(from_bq, element) == visible_text(from_duck, element)
    facts_bq, facts_duck = visible_text(from_bq, "facts"), visible_text(from_duck, "facts")
    assert facts_bq == facts_duck and "Last KV push (local)" in facts_bq
    with_campaign = bigquery("report", "--campaign", "nope", "--out", str(from_bq))
    assert with_campaign.returncode == 2 and "unknown campaign" in with_campaign.stderr
