"""The CRM sync state on BigQuery: every statement we send parses as BigQuery SQL without a
DuckDB-ism (tests/python/helpers/bigquery_check.py), the state advances by one MERGE per
confirmed batch with typed parameters, and the whole sync runs against the PyPI
`bqemulator` on 127.0.0.1 (BigQuery's REST API over DuckDB) with the HubSpot stand-in:
dry run, first push, nothing the second time, a change, who is never sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crm_sync import runner, state_sql
from oie_core.settings import Settings
from tests.python.crm.support import Lead, email, hubspot_env, lead, leads
from tests.python.helpers.bigquery_check import check_statement
from tests.python.helpers.bqemulator import Recording, emulator_dataset
from tests.python.helpers.hubspot_standin import HubSpotStandin
from tests.python.kv.support import FakeClock, md5

PROJECT, DATASET = "oie-crm", "oie"
CONTACTS = f"`{PROJECT}`.`{DATASET}`.`crm_contacts`"
ROWS = f"`{PROJECT}`.`{DATASET}`.`crm_contacts_rows`"
STATE = f"`{PROJECT}`.`{DATASET}`.`crm_sync_state`"


def test_every_statement_is_bigquery_sql() -> None:
    d = state_sql.BIGQUERY
    statements = [
        state_sql.create_state(d, STATE),
        state_sql.diff(d, CONTACTS, STATE),
        state_sql.diff(d, CONTACTS, state_sql.empty_state(d)),
        state_sql.merge(d, STATE),
    ]
    for sql in statements:
        assert check_statement(sql) == [], sql
        assert "$" not in sql and '"' not in sql  # DuckDB's parameters and quotes
    assert "cluster by destination, key" in statements[0]
    merge = state_sql.merge(d, STATE)
    assert merge.startswith(f"merge into {STATE} as synced")
    assert "`hash` = incoming.`hash`" in merge  # reserved on BigQuery: always quoted
    assert "from unnest(@rows) as pushed" in merge and "@pushed_at" in merge


@pytest.fixture(scope="module")
def bigquery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    with emulator_dataset(PROJECT, DATASET, tmp_path_factory.mktemp("bqemu")) as found:
        yield found


def write_crm_contacts(client: Any, rows: dict[str, Lead]) -> None:
    """crm_contacts as the mart builds it on BigQuery: a view (over a table here)."""
    from google.cloud import bigquery as bq

    client.query(
        f"create or replace table {ROWS} "
        "(key string, value string, `hash` string, crm_status string)"
    ).result()
    client.query(
        f"insert into {ROWS} (key, value, `hash`, crm_status) "
        "select row.key, row.value, to_hex(md5(row.value)), row.crm_status "
        "from unnest(@rows) as row",
        job_config=bq.QueryJobConfig(
            query_parameters=[
                bq.ArrayQueryParameter(
                    "rows",
                    "STRUCT",
                    [
                        bq.StructQueryParameter(
                            None,
                            bq.ScalarQueryParameter("key", "STRING", key),
                            bq.ScalarQueryParameter("value", "STRING", r.value),
                            bq.ScalarQueryParameter("crm_status", "STRING", r.status),
                        )
                        for key, r in rows.items()
                    ],
                )
            ]
        ),
    ).result()
    client.query(f"create or replace view {CONTACTS} as select * from {ROWS}").result()


def state(client: Any) -> dict[str, tuple[Any, ...]]:
    rows = client.query(f"select key, destination, `hash`, pushed_at from {STATE}").result()
    return {r[0]: (r[1], r[2], r[3].timestamp()) for r in rows}


def state_table_exists(client: Any) -> bool:
    from google.api_core.exceptions import NotFound

    try:
        client.get_table(f"{PROJECT}.{DATASET}.crm_sync_state")
    except NotFound:
        return False
    return True


def test_the_sync_on_bigquery(
    bigquery: tuple[Any, str], hs: HubSpotStandin, clock: FakeClock, tmp_path: Path
) -> None:
    client, url = bigquery
    env = hubspot_env(
        tmp_path,
        hs,
        OIE_TARGET="bigquery",
        OIE_BQ_PROJECT=PROJECT,
        OIE_BQ_DATASET=DATASET,
        OIE_BQ_API_ENDPOINT=url,
    )
    settings = Settings.from_env(env)
    runner.setup(settings)
    hs.forget_calls()
    rows = leads(120)
    rows["below@example.com"] = lead(1, "cold", 5, status="below_level")
    rows["bounced@example.com"] = lead(2, "hot", 75, status="suppressed")
    write_crm_contacts(client, rows)
    recording = Recording(client)

    def sync(**kwargs: Any) -> Any:
        return runner.run(settings, clock=clock, bigquery_client=recording, **kwargs)

    dry = sync(dry_run=True)  # before any state: reads only, creates nothing
    assert dry.new == 120 and hs.calls == []
    assert not state_table_exists(client)
    assert all(sql.lstrip().startswith("with") for sql, _ in recording.sent)

    first = sync()
    assert [len(b) for b in hs.upserts()] == [100, 20]
    assert first.new == 120 and set(hs.contacts) == set(rows) - {
        "below@example.com",
        "bounced@example.com",
    }
    name = "hubspot:" + hs.base_url.removeprefix("http://")
    assert state(client)[email(5)] == (name, md5(rows[email(5)].value), clock.now())
    assert len(state(client)) == 120

    hs.forget_calls()
    assert sync().requests == 0 and hs.calls == []

    rows[email(5)] = lead(5, "cold", 8, status="below_level")  # sent before: sent again
    write_crm_contacts(client, rows)
    changed = sync()
    assert hs.upserts() == [[email(5)]] and changed.changed == 1
    assert state(client)[email(5)][1] == md5(rows[email(5)].value)
    assert hs.contacts[email(5)] == json.loads(rows[email(5)].value)

    for sql, _ in recording.sent:
        assert check_statement(sql) == [], sql
    writes = [(sql, params) for sql, params in recording.sent if sql.startswith("merge")]
    assert len(writes) == 3, "one MERGE per confirmed batch"
    for _, params in writes:
        names = {p.name: p for p in params}
        assert names.keys() == {"destination", "pushed_at", "rows"}
        assert names["destination"].value == name
        assert names["pushed_at"].type_ == "TIMESTAMP"
    assert not any(
        sql.lstrip().startswith(("insert", "update", "delete")) for sql, _ in recording.sent
    )
