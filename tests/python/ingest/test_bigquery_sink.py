"""The BigQuery sink's rows and requests, checked without a network."""

from __future__ import annotations

import json

import pytest

from ingest_function.sinks.base import Batch, SinkError
from ingest_function.sinks.bigquery import (
    RAW_EVENTS_SCHEMA,
    RAW_REJECTED_SCHEMA,
    BigQuerySink,
    append_request,
    default_stream,
    insert_all_rows,
    message_class,
)
from ingest_function.sinks.dead_letter import FolderDeadLetter
from ingest_function.sinks.delivery import deliver

EVENT = {
    "event_id": "0b6c3f7e-1111-4222-8333-444455556666",
    "type": "pageview",
    "ts": 1795305600100,
    "sent_at": 1795305600200,
    "received_at": "2026-11-22T00:00:00.300Z",
    "event_at": "2026-11-22T00:00:00.200Z",
    "visitor_id": "visitor-1",
    "client_visitor_id": None,
    "client_session_id": "session-1",
    "token": None,
    "token_valid": None,
    "url": "https://site.example/pricing",
    "referrer": None,
    "data": {"title": "Prix \u00e9t\u00e9", "viewport_w": 1280},
    "pixel_version": "1.0.0",
    "ip": "203.0.113.0",
    "user_agent": "Mozilla/5.0",
    "device": "desktop",
    "browser": "Chrome",
    "os": "Mac OS X",
    "is_bot": False,
    "country": "DE",
    "region": None,
    "city": None,
    "asn": "64500",
    "as_org": "EXAMPLE-TRANSIT",
    "ip_org": "Acme Holdings",
    "ip_domain": "acme.example",
    "ip_connection_type": "Corporate",
    "ip_user_type": None,
}
REJECTED = {
    "received_at": "2026-11-22T00:00:00.300Z",
    "reason": "unknown_type: 'x' is not an event type",
    "stage": "track",
    "event_id": "e-2",
    "type": "x",
    "event": {"type": "x"},
    "raw": None,
    "ip": None,
    "user_agent": None,
}


def test_schema_covers_every_landing_field():
    assert [c[0] for c in RAW_EVENTS_SCHEMA] == list(EVENT)
    assert [c[0] for c in RAW_REJECTED_SCHEMA] == list(REJECTED)


def test_insert_all_rows_use_event_ids_as_row_ids_and_json_text():
    rows, ids = insert_all_rows(Batch([EVENT], []))
    assert ids == [EVENT["event_id"]]
    assert json.loads(rows[0]["data"]) == EVENT["data"]
    assert rows[0]["received_at"] == "2026-11-22T00:00:00.300Z"
    assert rows[0]["is_bot"] is False and rows[0]["ts"] == 1795305600100


def test_storage_write_request_round_trips_through_its_own_schema():
    stream = default_stream("proj", "raw", "raw_events")
    assert stream == "projects/proj/datasets/raw/tables/raw_events/streams/_default"
    request = append_request(stream, [EVENT], RAW_EVENTS_SCHEMA, "RawEvent")
    assert request.write_stream == stream
    descriptor = request.proto_rows.writer_schema.proto_descriptor
    assert [f.name for f in descriptor.field] == list(EVENT)
    (blob,) = request.proto_rows.rows.serialized_rows
    row = message_class(RAW_EVENTS_SCHEMA, "RawEvent").FromString(blob)
    assert row.event_id == EVENT["event_id"]
    assert row.received_at == 1795305600300000  # TIMESTAMP as epoch microseconds
    assert row.event_at == 1795305600200000
    assert json.loads(row.data) == EVENT["data"]
    assert not row.HasField("token") and row.HasField("is_bot") and row.is_bot is False


class FakeInsertAllClient:
    """Stands in for google.cloud.bigquery.Client.insert_rows_json: records calls and
    returns the per-row error list BigQuery returns instead of raising."""

    def __init__(self, errors):
        self.errors, self.calls = errors, []

    def insert_rows_json(self, table, rows, row_ids=None, retry=None, timeout=None):
        self.calls.append((table, rows, row_ids))
        return self.errors


def _sink(method: str) -> BigQuerySink:
    return BigQuerySink(
        "proj", "raw", "raw_events", "raw_rejected_events", method, timeout_s=2.0, attempts=2
    )


def test_insert_all_checks_the_per_row_error_list(tmp_path):
    sink = _sink("insert_all")
    sink._client = FakeInsertAllClient([{"index": 0, "errors": [{"reason": "invalid"}]}])
    sink._pid = __import__("os").getpid()
    with pytest.raises(SinkError, match="row errors"):
        sink.write(Batch([EVENT], [REJECTED]))
    assert len(sink._client.calls) == 2  # retried once, then refused
    assert sink.health()["ok"] is False
    # Refused -> the dead letter takes the batch: durable, nothing lost.
    dead = FolderDeadLetter(tmp_path)
    assert deliver(sink, dead, Batch([EVENT], [REJECTED])) == "dead_letter"
    (item,) = list(dead.items())
    assert dead.read(item).events[0]["event_id"] == EVENT["event_id"]


def test_insert_all_success_sends_both_tables():
    sink = _sink("insert_all")
    sink._client = FakeInsertAllClient([])
    sink._pid = __import__("os").getpid()
    sink.write(Batch([EVENT], [REJECTED]))
    tables = [c[0] for c in sink._client.calls]
    assert tables == ["proj.raw.raw_events", "proj.raw.raw_rejected_events"]
    assert sink._client.calls[0][2] == [EVENT["event_id"]]


class FakeWriteClient:
    def __init__(self, response):
        self.response, self.requests = response, []

    def append_rows(self, requests, retry=None, timeout=None, metadata=()):
        self.requests.extend(requests)
        self.metadata = metadata
        return iter([self.response])


def test_storage_write_sends_to_the_default_stream_and_checks_row_errors():
    from google.cloud.bigquery_storage_v1 import types

    sink = _sink("storage")
    sink._client = FakeWriteClient(types.AppendRowsResponse())
    sink._pid = __import__("os").getpid()
    sink.write(Batch([EVENT], []))
    (req,) = sink._client.requests
    assert req.write_stream.endswith("/tables/raw_events/streams/_default")
    assert ("x-goog-request-params", f"write_stream={req.write_stream}") in sink._client.metadata

    bad = types.AppendRowsResponse(row_errors=[types.RowError(index=0, message="bad row")])
    sink._client = FakeWriteClient(bad)
    with pytest.raises(SinkError):
        sink.write(Batch([EVENT], []))


def test_a_real_write_client_builds_offline():
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery_storage_v1

    client = bigquery_storage_v1.BigQueryWriteClient(credentials=AnonymousCredentials())
    # Constructing a client opens no connection; it is the gRPC client for the real service.
    assert type(client.transport).__name__ == "BigQueryWriteGrpcTransport"
    assert client.api_endpoint == "bigquerystorage.googleapis.com"
