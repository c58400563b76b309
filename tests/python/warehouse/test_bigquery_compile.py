"""The BigQuery path, offline: every model and test compiled for the bigquery target (first
build and incremental branches) and each statement parsed and trap-checked as BigQuery SQL."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from oie import warehouse
from oie_core.raw_schema import RAW_LEADS, RAW_TABLES, RawTable
from tests.python.helpers.bigquery_check import (
    check_compiled_tree,
    check_statement,
    offline_compile,
)
from tests.python.helpers.partition_check import partitioned_reads

ROOT = warehouse.PROJECT_DIR


def _compile(tmp: Path, mode: str) -> Path:
    offline_compile(tmp, tmp / f"target-{mode}", mode=mode)
    return tmp / f"target-{mode}" / "compiled"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both branches: first build (`full`) and incremental (placeholder watermark)."""
    return {
        mode: _compile(tmp_path_factory.mktemp(f"bq-{mode}"), mode)
        for mode in ("full", "incremental")
    }


@pytest.mark.parametrize("mode", ["full", "incremental"])
def test_every_model_compiles_and_parses_as_bigquery_sql(
    compiled: dict[str, Path], mode: str
) -> None:
    count, problems = check_compiled_tree(compiled[mode])
    models = list((ROOT / "models").rglob("*.sql"))
    assert count >= len(models) + 40  # every model plus its data tests
    assert problems == [], "\n".join(map(str, problems))


def test_incremental_branch_uses_timestamp_arithmetic(compiled: dict[str, Path]) -> None:
    deduped = next(compiled["incremental"].rglob("int_events_deduped.sql")).read_text()
    assert "received_at >= cast('2026-01-01 00:00:00' as timestamp)" in deduped
    assert "not exists" in deduped
    lead_activity = next(compiled["incremental"].rglob("int_lead_activity.sql")).read_text()
    assert "timestamp_add(current_timestamp(), interval cast(-90 as int64) day)" in lead_activity
    full = next(compiled["full"].rglob("int_events_deduped.sql")).read_text()
    assert "not exists" not in full


def _manifest_models(compiled: Path) -> dict[str, dict]:
    manifest = json.loads((compiled.parent / "manifest.json").read_text())
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }


def _partition_columns(models: dict[str, dict]) -> dict[str, set[str]]:
    """Every partitioned relation and the columns a filter may bound it by: the models'
    partition_by, the raw tables' partition columns, and stg_oie__events (a view over
    raw_events whose landing_date is DATE(received_at))."""
    partitions = {
        name: {node["config"]["partition_by"]["field"]}
        for name, node in models.items()
        if node["config"].get("partition_by")
    }
    for table in RAW_TABLES:
        partitions[table.name] = {table.partition_column}
    partitions["stg_oie__events"] = {"received_at", "landing_date"}
    return partitions


def test_every_incremental_model_prunes_partitions(compiled: dict[str, Path]) -> None:
    # A read of a partitioned table with no constant lower bound on its partition column
    # bills every partition on each scheduled run; the few reads that must see all history
    # are named in the model's meta (oie_unpruned_reads) and in docs/warehouse.md.
    models = _manifest_models(compiled["incremental"])
    partitions = _partition_columns(models)
    incremental = {n: m for n, m in models.items() if m["config"]["materialized"] == "incremental"}
    assert {"int_events_deduped", "int_events_sessionized", "int_sessions"} <= set(incremental)
    unpruned: dict[str, Counter[str]] = {}
    declared: dict[str, Counter[str]] = {}
    for name, node in incremental.items():
        sql = next(compiled["incremental"].rglob(f"{name}.sql")).read_text()
        reads = partitioned_reads(sql, partitions)
        unpruned[name] = Counter(read.table for read in reads if not read.pruned)
        listed = node["config"]["meta"].get("oie_unpruned_reads", [])
        assert all(entry.get("why") for entry in listed), name
        declared[name] = Counter(entry["table"] for entry in listed)
    assert unpruned == declared
    # the event-grain tables are never read whole
    for name, counts in unpruned.items():
        assert not {"stg_oie__events", "int_events_deduped", "int_events_sessionized"} & set(
            counts
        ), name


