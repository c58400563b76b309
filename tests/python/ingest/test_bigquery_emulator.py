"""Smoke test of the BigQuery sink against the PyPI `bqemulator` on 127.0.0.1: the real
server writes through the Storage Write API (gRPC) and insertAll (REST); a down BigQuery
dead-letters the batch and replay brings it in once. Needs `scripts/bootstrap.sh
bqemulator` (scripts/test.sh installs it); fails without it."""

from __future__ import annotations

import hashlib
import json
import os
import urllib.request
import uuid

import pytest

from ingest_function.sinks.bigquery import (
    RAW_EMAIL_EVENTS_SCHEMA,
    RAW_EVENTS_SCHEMA,
    RAW_REJECTED_SCHEMA,
    RAW_TOMBSTONES_SCHEMA,
    BigQuerySink,
)
from ingest_function.sinks.dead_letter import FolderDeadLetter
from oie.replay import replay
from oie_core.tombstones import TombstoneKey
from tests.python.helpers.bqemulator import emulator_client, start_bqemulator
from tests.python.helpers.sequencer_payloads import (
    WEBHOOK_ENV,
    instantly,
    post_instantly,
    post_smartlead,
    smartlead,
)
from tests.python.helpers.servers import free_port, start_ingest_server
from tests.python.ingest.conftest import batch, counts, make_event, track

PROJECT, DATASET = "oie-test", "raw"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    with start_bqemulator(PROJECT, tmp_path_factory.mktemp("bqemu")) as emu:
        yield from _emulator_with_tables(emu.url, emu.grpc_port)


def _emulator_with_tables(url, grpc_port):
    from google.cloud import bigquery

    client = emulator_client(url, PROJECT, DATASET)
    for table, schema in (
        ("raw_events", RAW_EVENTS_SCHEMA),
        ("raw_rejected_events", RAW_REJECTED_SCHEMA),
        ("raw_tombstones", RAW_TOMBSTONES_SCHEMA),
        ("raw_email_events", RAW_EMAIL_EVENTS_SCHEMA),
    ):
        fields = [bigquery.SchemaField(n, t, mode=m) for n, t, m in schema]
        client.create_table(bigquery.Table(f"{PROJECT}.{DATASET}.{table}", schema=fields))
    yield {"rest": url, "grpc": f"127.0.0.1:{grpc_port}", "client": client}


def _env(emu: dict, method: str) -> dict[str, str]:
    return {
        "OIE_SINK": "bigquery",
        "OIE_TARGET": "bigquery",
        "OIE_BQ_PROJECT": PROJECT,
        "OIE_BQ_DATASET": DATASET,
        "OIE_BQ_WRITE_METHOD": method,
        "OIE_BQ_API_ENDPOINT": emu["rest"],
        "OIE_BQ_GRPC_ENDPOINT": emu["grpc"],
    }


def _rows(emu: dict, table: str, ids: list[str]) -> list[dict]:
    quoted = ", ".join(f"'{i}'" for i in ids)
    sql = f"select * from `{PROJECT}.{DATASET}.{table}` where event_id in ({quoted})"
    return [dict(r) for r in emu["client"].query(sql).result()]


@pytest.mark.parametrize("method", ["storage", "insert_all"])
def test_real_server_lands_events_in_bigquery(emulator, tmp_path, method):
    good, other, bad = (
        make_event(),
        make_event(type="scroll_depth", data={"depth": 75}),
        (make_event(type="nope")),
    )
    with start_ingest_server(_env(emulator, method), data_dir=tmp_path) as srv:
        reply = track(srv, batch(good, other, bad))
        assert reply.status == 200, srv.log()
        assert counts(reply) == {"accepted": 2, "rejected": 1}
    rows = {
        r["event_id"]: r
        for r in _rows(emulator, "raw_events", [good["event_id"], other["event_id"]])
    }
    assert set(rows) == {good["event_id"], other["event_id"]}
    row = rows[other["event_id"]]
    assert row["data"] == {"depth": 75} and row["type"] == "scroll_depth"
    assert row["received_at"].tzinfo is not None and row["is_bot"] is False
    assert row["ts"] == other["ts"]
    rejected = _rows(emulator, "raw_rejected_events", [bad["event_id"]])
    assert len(rejected) == 1 and rejected[0]["reason"].startswith("unknown_type")
    assert not list(tmp_path.glob("landing/events/*/*/*"))  # nothing went to local files


