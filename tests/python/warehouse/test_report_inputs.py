"""What the intent report reads from the warehouse, through real dbt: the build log (the
on-run-end hook, docs/warehouse.md "Build log"), the report as a dbt exposure
(models/exposures.yml), and docs/dashboards.md, whose chart-to-mart tables are checked
against the built warehouse and whose SQL runs there and parses as BigQuery SQL.

One scenario build serves the module; a second, cheap invocation builds one failing test."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from kv_sync.alerts import sql as alert_sql
from kv_sync.state_sql import DUCKDB, STATE_TABLE, create_state
from oie import warehouse
from tests.python.helpers import dbt_in_worker
from tests.python.helpers.bigquery_check import check_statement, offline_compile
from tests.python.warehouse import scenario

ROOT = warehouse.PROJECT_DIR
DASHBOARDS = ROOT / "docs" / "dashboards.md"
# The marts the report reads (models/exposures.yml), and the tables written outside dbt's
# models that its Data health section reads when they exist.
REPORT_MARTS = {
    "high_intent_leads",
    "sessions",
    "email_clicks",
    "identity_map",
    "campaign_performance",
    "campaign_daily",
    "lead_profiles",
    "lead_level_changes",
    "events",
    "rejected_events",
}
OPERATIONAL = {"oie_build_log", "kv_sync_state", "oie_alert_log"}
READ_ONLY_COMMANDS = ("compile", "docs", "ls", "list", "parse", "show", "run-operation", "source")
BUILD_LOG_COLUMNS = [
    "invocation_id",
    "started_at",
    "finished_at",
    "status",
    "command",
    "full_refresh",
    "nodes",
    "errors",
    "warnings",
]


def _dbt(
    data_dir: Path, command: str, *args: str, vars: dict[str, Any] | None = None
) -> dbt_in_worker.Finished:
    first, *subcommand = command.split()  # "docs generate", "source freshness"
    cmd = warehouse.dbt_command(first, vars=vars, extra_args=list(args))
    cmd[2:2] = subcommand
    return dbt_in_worker.run_printing(cmd, {"OIE_DATA_DIR": str(data_dir)})


def _log(data_dir: Path) -> list[dict[str, Any]]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        cursor = con.execute("select * from oie_build_log order by started_at, finished_at")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _run_results(data_dir: Path) -> dict[str, Any]:
    return json.loads((data_dir / "dbt" / "target" / "run_results.json").read_text())


def _row_of(data_dir: Path, invocation_id: str) -> dict[str, Any]:
    (row,) = [r for r in _log(data_dir) if r["invocation_id"] == invocation_id]
    return row


def _node_results(run: dict[str, Any]) -> list[dict[str, Any]]:
    """run_results.json less the hooks: what dbt hands the on-run-end hook as `results`."""
    return [r for r in run["results"] if not r["unique_id"].startswith("operation.")]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The labelled scenario, all four batches, built once (no unit tests: CI's business)."""
    data_dir = tmp_path_factory.mktemp("report-inputs")
    for batch in scenario.BATCHES:
        scenario.land_batch(data_dir / "landing", batch)
    done = _dbt(
        data_dir, "build", "--exclude-resource-type", "unit_test", vars=scenario.pinned_vars()
    )
    assert done.returncode == 0, done.stdout[-3000:]
    return data_dir, _run_results(data_dir)


# --- the build log --------------------------------------------------------------------------


def test_a_build_writes_one_row_with_its_outcome(built: tuple[Path, dict[str, Any]]) -> None:
    data_dir, run = built
    row = _row_of(data_dir, run["metadata"]["invocation_id"])
    assert list(row) == BUILD_LOG_COLUMNS
    nodes = _node_results(run)
    assert {r["status"] for r in nodes} <= {"success", "pass", "no-op"}
    assert (row["status"], row["command"], row["full_refresh"]) == ("success", "build", False)
    assert (row["nodes"], row["errors"], row["warnings"]) == (len(nodes), 0, 0)
    assert any(r["unique_id"] == "operation.oie.oie-on-run-end-0" for r in run["results"])
    # started_at is dbt's run_started_at, the invocation's start, in UTC (naive)
    started = datetime.fromisoformat(run["metadata"]["invocation_started_at"].replace("Z", ""))
    assert abs(row["started_at"] - started) < timedelta(seconds=1)
    now = datetime.now(UTC).replace(tzinfo=None)
    assert row["started_at"] < row["finished_at"] <= now
    assert row["finished_at"] - row["started_at"] >= timedelta(seconds=run["elapsed_time"] - 1)


