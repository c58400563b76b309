"""The raw tables are declared once (oie_core/raw_schema.py); every copy follows it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml

from oie_core import raw_schema
from oie_core.raw_schema import RAW_EVENTS, RAW_LEADS, RAW_REJECTED_EVENTS, RAW_TABLES

REPO = Path(__file__).resolve().parents[3]


def test_generated_dbt_copies_are_up_to_date():
    assert raw_schema.stale_files(REPO) == [], "run `python -m oie_core.raw_schema --write`"


def test_a_hand_edited_copy_is_caught(tmp_path):
    for path in raw_schema.generated_files():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / path, tmp_path / path)
    assert raw_schema.main(["--root", str(tmp_path)]) == 0
    macro = tmp_path / raw_schema.MACRO_SQL
    macro.write_text(macro.read_text().replace("('as_org', 'STRING'", "('as_org', 'INT64'"))
    assert raw_schema.main(["--root", str(tmp_path)]) == 1
    assert raw_schema.stale_files(tmp_path) == [raw_schema.MACRO_SQL]


def test_sources_yaml_declares_every_column_with_its_description_and_landing_type():
    doc = yaml.safe_load((REPO / raw_schema.SOURCES_YML).read_text())
    tables = {t["name"]: t for t in doc["sources"][0]["tables"]}
    assert list(tables) == [t.name for t in RAW_TABLES]
    for table in RAW_TABLES:
        declared = tables[table.name]
        assert [c["name"] for c in declared["columns"]] == list(table.names)
        assert all(c["description"] for c in declared["columns"])
        spec = re.search(
            r"columns=\{\{ '\{\{' \}\}(.*)\{\{ '\}\}' \}\}\)",
            declared["config"]["meta"]["external_location"],
        )
        assert spec, declared["config"]["meta"]["external_location"]
        pairs = re.findall(r"'(\w+)': '(\w+)'", spec.group(1))
        assert pairs == [(c.name, c.landing_type) for c in table.columns]
        assert f"/{table.stream}/*/*/*.ndjson" in declared["config"]["meta"]["external_location"]


def test_timestamps_land_as_text_and_are_typed_on_bigquery():
    received = next(c for c in RAW_EVENTS.columns if c.name == "received_at")
    assert (received.landing_type, received.bigquery_type, received.mode) == (
        "VARCHAR",
        "TIMESTAMP",
        "REQUIRED",
    )
    assert RAW_EVENTS.columns_of_type("json") == {"data"}
    assert RAW_REJECTED_EVENTS.columns_of_type("json") == {"event"}
    assert RAW_LEADS.partition_column == "created_at"


def test_the_bigquery_sink_writes_the_declared_schema():
    from ingest_function.sinks import bigquery

    assert RAW_EVENTS.bigquery_schema() == bigquery.RAW_EVENTS_SCHEMA
    assert RAW_REJECTED_EVENTS.bigquery_schema() == bigquery.RAW_REJECTED_SCHEMA


def test_the_contracts_document_lists_the_declared_event_fields():
    text = (REPO / "docs" / "contracts.md").read_text()
    section = text.split("### `events` stream", 1)[1].split("###", 1)[0]
    documented = re.findall(r"^\| (\w+(?:, \w+)*) \|", section, re.M)
    names = [n for cell in documented if cell != "field" for n in cell.split(", ")]
    assert names == list(RAW_EVENTS.names)


def test_freshness_is_declared_on_the_receive_time_of_raw_events_only():
    doc = yaml.safe_load((REPO / raw_schema.SOURCES_YML).read_text())
    configs = {t["name"]: t["config"] for t in doc["sources"][0]["tables"]}
    events = configs["raw_events"]
    # landing files hold ISO text: dbt's max() needs a TIMESTAMP (a no-op cast on BigQuery)
    assert events["loaded_at_field"] == "cast(received_at as timestamp)"
    assert events["freshness"] == {
        "warn_after": {"count": 6, "period": "hour"},
        "error_after": {"count": 24, "period": "hour"},
    }
    assert RAW_EVENTS.freshness is not None
    assert RAW_EVENTS.freshness.loaded_at == RAW_EVENTS.partition_column
    assert RAW_EVENTS.freshness.loaded_at in RAW_EVENTS.columns_of_type("timestamp")
    for name in ("raw_rejected_events", "raw_leads"):
        assert "freshness" not in configs[name] and "loaded_at_field" not in configs[name]
