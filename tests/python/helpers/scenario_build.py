"""dbt builds of landed test data, without dbt's unit tests.

The unit tests check the SQL on fixed inputs and read no landed data, so a build whose test
is about data would only repeat them (about a third of a small build). They run once under
the project's defaults (tests/python/warehouse/test_unit_tests.py) and under moved vars
(test_tuning.py, test_tuning_docs.py); `oie run` skips them the same way.

dbt runs inside the test worker (tests/python/helpers/dbt_in_worker.py), as `oie` would run
it in a subprocess.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from oie import warehouse
from tests.python.helpers import dbt_in_worker

WITHOUT_UNIT_TESTS = ("--exclude-resource-type", "unit_test")


def build_data(
    data_dir: Path,
    *,
    vars: Mapping[str, Any] | None = None,
    full_refresh: bool = False,
    select: str | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """`dbt build` of data_dir's warehouse from its landing folder; dbt's exit code."""
    args = warehouse.dbt_command(
        select=select, full_refresh=full_refresh, vars=vars, extra_args=WITHOUT_UNIT_TESTS
    )
    args.insert(1, "--quiet")
    return dbt_in_worker.run(args, {"OIE_DATA_DIR": str(data_dir), **(env or {})})