@pytest.mark.parametrize("method", ["storage", "insert_all"])
def test_email_webhooks_land_in_raw_email_events(emulator, tmp_path, method):
    email = f"{method}@example.com"
    with start_ingest_server(_env(emulator, method) | WEBHOOK_ENV, data_dir=tmp_path) as srv:
        assert (
            post_smartlead(srv.url, smartlead("EMAIL_REPLY", email, stats_id=method)).status == 200
        )
        reply = post_instantly(srv.url, instantly("email_bounced", email, email_id=method))
        assert reply.status == 200, srv.log()
    sha = hashlib.sha256(email.encode()).hexdigest()
    sql = (
        f"select event, source, step, occurred_at from `{PROJECT}.{DATASET}.raw_email_events` "
        f"where email_sha256 = '{sha}' order by event"
    )
    rows = [dict(r) for r in emulator["client"].query(sql).result()]
    assert [(r["event"], r["source"], r["step"]) for r in rows] == [
        ("bounce", "instantly", 1),
        ("reply", "smartlead", 1),
    ]
    assert rows[0]["occurred_at"].isoformat().startswith("2026-11-30T10:00:00")
    assert not list(tmp_path.glob("landing/email_events/*/*/*"))  # nothing went to local files


def test_bigquery_down_dead_letters_then_replay_lands_once(emulator, tmp_path):
    dead = tmp_path / "dead"
    env = _env(emulator, "storage") | {
        "OIE_BQ_GRPC_ENDPOINT": f"127.0.0.1:{free_port()}",  # nothing listens: BigQuery down
        "OIE_SINK_TIMEOUT": "1s",
        "OIE_DEAD_LETTER": str(dead),
    }
    event = make_event()
    with start_ingest_server(env, data_dir=tmp_path / "data") as srv:
        reply = track(srv, batch(event))
        assert reply.status == 200  # durable in the dead letter
    assert len(list(dead.glob("*/*.json"))) == 1
    assert _rows(emulator, "raw_events", [event["event_id"]]) == []
    sink = BigQuerySink(
        PROJECT,
        DATASET,
        "raw_events",
        "raw_rejected_events",
        "storage",
        5.0,
        grpc_endpoint=emulator["grpc"],
    )
    store = FolderDeadLetter(dead)
    assert replay(sink, store).events == 1
    assert replay(sink, store).events == 0
    assert len(_rows(emulator, "raw_events", [event["event_id"]])) == 1
    assert os.listdir(dead / os.listdir(dead)[0]) == []


TOMBSTONE_SECRET = "tombstone-secret-for-tests-0123"


def test_tombstones_in_bigquery_drop_a_forgotten_visitor(emulator, tmp_path):
    table = f"{PROJECT}.{DATASET}.raw_tombstones"
    gone = "vis-forgotten-" + uuid.uuid4().hex[:8]
    stone = {
        "kind": "visitor",
        "key_hash": TombstoneKey(TOMBSTONE_SECRET).hash("visitor", gone),
        "created_at": "2026-12-03T00:00:00.000Z",
    }
    assert emulator["client"].insert_rows_json(table, [stone]) == []
    theirs, other = make_event(visitor_id=gone), make_event()
    env = _env(emulator, "storage") | {"OIE_TOMBSTONE_SECRET": TOMBSTONE_SECRET}
    with start_ingest_server(env, data_dir=tmp_path / "a") as srv:
        reply = track(srv, batch(theirs, other))
        assert reply.status == 200 and counts(reply) == {"accepted": 2, "rejected": 0}
        health = json.loads(urllib.request.urlopen(srv.url + "/health", timeout=10).read())
    assert health["forgotten_dropped"] == 1 and "tombstones" not in health
    assert [
        r["event_id"]
        for r in _rows(emulator, "raw_events", [theirs["event_id"], other["event_id"]])
    ] == [other["event_id"]]

    # Without the secret nothing can be hashed: nothing is checked, and /health says so.
    with start_ingest_server(_env(emulator, "storage"), data_dir=tmp_path / "b") as srv:
        health = json.loads(urllib.request.urlopen(srv.url + "/health", timeout=10).read())
    assert "OIE_TOMBSTONE_SECRET" in health["tombstones"]


def test_an_unreachable_tombstone_list_does_not_fail_track(emulator, tmp_path):
    # The REST API (tombstones) is down; the Storage Write API (events) is not.
    env = _env(emulator, "storage") | {
        "OIE_TOMBSTONE_SECRET": TOMBSTONE_SECRET,
        "OIE_BQ_API_ENDPOINT": f"http://127.0.0.1:{free_port()}",
    }
    event = make_event()
    with start_ingest_server(env, data_dir=tmp_path) as srv:
        reply = track(srv, batch(event))
        assert reply.status == 200 and counts(reply) == {"accepted": 1, "rejected": 0}
        log = srv.log()
    assert "tombstones could not be read" in log
    assert len(_rows(emulator, "raw_events", [event["event_id"]])) == 1
