"""`oie tune`: the documented examples on a real warehouse (the labelled scenario, built once),
their matrices and crossing leads computed here independently from lead_profiles, the
warehouse byte-identical afterwards, bad vars refused before dbt starts, and the BigQuery
path's queries (compiled offline, sent to a stand-in client)."""

from __future__ import annotations

import hashlib
import json
import shlex
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from oie import tune
from oie.errors import UserError
from tests.python.helpers.bigquery_check import check_statement
from tests.python.helpers.bqemulator import OFFLINE_BIGQUERY_ENV
from tests.python.helpers.environment import inherited_env
from tests.python.helpers.scenario_build import build_data
from tests.python.warehouse import scenario

from .conftest import Cli, cli_env

REPO = Path(__file__).resolve().parents[3]
LEVELS = ("cold", "warm", "hot", "burning")


def doc_examples(heading: str) -> list[list[str]]:
    """The `oie ...` lines of the ```console blocks in docs/cli.md's section `heading`."""
    text = (REPO / "docs" / "cli.md").read_text()
    start = text.index(f"## `{heading}")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else None]
    commands, inside = [], False
    for line in section.splitlines():
        if line.startswith("```"):
            inside = line.strip() == "```console"
            continue
        if inside and line.startswith("oie "):
            commands.append(shlex.split(line)[1:])
    return commands


def build_scenario(data_dir: Path) -> None:
    """The labelled scenario's landing files, built with its fixed scoring clock."""
    for batch in scenario.BATCHES:
        scenario.land_batch(data_dir / "landing", batch)
    env = {"OIE_DATA_DIR": str(data_dir), "OIE_LANDING_DIR": str(data_dir / "landing")}
    assert build_data(data_dir, env=env, vars={"oie_as_of": scenario.AS_OF}) == 0


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def contents_hash(path: Path) -> dict[str, str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()]
        return {
            t: hashlib.sha256(
                repr(sorted(map(repr, con.sql(f"from {t}").fetchall()))).encode()
            ).hexdigest()
            for t in sorted(tables)
        }
    finally:
        con.close()


def profiles(data_dir: Path) -> list[dict[str, Any]]:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        cur = con.execute("select * from lead_profiles order by lead_id")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


def level(score: int, warm: float = 40, hot: float = 60, burning: float = 80) -> str:
    if score >= burning:
        return "burning"
    if score >= hot:
        return "hot"
    return "warm" if score >= warm else "cold"


def expected_matrix(pairs: list[tuple[str, str]]) -> dict[str, dict[str, int]]:
    matrix = {b: dict.fromkeys(LEVELS, 0) for b in LEVELS}
    for before, after in pairs:
        matrix[before][after] += 1
    return matrix


def printed_matrix(out: str) -> dict[str, dict[str, int]]:
    matrix = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) == 6 and cells[0] in LEVELS:
            matrix[cells[0]] = dict(zip(LEVELS, map(int, cells[1:5]), strict=True))
    return matrix


@dataclass
class Tuned:
    cli: Cli
    rows: list[dict[str, Any]]
    runs: list[tuple[list[str], Any]]
    file_before: str
    file_after: str
    tables_before: dict[str, str]
    tables_after: dict[str, str]


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Tuned:
    root = tmp_path_factory.mktemp("tune")
    data_dir = root / "data"
    build_scenario(data_dir)
    cli = Cli(cli_env(data_dir), root)
    db = data_dir / "warehouse.duckdb"
    file_before, tables_before = file_hash(db), contents_hash(db)
    examples = doc_examples("oie tune")
    assert len(examples) == 2, examples
    runs = [(args, cli(*args)) for args in examples]
    return Tuned(
        cli,
        profiles(data_dir),
        runs,
        file_before,
        file_hash(db),
        tables_before,
        contents_hash(db),
    )


def test_documented_examples_run(tuned: Tuned) -> None:
    for args, proc in tuned.runs:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)


def test_lower_hot_threshold_matrix_and_project_line(tuned: Tuned) -> None:
    args, proc = tuned.runs[0]
    assert args == ["tune", "--vars", "{oie_level_hot: 55}"]
    expected = expected_matrix(
        [(r["engagement_level"], level(r["intent_score"], hot=55)) for r in tuned.rows]
    )
    assert sum(sum(row.values()) for row in expected.values()) == len(tuned.rows) > 0
    assert printed_matrix(proc.stdout) == expected
    assert "  oie_level_hot: 55   # was 60" in proc.stdout.splitlines()
    assert f"scored as of {scenario.AS_OF.replace('T', ' ')}" in proc.stdout


