"""Failure paths: the sink raises or times out, the dead letter takes over, replay brings
batches back exactly once, and a worker killed mid-write leaves no corrupt line.

A single failing store is checked in-process; what needs processes stays on the real
server: a fault budget shared by gunicorn workers, the dead letter and `oie replay`
across processes, a killed worker, sealing at SIGTERM."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from oie_core.landing import seal_stale
from tests.python.helpers.environment import inherited_env
from tests.python.helpers.servers import REPO, start_ingest_server
from tests.python.ingest.conftest import batch, counts, landed_by_id, make_event, track
from tests.python.ingest.inprocess import start_ingest_app

# The real `oie` app, run by this interpreter (the tests' own, whatever the venv is called).
REPLAY = """
import sys
from oie.cli import app
sys.argv = ["oie", "replay", *sys.argv[1:]]
app()
"""


def run_replay(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full = inherited_env() | env
    return subprocess.run(
        [sys.executable, "-c", REPLAY, *args],
        cwd=REPO,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )


def all_lines(landing: Path) -> list[bytes]:
    lines = []
    for path in landing.glob("*/dt=*/hr=*/*"):
        lines.extend(x for x in path.read_bytes().split(b"\n") if x)
    return lines


def test_sink_raises_503_and_nothing_is_written(tmp_path, caplog):
    with start_ingest_app({"OIE_FAULT": "sink-raise"}, data_dir=tmp_path) as app:
        reply = track(app, batch(make_event(), make_event(type="nope")))
        assert reply.status == 503
        assert reply.json()["error"] == "unavailable" and "injected" not in reply.body.decode()
        assert reply.headers["retry-after"] == "5"
    assert all_lines(app.landing_dir) == []
    assert "RuntimeError" in caplog.text  # the log says why


def test_sink_timeout_503_and_nothing_is_written(tmp_path, caplog):
    env = {"OIE_FAULT": "sink-timeout", "OIE_SINK_TIMEOUT": "300ms"}
    with start_ingest_app(env, data_dir=tmp_path) as app:
        reply = track(app, batch(make_event()))
        assert reply.status == 503
    assert all_lines(app.landing_dir) == []
    assert "SinkTimeout" in caplog.text and "timed out" in caplog.text  # the log says why


def test_dead_letter_takes_refused_batches_and_replay_lands_them_exactly_once(tmp_path):
    dead = tmp_path / "dead-letter"
    data = tmp_path / "data"
    env = {"OIE_FAULT": "sink-503-next-2", "OIE_DEAD_LETTER": str(dead)}
    first, second, third = make_event(), make_event(), make_event()
    bad = make_event(type="unknown_thing")
    with start_ingest_server(env, data_dir=data, workers=2) as srv:
        r1 = track(srv, batch(first, bad))
        r2 = track(srv, batch(second))
        r3 = track(srv, batch(third))
        # Both dead-lettered batches are durable: 2xx, and the pixel does not resend them.
        assert (r1.status, r2.status, r3.status) == (200, 200, 200)
        assert counts(r1) == {"accepted": 1, "rejected": 1}
    assert len(list(dead.glob("*/*.json"))) == 2
    landed = landed_by_id(srv)
    assert first["event_id"] not in landed and second["event_id"] not in landed
    assert len(landed[third["event_id"]]) == 1

    env = {
        "OIE_DATA_DIR": str(data),
        "OIE_DEAD_LETTER": str(dead),
        "OIE_TOKEN_SECRET": "replay-test-secret-0123456789",
    }
    dry = run_replay(env, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would replay 2 batch(es): 2 event(s), 1 rejected" in dry.stdout
    done = run_replay(env)
    assert done.returncode == 0, done.stderr
    assert "replayed 2 batch(es): 2 event(s), 1 rejected" in done.stdout
    again = run_replay(env)
    assert "replayed 0 batch(es)" in again.stdout
    assert list(dead.glob("*/*.json*")) == []

    landed = landed_by_id(srv)
    for event in (first, second, third):
        assert len(landed[event["event_id"]]) == 1, event["event_id"]
    assert len(landed_by_id(srv, "rejected")[bad["event_id"]]) == 1
    # Replay seals what it wrote: dbt can read it on the next run.
    assert not list(srv.landing_dir.glob("*/*/*/*.open"))
    replayed = landed[first["event_id"]][0]
    assert replayed["event_at"] and replayed["received_at"] >= replayed["event_at"]


def test_503_only_when_the_dead_letter_fails_too(tmp_path):
    env = {"OIE_FAULT": "sink-raise,deadletter-raise", "OIE_DEAD_LETTER": str(tmp_path / "dl")}
    with start_ingest_app(env, data_dir=tmp_path / "data") as app:
        assert track(app, batch(make_event())).status == 503
    assert all_lines(app.landing_dir) == []
    assert not list((tmp_path / "dl").glob("*/*.json"))


def test_fault_budget_is_shared_across_workers(tmp_path):
    with start_ingest_server({"OIE_FAULT": "sink-503-next-3"}, data_dir=tmp_path, workers=2) as srv:
        statuses = [track(srv, batch(make_event())).status for _ in range(6)]
    assert statuses == [503, 503, 503, 200, 200, 200]


def _worker_pids(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def test_worker_killed_mid_write_leaves_no_corrupt_line(tmp_path):
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    with start_ingest_server(data_dir=tmp_path, workers=2) as srv:

        def load() -> None:
            while not stop.is_set():
                events = [make_event(data={"title": "x" * 2000}) for _ in range(5)]
                try:
                    reply = track(srv, batch(*events))
                except (OSError, http.client.HTTPException):
                    continue  # the connection died with its worker
                if reply.status == 200:
                    with lock:
                        acknowledged.extend(e["event_id"] for e in events)

        def acked_at_least(n: int) -> None:
            # Progress, not time: each kill lands while batches are really being written.
            deadline = time.monotonic() + 60
            while len(acknowledged) < n:
                assert time.monotonic() < deadline, "the load stalled"
                time.sleep(0.01)

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        acked_at_least(100)
        for pid in _worker_pids(srv.proc.pid):
            os.kill(pid, signal.SIGKILL)
            acked_at_least(len(acknowledged) + 50)  # a respawned worker took over
        stop.set()
        for t in threads:
            t.join()
        orphans = list(srv.landing_dir.glob("events/*/*/*.open"))
    assert orphans, "the killed workers' files stay .open"
    report = seal_stale(srv.landing_dir)
    assert not list(srv.landing_dir.glob("*/*/*/*.open"))
    assert report.sealed
    landed = set()
    for line in all_lines(srv.landing_dir):
        row = json.loads(line)  # every line parses
        if "event_id" in row and "stage" not in row:
            landed.add(row["event_id"])
    assert len(acknowledged) > 10
    missing = [e for e in acknowledged if e not in landed]
    assert missing == []  # every 200 is on disk


def test_nothing_is_opened_before_the_first_event_and_all_is_sealed_at_stop(tmp_path):
    with start_ingest_server(data_dir=tmp_path, workers=2) as srv:
        # Imported, forked, serving /health: still no landing file anywhere.
        assert not srv.landing_dir.exists()
        for _ in range(6):
            assert track(srv, batch(make_event())).status == 200
        assert list(srv.landing_dir.glob("events/*/*/*.ndjson.open"))
    assert not list(srv.landing_dir.glob("*/*/*/*.open"))  # SIGTERM sealed every worker's file
    assert len(srv.landed("events", sealed_only=True)) == 6
