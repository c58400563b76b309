"""Dead-letter stores and replay in-process: the GCS store against a stand-in bucket."""

from __future__ import annotations

import json
import os
import time

import pytest

from ingest_function.sinks.base import Batch, Unavailable
from ingest_function.sinks.dead_letter import FolderDeadLetter, GcsDeadLetter
from ingest_function.sinks.delivery import deliver
from ingest_function.sinks.landing import LocalSink
from oie.replay import replay


class FakeBlob:
    def __init__(self, bucket: FakeBucket, name: str) -> None:
        self.bucket, self.name = bucket, name
        self.generation = bucket.generations.get(name, 0)

    def upload_from_string(self, body, content_type=None, if_generation_match=None, timeout=None):
        if if_generation_match == 0 and self.name in self.bucket.objects:
            raise RuntimeError("412 precondition failed")
        self.bucket.objects[self.name] = body.encode() if isinstance(body, str) else body
        self.bucket.generations[self.name] = self.bucket.generations.get(self.name, 0) + 1
        self.bucket.uploads.append((self.name, content_type, if_generation_match))

    def download_as_bytes(self):
        return self.bucket.objects[self.name]

    def delete(self, if_generation_match=None):
        if (
            if_generation_match is not None
            and if_generation_match != self.bucket.generations[self.name]
        ):
            raise RuntimeError("412 precondition failed")
        del self.bucket.objects[self.name]


class FakeBucket:
    """What GcsDeadLetter uses of google.cloud.storage: blob(), client.list_blobs()."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.generations: dict[str, int] = {}
        self.uploads: list[tuple] = []
        self.client = self

    def blob(self, name: str) -> FakeBlob:
        return FakeBlob(self, name)

    def list_blobs(self, bucket, prefix=""):
        return [FakeBlob(self, n) for n in sorted(self.objects) if n.startswith(prefix)]


def _gcs() -> tuple[GcsDeadLetter, FakeBucket]:
    store = GcsDeadLetter("gs://acme-oie/dead-letter/", timeout_s=5)
    bucket = FakeBucket()
    store._bucket, store._pid = bucket, os.getpid()
    return store, bucket


def _event(i: int) -> dict:
    return {
        "event_id": f"evt-{i:06d}",
        "type": "pageview",
        "received_at": "2026-11-22T00:00:00.000Z",
        "event_at": "2026-11-22T00:00:00.000Z",
    }


def test_gcs_dead_letter_names_and_create_only_uploads():
    store, bucket = _gcs()
    store.write(Batch([_event(1)], [], time.time()), "sink_failed: test")
    ((name, ctype, gen),) = bucket.uploads
    assert name.startswith("dead-letter/20") and name.endswith(".json")
    assert ctype == "application/json" and gen == 0
    doc = json.loads(bucket.objects[name])
    assert doc["reason"] == "sink_failed: test" and doc["events"][0]["event_id"] == "evt-000001"


def test_replay_from_gcs_lands_each_batch_once(tmp_path):
    store, bucket = _gcs()
    for i in range(3):
        store.write(Batch([_event(i), _event(100 + i)], [], time.time()), "sink_failed")
    sink = LocalSink(tmp_path, 1 << 20, 300)
    report = replay(sink, store)
    sink.close()
    assert (report.batches, report.events, report.failed) == (3, 6, [])
    assert bucket.objects == {}
    assert replay(sink, store).batches == 0
    lines = [
        json.loads(x)
        for p in tmp_path.glob("events/*/*/*.ndjson")
        for x in p.read_bytes().splitlines()
    ]
    assert sorted(r["event_id"] for r in lines) == sorted(
        [f"evt-{i:06d}" for i in (0, 1, 2, 100, 101, 102)]
    )


class BrokenSink:
    name = "broken"

    def write(self, batch):
        raise RuntimeError("down")


def test_replay_keeps_batches_the_sink_refuses(tmp_path):
    store = FolderDeadLetter(tmp_path / "dl")
    store.write(Batch([_event(1)], [], time.time()), "sink_failed")
    report = replay(BrokenSink(), store)
    assert report.batches == 0 and len(report.failed) == 1
    assert len(list((tmp_path / "dl").glob("*/*.json"))) == 1  # released, not lost


def test_deliver_without_dead_letter_is_unavailable():
    with pytest.raises(Unavailable):
        deliver(BrokenSink(), None, Batch([_event(1)], []))
