"""`oie report --serve`: the report on http://127.0.0.1:PORT/, built again on every
request, so a reload after `oie run` shows the new build. Only 127.0.0.1: the page holds
lead names. Each build opens the warehouse read-only and lets go of it before answering.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from oie.errors import EXIT_FAILED, UserError
from oie.report.build import Report

HOST = "127.0.0.1"
PATHS = ("/", "/index.html", "/report.html")


def make_handler(build: Callable[[], Report]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "oie-report"
        sys_version = ""

        def _send(self, status: int, body: bytes, kind: str, policy: str | None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            if policy:
                self.send_header("Content-Security-Policy", policy)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] not in PATHS:
                self._send(404, b"not found\n", "text/plain; charset=utf-8", None)
                return
            try:
                report = build()
            except UserError as exc:  # e.g. a build holds the warehouse: try again
                self._send(503, f"{exc}\n".encode(), "text/plain; charset=utf-8", None)
                return
            self._send(200, report.html.encode(), "text/html; charset=utf-8", report.csp)

        do_HEAD = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: the command prints one line per build itself

    return Handler


def serve(build: Callable[[], Report], port: int, say: Callable[[str], None]) -> None:
    """Serve until SIGINT/SIGTERM; returns normally then."""
    try:
        server = HTTPServer((HOST, port), make_handler(build))
    except OSError as exc:
        raise UserError(
            f"cannot listen on {HOST}:{port}: {exc.strerror or exc}", EXIT_FAILED
        ) from None

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
    url = f"http://{HOST}:{server.server_port}/"
    say(f"serving the report at {url} (rebuilt on every reload; Ctrl-C stops)")
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    say("stopped")
