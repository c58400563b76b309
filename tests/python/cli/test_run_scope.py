"""Where a build's data tests look (macros/test_scope.sql): a scheduled `oie run` tests the
rows it wrote, `oie run --full-tests` every row. A defect planted in an old row is
invisible to the first and fails the second, naming the test; a bad scope is refused; and
switching scopes never costs dbt a full re-parse."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import duckdb

from oie import warehouse
from oie.run import TEST_SCOPE_ENV
from tests.python.helpers.dbt_log import last_invocation
from tests.python.warehouse import scenario

from .conftest import Cli

VARS = json.dumps({"oie_as_of": scenario.AS_OF})
PLANTED_TEST = "unique_int_events_sessionized_event_id"
FULL_CHECK_TEST = "unique_crm_contacts_key"  # tagged oie_full_check
RELATIONSHIP_TEST = "relationships_int_events_sessionized_session_id__session_id__ref_int_sessions_"


def _tests_run(data_dir: Path) -> set[str]:
    results = json.loads((data_dir / "dbt" / "target" / "run_results.json").read_text())
    return {
        r["unique_id"].split(".")[2]
        for r in results["results"]
        if r["unique_id"].startswith("test.")
    }


def _compiled_test(data_dir: Path, name: str) -> str:
    """The SQL the last run compiled for a data test, from dbt's record of the run."""
    results = json.loads((data_dir / "dbt" / "target" / "run_results.json").read_text())
    (sql,) = (
        r["compiled_code"] for r in results["results"] if r["unique_id"].split(".")[2] == name
    )
    return str(sql)


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
    assert "Partial parsing enabled, no changes found" in last_invocation(cli.data_dir)
    # the tests of views recomputed from every lead wait for the full check
    assert FULL_CHECK_TEST not in _tests_run(cli.data_dir)

    full = cli("run", "--full-tests", "--vars", VARS)
    assert full.returncode == 1, full.stdout + full.stderr
    assert f"FAIL 1 {PLANTED_TEST}" in full.stdout
    assert FULL_CHECK_TEST in _tests_run(cli.data_dir)
    assert "oie_sessionized_at" not in _compiled_test(cli.data_dir, PLANTED_TEST)
    # switching the scope is an environment variable read at run time: no re-parse
    assert "Partial parsing enabled, no changes found" in last_invocation(cli.data_dir)

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


def _scoped_rows(con: duckdb.DuckDBPyConnection, compiled_test: str) -> int:
    """How many rows a compiled data test read: its `(select ... ) dbt_subquery`."""
    match = re.search(r"\((select \* from .*?)\) dbt_subquery", compiled_test, re.S)
    assert match, compiled_test
    return con.execute(f"select count(*) from ({match.group(1)})").fetchone()[0]


def test_a_scheduled_run_tests_the_rows_it_wrote_and_their_parents(cli: Cli) -> None:
    *first, third, last = scenario.BATCHES
    for batch in first:
        scenario.land_batch(cli.data_dir / "landing", batch)
    cli("run", "--full-tests", "--vars", VARS, check=True)
    assert "oie_sessionized_at" not in _compiled_test(cli.data_dir, RELATIONSHIP_TEST)

    # The snapshot and the visitor-to-lead view test the rows this run wrote: exactly those
    # stamped after the previous run's.
    stamped = {
        "unique_lead_profiles_snapshot_dbt_scd_id": ("lead_profiles_snapshot", "dbt_updated_at"),
        "unique_int_visitor_leads_visitor_id": ("int_visitor_leads", "oie_resolved_at"),
    }
    with duckdb.connect(str(cli.data_dir / "warehouse.duckdb")) as con:
        before = {
            test: con.execute(f"select max({stamp}) from {table}").fetchone()[0]
            for test, (table, stamp) in stamped.items()
        }
    scenario.land_batch(cli.data_dir / "landing", third)
    cli("run", "--vars", VARS, check=True)
    with duckdb.connect(str(cli.data_dir / "warehouse.duckdb"), read_only=True) as con:
        for test, (table, stamp) in stamped.items():
            sql = _compiled_test(cli.data_dir, test)
            assert f"{stamp} >=" in sql, sql
            (written,) = con.execute(
                f"select count(*) from {table} where {stamp} > ?", [before[test]]
            ).fetchone()
            assert written > 0, test
            assert _scoped_rows(con, sql) == written, test

    # A new row of an event whose session does not exist, beside the last batch's rows whose
    # sessions do: the run's relationship test finds it, and only it. (Its own event id: a
    # copy of a row the run sessionizes again would be replaced by the run.)
    scenario.land_batch(cli.data_dir / "landing", last)
    with duckdb.connect(str(cli.data_dir / "warehouse.duckdb")) as con:
        con.execute(
            "insert into int_events_sessionized select * replace ('e-orphan' as event_id,"
            " 's-orphan' as session_id, timestamp '2999-01-01' as oie_sessionized_at)"
            " from int_events_sessionized limit 1"
        )

    scheduled = cli("run", "--vars", VARS)
    assert scheduled.returncode == 1, scheduled.stdout + scheduled.stderr
    assert f"FAIL 1 {RELATIONSHIP_TEST}" in scheduled.stdout
    assert "oie_sessionized_at >=" in _compiled_test(cli.data_dir, RELATIONSHIP_TEST)
