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
from typing import Any

import pytest

from tests.python.helpers.servers import REPO, free_port, stop_server

EMULATOR_PYTHON = REPO / ".venv-bqemu" / "bin" / "python"
# The BigQuery target with credentials that never leave the machine: for dbt's offline
# compile and for code that is handed a client instead of connecting.
OFFLINE_BIGQUERY_ENV = {
    "OIE_TARGET": "bigquery",
    "OIE_BQ_AUTH_METHOD": "oauth-secrets",
    "OIE_BQ_TOKEN": "fake-offline-token",
    "OIE_BQ_PROJECT": "oie-offline",
    "OIE_BQ_DATASET": "oie",
}
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


def emulator_client(url: str, project: str, dataset: str | None = None) -> Any:
    """A google-cloud-bigquery client on the emulator at `url` (anonymous credentials, as
    the code under test uses with OIE_BQ_API_ENDPOINT), with `dataset` created if given."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    client = bigquery.Client(
        project=project,
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=url),
    )
    if dataset is not None:
        client.create_dataset(dataset, exists_ok=True)
    return client


@contextlib.contextmanager
def emulator_dataset(project: str, dataset: str, log_dir: Path) -> Iterator[tuple[Any, str]]:
    """A started emulator with `dataset` in it: (client, REST url)."""
    with start_bqemulator(project, log_dir) as emu:
        yield emulator_client(emu.url, project, dataset), emu.url


class Recording:
    """A google-cloud-bigquery client that records each query job and its parameters."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.sent: list[tuple[str, list[Any]]] = []

    def query(self, text: str, job_config: Any = None) -> Any:
        self.sent.append((text, list(job_config.query_parameters) if job_config else []))
        return self._client.query(text, job_config=job_config)

    def get_table(self, table: str) -> Any:
        return self._client.get_table(table)