def test_a_failing_test_logs_an_error(built: tuple[Path, dict[str, Any]]) -> None:
    # The level thresholds moved for this invocation only: the stored levels no longer
    # follow them, so the data test fails (and dbt exits 1); the hook still logs.
    data_dir, _ = built
    test = "lead_profiles_engagement_level_follows_intent_score"
    done = _dbt(
        data_dir,
        "build",
        "--select",
        test,
        vars={**scenario.pinned_vars(), "oie_level_hot": 99, "oie_level_burning": 100},
    )
    assert done.returncode == 1, done.stdout[-3000:]
    run = _run_results(data_dir)
    (result,) = _node_results(run)
    assert result["unique_id"].startswith(f"test.oie.{test}.") and result["status"] == "fail"
    row = _row_of(data_dir, run["metadata"]["invocation_id"])
    assert (row["status"], row["command"], row["nodes"], row["errors"]) == ("error", "build", 1, 1)


def test_commands_that_only_read_write_nothing(built: tuple[Path, dict[str, Any]]) -> None:
    data_dir, _ = built
    before = _log(data_dir)
    for command, *args in (
        ("compile", "--select", "lead_profiles"),
        ("ls", "--select", "lead_profiles"),
        ("parse",),
        ("docs generate", "--no-compile"),
    ):
        done = _dbt(data_dir, command, *args, vars=scenario.pinned_vars())
        assert done.returncode == 0, (command, done.stdout[-2000:])
    # source freshness runs the project's hooks (dbt's source_freshness_run_project_hooks):
    # the hook renders nothing there. Its exit code follows the scenario's old events.
    freshness = _dbt(data_dir, "source freshness", vars=scenario.pinned_vars())
    assert "on-run-end" in freshness.stdout
    assert _log(data_dir) == before


@pytest.fixture(scope="module")
def bigquery_rendering(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The hook's macros rendered for the bigquery target offline (no connection: the
    pattern of test_bigquery_compile.py), with made-up results: the status each list of
    node statuses gives, what each command renders, and the statement of a build."""
    tmp = tmp_path_factory.mktemp("bq-build-log")
    cases = {
        "empty": [],
        "clean": ["success", "pass", "skipped", "no-op", "reused"],
        "warned": ["success", "warn", "pass"],
        "failed": ["warn", "fail", "pass"],
        "errored": ["error"],
        "runtime": ["runtime error", "success"],
        "partial": ["partial success"],
    }
    results = {name: [{"status": s} for s in statuses] for name, statuses in cases.items()}
    commands = [*READ_ONLY_COMMANDS, "freshness", "build", "run", "seed", "snapshot", "test"]
    # dbt's Jinja has no dict comprehension: the JSON is built in loops
    inline = (
        "{%- set out = {'rows': {}, 'commands': {}} -%}"
        f"{{%- for name, results in {json.dumps(results)}.items() -%}}"
        "{%- do out.rows.update({name: oie_build_log_row(results, 'build')}) -%}"
        "{%- endfor -%}"
        f"{{%- for command in {json.dumps(commands)} -%}}"
        "{%- do out.commands.update({command: "
        "oie_build_log([{'status': 'success'}, {'status': 'warn'}], command=command)}) -%}"
        "{%- endfor -%}"
        "{{ tojson(out) }}"
    )
    out = offline_compile(tmp, tmp / "target", "--quiet", "--output", "json", "--inline", inline)
    return json.loads(json.loads(out[out.index("{") :])["compiled"])


@pytest.mark.parametrize(
    ("case", "status", "nodes", "errors", "warnings"),
    [
        ("empty", "success", 0, 0, 0),
        ("clean", "success", 5, 0, 0),
        ("warned", "warn", 3, 0, 1),
        ("failed", "error", 3, 1, 1),
        ("errored", "error", 1, 1, 0),
        ("runtime", "error", 2, 1, 0),
        ("partial", "error", 1, 1, 0),
    ],
)
def test_the_status_follows_the_worst_result(
    bigquery_rendering: dict[str, Any],
    case: str,
    status: str,
    nodes: int,
    errors: int,
    warnings: int,
) -> None:
    row = bigquery_rendering["rows"][case]
    assert (row["status"], row["nodes"], row["errors"], row["warnings"]) == (
        status,
        nodes,
        errors,
        warnings,
    )
    assert row["command"] == "build" and row["full_refresh"] is False
    assert re.fullmatch(r"[0-9a-f-]{36}", row["invocation_id"])


def test_only_commands_that_build_or_test_render_a_statement(
    bigquery_rendering: dict[str, Any],
) -> None:
    rendered = {c: bool(sql.strip()) for c, sql in bigquery_rendering["commands"].items()}
    assert {c for c, writes in rendered.items() if writes} == {
        "build",
        "run",
        "seed",
        "snapshot",
        "test",
    }


def test_the_bigquery_statement_is_one_guarded_script_of_bigquery_sql(
    bigquery_rendering: dict[str, Any],
) -> None:
    script = bigquery_rendering["commands"]["build"].strip()
    table = "`oie-offline`.`oie`.`oie_build_log`"
    match = re.fullmatch(
        r"begin\n(?P<body>.*);\nexception when error then\n(?P<handler>[^;]*);\nend",
        script,
        re.S,
    )
    assert match, script
    create, insert = match["body"].split(";\n")
    assert create.startswith(f"create table if not exists {table} (")
    assert "partition by date(started_at)" in create
    assert insert.startswith(f"insert into {table} ({', '.join(BUILD_LOG_COLUMNS)})")
    # started_at as integer microseconds (the run stamp the models use), now from the engine
    assert re.search(r"timestamp_micros\(\d{16}\),\s+current_timestamp\(\),\s+'warn',", insert)
    for statement in (create, insert, match["handler"]):
        assert check_statement(statement) == [], statement


# --- the exposure ---------------------------------------------------------------------------


def test_the_report_is_an_exposure_on_the_marts_it_reads(
    built: tuple[Path, dict[str, Any]],
) -> None:
    data_dir, _ = built
    keys = "name resource_type type maturity url owner depends_on"
    done = _dbt(
        data_dir,
        "ls",
        "--resource-type",
        "exposure",
        "--output",
        "json",
        "--output-keys",
        keys,
        "--quiet",
        vars=scenario.pinned_vars(),
    )
    assert done.returncode == 0, done.stdout[-2000:]
    (exposure,) = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert exposure["name"] == "intent_report"
    assert (exposure["resource_type"], exposure["type"]) == ("exposure", "dashboard")
    assert exposure["maturity"] in {"low", "medium", "high"}
    assert exposure["url"] == "docs/report.md"
    assert exposure["owner"]["name"]
    assert sorted(exposure["depends_on"]["nodes"]) == sorted(
        f"model.oie.{name}" for name in REPORT_MARTS
    )
    marts = {p.stem for p in (ROOT / "models" / "marts").rglob("*.sql")}
    assert marts >= REPORT_MARTS


# --- docs/dashboards.md ---------------------------------------------------------------------


def _code_blocks(text: str) -> list[tuple[str, str]]:
    return re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)


def _chart_rows(text: str) -> list[tuple[str, str, list[str]]]:
    """(chart, relation, columns) of every row of the page's chart tables."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"`\w+`", cells[1]):
            rows.append((cells[0], cells[1].strip("`"), re.findall(r"`(\w+)`", cells[2])))
    return rows


