"""Which data tests the scheduled run leaves to the full check (docs/warehouse.md,
"Scheduled runs and the full check"), read from the parsed project's manifest.

A test is tagged `oie_full_check` when it tests a mart that is a view with no
`oie_new_rows` stamp: such a view is recomputed from every lead on each read, so the
scheduled run could only test it whole. The only other tagged tests are those of the
stamped `events` view that pay for its identity joins (COUNTERPARTS), each checked on new
rows in the scheduled run by tests of the tables behind the view. Every other test stays in
the scheduled run, and `oie run --full-tests` (FULL_TESTS_DBT_ARGS) excludes nothing but
unit tests.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from oie import warehouse
from oie.run import FULL_TESTS_DBT_ARGS, SCHEDULED_DBT_ARGS

FULL_CHECK_TAG = "oie_full_check"

# (test, model, column) of a tagged test on a stamped view -> the untagged tests of the
# tables behind it that check the same on a scheduled run's new rows
COUNTERPARTS: dict[tuple[str, str, str], set[tuple[str, str, str]]] = {
    ("unique", "events", "event_id"): {
        ("unique", "int_events_sessionized", "event_id"),
        ("unique", "int_events_deduped", "event_key"),
    },
    ("accepted_values", "events", "event_type"): {
        ("accepted_values", "int_events_deduped", "event_type"),
    },
    ("relationships", "events", "session_id"): {
        ("relationships", "int_events_sessionized", "session_id"),
    },
}


def _identity(node: dict) -> tuple[str, str, str]:
    test = (node.get("test_metadata") or {}).get("name") or ""
    model = (node.get("attached_node") or "").rsplit(".", 1)[-1]
    return test, model, node.get("column_name") or ""


def _manifest(target: Path) -> dict:
    env, cwd = warehouse.dbt_subprocess_env(
        {"OIE_DATA_DIR": str(target / "data"), "DBT_TARGET_PATH": str(target / "target")}
    )
    (target / "data").mkdir(exist_ok=True)
    subprocess.run(
        warehouse.dbt_command("parse", extra_args=["--no-partial-parse"]),
        env=env,
        cwd=cwd,
        check=True,
        capture_output=True,
    )
    return json.loads((target / "target" / "manifest.json").read_text())


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return _manifest(tmp_path_factory.mktemp("full-check-tags"))


def _unstamped_view_marts(manifest: dict) -> set[str]:
    return {
        node["unique_id"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["fqn"][1] == "marts"
        and node["config"]["materialized"] == "view"
        and not node["config"]["meta"].get("oie_new_rows")
    }


def test_exactly_the_tests_of_unstamped_view_marts_wait_for_the_full_check(manifest: dict) -> None:
    views = _unstamped_view_marts(manifest)
    # the views docs/warehouse.md names; a new unstamped view mart joins them here
    assert {v.rsplit(".", 1)[1] for v in views} == {
        "high_intent_leads",
        "edge_profiles",
        "crm_contacts",
        "recent_sessions",
        "lead_level_changes",
        "lead_level_episodes",
    }
    wrong = []
    tagged_count = 0
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test":
            continue
        tagged = FULL_CHECK_TAG in node["tags"]
        tagged_count += tagged
        on_view = node.get("attached_node") in views
        not_null = (node.get("test_metadata") or {}).get("name") == "not_null"
        if on_view and not tagged and not not_null:
            wrong.append(f"{node['name']}: tests an unstamped view, not tagged {FULL_CHECK_TAG}")
        if tagged and not on_view and _identity(node) not in COUNTERPARTS:
            wrong.append(
                f"{node['name']}: tagged {FULL_CHECK_TAG}, but its model is tested by scope"
            )
        if not tagged and _identity(node) in COUNTERPARTS:
            wrong.append(f"{node['name']}: should wait for the full check (COUNTERPARTS)")
    assert wrong == []
    assert tagged_count >= 15 + len(COUNTERPARTS)  # and every test of the six views but not_null


def test_the_events_tests_left_to_the_full_check_have_scheduled_counterparts(
    manifest: dict,
) -> None:
    tests = {
        _identity(node): node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
    }
    for tagged, counterparts in COUNTERPARTS.items():
        for counterpart in counterparts:
            assert counterpart in tests, f"{tagged} has no scheduled {counterpart}"
            assert FULL_CHECK_TAG not in tests[counterpart]["tags"], counterpart
            model = manifest["nodes"][tests[counterpart]["attached_node"]]
            assert model["config"]["meta"].get("oie_new_rows"), f"{counterpart}: not by scope"
    relationship = tests[("relationships", "int_events_sessionized", "session_id")]
    assert relationship["test_metadata"]["kwargs"]["to"] == "ref('int_sessions')"
    values = {
        model: tests[("accepted_values", model, "event_type")]["test_metadata"]["kwargs"]["values"]
        for model in ("events", "int_events_deduped")
    }
    assert values["events"] == values["int_events_deduped"]


def test_the_scheduled_run_excludes_the_tag_and_the_full_check_does_not() -> None:
    exclude = SCHEDULED_DBT_ARGS.index("--exclude")
    assert f"tag:{FULL_CHECK_TAG}" in SCHEDULED_DBT_ARGS[exclude + 1 :]
    assert not any(FULL_CHECK_TAG in arg for arg in FULL_TESTS_DBT_ARGS)
    assert "--exclude" not in FULL_TESTS_DBT_ARGS
