"""The local sink (ingest_function/sinks/landing.py): a batch's events and rejected records
land in their streams' hour partition, and /health reports the landing folder. Written
against the mutants `make mutate` found alive (bench/results/mutation.md)."""

from __future__ import annotations

import json
from pathlib import Path

from ingest_function.sinks.base import Batch
from ingest_function.sinks.landing import LocalSink
from oie_core import landing
from tests.python.helpers.landing_clock import T0, Clock


def lines(root: Path, stream: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for path in sorted((root / stream).glob("dt=*/hr=*/*.ndjson")):
        part = path.parent.relative_to(root / stream).as_posix()
        out.setdefault(part, []).extend(json.loads(x) for x in path.read_bytes().splitlines())
    return out


def test_a_batch_lands_events_and_rejected_records_in_their_streams(tmp_path):
    sink = LocalSink(tmp_path, max_bytes=1 << 20, max_age_s=300)
    sink.write(Batch([{"event_id": "e1"}, {"event_id": "e2"}], [{"reason": "r1"}], T0 + 3600))
    sink.write(Batch([], [{"reason": "r2"}], T0))
    sink.write(Batch([{"event_id": "e3"}], [], T0))
    sink.close()
    assert lines(tmp_path, "events") == {
        "dt=2026-11-22/hr=00": [{"event_id": "e3"}],
        "dt=2026-11-22/hr=01": [{"event_id": "e1"}, {"event_id": "e2"}],
    }
    assert lines(tmp_path, "rejected") == {
        "dt=2026-11-22/hr=00": [{"reason": "r2"}],
        "dt=2026-11-22/hr=01": [{"reason": "r1"}],
    }


def test_an_empty_batch_opens_nothing(tmp_path):
    sink = LocalSink(tmp_path / "landing", max_bytes=1 << 20, max_age_s=300)
    sink.write(Batch([], [], T0))
    sink.close()
    assert not (tmp_path / "landing").exists()


def test_the_size_limit_reaches_the_writer(tmp_path):
    sink = LocalSink(tmp_path, max_bytes=60, max_age_s=300)
    for i in range(3):
        sink.write(Batch([{"event_id": f"e{i}", "pad": "x" * 30}], [], T0))
    sink.close()
    assert len(list((tmp_path / "events").glob("dt=*/hr=*/*.ndjson"))) == 3


def test_the_age_limit_reaches_the_writer(tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(landing, "time", clock)
    sink = LocalSink(tmp_path, max_bytes=1 << 20, max_age_s=60)
    sink.write(Batch([{"event_id": "e1"}], [], T0))
    clock.now += 60  # past this sink's limit, well within the writer's default 300 s
    sink.write(Batch([{"event_id": "e2"}], [], T0))
    sink.close()
    files = sorted((tmp_path / "events").glob("dt=*/hr=*/*.ndjson"))
    assert sorted(json.loads(p.read_bytes())["event_id"] for p in files) == ["e1", "e2"]


def test_health_reports_the_landing_folder(tmp_path):
    health = LocalSink(tmp_path / "not-made-yet", max_bytes=1 << 20, max_age_s=300).health()
    assert set(health) == {"name", "ok", "landing_dir_writable", "free_mb"}
    assert health["name"] == "local"
    assert health["ok"] is True and health["landing_dir_writable"] is True
    assert isinstance(health["free_mb"], int) and health["free_mb"] > 10
