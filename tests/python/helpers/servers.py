"""Start the real ingest server on 127.0.0.1: `python -m ingest_function.server` (what `oie
serve` runs: functions-framework's app and gunicorn, with the worker that reads each request
whole before a thread runs it), as a subprocess, through `oie.stack.launch_collector`.

    from tests.python.helpers.servers import start_ingest_server

    with start_ingest_server({"OIE_FAULT": "sink-503-next-3"}) as srv:
        requests.post(srv.url + "/track", ...)
        srv.landed("events")          # every line landed so far (sealed and open files)
    # on exit the server got SIGTERM and sealed its files (.ndjson.open -> .ndjson)

Test defaults (override any with `env`): a fixed OIE_TOKEN_SECRET (TEST_TOKEN_SECRET),
OIE_ALLOWED_ORIGINS allowing http://127.0.0.1 and http://localhost on any port,
OIE_REDIRECT_HOSTS=127.0.0.1, OIE_RATE_LIMIT=0. Inherited OIE_* variables are dropped so a
developer's shell cannot change a test.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# One implementation of "free port" and "stop gracefully" for the product and its tests.
from oie.stack import free_port, launch_collector, wait_healthy
from oie.stack import stop as stop_server
from tests.python.helpers.environment import inherited_env

REPO = Path(__file__).resolve().parents[3]
TEST_TOKEN_SECRET = "test-token-secret-0123456789abcdef"
TEST_ORIGINS = "http://127.0.0.1:*,http://localhost:*"


@dataclass
class IngestServer:
    url: str
    data_dir: Path
    landing_dir: Path
    proc: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def landed(self, stream: str = "events", sealed_only: bool = False) -> list[dict[str, Any]]:
        """Every line of the stream's landing files, parsed (raises on a corrupt line). A
        batch is one os.write ending in a newline; a reader can catch one half written, so
        bytes after the last newline are a write in progress, read on the next call."""
        pattern = "*.ndjson" if sealed_only else "*.ndjson*"
        rows = []
        for path in sorted((self.landing_dir / stream).glob(f"dt=*/hr=*/{pattern}")):
            if path.name.endswith(".sealing"):
                continue
            data = path.read_bytes()
            for line in data[: data.rfind(b"\n") + 1].splitlines():
                if line.strip():
                    rows.append(json.loads(line))
        return rows

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def start_ingest_server(
    env: dict[str, str] | None = None,
    data_dir: Path | None = None,
    workers: int = 1,
    timeout: float = 30.0,
    threads: int | None = None,
) -> Iterator[IngestServer]:
    own_dir = data_dir is None  # a folder the caller did not give goes with the server
    if data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix="oie-ingest-"))
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    base = inherited_env()
    full_env = {
        **base,
        "OIE_DATA_DIR": str(data_dir),
        "OIE_TOKEN_SECRET": TEST_TOKEN_SECRET,
        "OIE_ALLOWED_ORIGINS": TEST_ORIGINS,
        "OIE_REDIRECT_HOSTS": "127.0.0.1",
        "OIE_RATE_LIMIT": "0",
        "WORKERS": str(workers),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    if threads is not None:
        full_env["THREADS"] = str(threads)
    landing = Path(full_env.get("OIE_LANDING_DIR") or data_dir / "landing")
    log_path = data_dir / f"server-{time.time_ns()}.log"
    last_error: Exception | None = None
    for _attempt in range(3):  # a free port can be taken between probe and bind
        port = free_port()
        proc = launch_collector("127.0.0.1", port, full_env, log_path)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc, timeout)
        except Exception as exc:
            stop_server(proc)
            last_error = exc
            if "Address already in use" in log_path.read_text(errors="replace"):
                continue
            raise RuntimeError(f"{exc}\n--- server log ---\n{log_path.read_text()}") from None
        server = IngestServer(url, data_dir, landing, proc, log_path, full_env)
        try:
            yield server
        finally:
            stop_server(proc)
            if own_dir:
                shutil.rmtree(data_dir, ignore_errors=True)
        return
    raise RuntimeError(f"could not start the ingest server: {last_error}")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lowercased names; a repeated header keeps its last value
    body: bytes
    header_list: list[tuple[str, str]] = field(default_factory=list)  # as received

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.header_list if k.lower() == name.lower()]

    def json(self) -> Any:
        return json.loads(self.body)


def http_call(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Reply:
    """One HTTP request with exact headers (no defaults added, no redirects followed, no
    exception on 4xx/5xx). Header names in the reply are lowercased."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        path = parts.path + ("?" + parts.query if parts.query else "")
        skip_host = any(k.lower() == "host" for k in (headers or {}))
        conn.putrequest(method, path or "/", skip_host=skip_host, skip_accept_encoding=True)
        for key, value in (headers or {}).items():
            conn.putheader(key, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        raw = resp.getheaders()
        return Reply(resp.status, {k.lower(): v for k, v in raw}, data, raw)
    finally:
        conn.close()
