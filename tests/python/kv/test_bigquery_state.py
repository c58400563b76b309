"""The sync state on BigQuery: every statement we send parses as BigQuery SQL without a
DuckDB-ism (tests/python/helpers/bigquery_check.py), the state advances by one MERGE per
confirmed batch with typed array parameters, and the whole sync runs against the PyPI
`bqemulator` on 127.0.0.1 (BigQuery's REST API over DuckDB) with the Cloudflare stand-in:
first push, nothing the second time, a change, a delete, a refresh, reconcile, dry run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kv_sync import runner, state_sql
from oie_core.settings import Settings
from tests.python.helpers.bigquery_check import check_statement
from tests.python.helpers.bqemulator import Recording, emulator_dataset
from tests.python.helpers.cf_standin import CloudflareStandin, start_cf_standin
from tests.python.kv.support import (
    DAY,
    FakeClock,
    cloudflare_env,
    keys_of,
    lead_rows,
    md5,
    profile,
)

PROJECT, DATASET = "oie-kv", "oie"
EDGE = f"`{PROJECT}`.`{DATASET}`.`edge_profiles`"
STATE = f"`{PROJECT}`.`{DATASET}`.`kv_sync_state`"
MARKS = f"`{PROJECT}`.`{DATASET}`.`kv_sync_marks`"
CHANGES = f"`{PROJECT}`.`{DATASET}`.`edge_profile_changes`"


@pytest.mark.parametrize("dialect", [state_sql.BIGQUERY], ids=["bigquery"])
def test_every_statement_is_bigquery_sql(dialect: state_sql.Dialect) -> None:
    statements = [
        state_sql.create_state(dialect, STATE),
        state_sql.diff(dialect, EDGE, STATE),
        state_sql.diff(dialect, EDGE, state_sql.empty_state(dialect)),
        state_sql.merge(dialect, STATE),
        state_sql.merge(dialect, STATE, pushed=False),
        state_sql.merge(dialect, STATE, gone=False),
        state_sql.clear_store(dialect, STATE),
        state_sql.add_lead_id(dialect, STATE),
        state_sql.diff(dialect, EDGE, STATE, leads="unnest(@leads)"),
        state_sql.create_marks(dialect, MARKS),
        state_sql.read_mark(dialect, MARKS),
        state_sql.write_mark(dialect, MARKS),
        state_sql.clear_mark(dialect, MARKS),
        state_sql.newest_change(CHANGES),
        state_sql.changed_leads(dialect, CHANGES, STATE),
        state_sql.unowned_keys(dialect, STATE),
        state_sql.fill_lead_ids(dialect, EDGE, STATE),
    ]
    for sql in statements:
        assert check_statement(sql) == [], sql
        assert "$" not in sql and '"' not in sql  # DuckDB's parameters and quotes
    merge = state_sql.merge(dialect, STATE)
    assert merge.startswith(f"merge into {STATE} as synced")
    assert "`hash` = incoming.`hash`" in merge  # reserved on BigQuery: always quoted


@pytest.fixture(scope="module")
def bigquery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    with emulator_dataset(PROJECT, DATASET, tmp_path_factory.mktemp("bqemu")) as found:
        yield found


def write_edge_profiles(client: Any, rows: dict[str, str]) -> None:
    """edge_profiles as dbt builds it on BigQuery (key, value, `hash`)."""
    from google.cloud import bigquery as bq

    client.query(
        f"create or replace table {EDGE} (key string, value string, `hash` string)"
    ).result()
    client.query(
        f"insert into {EDGE} (key, value, `hash`) "
        "select k, v, to_hex(md5(v)) from unnest(@keys) as k with offset as i "
        "join unnest(@values) as v with offset as j on i = j",
        job_config=bq.QueryJobConfig(
            query_parameters=[
                bq.ArrayQueryParameter("keys", "STRING", list(rows)),
                bq.ArrayQueryParameter("values", "STRING", list(rows.values())),
            ]
        ),
    ).result()


def bigquery_settings(tmp_path: Path, cf: CloudflareStandin, url: str) -> Settings:
    """The sync pointed at the emulator's dataset and the Cloudflare stand-in."""
    return Settings.from_env(
        cloudflare_env(
            tmp_path,
            cf,
            OIE_TARGET="bigquery",
            OIE_BQ_PROJECT=PROJECT,
            OIE_BQ_DATASET=DATASET,
            OIE_BQ_API_ENDPOINT=url,
        )
    )


def syncer(settings: Settings, clock: FakeClock, recording: Recording) -> Callable[..., Any]:
    def sync(**kwargs: Any) -> Any:
        return runner.run(settings, clock=clock, bigquery_client=recording, **kwargs)

    return sync


def state(client: Any) -> dict[str, tuple[Any, ...]]:
    rows = client.query(f"select key, `hash`, expires_at from {STATE}").result()
    return {r[0]: (r[1], r[2].timestamp()) for r in rows}