@pytest.mark.parametrize(
    ("where", "pruned"),
    [
        ("t.event_at >= timestamp_micros(1767225600000000)", True),
        ("event_at >= timestamp_add(current_timestamp(), interval -90 day) and x = 1", True),
        ("t.event_at between timestamp('2026-01-01') and current_timestamp()", True),
        ("timestamp('2026-01-01') <= t.event_at", True),
        ("1 = 0", True),
        ("t.oie_loaded_at > timestamp_micros(1767225600000000)", False),
        ("t.event_at >= timestamp('2026-01-01') or t.x = 1", False),
        ("t.event_at >= (select max(event_at) from u)", False),
        ("t.event_at >= u.started_at", False),
        ("other.event_at >= timestamp('2026-01-01')", False),
    ],
)
def test_partition_check_tells_a_pruning_filter(where: str, pruned: bool) -> None:
    sql = f"select * from `p`.`d`.`events` as t inner join u on t.id = u.id where {where}"
    reads = partitioned_reads(sql, {"events": {"event_at"}})
    assert [read.pruned for read in reads] == [pruned]


@pytest.mark.parametrize(
    ("sql", "trap"),
    [
        # what dbt.dateadd renders on BigQuery, compared with a TIMESTAMP column
        (
            "select * from t where ts >= "
            "datetime_add(cast(current_timestamp() as datetime), interval -90 day)",
            "DATETIME",
        ),
        ("select json_extract_string(data, '$.depth') from t", "JSON_EXTRACT_STRING"),
        ("select epoch_ms(ts) from t", "EPOCH_MS"),
        ("select cast(x as varchar) from t", "VARCHAR"),
        ("select x::bigint from t", "::"),
        ("select try_cast(x as int64) from t", "TRY_CAST"),
        ("select ts + interval 30 minute from t", "INTERVAL"),
        ("select arg_min(a, b) from t", "ARG_MIN"),
        ("select from where", "not parseable"),
    ],
)
def test_checker_catches_each_trap(sql: str, trap: str) -> None:
    problems = check_statement(sql)
    assert any(trap in p.message for p in problems), problems


def test_checker_accepts_the_bigquery_spellings() -> None:
    ok = (
        "select timestamp_add(ts, interval 5 minute) > timestamp('2026-01-01'), "
        "safe_cast(json_value(data, '$.depth') as int64), any_value(a having min b), "
        "timestamp_diff(a, b, millisecond), 'literal :: with interval + 1' from t"
    )
    assert check_statement(ok) == []


@pytest.fixture(scope="module")
def raw_tables_ddl(compiled: dict[str, Path]) -> list[str]:
    """The statements `dbt run-operation oie_create_raw_tables` runs, rendered offline by the
    same macro (macros/raw_tables.sql, columns from the generated macros/raw_schema.sql).
    Reuses the first-build compile's target folder, so dbt parses the project only once."""
    inline = "{{ oie_raw_tables_ddl('oie-offline', 'oie', 400) | join(';\\n') }}"
    return _render(compiled, inline).split(";\n")


def _render(compiled: dict[str, Path], inline: str, more_vars: dict[str, Any] | None = None) -> str:
    """An inline Jinja expression rendered offline by the project's macros, in the
    first-build compile's target folder (dbt parses the project only once)."""
    out = offline_compile(
        compiled["full"].parents[1],
        compiled["full"].parent,
        "--quiet",
        "--output",
        "json",
        "--inline",
        inline,
        more_vars=more_vars,
    )
    return str(json.loads(out[out.index("{") :])["compiled"])


def _ddl_of(statements: list[str], table: str) -> str:
    matching = [s for s in statements if f"`oie-offline`.`oie`.`{table}` (" in s]
    assert len(matching) == 1, (table, statements)
    return matching[0]


def _ddl_columns(ddl: str) -> list[tuple[str, str, str]]:
    body = re.search(r"\((.*)\)\s*partition by", ddl, re.S)
    assert body, ddl
    columns = []
    for line in body.group(1).strip().splitlines():
        name, col_type, *rest = line.strip().rstrip(",").split()
        columns.append((name, col_type, "REQUIRED" if rest == ["NOT", "NULL"] else "NULLABLE"))
    return columns


def test_raw_table_ddl_parses_as_bigquery_sql(raw_tables_ddl: list[str]) -> None:
    assert raw_tables_ddl[0] == "create schema if not exists `oie-offline`.`oie`"
    assert len(raw_tables_ddl) == 1 + len(RAW_TABLES)
    for statement in raw_tables_ddl:
        assert check_statement(statement) == [], statement


