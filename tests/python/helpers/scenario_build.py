"""dbt builds of landed test data, without dbt's unit tests and, unless asked, without the
not_null tests.

The unit tests check the SQL on fixed inputs and read no landed data, so a build whose test
is about data would only repeat them (about a third of a small build). They run once under
the project's defaults (tests/python/warehouse/test_unit_tests.py) and under moved vars
(test_tuning.py, test_tuning_docs.py); `oie run` skips them the same way.

The not_null tests check the SQL too (every such column is computed or coalesced), not the
data, which is why a scheduled `oie run` leaves them out (docs/warehouse.md, "Scheduled runs
and the full check"); they are over half of a build's nodes. The builds that check the SQL
across the marts ask for them (`not_null_tests=True`: the labelled scenario, full and
incremental, history, the page-exit measures); the others (KV, email alerts, forgetting,
`oie tune` and its docs, freshness, the increments of leads, lead lists and sessions) build
as a scheduled run does.

A reference build, the full refresh a test compares an incremental warehouse with row for
row, runs no data test at all (`data_tests=False`): the warehouse under test runs them.

dbt runs inside the test worker (tests/python/helpers/dbt_in_worker.py), as `oie` would run
it in a subprocess. It writes its JSON artifacts (manifest.json, run_results.json: about a
tenth of a small build) only for a test that reads them (`artifacts=True`); the compiled
SQL under target/ is written either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from oie import warehouse
from oie.run import FULL_TESTS_DBT_ARGS, SCHEDULED_DBT_ARGS
from tests.python.helpers import dbt_in_worker

WITHOUT_UNIT_TESTS = FULL_TESTS_DBT_ARGS[1:]
AS_SCHEDULED = SCHEDULED_DBT_ARGS[1:]


def build_data(
    data_dir: Path,
    *,
    vars: Mapping[str, Any] | None = None,
    full_refresh: bool = False,
    select: str | None = None,
    env: Mapping[str, str] | None = None,
    not_null_tests: bool = False,
    data_tests: bool = True,
    artifacts: bool = False,
) -> int:
    """`dbt build` of data_dir's warehouse from its landing folder; dbt's exit code."""
    extra_args = WITHOUT_UNIT_TESTS if not_null_tests else AS_SCHEDULED
    if not data_tests:
        extra_args = (*extra_args, "--exclude-resource-type", "test")
    if not artifacts:
        extra_args = (*extra_args, "--no-write-json")
    args = warehouse.dbt_command(
        select=select, full_refresh=full_refresh, vars=vars, extra_args=extra_args
    )
    args.insert(1, "--quiet")
    return dbt_in_worker.run(args, {"OIE_DATA_DIR": str(data_dir), **(env or {})})