def test_the_sync_on_bigquery(bigquery: tuple[Any, str], tmp_path: Path) -> None:
    client, url = bigquery
    clock = FakeClock()
    ttl = 90 * DAY
    rows = lead_rows(40)
    write_edge_profiles(client, rows)
    cf: CloudflareStandin
    with start_cf_standin(clock=clock.now) as cf:
        recording = Recording(client)
        sync = syncer(bigquery_settings(tmp_path, cf, url), clock, recording)

        dry = sync(dry_run=True)  # before any state: reads only, creates nothing
        assert dry.new == 80 and cf.calls == []
        assert all(sql.lstrip().startswith("with") for sql, _ in recording.sent)

        first = sync()
        assert first.new == 80 and cf.values() == rows
        assert state(client) == {k: (md5(v), clock.now() + ttl) for k, v in rows.items()}
        assert sync().write_requests == 0

        rows["t:Tk000000003"] = profile(3, "burning")
        del rows["v:visitor-000004"]
        write_edge_profiles(client, rows)
        cf.forget_calls()
        changed = sync()
        assert (changed.changed, changed.deleted) == (1, 1)
        assert keys_of(cf.writes()) == [["t:Tk000000003"]]
        assert keys_of(cf.writes(), "bulk/delete") == [["v:visitor-000004"]]

        clock.advance(ttl * 2 / 3 + 1)
        assert sync().refreshed == 79

        client.query(f"drop table {STATE}").result()
        cf.forget_calls()
        rebuilt = sync(reconcile_state=True)
        assert rebuilt.reconciled == 79 and rebuilt.write_requests == 0
        assert set(state(client)) == set(rows)

    for sql, _ in recording.sent:
        assert check_statement(sql) == [], sql
    writes = [(sql, params) for sql, params in recording.sent if sql.startswith("merge")]
    assert writes, "the state is written with MERGE"
    for _, params in writes:
        names = {p.name: p for p in params}
        assert names.keys() in ({"store", "rows"}, {"store", "gone"}, {"store", "rows", "gone"})
        assert names["store"].value == f"cloudflare:{cf.account}/{cf.namespace}"
        if "gone" in names:
            assert names["gone"].array_type == "STRING" and names["gone"].values
    assert not any(
        sql.lstrip().startswith(("insert", "update", "delete from `oie-kv`.`oie`.`edge"))
        for sql, _ in recording.sent
    )


def write_owned_profiles(client: Any, rows: dict[str, tuple[str, str]], changed: list[str]) -> None:
    """edge_profiles with its lead_id (key -> (lead, value)), and `changed` leads stamped in
    edge_profile_changes a minute after the newest stamp there."""
    from google.cloud import bigquery as bq

    client.query(
        f"create or replace table {EDGE} (key string, value string, `hash` string, lead_id string)"
    ).result()
    client.query(
        f"insert into {EDGE} (key, value, `hash`, lead_id) "
        "select k, v, to_hex(md5(v)), l from unnest(@keys) as k with offset as i "
        "join unnest(@values) as v with offset as j on i = j "
        "join unnest(@leads) as l with offset as m on i = m",
        job_config=bq.QueryJobConfig(
            query_parameters=[
                bq.ArrayQueryParameter("keys", "STRING", list(rows)),
                bq.ArrayQueryParameter("values", "STRING", [v for _, v in rows.values()]),
                bq.ArrayQueryParameter("leads", "STRING", [lead for lead, _ in rows.values()]),
            ]
        ),
    ).result()
    client.query(
        f"create table if not exists {CHANGES} (lead_id string, changed_at timestamp)"
    ).result()
    client.query(
        f"insert into {CHANGES} (lead_id, changed_at) "
        "select lead, timestamp_add(coalesce((select max(changed_at) from "
        f"{CHANGES}), timestamp '2027-01-15 08:00:00'), interval 1 minute) "
        "from unnest(@changed) as lead",
        job_config=bq.QueryJobConfig(
            query_parameters=[bq.ArrayQueryParameter("changed", "STRING", changed)]
        ),
    ).result()


def test_the_next_sync_on_bigquery_compares_only_changed_leads(
    bigquery: tuple[Any, str], tmp_path: Path
) -> None:
    client, url = bigquery
    drop_sync_tables(client)
    try:
        narrow_sync(client, url, tmp_path)
    finally:
        drop_sync_tables(client)  # the module's other test starts without a state


def drop_sync_tables(client: Any) -> None:
    for table in (STATE, MARKS, CHANGES):
        client.query(f"drop table if exists {table}").result()


def narrow_sync(client: Any, url: str, tmp_path: Path) -> None:
    clock = FakeClock()
    rows = {key: (f"lead-{key[-1]}", value) for key, value in lead_rows(3).items()}
    write_owned_profiles(client, rows, sorted({lead for lead, _ in rows.values()}))
    with start_cf_standin(clock=clock.now) as cf:
        recording = Recording(client)
        sync = syncer(bigquery_settings(tmp_path, cf, url), clock, recording)

        first = sync()
        assert (first.new, first.compared_leads) == (6, None)
        assert sync().compared_leads == 0

        rows["t:Tk000000001"] = ("lead-1", profile(1, "hot"))
        rows["v:visitor-000002"] = ("lead-0", profile(0))
        write_owned_profiles(client, rows, ["lead-0", "lead-1", "lead-2"])
        narrow = sync()
        assert (narrow.compared_leads, narrow.changed) == (3, 2)
        assert cf.values() == {key: value for key, (_, value) in rows.items()}
        owners = client.query(f"select key, lead_id from {STATE}").result()
        assert {r[0]: r[1] for r in owners} == {key: lead for key, (lead, _) in rows.items()}

    for sql, _ in recording.sent:
        assert check_statement(sql) == [], sql
    narrowed = [params for sql, params in recording.sent if "in unnest(@leads)" in sql]
    assert narrowed, "the narrow diff passes its leads as an array parameter"
    assert {p.name for p in narrowed[-1]} == {"store", "refresh_before", "leads"}
