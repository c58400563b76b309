"""From landing files to a personalized page, with every part real: the labelled warehouse
scenario built by `dbt build` on DuckDB (its unit and data tests included, so the
edge_profiles unit test and the unique key test run), `oie sync` filling kv.sqlite, the real
ingest server answering /personalize for a linked visitor (`v:`) and for a first visit with
an email token (`t:`); then `oie run --vars` with oie_edge_min_level: the keys of leads
below it leave the store. Two dbt builds in all, for the module."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.python.cli.conftest import Cli, cli_env
from tests.python.helpers.scenario_build import build_data
from tests.python.helpers.servers import http_call, start_ingest_server
from tests.python.warehouse import scenario


def kv_keys(data_dir: Path) -> dict[str, dict[str, Any]]:
    con = sqlite3.connect(data_dir / "kv.sqlite")
    try:
        return {k: json.loads(v) for k, v in con.execute("select key, value from kv")}
    finally:
        con.close()


def expected_keys(data_dir: Path, levels: tuple[str, ...]) -> set[str]:
    """The keys edge_profiles must hold, worked out here from the marts it reads."""
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        leads = con.execute(
            "select lead_id, token from lead_profiles "
            "where not token_forwarded and engagement_level in (select unnest(?))",
            [list(levels)],
        ).fetchall()
        visitors = con.execute(
            "select identifier, lead_id from identity_map where identifier_type = 'visitor' "
            "and is_linked and match_type in ('token', 'email_hash')"
        ).fetchall()
    finally:
        con.close()
    shown = {lead for lead, _ in leads}
    return {f"t:{token}" for _, token in leads} | {
        f"v:{visitor}" for visitor, lead in visitors if lead in shown
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    root = tmp_path_factory.mktemp("kv-e2e")
    data_dir = root / "data"
    for batch in scenario.BATCHES:
        scenario.land_batch(data_dir / "landing", batch)
    # edge_profiles' unit tests run in tests/python/warehouse/test_unit_tests.py.
    assert build_data(data_dir, vars=scenario.pinned_vars()) == 0
    (root / "work").mkdir()
    cli_environment = cli_env(data_dir, OIE_KV="local")
    for name in [n for n in cli_environment if n.startswith("CLOUDFLARE_")]:
        del cli_environment[name]
    return Cli(cli_environment, root / "work")


def test_sync_personalizes_visitor_and_token_then_a_minimum_level_removes_keys(
    built: Cli,
) -> None:
    first = built("sync", check=True)
    keys = kv_keys(built.data_dir)
    assert set(keys) == expected_keys(built.data_dir, ("cold", "warm", "hot", "burning"))
    assert f"local: pushed {len(keys)} key(s) ({len(keys)} new" in first.stdout
    assert first.stdout.strip().endswith("compared every key")  # no sync before
    assert keys["t:TkAda000001"] == {
        "first_name": "Ada",
        "company": "Analytical Engines",
        "engagement_level": "hot",
        "campaign_id": "spring-launch",
    }
    assert "t:TkDee000004" not in keys  # a forwarded token personalizes nobody
    # the next one compares only the keys of the leads changed since: none
    assert (
        built("sync", check=True)
        .stdout.strip()
        .endswith("0 failed, 0 request(s), compared the keys of 0 changed lead(s)")
    )

    with start_ingest_server(data_dir=built.data_dir) as server:
        linked = http_call(server.url + "/personalize?vid=v-cy-laptop")
        assert linked.status == 200 and linked.json()["first_name"] == "Cy"
        first_visit = http_call(server.url + "/personalize?vid=brand-new-visitor&i=TkAda000001")
        assert first_visit.status == 200
        assert first_visit.json() == keys["t:TkAda000001"]
        assert http_call(server.url + "/personalize?vid=brand-new-visitor").status == 404
        forwarded = http_call(server.url + "/personalize?vid=brand-new-visitor&i=TkDee000004")
        assert forwarded.status == 404

    # Then a minimum level takes the colder leads' keys out of the store. One test, not two:
    # this rebuilds the module's warehouse, so under a shuffled order it would change what
    # the checks above see.
    before = set(keys)
    vars = json.dumps({**scenario.pinned_vars(), "oie_edge_min_level": "hot"})
    run = built("run", "--vars", vars, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    after = set(kv_keys(built.data_dir))
    assert after == expected_keys(built.data_dir, ("hot", "burning"))
    assert after < before and "t:TkAda000001" in after and "t:TkEve000005" not in after
    step = next(line for line in run.stdout.splitlines() if "kv sync (" in line)
    assert f"deleted {len(before - after)}, 0 failed" in step
    assert step.endswith("compared every key")  # edge_profiles' definition changed