def test_json_example_matches_an_independent_computation(tuned: Tuned) -> None:
    args, proc = tuned.runs[1]
    proposed = json.loads(args[args.index("--vars") + 1])
    assert proposed == {"oie_level_warm": 30, "oie_level_hot": 44}
    result = json.loads(proc.stdout)
    assert result["vars"] == proposed
    after = {r["lead_id"]: level(r["intent_score"], warm=30, hot=44) for r in tuned.rows}
    assert result["matrix"] == expected_matrix(
        [(r["engagement_level"], after[r["lead_id"]]) for r in tuned.rows]
    )
    rank = {name: i for i, name in enumerate(LEVELS)}
    crossing = sorted(
        (
            r
            for r in tuned.rows
            if after[r["lead_id"]] in ("hot", "burning")
            and rank[after[r["lead_id"]]] > rank[r["engagement_level"]]
        ),
        key=lambda r: (-r["intent_score"], r["lead_id"]),
    )
    assert crossing, "the scenario should have a lead crossing into hot at 44"
    assert result["crossing_total"] == len(crossing)
    assert [c["lead_id"] for c in result["crossing"]] == [r["lead_id"] for r in crossing][:5]
    first, row = result["crossing"][0], crossing[0]
    assert first["name"] == f"{row['first_name']} {row['last_name']}"
    assert (first["company"], first["campaign_id"]) == (row["company"], row["campaign_id"])
    # Only thresholds changed: the same clock gives the very same scores.
    assert first["score_before"] == first["score_after"] == row["intent_score"]
    assert (first["level_before"], first["level_after"]) == (row["engagement_level"], "hot")
    assert result["dbt_project_lines"] == [
        "  oie_level_warm: 30   # was 40",
        "  oie_level_hot: 44   # was 60",
    ]


def test_the_warehouse_is_byte_identical_after_tuning(tuned: Tuned) -> None:
    assert "lead_profiles" in tuned.tables_before
    assert tuned.tables_after == tuned.tables_before
    assert tuned.file_after == tuned.file_before


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ('{"oie_level_hott": 55}', "error: unknown dbt var 'oie_level_hott'"),
        ("{oie_level_hot: fifty}", "error: oie_level_hot must be a number, got 'fifty'"),
        ("{oie_level_warm: 60}", "error: oie_level_warm (60) must be below oie_level_hot (60)"),
        ("{oie_score_total_cap: -5}", "error: oie_score_total_cap must be zero or more, got -5"),
        ("{oie_score_window_days: 30}", "error: oie_score_window_days is not read by"),
        ("{not json", "error: --vars must be a JSON object"),
    ],
)
def test_bad_vars_exit_2_before_dbt_starts(
    tuned: Tuned, tmp_path: Path, variables: str, message: str
) -> None:
    # dbt compiles in a temporary folder under TMPDIR: an empty TMPDIR means dbt never ran.
    cli = Cli({**tuned.cli.env, "TMPDIR": str(tmp_path)}, tuned.cli.cwd)
    proc = cli("tune", "--vars", variables)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith(message), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert list(tmp_path.iterdir()) == []
    assert file_hash(cli.data_dir / "warehouse.duckdb") == tuned.file_before


def test_no_warehouse_is_a_clear_error(tmp_path: Path) -> None:
    cli = Cli({**cli_env(tmp_path / "empty"), "TMPDIR": str(tmp_path)}, tmp_path)
    proc = cli("tune", "--vars", "{oie_level_hot: 55}")
    assert proc.returncode == 1
    assert "no warehouse at" in proc.stderr and "oie run" in proc.stderr
    assert list(tmp_path.iterdir()) == []  # nothing compiled, no data folder made


class _Row:
    def __init__(self, *values: Any) -> None:
        self._values = values

    def values(self) -> tuple[Any, ...]:
        return self._values


class FakeBigQuery:
    """Records each query job and answers like google-cloud-bigquery's RowIterator."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def query(self, sql: str) -> FakeBigQuery:
        self.sent.append(sql)
        return self

    def result(self) -> list[_Row]:
        sql = self.sent[-1]
        if "max(scored_as_of)" in sql:
            return [_Row(datetime(2026, 3, 10, 12, 0))]
        if "group by level_before, level_after" in sql:
            return [_Row("warm", "hot", 1), _Row("cold", "cold", 2)]
        return [_Row("lead_dee", "Dee Forwarder", "Fwd Ltd", "cfo", 44, 44, "warm", "hot")]


def test_bigquery_target_sends_bigquery_sql_to_the_client(tmp_path: Path) -> None:
    env = inherited_env()
    env.update(
        OFFLINE_BIGQUERY_ENV,
        OIE_DATA_DIR=str(tmp_path),
    )
    client = FakeBigQuery()
    result = tune.tune("{oie_level_hot: 44}", limit=3, env=env, bigquery=client)
    assert result.queries == client.sent and len(client.sent) == 3
    clock, matrix, crossing = client.sent
    assert clock == "select max(scored_as_of) from `oie-offline`.`oie`.`lead_profiles`"
    for sql in (matrix, crossing):
        assert "from `oie-offline`.`oie`.`lead_profiles` as current_leads" in sql
        assert "`oie-offline`.`oie`.`int_lead_activity`" in sql
        # The warehouse's clock and the proposed threshold are compiled in.
        assert "cast('2026-03-10 12:00:00.000000' as timestamp)" in sql
        assert "when intent_score >= 44 then 'hot'" in sql
        assert check_statement(sql) == []
        assert not any(w in sql.lower() for w in ("insert ", "merge ", "create ", "delete "))
    assert crossing.rstrip().endswith("limit 3")
    assert result.matrix["warm"]["hot"] == 1 and result.crossing_total == 1
    assert result.crossings[0].name == "Dee Forwarder"
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_bigquery_target_needs_a_project() -> None:
    with pytest.raises(UserError, match="OIE_BQ_PROJECT"):
        tune.tune("{oie_level_hot: 44}", env={"OIE_TARGET": "bigquery"}, bigquery=FakeBigQuery())
