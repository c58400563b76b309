"""Where a build's data tests look (macros/test_scope.sql): a scheduled `oie run` tests the
rows it wrote, `oie run --full-tests` every row. A defect planted in an old row is
invisible to the first and fails the second, naming the test; a bad scope is refused; and
switching scopes never costs dbt a full re-parse."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb

from oie import warehouse
from oie.run import TEST_SCOPE_ENV
from tests.python.warehouse import scenario

from .conftest import Cli

VARS = json.dumps({"oie_as_of": scenario.AS_OF})
PLANTED_TEST = "unique_int_events_sessionized_event_id"
FULL_CHECK_TEST = "unique_crm_contacts_key"  # tagged oie_full_check


def _tests_run(data_dir: Path) -> set[str]:
    results = json.loads((data_dir / "dbt" / "target" / "run_results.json").read_text())
    return {
        r["unique_id"].split(".")[2]
        for r in results["results"]
        if r["unique_id"].startswith("test.")
    }


def _compiled_test(data_dir: Path, name: str) -> str:
    (path,) = (data_dir / "dbt" / "target" / "run").rglob(f"{name}.sql")
    return path.read_text()


def _last_invocation_log(data_dir: Path) -> str:
    log = (data_dir / "dbt" / "logs" / "dbt.log").read_text()
    return log.rsplit("running dbt with arguments", 1)[-1]


def test_scheduled_runs_test_their_rows_and_full_tests_test_all(cli: Cli) -> None:
    for batch in scenario.BATCHES:
        scenario.land_batch(cli.data_dir / "landing", batch)
    cli("run", "--vars", VARS, check=True)

    # An old row breaks a key: a second copy of one event's session row, stamped by the
    # first run (nothing rebuilt whole reads it, so only the full check can see it).
    with duckdb.connect(str(cli.data_dir / "warehouse.duckdb")) as con:
        con.execute(
            "insert into int_events_sessionized select * from int_events_sessionized limit 1"
        )

    scheduled = cli("run", "--vars", VARS)
    assert scheduled.returncode == 0, scheduled.stdout + scheduled.stderr
    assert "data tests on this run's rows" in scheduled.stdout
    sql = _compiled_test(cli.data_dir, PLANTED_TEST)
    assert "oie_sessionized_at >=" in sql, sql  # it ran, on this run's rows only
    assert "Partial parsing enabled, no changes found" in _last_invocation_log(cli.data_dir)
    # the tests of views recomputed from every lead wait for the full check
    assert FULL_CHECK_TEST not in _tests_run(cli.data_dir)

    full = cli("run", "--full-tests", "--vars", VARS)
    assert full.returncode == 1, full.stdout + full.stderr
    assert f"FAIL 1 {PLANTED_TEST}" in full.stdout
    assert FULL_CHECK_TEST in _tests_run(cli.data_dir)
    assert "oie_sessionized_at" not in _compiled_test(cli.data_dir, PLANTED_TEST)
    # switching the scope is an environment variable read at run time: no re-parse
    assert "Partial parsing enabled, no changes found" in _last_invocation_log(cli.data_dir)

    # A scope that is neither stops the tests with one clear line, whatever else is right.
    args = warehouse.dbt_command("test", select=PLANTED_TEST)
    proc = subprocess.run(
        args,
        cwd=warehouse.PROJECT_DIR,
        env=warehouse.dbt_env({**cli.env, TEST_SCOPE_ENV: "newest"}),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert "DBT_OIE_TEST_SCOPE must be 'new' or 'all', not 'newest'" in proc.stdout
