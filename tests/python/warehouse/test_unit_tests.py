"""Every dbt unit test of the project, under the project's own defaults, in a plain
`dbt build` (no --vars, nothing landed): the one build of the suite that runs them all.

The builds of landed data elsewhere skip them (tests/python/helpers/scenario_build.py);
test_tuning.py and test_tuning_docs.py run them again under moved vars.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import yaml

from oie import warehouse
from tests.python.helpers import dbt_in_worker


def _declared_unit_tests() -> set[str]:
    found: set[str] = set()
    for path in (warehouse.PROJECT_DIR / "models").rglob("*.yml"):
        for test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests") or []:
            found.add(f"unit_test.oie.{test['model']}.{test['name']}")
    return found


def test_every_unit_test_passes_under_the_defaults(tmp_path: Path) -> None:
    assert dbt_in_worker.run(warehouse.dbt_command(), {"OIE_DATA_DIR": str(tmp_path)}) == 0
    results = json.loads((tmp_path / "dbt" / "target" / "run_results.json").read_text())
    statuses = {r["unique_id"]: r["status"] for r in results["results"]}
    declared = _declared_unit_tests()
    assert len(declared) >= 20  # the YAML was read (the project has 22 today)
    ran = {node: status for node, status in statuses.items() if node.startswith("unit_test.")}
    assert ran == dict.fromkeys(declared, "pass")
    # Nothing landed: the build still makes every mart, empty.
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from lead_profiles").fetchone() == (0,)
