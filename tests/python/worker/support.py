"""Starting the edge Worker under Miniflare for a test: `pixel/worker/test/harness.mjs` as a
subprocess (two Workers over one KV namespace: the Worker under test, and a test-only
Cloudflare API v4 for KV that the real `cloudflare` SDK writes through), and the settings
that point the real KV sync at it.

    with start_edge(ORIGINS, log_dir) as edge:
        runner.run(Settings.from_env(edge.sync_env(data_dir)))   # real SDK -> Miniflare KV
        edge.get("/personalize?vid=visitor-000001")               # the real Worker answers

Nothing here skips: without node, the npm packages or the build, a test fails saying which.
"""

from __future__ import annotations

import contextlib
import json
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.python.helpers.servers import Reply, http_call

REPO = Path(__file__).resolve().parents[3]
PIXEL = REPO / "pixel"
WORKER_DIR = PIXEL / "worker"
WORKER_JS = WORKER_DIR / "dist" / "worker.js"
HARNESS = WORKER_DIR / "test" / "harness.mjs"
SECRET = "worker-test-secret-0123456789abcdef"
# What the tests' Worker allows: a site, its subdomains, and any local port.
ORIGINS = "https://www.acme.example,https://*.acme.example,http://127.0.0.1:*"
START_TIMEOUT_S = 90.0  # Miniflare starts workerd: ≈ 2 s, far more on a busy CI machine


def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.fail(
            "node is missing: the Worker tests run Miniflare from Node "
            "(Debian: apt-get install nodejs npm; then scripts/bootstrap.sh pixel)"
        )
    return path


def require_worker_build() -> None:
    """node, Miniflare and esbuild from pixel/node_modules, and pixel/worker/dist/worker.js
    (built here when missing, as the pixel tests build pixel/dist: the check that it is
    current is test_build.py's)."""
    exe = node()
    for package in ("miniflare", "esbuild"):
        if not (PIXEL / "node_modules" / package).is_dir():
            pytest.fail(f"pixel/node_modules/{package} is missing: run scripts/bootstrap.sh pixel")
    if not WORKER_JS.is_file():
        proc = subprocess.run(
            [exe, "worker/build.mjs"], cwd=PIXEL, capture_output=True, text=True, timeout=120
        )
        if proc.returncode != 0 or not WORKER_JS.is_file():
            pytest.fail(
                "could not build pixel/worker/dist/worker.js (cd pixel && npm run build):\n"
                + proc.stdout
                + proc.stderr
            )


@dataclass
class Edge:
    worker: str  # the Worker under test: http://127.0.0.1:PORT
    base_url: str  # the test-only Cloudflare API: http://127.0.0.1:PORT/client/v4
    account: str
    namespace: str
    token: str
    proc: subprocess.Popen[str]
    log_path: Path

    def get(self, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> Reply:
        return http_call(self.worker + path, method, headers=headers, timeout=30)

    def sync_env(self, data_dir: Path, **extra: str) -> dict[str, str]:
        """The settings of a sync into this Miniflare's KV (as docs/kv.md's Workers KV run)."""
        return {
            "OIE_DATA_DIR": str(data_dir),
            "OIE_TOKEN_SECRET": SECRET,
            "OIE_KV": "cloudflare",
            "CLOUDFLARE_API_TOKEN": self.token,
            "CLOUDFLARE_ACCOUNT_ID": self.account,
            "OIE_KV_NAMESPACE_ID": self.namespace,
            "CLOUDFLARE_BASE_URL": self.base_url,
            **extra,
        }

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def first_line(proc: subprocess.Popen[str], timeout: float) -> str | None:
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    stdout = proc.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return lines.get(timeout=0.1) or None
        except queue.Empty:
            if proc.poll() is not None:
                try:
                    return lines.get(timeout=1) or None
                except queue.Empty:
                    return None
    return None


def stop(proc: subprocess.Popen[str]) -> int:
    """Close the harness's stdin (it disposes Miniflare and exits); signal it if it hangs.
    Its exit code (0: it stopped by itself)."""
    with contextlib.suppress(OSError):
        if proc.stdin is not None:
            proc.stdin.close()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    if proc.stdout is not None:
        proc.stdout.close()
    return proc.returncode


@contextlib.contextmanager
def start_edge(allowed_origins: str, log_dir: Path) -> Iterator[Edge]:
    require_worker_build()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"harness-{time.time_ns()}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [node(), str(HARNESS), "--allowed-origins", allowed_origins],
            cwd=PIXEL,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        line = first_line(proc, START_TIMEOUT_S)
        if line is None:
            pytest.fail(
                f"the Miniflare harness did not start within {START_TIMEOUT_S:.0f} s "
                f"(exit code {proc.poll()}):\n{log_path.read_text(errors='replace')}"
            )
        info: dict[str, Any] = json.loads(line)
        yield Edge(
            worker=info["worker"],
            base_url=info["api"],
            account=info["account"],
            namespace=info["namespace"],
            token=info["token"],
            proc=proc,
            log_path=log_path,
        )
    finally:
        stop(proc)
