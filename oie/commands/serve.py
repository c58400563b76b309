"""`oie serve`: the ingest function (functions-framework) plus the pixel's example site."""

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
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from oie.commands._errors import UserError, handle_errors
from oie.commands._help import unwrap
from oie.settings import REPO_ROOT, Settings, SettingsError

console = Console(highlight=False, soft_wrap=True)

SERVE_HELP = """Run the collector, the pixel and the example site locally.

The ingest function (every endpoint: /track, /go, /identify, /personalize, /health)
with the built pixel at /oie.js, and the pixel's example site on a second port, whose
site tag points at the collector. Prints the URLs to open,
including an email link with a real token. Ctrl-C stops both and seals the landing files.

\b
Examples:
  oie serve                            # collector on 127.0.0.1:8080, site on :8081
  oie serve --port 9000 --site-port 9001
  oie serve --host 0.0.0.0             # reachable from other machines (mind OIE_ALLOWED_ORIGINS)
"""


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
    exe = Path(sys.executable).with_name("functions-framework")
    launcher = [str(exe)] if exe.exists() else [sys.executable, "-m", "functions_framework"]
    if log_path is None:
        log_path = Path(tempfile.mkstemp(prefix="oie-serve-", suffix=".log")[1])
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [
                *launcher,
                "--source",
                "ingest_function/main.py",
                "--target",
                "ingest",
                "--host",
                host,
                "--port",
                str(port),
            ],
            cwd=REPO_ROOT,
            env=server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our Ctrl-C is handled by us, then SIGTERM to it
        )
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


def email_link(settings: Settings, collector: str) -> tuple[str, str] | None:
    """(email, /go URL) for the newest lead in the token registry, if there is one."""
    from oie.campaigns import TokenRegistry

    path = settings.data_dir / "tokens.sqlite"
    if not path.exists():
        return None
    registry = TokenRegistry(path)
    try:
        latest = registry.latest()
    finally:
        registry.close()
    if latest is None:
        return None
    _, email, token = latest
    return email, f"{collector}/go?i={token}&to=/pricing.html"


def try_it_lead(settings: Settings) -> None:
    """No campaign yet: import a one-lead campaign so the printed email link is real."""
    from oie.campaigns import create_campaign

    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "you.csv"
        csv_path.write_text("email,first_name,company\nyou@example.com,You,Example Inc\n")
        create_campaign(
            csv_path,
            "try it",
            "http://127.0.0.1/",
            keyring=settings.keyring,
            data_dir=settings.data_dir,
            landing_dir=settings.landing_dir,
            out_path=Path(tmp) / "try-it-urls.csv",
        )


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


def print_urls(stack: Stack, settings: Settings) -> None:
    link = email_link(settings, stack.collector)
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("collector", stack.collector)
    table.add_row("pixel", f"{stack.collector}/oie.js")
    table.add_row("health", f"{stack.collector}/health")
    if stack.site:
        table.add_row("example site", stack.site)
    else:
        table.add_row("example site", "not available (the pixel part's example site is missing)")
    if link:
        table.add_row("email link", f"{link[1]}   ({link[0]})")
    table.add_row("landing files", str(settings.landing_dir))
    console.print(table)
    if not (settings.pixel_dir / "oie.js").exists():
        console.print("[yellow]note:[/] pixel not built: run `cd pixel && npm run build`")
    console.print("Open the email link, browse, then run `oie run` and `oie leads`. Ctrl-C stops.")


def register(app: typer.Typer) -> None:
    @app.command("serve", help=unwrap(SERVE_HELP))
    @handle_errors
    def serve(
        host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="Collector port (0 = any free).")] = 8080,
        site_port: Annotated[
            int, typer.Option("--site-port", help="Example site port (0 = any free).")
        ] = 8081,
        no_site: Annotated[bool, typer.Option("--no-site", help="Run the collector only.")] = False,
    ) -> None:
        try:
            settings = Settings.from_env()
        except SettingsError as exc:
            raise UserError(str(exc)) from None
        if not (0 <= port < 65536 and 0 <= site_port < 65536):
            raise UserError("ports must be between 0 and 65535")
        stop_on_sigterm()
        if email_link(settings, "") is None:
            try_it_lead(settings)
        log_path = settings.data_dir / "serve.log"
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with running_stack(host, port, None if no_site else site_port, log_path=log_path) as stack:
            print_urls(stack, settings)
            console.print(f"server log: {log_path}")
            try:
                while stack.proc.poll() is None:
                    time.sleep(0.5)
            except KeyboardInterrupt:
                console.print("stopping ...")
                return
            raise UserError(
                f"the ingest server stopped (code {stack.proc.returncode}); see {log_path}", 1
            )
