"""The local stack: the real ingest server (ingest_function.server: functions-framework's app
under gunicorn with the buffering worker) and the pixel's example site.

`running_stack()` starts both on 127.0.0.1 and stops them (sealing landing files) on exit;
`oie serve`, `oie simulate`, `oie demo`, the benchmarks and the tests all start the collector
through it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oie.errors import UserError
from oie_core.settings import REPO_ROOT


@dataclass
class Stack:
    collector: str
    site: str | None
    proc: subprocess.Popen[bytes]
    site_server: Any = None
    log_path: Path | None = None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def collector_env(site_origin: str | None, base: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment: the caller's, plus what the local stack needs to work."""
    env = dict(os.environ if base is None else base)
    origins = [o for o in env.get("OIE_ALLOWED_ORIGINS", "").split(",") if o.strip()]
    origins += ["http://127.0.0.1:*", "http://localhost:*"]
    env["OIE_ALLOWED_ORIGINS"] = ",".join(dict.fromkeys(origins))
    if site_origin and not env.get("OIE_REDIRECT_HOSTS"):
        env["OIE_REDIRECT_HOSTS"] = site_origin.split("://", 1)[1]
    # Local default: seal landing files after 5 s idle (the production default is 5 min) so
    # `oie run` sees a click within seconds; a deployment sets OIE_LANDING_MAX_AGE itself.
    env.setdefault("OIE_LANDING_MAX_AGE", "5s")
    # Everything local comes from 127.0.0.1: a per-IP limit would only throttle simulations.
    env.setdefault("OIE_RATE_LIMIT", "0")
    env.setdefault("WORKERS", "1")
    env.setdefault("THREADS", "8")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise UserError(f"the ingest server exited at start (code {proc.returncode})", 1)
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as resp:
                if resp.status == 200:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code == 503:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise UserError(f"the ingest server at {url} was not healthy after {timeout:.0f} s", 1)


def stop(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM: gunicorn stops its workers gracefully and they seal their landing files."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def launch_collector(
    host: str, port: int, env: dict[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    """The ingest function under functions-framework's app and gunicorn, with the worker
    that reads each request whole before a thread runs it (`ingest_function.server`: slow
    or endless uploads cannot tie up the threads). Output appended to `log_path`, in its own
    session: our Ctrl-C is handled by us, then SIGTERM to it."""
    command = [sys.executable, "-m", "ingest_function.server"]
    command += ["--source", "ingest_function/main.py", "--target", "ingest"]
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [*command, "--host", host, "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@contextlib.contextmanager
def running_stack(
    host: str = "127.0.0.1",
    port: int = 0,
    site_port: int | None = 0,
    *,
    log_path: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """Start the collector (and the example site unless site_port is None); stop on exit."""
    for name, value in (("--port", port), ("--site-port", site_port)):
        if value and not _port_free(host, value):
            raise UserError(f"{name} {value}: address {host}:{value} is already in use")
    port = port or free_port(host)
    browse_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    collector = f"http://{browse_host}:{port}"
    site_server = None
    site_url = None
    if site_port is not None:
        site_port = site_port or free_port(host)
        site_url = f"http://{browse_host}:{site_port}"
    server_env = collector_env(site_url, env)
    if log_path is None:
        log_path = Path(tempfile.mkstemp(prefix="oie-serve-", suffix=".log")[1])
    proc = launch_collector(host, port, server_env, log_path)
    try:
        try:
            wait_healthy(collector, proc)
        except UserError as exc:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
            raise UserError(f"{exc}: {' | '.join(tail)}", 1) from None
        if site_url is not None:
            site_server = _start_site(host, site_port or 0, collector)
            if site_server is None:
                site_url = None
        yield Stack(collector, site_url, proc, site_server, log_path)
    finally:
        if site_server is not None:
            with contextlib.suppress(Exception):
                site_server.close()
        stop(proc)


def _start_site(host: str, port: int, collector: str) -> Any:
    """The pixel part's example site (oie.example_site), if that part is installed."""
    try:
        from oie.example_site import serve_example_site
    except ImportError:
        return None
    try:
        return serve_example_site(host, port, collector)
    except OSError as exc:
        raise UserError(f"cannot start the example site on {host}:{port}: {exc}") from None


def stop_on_sigterm() -> None:
    """Turn SIGINT/SIGTERM/SIGHUP into KeyboardInterrupt so the servers we started are stopped
    (and their landing files sealed) by the usual `finally`, not orphaned."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # SIGINT too: a process started in the background by a non-interactive shell (cron, CI,
    # `nohup … &`) inherits SIGINT as *ignored*, and Python then never raises
    # KeyboardInterrupt, so Ctrl-C / kill -INT would not stop the servers.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)
