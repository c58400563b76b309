"""Documentation and test coverage of the marts, measured by PyPI `dbt-coverage` from a real
build's manifest.json and catalog.json (DuckDB, empty landing folder: a fresh clone).

CI's rule: 100 % of mart columns documented. dbt-coverage counts the columns the warehouse
actually has (catalog.json), so a column added to a mart's SQL without a description in its
folder's YAML fails here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from oie import warehouse

MARTS = "models/marts"
# The marts docs/design.md names, and their column counts where a dashboard relies on them.
CORE_MARTS = {
    "events": None,
    "sessions": None,
    # the 38 the issue counted, oie_updated_at, 4 network and 4 email-tool columns
    "lead_profiles": 47,
    "identity_map": None,
    "email_clicks": None,
    "campaign_performance": 16,
    "high_intent_leads": None,
    "edge_profiles": 4,
    "rejected_events": None,
}


def _dbt_coverage() -> str:
    exe = Path(sys.executable).with_name("dbt-coverage")
    assert exe.exists(), "dbt-coverage is not installed: pip install the dev extras"
    return str(exe)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """target/ with manifest.json and catalog.json of a warehouse built from no events."""
    data_dir = tmp_path_factory.mktemp("doc-coverage")
    env = warehouse.dbt_env({"OIE_DATA_DIR": str(data_dir)})
    steps = (
        # seeds, snapshots and models: the catalog only lists relations that exist
        warehouse.dbt_command(
            "build",
            extra_args=["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"],
        ),
        warehouse.dbt_command("docs", extra_args=["--no-compile"]),
    )
    # A user's `dbt build`, which writes manifest.json (oie's builds do not:
    # oie/dbt_process.py), then `dbt docs generate` for the catalog.
    steps[0][0] = str(Path(sys.executable).with_name("dbt"))
    for args in steps:
        if args[1] == "docs":
            args.insert(2, "generate")
        args.insert(1, "--quiet")
        done = subprocess.run(args, cwd=warehouse.PROJECT_DIR, env=env, check=False)
        assert done.returncode == 0, f"{' '.join(args[1:4])} failed"
    target = Path(env["DBT_TARGET_PATH"])
    assert (target / "catalog.json").is_file() and (target / "manifest.json").is_file()
    return target


def _coverage(
    kind: str, artifacts_dir: Path, report: Path, *extra: str
) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [
            _dbt_coverage(),
            "compute",
            kind,
            "--project-dir",
            str(warehouse.PROJECT_DIR),
            "--run-artifacts-dir",
            str(artifacts_dir),
            "--cov-report",
            str(report),
            "--model-path-filter",
            MARTS,
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    body = json.loads(report.read_text()) if report.is_file() else {}
    return done.returncode, body, done.stdout + done.stderr


def _tables(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    # dbt-coverage names tables schema.table
    return {t["name"].split(".")[-1]: t for t in report["tables"]}


def test_every_mart_column_is_documented(artifacts: Path, tmp_path: Path) -> None:
    code, report, output = _coverage(
        "doc", artifacts, tmp_path / "doc.json", "--cov-fail-under", "1.0"
    )
    assert code == 0, output
    tables = _tables(report)
    assert set(CORE_MARTS) <= set(tables), output
    undocumented = {
        name: [c["name"] for c in t["columns"] if not c["covered"]]
        for name, t in tables.items()
        if t["covered"] < t["total"]
    }
    assert undocumented == {}
    assert report["coverage"] == 1.0
    for name, columns in CORE_MARTS.items():
        if columns is not None:
            assert tables[name]["total"] == columns, name


def test_an_undocumented_mart_column_fails_the_check(artifacts: Path, tmp_path: Path) -> None:
    broken = tmp_path / "target"
    broken.mkdir()
    shutil.copy(artifacts / "catalog.json", broken / "catalog.json")
    manifest = json.loads((artifacts / "manifest.json").read_text())
    manifest["nodes"]["model.oie.lead_profiles"]["columns"]["intent_score"]["description"] = ""
    (broken / "manifest.json").write_text(json.dumps(manifest))
    code, report, output = _coverage(
        "doc", broken, tmp_path / "doc.json", "--cov-fail-under", "1.0"
    )
    assert code != 0
    assert "lower than min required coverage" in output
    lead_profiles = _tables(report)["lead_profiles"]
    total = CORE_MARTS["lead_profiles"]
    assert (lead_profiles["covered"], lead_profiles["total"]) == (total - 1, total)
    assert [c["name"] for c in lead_profiles["columns"] if not c["covered"]] == ["intent_score"]


def test_mart_test_coverage_is_reported(artifacts: Path, tmp_path: Path) -> None:
    code, report, output = _coverage("test", artifacts, tmp_path / "test.json")
    assert code == 0, output
    print(output)  # the per-mart table, for the CI log
    tables = _tables(report)
    tested = {(name, c["name"]) for name, t in tables.items() for c in t["columns"] if c["covered"]}
    # the keys, the score and its level, and the session time columns carry tests
    assert {
        ("events", "event_id"),
        ("sessions", "session_id"),
        ("sessions", "active_s"),
        ("sessions", "duration_s"),
        ("lead_profiles", "lead_id"),
        ("lead_profiles", "intent_score"),
        ("lead_profiles", "engagement_level"),
        ("identity_map", "identity_key"),
        ("email_clicks", "event_id"),
        ("campaign_performance", "campaign_id"),
        ("high_intent_leads", "priority_rank"),
        ("edge_profiles", "key"),
    } <= tested
    assert 0.5 <= report["coverage"] <= 1.0
