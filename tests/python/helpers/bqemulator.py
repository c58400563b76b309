"""Start the PyPI `bqemulator` (BigQuery stand-in, DuckDB-backed) on 127.0.0.1 for a test.

It runs from its own venv (.venv-bqemu, made by `scripts/bootstrap.sh bqemulator`, which
`make test` runs) through scripts/bqemulator_launcher.py, which disables the spatial
extension download. A missing emulator fails the test: it is a broken setup, not a pass.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.python.helpers.servers import REPO, free_port, stop_server

EMULATOR_PYTHON = REPO / ".venv-bqemu" / "bin" / "python"
LAUNCHER = REPO / "scripts" / "bqemulator_launcher.py"


@dataclass(frozen=True)
class Emulator:
    url: str  # REST endpoint (client_options api_endpoint, dbt api_endpoint)
    grpc_port: int  # Storage Read/Write API
    project: str
    log: Path


@contextlib.contextmanager
def start_bqemulator(project: str, log_dir: Path) -> Iterator[Emulator]:
    if not EMULATOR_PYTHON.exists() or not LAUNCHER.exists():
        pytest.fail("bqemulator not installed: run scripts/bootstrap.sh bqemulator")
    rest, grpc_port = free_port(), free_port()
    log = log_dir / "bqemulator.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(EMULATOR_PYTHON),
                str(LAUNCHER),
                "start",
                "--rest-port",
                str(rest),
                "--grpc-port",
                str(grpc_port),
                "--ephemeral",
                "--project",
                project,
                "--log-level",
                "warning",
            ],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{rest}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/bigquery/v2/projects/{project}/datasets", timeout=1)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"bqemulator did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
        yield Emulator(url=url, grpc_port=grpc_port, project=project, log=log)
    finally:
        stop_server(proc)