def test_a_raw_table_made_earlier_gets_the_columns_declared_since(
    compiled: dict[str, Path],
) -> None:
    # `create table if not exists` leaves an existing table as it was; oie_create_raw_tables
    # then adds each declared nullable column the table lacks (raw_leads.imported_at, say).
    # Rendered offline from the table's columns as the adapter would list them.
    before_imported_at = [n for n in RAW_LEADS.names if n != "imported_at"]
    required_only = [c.name for c in RAW_LEADS.columns if c.required]
    cases = [before_imported_at, list(RAW_LEADS.names), required_only]
    inline = " ~ '\\n--\\n' ~ ".join(
        f"(oie_raw_column_additions('oie-offline', 'oie', 'raw_leads', {names}) | join(';\\n'))"
        for names in cases
    )
    rendered = _render(compiled, "{{ " + inline + " }}").split("\n--\n")
    one, none, every = ([s for s in part.split(";\n") if s] for part in rendered)
    prefix = "alter table `oie-offline`.`oie`.`raw_leads` add column if not exists "
    assert one == [prefix + "imported_at TIMESTAMP"]
    assert none == []
    assert every == [
        prefix + f"{n} {t}" for n, t, mode in RAW_LEADS.bigquery_schema() if mode == "NULLABLE"
    ]
    for statement in every:
        assert check_statement(statement) == [], statement


@pytest.mark.parametrize("table", RAW_TABLES, ids=lambda t: t.name)
def test_raw_table_ddl_is_the_raw_schema(raw_tables_ddl: list[str], table: RawTable) -> None:
    # oie_core.raw_schema is the one declaration: the ingest function writes rows with
    # table.bigquery_schema(), and the DDL must create exactly those columns and layout.
    ddl = _ddl_of(raw_tables_ddl, table.name)
    assert _ddl_columns(ddl) == list(table.bigquery_schema())
    assert f"partition by date({table.partition_column})" in ddl
    assert f"cluster by {', '.join(table.cluster_by)} " in ddl
    if table.expires:  # behavioural data; lead lists and tombstones never expire
        assert ddl.endswith("options (partition_expiration_days = 400)")
    else:
        assert "partition_expiration_days" not in ddl


def test_raw_tables_expire_after_the_retention_var_by_default(compiled: dict[str, Path]) -> None:
    inline = (
        "{{ (oie_raw_tables_ddl('oie-offline', 'oie') + oie_raw_retention_ddl('oie-offline',"
        " 'oie')) | join(';\\n') }}"
    )
    statements = _render(compiled, inline, {"oie_raw_retention_days": 31}).split(";\n")
    expiring = sorted(t.name for t in RAW_TABLES if t.expires)
    assert expiring == ["raw_email_events", "raw_events", "raw_rejected_events"]
    for name in expiring:
        assert _ddl_of(statements, name).endswith("options (partition_expiration_days = 31)")
        alter = (
            f"alter table `oie-offline`.`oie`.`{name}` set options (partition_expiration_days = 31)"
        )
        assert alter in statements
    for statement in statements:
        assert check_statement(statement) == [], statement


def test_local_landing_columns_match_the_bigquery_raw_tables(raw_tables_ddl: list[str]) -> None:
    sources = (ROOT / "models" / "staging" / "__sources.yml").read_text()
    for table in RAW_TABLES:
        spec = re.search(
            rf"- name: {table.name}\n.*?columns=\{{{{ '{{{{' }}}}(.*?)\{{{{ '}}}}' }}}}\)",
            sources,
            re.S,
        )
        assert spec, table.name
        local = re.findall(r"'(\w+)': '(\w+)'", spec.group(1))
        ddl = _ddl_columns(_ddl_of(raw_tables_ddl, table.name))
        assert [n for n, _ in local] == [n for n, _type, _mode in ddl], table.name


def test_profiles_example_documents_the_bigquery_target() -> None:
    profiles = yaml.safe_load((ROOT / "profiles.example.yml").read_text())
    outputs = profiles["oie"]["outputs"]
    assert outputs["local"]["type"] == "duckdb"
    bigquery = outputs["bigquery"]
    assert bigquery["type"] == "bigquery"
    for key in ("method", "project", "dataset", "location", "keyfile"):
        assert key in bigquery
    committed = yaml.safe_load((ROOT / "profiles.yml").read_text())
    assert set(committed["oie"]["outputs"]) == {"local", "bigquery"}
    assert "env_var('OIE_TARGET', 'local')" in committed["oie"]["target"]
