"""`oie run`: --vars checked before anything runs, the scheduled build leaves unit tests to CI,
a seed CSV changed since the last successful run makes the next build a full refresh, and
seeds unchanged and still in place are not reloaded."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from oie import seed_state
from oie.run import SCHEDULED_DBT_ARGS
from oie.warehouse import PROJECT_DIR
from oie_core.settings import Settings
from tests.python.warehouse import scenario

from .conftest import Cli


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ('{"oie_level_hott": 55}', "error: unknown dbt var 'oie_level_hott'"),
        ("{oie_level_hot: high}", "error: oie_level_hot must be a number, got 'high'"),
        ("{oie_level_burning: 50}", "error: oie_level_hot (60) must be below oie_level_burning"),
        ("{oie_score_conversions_cap: -1}", "error: oie_score_conversions_cap must be zero or"),
    ],
)
def test_bad_vars_exit_2_before_the_lock_and_the_build(
    cli: Cli, variables: str, message: str
) -> None:
    proc = cli("run", "--vars", variables)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith(message), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stdout == ""  # not even the first step started
    assert not (cli.data_dir / "oie-run.lock").exists()
    assert not (cli.data_dir / "dbt").exists()


def run_results(data_dir: Path) -> dict:
    return json.loads((data_dir / "dbt" / "target" / "run_results.json").read_text())


def test_scheduled_build_skips_unit_tests_and_full_refreshes_after_a_seed_change(
    cli: Cli,
) -> None:
    assert SCHEDULED_DBT_ARGS == (
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--exclude",
        "test_name:not_null",
        "tag:oie_full_check",
    )
    # The project has unit tests, so leaving them out is something the build must do.
    assert any("unit_tests:" in p.read_text() for p in (PROJECT_DIR / "models").rglob("*.yml"))
    seeds = seed_state.seed_checksums()
    assert seeds, "the project has seed CSVs"
    for batch in scenario.BATCHES:
        scenario.land_batch(cli.data_dir / "landing", batch)
    variables = json.dumps({"oie_as_of": scenario.AS_OF})
    checksums = cli.data_dir / seed_state.SEEDS_CHECKSUM_FILE

    first = cli("run", "--vars", variables, check=True).stdout
    status = next(line for line in first.splitlines() if "ok dbt build" in line)
    # no checksum yet: a normal scheduled build, testing the rows it wrote
    assert status.endswith("all models; data tests on this run's rows"), status
    results = run_results(cli.data_dir)
    kinds = {r["unique_id"].split(".")[0] for r in results["results"]}
    assert "model" in kinds and "unit_test" not in kinds, kinds
    assert results["args"]["exclude_resource_types"] == ["unit_test"]
    assert results["args"]["exclude"] == ["test_name:not_null", "tag:oie_full_check"]
    assert not results["args"].get("full_refresh")
    stored = dict(line.split("  ")[::-1] for line in checksums.read_text().splitlines())
    assert stored == seeds

    # Pretend the last successful run saw another version of one seed.
    changed = sorted(seeds)[0]
    checksums.write_text(
        "".join(f"{'0' * 64 if n == changed else d}  {n}\n" for n, d in sorted(seeds.items()))
    )
    second = cli("run", "--vars", variables, check=True).stdout
    status = next(line for line in second.splitlines() if "ok dbt build" in line)
    assert status.endswith(
        f"all models (full refresh: seeds changed since the last successful run: {changed})"
        "; data tests on every row"
    ), status
    refreshed = run_results(cli.data_dir)["args"]
    assert refreshed["full_refresh"] is True
    assert not refreshed.get("exclude"), "a full refresh runs every data test"
    assert dict(line.split("  ")[::-1] for line in checksums.read_text().splitlines()) == seeds

    # The seeds are unchanged and in the warehouse: the next scheduled build leaves them and
    # their tests out (their tests passed on this very load), and says so.
    third = cli("run", "--vars", variables, check=True).stdout
    status = next(line for line in third.splitlines() if "ok dbt build" in line)
    assert status.endswith(
        "all models; data tests on this run's rows; seeds unchanged, not reloaded"
    ), status
    kept = run_results(cli.data_dir)
    ran = {r["unique_id"] for r in kept["results"]}
    assert not [node for node in ran if node.startswith("seed.") or ".oie_seed_" in node], ran
    assert any(node.startswith("model.") for node in ran), ran
    assert "resource_type:seed" in kept["args"]["exclude"]


def _seeded_data_dir(tmp_path: Path, tables: set[str]) -> Settings:
    """A data dir whose last whole build loaded today's seeds locally, with `tables` in its
    warehouse."""
    data_dir = tmp_path / "data"
    (data_dir / "dbt").mkdir(parents=True)
    seed_state.write_seed_checksums(data_dir, seed_state.seed_checksums())
    seed_state.write_seeds_home(data_dir, "local warehouse.duckdb")
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        for table in sorted(tables):
            con.execute(f"create table {table} (pattern varchar)")
    return Settings.from_env({"OIE_DATA_DIR": str(data_dir)})


def test_seeds_are_reloaded_unless_the_same_files_are_still_where_the_build_writes(
    tmp_path: Path,
) -> None:
    seeds = seed_state.seed_checksums()
    names = {Path(name).stem for name in seeds}
    settings = _seeded_data_dir(tmp_path, names)
    before = seed_state.read_seed_checksums(settings.data_dir)
    assert seed_state.seeds_in_place(settings, before, seeds)

    assert not seed_state.seeds_in_place(settings, None, seeds)  # no successful whole build yet
    edited = {**seeds, sorted(seeds)[0]: "0" * 64}
    assert not seed_state.seeds_in_place(settings, before, edited)  # (that build is a full refresh)
    with duckdb.connect(str(settings.data_dir / "warehouse.duckdb")) as con:
        con.execute(f"drop table {sorted(names)[0]}")
    assert not seed_state.seeds_in_place(settings, before, seeds)  # a table someone dropped
    (settings.data_dir / "warehouse.duckdb").unlink()
    assert not seed_state.seeds_in_place(
        settings, before, seeds
    )  # a warehouse rebuilt from nothing

    # Loaded into one BigQuery dataset: not in another, nor in the local warehouse.
    other = _seeded_data_dir(tmp_path / "bq", names)
    seed_state.write_seeds_home(other.data_dir, "bigquery acme.oie")
    bigquery = {
        "OIE_DATA_DIR": str(other.data_dir),
        "OIE_TARGET": "bigquery",
        "OIE_TOKEN_SECRET": "a-test-secret-of-32-characters!!",
    }
    here = Settings.from_env({**bigquery, "OIE_BQ_PROJECT": "acme", "OIE_BQ_DATASET": "oie"})
    assert seed_state.seeds_home(here) == "bigquery acme.oie"
    assert seed_state.seeds_in_place(here, seed_state.read_seed_checksums(other.data_dir), seeds)
    elsewhere = Settings.from_env({**bigquery, "OIE_BQ_PROJECT": "acme", "OIE_BQ_DATASET": "b"})
    assert not seed_state.seeds_in_place(
        elsewhere, seed_state.read_seed_checksums(other.data_dir), seeds
    )
    assert not seed_state.seeds_in_place(
        other, seed_state.read_seed_checksums(other.data_dir), seeds
    )
