"""Dead-letter stores and replay in-process: the GCS store through the real SDK against the
local JSON API stand-in (tests/python/helpers/gcs_standin.py)."""

from __future__ import annotations

import json
import time

import pytest

from ingest_function.sinks.base import Batch, Unavailable
from ingest_function.sinks.dead_letter import FolderDeadLetter
from ingest_function.sinks.dead_letter_gcs import GcsDeadLetter
from ingest_function.sinks.delivery import deliver
from ingest_function.sinks.landing import LocalSink
from oie.replay import replay
from tests.python.helpers.gcs_standin import running_gcs


@pytest.fixture
def gcs(monkeypatch):
    """The real google-cloud-storage SDK against the local JSON API stand-in."""
    with running_gcs() as standin:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", standin.url)
        yield standin


def _gcs_store() -> GcsDeadLetter:
    return GcsDeadLetter("gs://acme-oie/dead-letter/", timeout_s=5)


def _event(i: int) -> dict:
    return {
        "event_id": f"evt-{i:06d}",
        "type": "pageview",
        "received_at": "2026-11-22T00:00:00.000Z",
        "event_at": "2026-11-22T00:00:00.000Z",
    }


def test_gcs_dead_letter_names_and_create_only_uploads(gcs):
    store = _gcs_store()
    store.write(Batch([_event(1)], [], time.time()), "sink_failed: test")
    (name,) = gcs.names("acme-oie")
    assert name.startswith("dead-letter/20") and name.endswith(".json")
    (upload,) = [path for method, path in gcs.requests if method == "POST"]
    assert "ifGenerationMatch=0" in upload
    assert gcs.objects[("acme-oie", name)].content_type == "application/json"
    doc = json.loads(gcs.data("acme-oie", name))
    assert doc["reason"] == "sink_failed: test" and doc["events"][0]["event_id"] == "evt-000001"


def test_replay_from_gcs_lands_each_batch_once(tmp_path, gcs):
    store = _gcs_store()
    for i in range(3):
        store.write(Batch([_event(i), _event(100 + i)], [], time.time()), "sink_failed")
    sink = LocalSink(tmp_path, 1 << 20, 300)
    report = replay(sink, store)
    sink.close()
    assert (report.batches, report.events, report.failed) == (3, 6, [])
    assert gcs.names("acme-oie") == []  # batches and their claims deleted
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
