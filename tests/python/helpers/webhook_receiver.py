"""A webhook receiver on 127.0.0.1 for the alerts tests: it records every request and
answers as told, as a Slack incoming webhook or an n8n/Zapier webhook would.

    with start_webhook_receiver() as rx:
        env = {"OIE_ALERT_SLACK_WEBHOOK_URL": rx.slack_url, "OIE_ALERT_WEBHOOK_URL": rx.webhook_url}
        rx.answer_next(429, "rate_limited", retry_after="120")   # the next request only
        rx.answer_next(410, "channel_is_archived", path=rx.SLACK_PATH)
        rx.hang_next(2.0)             # answer nothing for 2 s (the client times out)
        rx.down(); ...; rx.up()       # nothing listens on the port (connection refused)
        rx.received                   # every request: path, headers, body

By default every request gets 200 `ok`, Slack's answer.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int
    body: str
    retry_after: str | None
    hang_s: float
    path: str | None
    times: int


@dataclass
class WebhookReceiver:
    SLACK_PATH = "/services/T0000/B0000/slacksecret"
    WEBHOOK_PATH = "/webhook/n8n-alerts"

    port: int = 0
    received: list[Received] = field(default_factory=list)
    _answers: list[Answer] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def slack_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.SLACK_PATH}"

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.WEBHOOK_PATH}"

    def on(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def answer_next(
        self,
        status: int,
        body: str = "",
        *,
        retry_after: str | None = None,
        path: str | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` requests (to `path`, or any) get this answer."""
        with self._lock:
            self._answers.append(Answer(status, body, retry_after, 0.0, path, times))

    def hang_next(self, seconds: float, *, path: str | None = None, times: int = 1) -> None:
        """The next `times` requests wait this long, then get 200 ok (too late)."""
        with self._lock:
            self._answers.append(Answer(200, "ok", None, seconds, path, times))

    def _take(self, path: str) -> Answer | None:
        with self._lock:
            for answer in self._answers:
                if answer.path in (None, path):
                    answer.times -= 1
                    if answer.times <= 0:
                        self._answers.remove(answer)
                    return answer
        return None

    def _record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)

    # -- up and down ------------------------------------------------------------------------

    def up(self) -> None:
        handler = type("Handler", (_Handler,), {"receiver": self})
        server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def down(self) -> None:
        """Stop listening: a request now finds the port closed (connection refused)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None


class _Handler(BaseHTTPRequestHandler):
    receiver: WebhookReceiver
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.receiver._record(Received(self.path, headers, body))
        answer = self.receiver._take(self.path)
        status, text = (answer.status, answer.body) if answer else (200, "ok")
        if answer and answer.hang_s:
            time.sleep(answer.hang_s)
        data = text.encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "text/plain; charset=utf-8")
            self.send_header("content-length", str(len(data)))
            if answer and answer.retry_after is not None:
                self.send_header("retry-after", answer.retry_after)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a hang longer than its timeout)


@contextlib.contextmanager
def start_webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.up()
    try:
        yield receiver
    finally:
        receiver.down()
