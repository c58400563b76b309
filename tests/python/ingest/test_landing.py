"""The landing writer (oie_core/landing.py): one write per batch, rotation, fork, sealing."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

import orjson

from oie_core.landing import LandingWriter, encode_lines, iso_ms, partition_of, seal_stale


def files(landing: Path, stream: str = "events", pattern: str = "*") -> list[Path]:
    return sorted((landing / stream).glob(f"dt=*/hr=*/{pattern}"))


def read_rows(landing: Path, stream: str = "events") -> list[dict]:
    return [json.loads(x) for p in files(landing, stream) for x in p.read_bytes().splitlines()]


def test_timestamp_and_partition_formats():
    assert iso_ms(1795305600.123) == "2026-11-22T00:00:00.123Z"
    assert partition_of(1795305600.123 + 3 * 3600) == "dt=2026-11-22/hr=03"


def test_nothing_is_opened_before_the_first_write(tmp_path):
    writer = LandingWriter(tmp_path)
    assert not tmp_path.joinpath("events").exists()
    writer.close()
    assert list(tmp_path.iterdir()) == []


def test_write_then_close_seals(tmp_path):
    writer = LandingWriter(tmp_path)
    writer.write_records("events", [{"event_id": "a"}, {"event_id": "b"}])
    (open_file,) = files(tmp_path, pattern="*.ndjson.open")
    assert open_file.name.split("-")[1] == str(os.getpid())
    writer.close()
    assert files(tmp_path, pattern="*.open") == []
    assert [r["event_id"] for r in read_rows(tmp_path)] == ["a", "b"]


def test_rotation_on_size(tmp_path):
    writer = LandingWriter(tmp_path, max_bytes=200)
    for i in range(10):
        writer.write_records("events", [{"event_id": f"e{i}", "pad": "x" * 60}])
    sealed = files(tmp_path, pattern="*.ndjson")
    assert len(sealed) >= 4
    assert all(p.stat().st_size <= 200 for p in sealed)
    writer.close()
    assert len(read_rows(tmp_path)) == 10


def test_rotation_on_age_by_the_background_thread(tmp_path):
    writer = LandingWriter(tmp_path, max_age_s=0.2)
    writer.write_records("events", [{"event_id": "idle"}])
    deadline = time.monotonic() + 5
    while files(tmp_path, pattern="*.open") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert files(tmp_path, pattern="*.open") == []  # sealed without another write
    assert [r["event_id"] for r in read_rows(tmp_path)] == ["idle"]
    writer.close()


def test_partition_follows_received_at(tmp_path):
    writer = LandingWriter(tmp_path)
    writer.write_records("events", [{"event_id": "h0"}], received_at=1795305600.0)
    writer.write_records("events", [{"event_id": "h1"}], received_at=1795305600.0 + 3600)
    writer.close()
    parts = sorted(p.parent.relative_to(tmp_path / "events").as_posix() for p in files(tmp_path))
    assert parts == ["dt=2026-11-22/hr=00", "dt=2026-11-22/hr=01"]


def _child_writes(landing: str, n: int) -> None:
    writer = LandingWriter(Path(landing))
    for i in range(n):
        writer.write_records("events", [{"event_id": f"{os.getpid()}-{i}", "pad": "y" * 300}])
    writer.close()


def test_several_processes_never_interleave_lines(tmp_path):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_child_writes, args=(str(tmp_path), 300)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    rows = read_rows(tmp_path)
    assert len(rows) == 1200 and len({r["event_id"] for r in rows}) == 1200


def test_a_forked_child_opens_its_own_file(tmp_path):
    writer = LandingWriter(tmp_path)
    writer.write_records("events", [{"event_id": "parent"}])
    pid = os.fork()
    if pid == 0:  # child: must not touch the parent's file
        try:
            writer.write_records("events", [{"event_id": "child"}])
            writer.close()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert len(files(tmp_path, pattern="*.open")) == 1  # the parent's, still open
    writer.write_records("events", [{"event_id": "parent2"}])
    writer.close()
    by_file = {p.name.split("-")[1]: p for p in files(tmp_path)}
    assert len(by_file) == 2
    mine = [json.loads(x)["event_id"] for x in by_file[str(os.getpid())].read_bytes().splitlines()]
    assert mine == ["parent", "parent2"]


def test_seal_stale_skips_live_files_and_moves_torn_lines_to_rejected(tmp_path):
    live = LandingWriter(tmp_path)
    live.write_records("events", [{"event_id": "live"}])
    # An orphan of a dead process, ending in a torn line.
    folder = tmp_path / "events" / "dt=2026-11-22" / "hr=00"
    folder.mkdir(parents=True, exist_ok=True)
    orphan = folder / "deadhost-999999-abc.ndjson.open"
    orphan.write_bytes(
        encode_lines([{"event_id": "x1"}, {"event_id": "x2"}]) + b'{"event_id": "x3", "ty'
    )
    empty = folder / "deadhost-999998-def.ndjson.open"
    empty.write_bytes(b"")
    report = seal_stale(tmp_path)
    assert report.torn_lines == 1
    assert [p.name for p in report.sealed] == ["deadhost-999999-abc.ndjson"]
    assert len(report.skipped_live) == 1
    assert not orphan.exists() and not empty.exists()
    sealed = (folder / "deadhost-999999-abc.ndjson").read_bytes().splitlines()
    assert [json.loads(x)["event_id"] for x in sealed] == ["x1", "x2"]
    (torn,) = read_rows(tmp_path, "rejected")
    assert torn["reason"].startswith("torn_line") and torn["stage"] == "seal"
    assert torn["raw"] == '{"event_id": "x3", "ty'
    assert files(tmp_path, "rejected", "*.open") == []
    live.close()
    assert seal_stale(tmp_path).sealed == []


def test_seal_stale_keeps_lines_that_are_not_strict_json_out_of_the_events(tmp_path):
    folder = tmp_path / "events" / "dt=2026-11-22" / "hr=00"
    folder.mkdir(parents=True)
    (folder / "deadhost-999997-nan.ndjson.open").write_bytes(
        b'{"event_id":"ok"}\n{"event_id":"nan","x":NaN}\n{"event_id":"sur","t":"\\ud800"}\n'
    )
    report = seal_stale(tmp_path)
    assert report.torn_lines == 1
    assert [r["event_id"] for r in read_rows(tmp_path)] == ["ok", "sur"]
    (bad,) = read_rows(tmp_path, "rejected")
    assert bad["raw"] == '{"event_id":"nan","x":NaN}'


def test_encode_lines_survives_lone_surrogates():
    # Replaced, not escaped: strict readers (orjson, BigQuery) refuse a lone \ud800 escape.
    data = encode_lines([{"t": "ok \ud800", "pair": "\ud83d\ude00"}])
    assert orjson.loads(data) == {"t": "ok \ufffd", "pair": "\U0001f600"}


def test_a_deleted_open_file_is_replaced_not_written_blind(tmp_path):
    import shutil

    writer = LandingWriter(tmp_path)
    writer.write_records("events", [{"event_id": "before"}])
    shutil.rmtree(tmp_path / "events")  # a data reset while the server runs
    writer.write_records("events", [{"event_id": "after"}])
    writer.close()
    assert [r["event_id"] for r in read_rows(tmp_path)] == ["after"]


def test_sigterm_seals_a_plain_process(tmp_path):
    import signal
    import subprocess
    import sys

    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from oie_core.landing import LandingWriter\n"
        "w = LandingWriter(Path(sys.argv[1]))\n"
        "w.write_records('events', [{'event_id': 'before-term'}])\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == -signal.SIGTERM  # still dies of SIGTERM, after sealing
    assert files(tmp_path, pattern="*.open") == []
    assert [r["event_id"] for r in read_rows(tmp_path)] == ["before-term"]
