"""`oie run` SIGKILLed while dbt builds, alone and together with its dbt: the run lock
lives as long as the dbt it started, the next run exits 75 (never a DuckDB lock error)
while that dbt lives, and once it is gone the next run catches up with nothing lost."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

from tests.python.faults.support import (
    OIE,
    Ledger,
    assert_nothing_lost_nothing_doubled,
    children,
    new_batch,
    oie,
    oie_env,
)
from tests.python.helpers.servers import REPO, start_ingest_server


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _run_until_dbt_builds(env: dict[str, str]) -> tuple[subprocess.Popen[str], list[str]]:
    """Start `oie run` and return once its dbt has created a model; output keeps draining
    (a full pipe would block an orphaned dbt forever)."""
    proc = subprocess.Popen(
        [*OIE, "run"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    started = threading.Event()

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if re.search(r"\b\d+ of \d+ OK created", line):
                started.set()

    threading.Thread(target=drain, daemon=True).start()
    assert started.wait(120), "".join(lines)
    return proc, lines


def _wait_gone(pids: list[int], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids):
        assert time.monotonic() < deadline, f"{pids} still running"
        time.sleep(0.1)


def test_run_killed_alone_and_with_its_dbt(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ledger = Ledger()
    with start_ingest_server(data_dir=data) as srv:
        for _ in range(40):
            assert ledger.send(srv.url, *new_batch())
    env = oie_env(data)

    # 1. `oie run` alone is SIGKILLed; its dbt lives on (held still, so it is surely alive
    # while the next run starts).
    first, _ = _run_until_dbt_builds(env)
    (dbt,) = children(first.pid)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    os.kill(dbt, signal.SIGSTOP)
    try:
        second = oie(env, "run")
        assert second.returncode == 75, second.stdout + second.stderr
        assert "another `oie run` is in progress" in second.stderr
        assert "Could not set lock" not in second.stdout + second.stderr
    finally:
        os.kill(dbt, signal.SIGCONT)
    _wait_gone([dbt])

    # 2. `oie run` and its dbt are SIGKILLed together (the whole process group).
    third, _ = _run_until_dbt_builds(env)
    kids = children(third.pid)
    os.killpg(third.pid, signal.SIGKILL)
    third.wait()
    _wait_gone(kids)

    # Recovery as documented: just the next run.
    last = oie(env, "run")
    assert last.returncode == 0, last.stdout + last.stderr
    assert_nothing_lost_nothing_doubled(data, ledger.acknowledged)
    assert len(ledger.acknowledged) == 200
