"""Every bad input of `oie report`, through the real CLI: one line, the documented exit
code, never a traceback (the Cli helper checks that)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from .conftest import Cli, Warehouses, copy_of


def one_error_line(proc: object, code: int, *needles: str) -> None:
    returncode, stderr = proc.returncode, proc.stderr  # type: ignore[attr-defined]
    assert returncode == code, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    for needle in needles:
        assert needle in lines[0], stderr


def test_no_warehouse(cli: Cli) -> None:
    path = cli.data_dir / "warehouse.duckdb"
    one_error_line(cli("report"), 1, f"no warehouse at {path}: run `oie run` or `oie demo` first")


def test_warehouse_held_by_a_build(warehouses: Warehouses, tmp_path: Path) -> None:
    held = copy_of(warehouses.hostile, tmp_path / "held")
    writer = duckdb.connect(str(held.data_dir / "warehouse.duckdb"))  # what dbt holds
    try:
        one_error_line(held("report", "--wait", "1"), 1, "stayed locked by a build for 1 s")
    finally:
        writer.close()
    assert held("report").returncode == 0


@pytest.mark.parametrize("limit", ["0", "-5"])
def test_limit_must_be_positive(warehouses: Warehouses, limit: str) -> None:
    one_error_line(warehouses.hostile("report", "--limit", limit), 2, "--limit must be between 1")


def test_unknown_campaign(warehouses: Warehouses) -> None:
    one_error_line(
        warehouses.demo("report", "--campaign", "no-such-campaign"),
        2,
        "unknown campaign 'no-such-campaign'",
        "fintech-cfos",
    )


def test_known_campaign_by_id_or_name(warehouses: Warehouses, tmp_path: Path) -> None:
    by_id = warehouses.demo(
        "report", "--campaign", "fintech-cfos", "--out", str(tmp_path / "a.html")
    )
    assert by_id.returncode == 0 and "1 campaign(s)" in by_id.stdout
    by_name = warehouses.demo(
        "report", "--campaign", "Fintech CFOs", "--out", str(tmp_path / "b.html")
    )
    assert by_name.stdout.split("(", 1)[1] == by_id.stdout.split("(", 1)[1]


def test_out_in_a_missing_folder(warehouses: Warehouses, tmp_path: Path) -> None:
    out = tmp_path / "nowhere" / "report.html"
    one_error_line(warehouses.hostile("report", "--out", str(out)), 2, "does not exist")
    assert not out.parent.exists()


def test_out_not_writable(warehouses: Warehouses, tmp_path: Path) -> None:
    # /sys refuses new files even to root (the tests may run as root, whom chmod won't stop).
    one_error_line(warehouses.hostile("report", "--out", "/sys/report.html"), 2, "not writable")
    one_error_line(warehouses.hostile("report", "--out", str(tmp_path)), 2, "is a folder")


def test_bigquery_without_a_project(cli: Cli) -> None:
    bq = Cli({**cli.env, "OIE_TARGET": "bigquery"}, cli.cwd)
    one_error_line(bq("report"), 2, "OIE_BQ_PROJECT")


def test_bigquery_without_credentials(cli: Cli, tmp_path: Path) -> None:
    env = {k: v for k, v in cli.env.items() if k != "GOOGLE_APPLICATION_CREDENTIALS"}
    env.update(
        OIE_TARGET="bigquery",
        OIE_BQ_PROJECT="some-project",
        HOME=str(tmp_path),  # no gcloud application-default credentials there
        CLOUDSDK_CONFIG=str(tmp_path / "gcloud"),
        NO_GCE_CHECK="True",  # and no metadata server to ask
    )
    one_error_line(Cli(env, cli.cwd)("report"), 2, "GOOGLE_APPLICATION_CREDENTIALS")
