"""`oie leads --format csv|json [--out FILE]` on the labelled scenario's warehouse (built once):
the documented examples run, CSV and JSON parse back to lead_profiles' rows with the email
and the level-change time from lead_level_changes, and a warehouse without that mart says so."""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from oie.leads import FIELDS, NOT_RECORDED

from .conftest import Cli, cli_env
from .test_tune import build_scenario, doc_examples


@dataclass
class Built:
    cli: Cli
    root: Path
    runs: list[tuple[list[str], Any]]


def query(data_dir: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("leads")
    build_scenario(root / "data")
    cli = Cli(cli_env(root / "data"), root)
    examples = doc_examples("oie leads")
    assert len(examples) == 3, examples
    return Built(cli, root, [(args, cli(*args)) for args in examples])


def expected_rows(data_dir: Path, where: str = "1 = 1") -> list[tuple]:
    """lead_id, email, level, level since (newest change into the current level), by score."""
    return query(
        data_dir,
        f"""
        select p.lead_id, p.email, p.engagement_level,
               (select strftime(max(c.changed_at), '%Y-%m-%dT%H:%M:%SZ') from lead_level_changes c
                where c.lead_id = p.lead_id and c.to_level = p.engagement_level)
        from lead_profiles p where {where}
        order by p.intent_score desc, p.last_activity_at desc nulls last, p.lead_id
        """,
    )


def test_documented_examples_run(built: Built) -> None:
    for args, proc in built.runs:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)


def test_csv_out_file_parses_back_to_the_hot_leads(built: Built) -> None:
    args, proc = built.runs[0]
    assert args[-2:] == ["--out", "hot-leads.csv"]
    assert "lead(s) written to hot-leads.csv (csv)" in proc.stdout
    with (built.root / "hot-leads.csv").open(newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == FIELDS
        rows = list(reader)
    expected = expected_rows(built.cli.data_dir, "p.engagement_level = 'hot'")
    assert expected and any(e[3] for e in expected)
    got = [
        (r["lead_id"], r["email"], r["engagement_level"], r["level_since"] or None) for r in rows
    ]
    assert got == expected
    assert all("@" in r["email"] for r in rows)


def test_json_to_stdout_parses(built: Built) -> None:
    args, proc = built.runs[1]
    assert args == ["leads", "--format", "json", "--limit", "5"]
    rows = json.loads(proc.stdout)
    assert [tuple(r) for r in rows] == [FIELDS] * len(rows)
    expected = expected_rows(built.cli.data_dir)[:5]
    assert [(r["lead_id"], r["email"], r["engagement_level"], r["level_since"]) for r in rows] == [
        tuple(e) for e in expected
    ]
    scores = [r["intent_score"] for r in rows]
    assert scores == sorted(scores, reverse=True) and isinstance(scores[0], int)


def test_csv_to_stdout_filters_by_campaign(built: Built) -> None:
    _args, proc = built.runs[2]
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    expected = expected_rows(built.cli.data_dir, "p.campaign_id = 'spring-launch'")
    assert [r["lead_id"] for r in rows] == [e[0] for e in expected]
    assert {r["campaign_id"] for r in rows} == {"spring-launch"}


def test_table_shows_since_when_a_lead_is_at_its_level(built: Built) -> None:
    out = built.cli("leads", "--level", "hot", check=True).stdout
    since = expected_rows(built.cli.data_dir, "p.engagement_level = 'hot'")[0][3]
    assert "Level since" in out and since.replace("T", " ")[:16] in out
    assert NOT_RECORDED not in out


def test_without_the_level_change_mart_level_since_is_not_recorded(
    built: Built, tmp_path: Path
) -> None:
    data_dir = tmp_path / "old"
    data_dir.mkdir()
    shutil.copy(built.cli.data_dir / "warehouse.duckdb", data_dir / "warehouse.duckdb")
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    con.execute("drop view lead_level_changes")
    con.close()
    old = Cli(cli_env(data_dir), tmp_path)
    assert NOT_RECORDED in old("leads", check=True).stdout
    rows = list(csv.DictReader(io.StringIO(old("leads", "--format", "csv", check=True).stdout)))
    assert rows and {r["level_since"] for r in rows} == {""}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "error: --format must be one of table, csv, json, not 'xml'"),
        (["--out", "leads.txt"], "error: --out leads.txt: say --format csv or --format json"),
        (["--format", "table", "--out", "x.csv"], "error: --out writes csv or json"),
    ],
)
def test_bad_format_options_exit_2(built: Built, args: list[str], message: str) -> None:
    proc = built.cli("leads", *args)
    assert proc.returncode == 2 and proc.stderr.startswith(message), proc.stderr
    assert not (built.root / "leads.txt").exists() and not (built.root / "x.csv").exists()


def test_out_json_by_file_name(built: Built) -> None:
    proc = built.cli("leads", "--out", "sub/all.json", check=True)
    assert "(json)" in proc.stdout
    rows = json.loads((built.root / "sub" / "all.json").read_text())
    assert len(rows) == len(expected_rows(built.cli.data_dir))
