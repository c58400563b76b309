"""The sync to the local store, `$OIE_DATA_DIR/kv.sqlite`, and the local /personalize that
reads it (functions-framework's app in process): `v:` then `t:` keys, a dry run that writes
nothing, a store written before the sync existed, reconcile from the file's metadata, one
state per destination, and the settings refused at start."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest_function import local_kv
from kv_sync import runner
from kv_sync.errors import KVError
from kv_sync.local import LocalKV
from oie_core.settings import Settings, SettingsError
from tests.python.helpers.cf_standin import CloudflareStandin, start_cf_standin
from tests.python.ingest.inprocess import IngestApp, start_ingest_app
from tests.python.kv.support import (
    SECRET,
    FakeClock,
    cloudflare_env,
    drop_state,
    lead_rows,
    md5,
    profile,
    state_rows,
    write_edge_profiles,
)

# The clock starts before real time here: what the server reads (time.time()) is live.
NOW = time.time()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(t=NOW)


def local_settings(data_dir: Path, **extra: str) -> Settings:
    return Settings.from_env(
        {"OIE_DATA_DIR": str(data_dir), "OIE_TOKEN_SECRET": SECRET, "OIE_KV": "local", **extra}
    )


def kv_rows(data_dir: Path) -> dict[str, tuple[str, int | None, str | None]]:
    con = sqlite3.connect(data_dir / local_kv.FILE_NAME)
    try:
        rows = con.execute("select key, value, expires_at, metadata from kv").fetchall()
    finally:
        con.close()
    return {k: (v, e, m) for k, v, e, m in rows}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[IngestApp]:
    with start_ingest_app(data_dir=tmp_path) as served:
        yield served


def test_the_sync_fills_kv_sqlite_and_personalize_answers_by_visitor_then_token(
    tmp_path: Path, clock: FakeClock, app: IngestApp
) -> None:
    rows = {
        "v:visitor-ada-1": profile(1, "hot", "Ada"),
        "t:TkAda000001": profile(1, "hot", "Ada"),
        "t:TkBob000002": profile(2, "warm", "Bob"),
    }
    write_edge_profiles(tmp_path, rows)
    report = runner.run(local_settings(tmp_path), clock=clock)
    assert (report.store, report.new, report.write_requests) == ("local", 3, 1)
    stored = kv_rows(tmp_path)
    assert {k: v for k, (v, _, _) in stored.items()} == rows
    assert stored["t:TkBob000002"][1:] == (
        int(NOW + 90 * 86400),
        json.dumps({"h": md5(rows["t:TkBob000002"])}, separators=(",", ":")),
    )

    def personalize(query: str) -> tuple[int, dict[str, object]]:
        reply = app.call(f"/personalize?{query}")
        return reply.status, json.loads(reply.body)

    ada = {"first_name": "Ada", "company": "Company 1", "engagement_level": "hot"}
    assert personalize("vid=visitor-ada-1") == (200, {**ada, "campaign_id": "spring-launch"})
    # A first visit: an unknown browser with Bob's email token.
    status, bob = personalize("vid=visitor-new-9&i=TkBob000002")
    assert status == 200 and bob["first_name"] == "Bob"
    # The visitor's own key wins over the token's.
    assert personalize("vid=visitor-ada-1&i=TkBob000002")[1]["first_name"] == "Ada"
    assert personalize("vid=visitor-new-9&i=TkNobody003")[0] == 404
    assert personalize("vid=visitor-new-9")[0] == 404
    assert personalize("vid=visitor-new-9&i=short")[0] == 400
    assert personalize("vid=visitor-new-9&i=TkBob000002%27--")[0] == 400


def test_an_expired_visitor_key_falls_back_to_the_token(tmp_path: Path, app: IngestApp) -> None:
    store = LocalKV(tmp_path / local_kv.FILE_NAME, FakeClock(t=NOW - 200))
    from kv_sync.store import Entry

    store.put_many([Entry("v:visitor-old-1", profile(1, name="Old"), 60)])
    store.put_many([Entry("t:TkNew000001", profile(2, name="New"), 3600)])
    reply = app.call("/personalize?vid=visitor-old-1&i=TkNew000001")
    assert reply.status == 200 and json.loads(reply.body)["first_name"] == "New"
    assert app.call("/personalize?vid=visitor-old-1").status == 404
    assert LocalKV(tmp_path / local_kv.FILE_NAME, FakeClock(t=NOW)).get("v:visitor-old-1") is None


def test_a_dry_run_counts_and_writes_nothing(tmp_path: Path, clock: FakeClock) -> None:
    rows = lead_rows(3)
    write_edge_profiles(tmp_path, rows)
    warehouse = tmp_path / "warehouse.duckdb"
    before = hashlib.sha256(warehouse.read_bytes()).hexdigest()
    report = runner.run(local_settings(tmp_path), clock=clock, dry_run=True)
    assert (report.new, report.write_requests) == (6, 0)
    assert report.summary() == (
        "local: would push 6 key(s) (6 new, 0 changed, 0 refreshed), would delete 0, 0 failed, "
        "compared every key"
    )
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == before
    assert not (tmp_path / local_kv.FILE_NAME).exists()

    runner.run(local_settings(tmp_path), clock=clock)
    rows.pop("v:visitor-000001")
    write_edge_profiles(tmp_path, rows)
    again = runner.run(local_settings(tmp_path), clock=clock, dry_run=True)
    assert (again.new, again.deleted) == (0, 1)
    assert "v:visitor-000001" in kv_rows(tmp_path)


def test_a_store_written_before_the_sync_gains_the_metadata_column(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / local_kv.FILE_NAME
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT, expires_at INTEGER NULL)")
    con.execute("INSERT INTO kv VALUES ('v:visitor-hand-1', '{\"first_name\":\"Hand\"}', NULL)")
    con.commit()
    con.close()
    write_edge_profiles(tmp_path, lead_rows(1))
    runner.run(local_settings(tmp_path), clock=clock)
    stored = kv_rows(tmp_path)
    assert stored["v:visitor-hand-1"] == ('{"first_name":"Hand"}', None, None)
    assert len(stored) == 3


def test_a_deleted_kv_sqlite_is_filled_again(tmp_path: Path, clock: FakeClock) -> None:
    rows = lead_rows(5)
    write_edge_profiles(tmp_path, rows)
    runner.run(local_settings(tmp_path), clock=clock)
    (tmp_path / local_kv.FILE_NAME).unlink()
    report = runner.run(local_settings(tmp_path), clock=clock)
    assert report.new == 10 and {k: v for k, (v, _, _) in kv_rows(tmp_path).items()} == rows
    assert runner.run(local_settings(tmp_path), clock=clock).write_requests == 0


def test_reconcile_rebuilds_the_local_state_without_pushing_again(
    tmp_path: Path, clock: FakeClock
) -> None:
    rows = lead_rows(50)
    write_edge_profiles(tmp_path, rows)
    runner.run(local_settings(tmp_path), clock=clock)
    before = state_rows(tmp_path)
    drop_state(tmp_path)
    report = runner.run(local_settings(tmp_path), clock=clock, reconcile_state=True)
    assert (report.reconciled, report.pushed, report.write_requests) == (100, 0, 0)
    # kv.sqlite keeps whole seconds of expiry: the rebuilt state has what the store has.
    assert {k: (v[0], v[1], v[2]) for k, v in state_rows(tmp_path).items()} == {
        k: (v[0], v[1], float(int(v[2]))) for k, v in before.items()
    }


def test_each_destination_has_its_own_state(tmp_path: Path, clock: FakeClock) -> None:
    """Switching to (or adding) Workers KV pushes everything there once, whatever the local
    store already holds."""
    rows = lead_rows(5)
    write_edge_profiles(tmp_path, rows)
    runner.run(local_settings(tmp_path), clock=clock)
    cf: CloudflareStandin
    with start_cf_standin(clock=clock.now) as cf:
        settings = Settings.from_env(cloudflare_env(tmp_path, cf))
        first = runner.run(settings, clock=clock)
        assert first.new == 10 and cf.values() == rows
        assert runner.run(settings, clock=clock).write_requests == 0
    assert runner.run(local_settings(tmp_path), clock=clock).write_requests == 0
    assert set(state_rows(tmp_path, "local")) == set(rows)
    assert set(state_rows(tmp_path, f"cloudflare:{cf.account}/{cf.namespace}")) == set(rows)


def test_a_warehouse_without_edge_profiles_says_to_build_first(
    tmp_path: Path, clock: FakeClock
) -> None:
    with pytest.raises(KVError, match=r"^no warehouse at .*: run `oie run`"):
        runner.run(local_settings(tmp_path), clock=clock)
    import duckdb

    duckdb.connect(str(tmp_path / "warehouse.duckdb")).close()
    with pytest.raises(KVError, match=r"^the warehouse has no edge_profiles yet: run `oie run`"):
        runner.run(local_settings(tmp_path), clock=clock)


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_ACCOUNT_ID (the account that owns the namespace)"),
        ("OIE_KV_NAMESPACE_ID", "OIE_KV_NAMESPACE_ID (the Workers KV namespace the Worker reads)"),
    ],
)
def test_cloudflare_without_an_id_is_refused_naming_it(
    tmp_path: Path, missing: str, named: str
) -> None:
    env = {
        "OIE_DATA_DIR": str(tmp_path),
        "OIE_TOKEN_SECRET": SECRET,
        "CLOUDFLARE_API_TOKEN": "t",  # OIE_KV defaults to cloudflare with a token
        "CLOUDFLARE_ACCOUNT_ID": "a",
        "OIE_KV_NAMESPACE_ID": "n",
    }
    del env[missing]
    with pytest.raises(SettingsError) as refused:
        runner.check(Settings.from_env(env))
    assert str(refused.value) == (
        f"OIE_KV=cloudflare needs {named}; OIE_KV=local syncs to kv.sqlite instead"
    )


@pytest.mark.parametrize(("raw", "seconds"), [(None, 90 * 86400), ("60", 60), ("12h", 43200)])
def test_the_ttl_setting(tmp_path: Path, raw: str | None, seconds: float) -> None:
    extra = {"OIE_KV_TTL": raw} if raw else {}
    assert local_settings(tmp_path, **extra).kv_ttl_s == seconds


@pytest.mark.parametrize("raw", ["59s", "30", "1m?"])
def test_a_ttl_under_a_minute_or_unreadable_is_refused_at_start(tmp_path: Path, raw: str) -> None:
    with pytest.raises(SettingsError, match=r"^OIE_KV_TTL="):
        local_settings(tmp_path, OIE_KV_TTL=raw)
