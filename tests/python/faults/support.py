"""What every fault-injection case shares: a sender that knows which events the server
acknowledged (and retries the rest, as the pixel does), the documented recovery commands
as real processes, and the one assertion: every acknowledged event is in `events`, once.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

from tests.python.helpers.environment import inherited_env
from tests.python.helpers.servers import REPO, TEST_TOKEN_SECRET
from tests.python.ingest.conftest import DESKTOP_UA, ORIGIN, batch, make_event

OIE = [str(REPO / ".venv" / "bin" / "oie")]


def new_batch(size: int = 5) -> tuple[list[str], bytes]:
    """(event ids, body) of one pixel flush with ids unique to this test run."""
    visitor = "vis-" + uuid.uuid4().hex[:12]
    session = "ses-" + uuid.uuid4().hex[:12]
    events = [
        make_event(event_id="flt-" + uuid.uuid4().hex, visitor_id=visitor, session_id=session)
        for _ in range(size)
    ]
    return [e["event_id"] for e in events], batch(*events)


def post(url: str, body: bytes, timeout: float = 10.0) -> int:
    """POST /track; the status, or 0 when the connection failed (nothing acknowledged)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        conn.request(
            "POST",
            "/track",
            body,
            {"Content-Type": "application/json", "Origin": ORIGIN, "User-Agent": DESKTOP_UA},
        )
        resp = conn.getresponse()
        resp.read()
        return resp.status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        conn.close()


@dataclass
class Ledger:
    """Which event ids a 2xx acknowledged, and how often each batch was answered."""

    acknowledged: set[str] = field(default_factory=set)
    refused: int = 0  # 5xx or no answer: the sender keeps the batch and retries
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, url: str, ids: list[str], body: bytes) -> bool:
        status = post(url, body)
        with self.lock:
            if 200 <= status < 300:
                self.acknowledged.update(ids)
                return True
            assert status in (0, 503), f"unexpected status {status}"
            self.refused += 1
            return False


def children(pid: int) -> list[int]:
    """The live child processes of `pid` (a gunicorn master's workers, `oie run`'s dbt)."""
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                # pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(entry.name))
    return kids


def oie_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = inherited_env()
    return env | {
        "OIE_DATA_DIR": str(data_dir),
        "OIE_TOKEN_SECRET": TEST_TOKEN_SECRET,
        "COLUMNS": "200",
        "NO_COLOR": "1",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def oie(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*OIE, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    return done


def warehouse_event_ids(data_dir: Path) -> list[str]:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return [r[0] for r in con.execute("select event_id from events").fetchall()]
    finally:
        con.close()


def assert_nothing_lost_nothing_doubled(data_dir: Path, acknowledged: set[str]) -> None:
    """After the documented recovery and a build: each acknowledged event once in `events`."""
    ids = warehouse_event_ids(data_dir)
    assert len(ids) == len(set(ids)), "duplicate event_id rows in events"
    missing = acknowledged - set(ids)
    assert not missing, f"{len(missing)} acknowledged event(s) missing, e.g. {sorted(missing)[:3]}"


# A real `oie replay` that stops at one point of its work and says so on stdout, so a test
# can SIGKILL it exactly there: before it claims a batch, holding a claim, or after the sink
# took the batch but before the dead letter was deleted.
PAUSING_REPLAY = """
import os, sys, time
from ingest_function.sinks import dead_letter
stage = os.environ["PAUSE_AT"]
def pause(self, item, *args):
    print(f"paused at {stage} {item.key}", flush=True)
    time.sleep(600)
setattr(dead_letter.FolderDeadLetter, stage, pause)
from oie.cli import app
sys.argv = ["oie", "replay"]
app()
"""


def replay_killed_at(env: dict[str, str], stage: str) -> str:
    """Run `oie replay`, SIGKILL it when it reaches `stage` (claim | read | remove), and
    return the key of the batch it was working on."""
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSING_REPLAY],
        cwd=REPO,
        env=env | {"PAUSE_AT": stage},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"paused at {stage} "), line + proc.stdout.read()
    finally:
        proc.kill()  # SIGKILL: no cleanup of any kind
        proc.wait()
    return line.split(" ", 3)[3].strip()


def landed_lines(landing: Path) -> list[dict]:
    rows = []
    for path in landing.glob("events/dt=*/hr=*/*.ndjson*"):
        rows.extend(json.loads(x) for x in path.read_bytes().splitlines() if x.strip())
    return rows