@pytest.fixture(scope="module")
def dashboard_warehouse(built: tuple[Path, dict[str, Any]]) -> Path:
    """The built scenario plus the two tables the KV sync and the alerts create, each
    created by its own writer's DDL (empty: neither step ran)."""
    data_dir, _ = built
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        con.execute(create_state(DUCKDB, STATE_TABLE))
        con.execute(alert_sql.create_log(DUCKDB, alert_sql.LOG_TABLE))
    return data_dir


def test_every_chart_names_real_columns(dashboard_warehouse: Path) -> None:
    rows = _chart_rows(DASHBOARDS.read_text())
    assert {relation for _, relation, _ in rows} == REPORT_MARTS | OPERATIONAL
    with duckdb.connect(str(dashboard_warehouse / "warehouse.duckdb"), read_only=True) as con:
        for chart, relation, columns in rows:
            assert columns, chart
            have = {r[0] for r in con.execute(f"describe {relation}").fetchall()}
            assert set(columns) <= have, (chart, relation, set(columns) - have)


def test_every_example_runs_on_duckdb_and_parses_as_bigquery(dashboard_warehouse: Path) -> None:
    blocks = _code_blocks(DASHBOARDS.read_text())
    # the page shows SQL only: no command a reader would run that no test runs
    assert {lang for lang, _ in blocks} == {"sql"}
    assert len(blocks) >= 10
    empty = []
    with duckdb.connect(str(dashboard_warehouse / "warehouse.duckdb"), read_only=True) as con:
        for _, sql in blocks:
            assert check_statement(sql) == [], sql
            if not con.execute(sql).fetchall():
                empty.append(sql)
    # on the scenario every example has rows, except the tables no step of this test wrote
    assert [re.search(r"from (\w+)", sql)[1] for sql in empty] == [  # type: ignore[index]
        "kv_sync_state",
        "oie_alert_log",
    ]
