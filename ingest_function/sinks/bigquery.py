"""BigQuery sink: Storage Write API default stream (at-least-once), insertAll as fallback.

Rows and requests are built by plain functions (`event_row`, `rejected_row`,
`proto_descriptor`, `append_request`, `insert_all_rows`) so tests check them without a
network. The raw tables themselves are created by `dbt run-operation oie_create_raw_tables
--target bigquery` (partitioned by DATE(received_at)); both that DDL and the write schema
here come from `oie_core/raw_schema.py`.

Types: TIMESTAMP columns travel as int64 microseconds (Storage Write API) or ISO strings
(insertAll); JSON columns as JSON text. insertAll does not raise on bad rows: its per-row
error list is checked and any error fails the batch (which then goes to the dead letter).
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime
from typing import Any

from ingest_function.sinks.base import Batch, SinkError
from oie_core.bigquery_client import bigquery_client
from oie_core.raw_schema import RAW_EMAIL_EVENTS, RAW_EVENTS, RAW_REJECTED_EVENTS, RAW_TOMBSTONES
from oie_core.settings import Settings

# (name, BigQuery type, mode) in landing-line order, from the one raw-schema declaration.
RAW_EVENTS_SCHEMA = RAW_EVENTS.bigquery_schema()
RAW_REJECTED_SCHEMA = RAW_REJECTED_EVENTS.bigquery_schema()
RAW_TOMBSTONES_SCHEMA = RAW_TOMBSTONES.bigquery_schema()
RAW_EMAIL_EVENTS_SCHEMA = RAW_EMAIL_EVENTS.bigquery_schema()


def iso_to_micros(value: str) -> int:
    return round(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1e6)


def _row(record: dict[str, Any], schema: tuple[tuple[str, str, str], ...]) -> dict[str, Any]:
    """A JSON-ready row (insertAll form): JSON columns as JSON text, timestamps as ISO."""
    row: dict[str, Any] = {}
    for name, bq_type, _mode in schema:
        value = record.get(name)
        # The table's own type decides: `event` is JSON in raw_rejected_events, text in
        # raw_email_events.
        if value is not None and bq_type == "JSON":
            value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        row[name] = value
    return row


def event_row(event: dict[str, Any]) -> dict[str, Any]:
    return _row(event, RAW_EVENTS_SCHEMA)


def rejected_row(record: dict[str, Any]) -> dict[str, Any]:
    return _row(record, RAW_REJECTED_SCHEMA)


def tombstone_row(record: dict[str, Any]) -> dict[str, Any]:
    return _row(record, RAW_TOMBSTONES_SCHEMA)


def email_event_row(record: dict[str, Any]) -> dict[str, Any]:
    return _row(record, RAW_EMAIL_EVENTS_SCHEMA)


def insert_all_rows(batch: Batch) -> tuple[list[dict[str, Any]], list[str]]:
    """(rows, row_ids) for insert_rows_json: event_id as row id lets BigQuery drop retries."""
    rows = [event_row(e) for e in batch.events]
    return rows, [e["event_id"] for e in batch.events]


# -- Storage Write API --------------------------------------------------------------------
_PROTO_TYPES = {"STRING": 9, "INT64": 3, "BOOL": 8, "TIMESTAMP": 3, "JSON": 9}  # FieldDescriptor


def proto_descriptor(schema: tuple[tuple[str, str, str], ...], name: str = "RawRow") -> Any:
    """DescriptorProto (proto2, all optional) matching the table schema."""
    from google.protobuf import descriptor_pb2

    desc = descriptor_pb2.DescriptorProto(name=name)
    for number, (column, bq_type, _mode) in enumerate(schema, start=1):
        desc.field.add(
            name=column,
            number=number,
            type=_PROTO_TYPES[bq_type],
            label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
        )
    return desc


_classes: dict[str, Any] = {}
_classes_lock = threading.Lock()


def message_class(schema: tuple[tuple[str, str, str], ...], name: str) -> Any:
    with _classes_lock:
        if name not in _classes:
            from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

            fdp = descriptor_pb2.FileDescriptorProto(
                name=f"oie_{name.lower()}.proto", package="oie", syntax="proto2"
            )
            fdp.message_type.add().CopyFrom(proto_descriptor(schema, name))
            pool = descriptor_pool.DescriptorPool()
            pool.Add(fdp)
            _classes[name] = message_factory.GetMessageClass(
                pool.FindMessageTypeByName(f"oie.{name}")
            )
        return _classes[name]


def proto_rows(
    records: list[dict[str, Any]], schema: tuple[tuple[str, str, str], ...], name: str
) -> list[bytes]:
    cls = message_class(schema, name)
    out = []
    for record in records:
        msg = cls()
        for column, bq_type, _mode in schema:
            value = record.get(column)
            if value is None:
                continue
            if bq_type == "TIMESTAMP":
                value = iso_to_micros(value)
            elif bq_type == "JSON":
                value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            setattr(msg, column, value)
        out.append(msg.SerializeToString())
    return out


def default_stream(project: str, dataset: str, table: str) -> str:
    return f"projects/{project}/datasets/{dataset}/tables/{table}/streams/_default"


def append_request(
    stream: str, records: list[dict[str, Any]], schema: tuple[tuple[str, str, str], ...], name: str
) -> Any:
    from google.cloud.bigquery_storage_v1 import types

    proto_data = types.AppendRowsRequest.ProtoData(
        writer_schema=types.ProtoSchema(proto_descriptor=proto_descriptor(schema, name)),
        rows=types.ProtoRows(serialized_rows=proto_rows(records, schema, name)),
    )
    return types.AppendRowsRequest(write_stream=stream, proto_rows=proto_data)


class BigQuerySink:
    name = "bigquery"

    def __init__(
        self,
        project: str,
        dataset: str,
        events_table: str,
        rejected_table: str,
        method: str,
        timeout_s: float,
        attempts: int = 3,
        endpoint: str | None = None,
        grpc_endpoint: str | None = None,
    ) -> None:
        self.project, self.dataset = project, dataset
        self.events_table, self.rejected_table = events_table, rejected_table
        self.method, self.timeout_s, self.attempts = method, timeout_s, attempts
        self.endpoint, self.grpc_endpoint = endpoint, grpc_endpoint
        self._client: Any = None
        self._pid = 0
        self._last_error: str | None = None

    @classmethod
    def from_settings(cls, s: Settings) -> BigQuerySink:
        assert s.bq_project and s.bq_dataset
        return cls(
            s.bq_project,
            s.bq_dataset,
            s.bq_table,
            s.bq_rejected_table,
            s.bq_method,
            s.sink_timeout_s,
            endpoint=s.bq_endpoint,
            grpc_endpoint=s.bq_grpc_endpoint,
        )

    def _get_client(self) -> Any:
        # Clients hold gRPC channels, which must not cross a fork: one per process.
        if self._client is None or self._pid != os.getpid():
            if self.method == "storage":
                from google.cloud import bigquery_storage_v1

                if self.grpc_endpoint:  # an emulator: plain gRPC, no credentials
                    import grpc
                    from google.cloud.bigquery_storage_v1.services.big_query_write import (
                        transports,
                    )

                    channel = grpc.insecure_channel(self.grpc_endpoint)
                    self._client = bigquery_storage_v1.BigQueryWriteClient(
                        transport=transports.BigQueryWriteGrpcTransport(channel=channel)
                    )
                else:
                    self._client = bigquery_storage_v1.BigQueryWriteClient()
            else:
                self._client = bigquery_client(self.project, self.endpoint)
            self._pid = os.getpid()
        return self._client

    def write(self, batch: Batch) -> None:
        deadline = time.monotonic() + self.timeout_s
        delay = 0.2
        for attempt in range(1, self.attempts + 1):
            try:
                self._write_once(batch, max(0.5, deadline - time.monotonic()))
                self._last_error = None
                return
            except Exception as exc:
                self._last_error = f"{type(exc).__name__}: {exc}"[:200]
                if attempt == self.attempts or time.monotonic() + delay >= deadline:
                    raise SinkError(f"bigquery write failed: {self._last_error}") from exc
                time.sleep(delay)
                delay *= 2.5

    def _write_once(self, batch: Batch, timeout: float) -> None:
        client = self._get_client()
        if self.method == "storage":
            for table, records, schema, name in (
                (self.events_table, batch.events, RAW_EVENTS_SCHEMA, "RawEvent"),
                (self.rejected_table, batch.rejected, RAW_REJECTED_SCHEMA, "RawRejected"),
                (RAW_TOMBSTONES.name, batch.tombstones, RAW_TOMBSTONES_SCHEMA, "RawTombstone"),
                (
                    RAW_EMAIL_EVENTS.name,
                    batch.email_events,
                    RAW_EMAIL_EVENTS_SCHEMA,
                    "RawEmailEvent",
                ),
            ):
                if not records:
                    continue
                stream = default_stream(self.project, self.dataset, table)
                request = append_request(stream, records, schema, name)
                # retry=None: the client's default retries UNAVAILABLE for a day; this sink
                # has its own bounded retries and then hands over to the dead letter.
                responses = client.append_rows(
                    iter([request]),
                    retry=None,
                    timeout=timeout,
                    metadata=(("x-goog-request-params", f"write_stream={stream}"),),
                )
                for response in responses:
                    check_append_response(response)
                    break
            return
        table_ref = f"{self.project}.{self.dataset}"
        if batch.events:
            rows, ids = insert_all_rows(batch)
            errors = client.insert_rows_json(
                f"{table_ref}.{self.events_table}", rows, row_ids=ids, retry=None, timeout=timeout
            )
            if errors:
                raise SinkError(f"insertAll row errors: {str(errors)[:300]}")
        for table, rows in (
            (self.rejected_table, [rejected_row(r) for r in batch.rejected]),
            (RAW_TOMBSTONES.name, [tombstone_row(r) for r in batch.tombstones]),
            (RAW_EMAIL_EVENTS.name, [email_event_row(r) for r in batch.email_events]),
        ):
            if not rows:
                continue
            # An email event's id as the row id lets BigQuery drop a vendor's retry.
            row_ids: dict[str, Any] = (
                {"row_ids": [r["event_id"] for r in rows]} if table == RAW_EMAIL_EVENTS.name else {}
            )
            errors = client.insert_rows_json(
                f"{table_ref}.{table}", rows, retry=None, timeout=timeout, **row_ids
            )
            if errors:
                raise SinkError(f"insertAll row errors: {str(errors)[:300]}")

    def health(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self._last_error is None,
            "method": self.method,
            "last_error": self._last_error,
        }

    def close(self) -> None:
        pass


def check_append_response(response: Any) -> None:
    """AppendRowsResponse carries failures in fields, not exceptions."""
    if getattr(response, "row_errors", None):
        raise SinkError(f"row errors: {list(response.row_errors)[:3]}")
    error: Any = getattr(response, "error", None)
    if error is not None and error.code:
        raise SinkError(f"append failed: code {error.code}: {error.message}")
