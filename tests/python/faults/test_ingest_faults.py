"""Fault injection on the ingest path, with real processes: each case sends events with
unique ids through the real server, injects the fault, recovers the way docs/ingest.md
says, builds with `oie run`, and checks every acknowledged event is in `events` once."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from tests.python.faults.support import (
    Ledger,
    assert_nothing_lost_nothing_doubled,
    children,
    new_batch,
    oie,
    oie_env,
    replay_killed_at,
)
from tests.python.helpers.servers import start_ingest_server


def test_sink_down_then_replays_killed_before_during_and_after_a_claim(tmp_path: Path) -> None:
    """The sink refuses 30 writes (dead-lettered, acknowledged); every batch is sent three
    times; three replays are SIGKILLed at different points; the fourth finishes."""
    data, dead = tmp_path / "data", tmp_path / "dead-letter"
    env = {"OIE_FAULT": "sink-raise-next-30", "OIE_DEAD_LETTER": str(dead)}
    ledger = Ledger()
    with start_ingest_server(env, data_dir=data) as srv:
        for _ in range(40):
            ids, body = new_batch()
            for _copy in range(3):
                assert ledger.send(srv.url, ids, body)
    assert len(ledger.acknowledged) == 200
    assert len(list(dead.glob("*/*.json"))) == 30

    run_env = oie_env(data, OIE_DEAD_LETTER=str(dead))
    before = replay_killed_at(run_env, "claim")  # killed before claiming anything
    during = replay_killed_at(run_env, "read")  # killed holding a claim
    after = replay_killed_at(run_env, "remove")  # killed after the sink took the batch
    assert {Path(before).exists(), Path(during).exists(), Path(after).exists()} == {True}

    done = oie(run_env, "replay")
    assert done.returncode == 0, done.stderr
    assert "replayed 30 batch(es)" in done.stdout  # the killed ones included
    assert list(dead.glob("*/*")) == []

    built = oie(run_env, "run")
    assert built.returncode == 0, built.stdout + built.stderr
    assert_nothing_lost_nothing_doubled(data, ledger.acknowledged)


class Load:
    """Four threads sending fresh batches to `url` (which a test may repoint), retrying a
    refused batch until acknowledged, as the pixel does."""

    def __init__(self, ledger: Ledger, url: str) -> None:
        self.ledger, self.url = ledger, url
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run) for _ in range(4)]

    def _run(self) -> None:
        pending = new_batch()
        while not self.stop.is_set():
            if self.ledger.send(self.url, *pending):
                pending = new_batch()
            else:
                time.sleep(0.05)
        while not self.ledger.send(self.url, *pending):  # never abandon a refused batch
            time.sleep(0.05)

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    def finish(self) -> None:
        """Stop sending new batches; return once every refused one was acknowledged."""
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)

    def wait_for(self, acknowledged: int) -> None:
        deadline = time.monotonic() + 60
        while len(self.ledger.acknowledged) < acknowledged:
            assert time.monotonic() < deadline, "the load stalled"
            time.sleep(0.02)


def test_server_killed_mid_load_worker_then_master_and_restarted(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ledger = Ledger()
    with (
        start_ingest_server(data_dir=data, workers=2) as first,
        Load(ledger, first.url) as load,
    ):
        load.wait_for(500)
        worker = children(first.proc.pid)[0]
        os.kill(worker, signal.SIGKILL)  # the master forks a new one
        load.wait_for(len(ledger.acknowledged) + 500)
        os.killpg(first.proc.pid, signal.SIGKILL)  # master and workers at once
        first.proc.wait()
        with start_ingest_server(data_dir=data, workers=2) as second:
            load.url = second.url
            load.wait_for(len(ledger.acknowledged) + 500)
            load.finish()  # while the server is up: the last refused batches get through
    assert ledger.refused > 0  # the kills really cut requests off
    built = oie(oie_env(data), "run")
    assert built.returncode == 0, built.stdout + built.stderr
    assert_nothing_lost_nothing_doubled(data, ledger.acknowledged)


@contextlib.contextmanager
def small_disk(path: Path, size_kb: int) -> object:
    """A tmpfs of `size_kb` at `path` when this machine lets us mount one, else None."""
    path.mkdir(parents=True)
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
            capture_output=True,
        ).returncode
        == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], check=False)


def test_full_landing_disk_answers_503_and_loses_nothing_acknowledged(tmp_path: Path) -> None:
    data, landing = tmp_path / "data", tmp_path / "landing"
    ledger = Ledger()
    with small_disk(landing, 512) as mounted:
        # Where no tmpfs can be mounted, the store fails as a full disk does (ENOSPC).
        env = {"OIE_LANDING_DIR": str(landing)}
        if not mounted:
            env["OIE_FAULT"] = "sink-enospc-next-20"
        refused: list[tuple[list[str], bytes]] = []
        with start_ingest_server(env, data_dir=data) as srv:
            filler = landing / "filler"
            if mounted:  # leave a few batches' room, then run out
                fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, b"\0" * 4096)
                os.close(fd)
                os.truncate(filler, filler.stat().st_size - 16 * 1024)
            for _ in range(60):
                ids, body = new_batch()
                if not ledger.send(srv.url, ids, body):
                    refused.append((ids, body))
            assert refused, "the disk never filled up"
            filler.unlink(missing_ok=True)
            for ids, body in refused:  # the pixel retries what was refused
                assert ledger.send(srv.url, ids, body)
        built = oie(oie_env(data, OIE_LANDING_DIR=str(landing)), "run")
        assert built.returncode == 0, built.stdout + built.stderr
        assert_nothing_lost_nothing_doubled(data, ledger.acknowledged)
    assert len(ledger.acknowledged) == 300
