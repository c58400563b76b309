"""The self-hosted ingest server: what `oie serve`, the tests and the benchmarks run.

    python -m ingest_function.server [--host 127.0.0.1] [--port 8080]
                                     [--source ingest_function/main.py] [--target ingest]

functions-framework's own app and gunicorn application (so `WORKERS`, `THREADS` and the
rest of its settings apply as under `functions-framework`), with one difference: the
worker, `BufferingWorker`, reads each request whole on its poller thread, non-blocking,
before a pool thread runs it. gunicorn's gthread worker hands a connection to a pool thread
as soon as the first byte arrives, and that thread then blocks reading the rest: a dozen
clients sending half a header starve every thread (docs/ingest.md "Hostile clients").
Here a pool thread only ever parses bytes already in memory:

- a request whose head and body have not arrived within `OIE_READ_TIMEOUT` is dropped, or
  answered 408 when its head was complete;
- a body over `OIE_MAX_BODY_BYTES` is handed over without being read (a declared length) or
  after cap + 1 bytes (chunked), answered by the app with 413, and the connection closes;
- a closing connection lingers on the poller (a short non-blocking drain, so the client
  sees the answer rather than a reset), never on a pool thread.

Cloud Functions runs main.py under functions-framework itself; Google's front end buffers
each request before it reaches the function, so the deployed function needs none of this.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import selectors
import socket
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from pathlib import Path
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import TConn, ThreadWorker

from ingest_function.framing import Scanner, State
from ingest_function.web import error
from oie_core.settings import Settings, SettingsError, parse_duration, parse_size

RECV_BYTES = 64 * 1024
# Browsers send a few KB of head; nginx's default allows 32 KB. More is refused with 431.
MAX_HEAD_BYTES = 64 * 1024
# A closing connection is drained this long / this much at most (gunicorn's own numbers for
# its graceful close), so the client reads our answer instead of a TCP reset.
LINGER_SECONDS = 2.0
LINGER_BYTES = 64 * 1024
# A stopping worker still lets a request that is arriving finish, for this long.
STOP_GRACE_SECONDS = 2.0
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_HANDOVER = frozenset({State.COMPLETE, State.OVER_CAP, State.INVALID})


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int
    read_timeout_s: float


def limits_from_env(env: Mapping[str, str]) -> Limits:
    """The two settings the worker enforces, parsed as `Settings` parses them. Not the whole
    `Settings`: the benchmark's bare handler runs under this server without any OIE_* set."""
    body, timeout = env.get("OIE_MAX_BODY_BYTES"), env.get("OIE_READ_TIMEOUT")
    limits = Limits(
        parse_size("OIE_MAX_BODY_BYTES", body) if body else Settings.max_body_bytes,
        parse_duration("OIE_READ_TIMEOUT", timeout) if timeout else Settings.read_timeout_s,
    )
    if limits.read_timeout_s <= 0:
        raise SettingsError(f"OIE_READ_TIMEOUT={timeout!r}: must be more than 0")
    return limits


def raw_reply(status: int, code: str, detail: str) -> bytes:
    """An error answer written by the poller itself (no app, no pool thread involved)."""
    resp = error(status, code, detail)
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
    lines += [f"{name}: {value}" for name, value in resp.headers]
    lines += [f"Content-Length: {len(resp.body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + resp.body


class BufferedSocket:
    """The client socket as gunicorn's request parser sees it: the bytes the poller buffered,
    then end of stream, so a pool thread never waits on the network for a request. Sending,
    timeouts, fileno and close are the real socket's."""

    def __init__(self, sock: socket.socket) -> None:
        self.raw = sock
        self.pending = bytearray()

    def recv(self, size: int, flags: int = 0) -> bytes:
        data = bytes(self.pending[:size])
        del self.pending[:size]
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


class BufferedConn(TConn):
    def __init__(
        self,
        cfg: Any,
        sock: socket.socket,
        client: Any,
        server: Any,
        linger: Callable[[socket.socket], None],
    ) -> None:
        super().__init__(cfg, BufferedSocket(sock), client, server)
        self.linger = linger
        self.scanner = Scanner(0, 0)  # the request being read (enqueue_req makes it)
        self.deadline = 0.0  # when the request being read must have arrived
        self.continued = False  # 100 Continue already sent for this request
        self.close_after = False  # over the cap or malformed: never reuse the connection

    def close(self, graceful: bool = False) -> None:
        # gunicorn's graceful close drains the socket blocking, up to 2 s, on the poller
        # thread itself (finish_request): everything would wait. Ours drains non-blocking.
        if graceful:
            self.linger(self.sock.raw)
        else:
            util.close(self.sock.raw)


class BufferingWorker(ThreadWorker):
    """gthread with each request read whole on the poller before a pool thread runs it."""

    limits = Limits(Settings.max_body_bytes, Settings.read_timeout_s)  # the launcher sets it

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Both ordered by deadline: each entry's deadline is its start plus a constant.
        self.reading: OrderedDict[BufferedConn, None] = OrderedDict()
        self.lingering: OrderedDict[socket.socket, list[float]] = OrderedDict()
        self.stop_at: float | None = None

    # -- the way in: every connection goes through enqueue_req ----------------------------

    def accept(self, listener: socket.socket) -> None:
        try:
            sock, addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        self.enqueue_req(BufferedConn(self.cfg, sock, addr, listener.getsockname(), self.linger))

    def enqueue_req(self, conn: BufferedConn) -> None:
        """gunicorn calls this for a new connection, a kept-alive one that became readable,
        and one whose parser already holds the next (pipelined) request: in every case the
        request is first read whole here."""
        if conn.parser is not None:
            ahead = conn.parser.unreader.take_buffered()
            if ahead:  # straight from a pool thread, where the socket is blocking
                conn.sock.pending[:0] = ahead
                conn.sock.raw.setblocking(False)
        conn.scanner = Scanner(self.limits.max_body_bytes, MAX_HEAD_BYTES)
        conn.continued = conn.close_after = False
        conn.deadline = time.monotonic() + self.limits.read_timeout_s
        if self.stop_at is not None:
            conn.deadline = min(conn.deadline, self.stop_at)
        self.receive(conn)

    def receive(self, conn: BufferedConn, _fileobj: Any = None) -> None:
        raw, pending = conn.sock.raw, conn.sock.pending
        closed = False
        try:
            data = raw.recv(RECV_BYTES)
            closed = not data
            pending += data
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            closed = True
        framing = conn.scanner.scan(pending)
        if framing.state in _HANDOVER:
            self.hand_over(conn, close_after=framing.state is not State.COMPLETE)
        elif closed:
            self.drop(conn)  # the client left before its request was whole
        elif framing.state is State.HEAD_TOO_LARGE:
            detail = f"request head over {MAX_HEAD_BYTES} bytes"
            self.refuse(conn, raw_reply(431, "header_too_large", detail))
        else:
            if framing.expects_continue and not conn.continued:
                conn.continued = True
                self.send_quietly(raw, CONTINUE)
            if conn not in self.reading:
                self.reading[conn] = None
                self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.receive, conn))

    def hand_over(self, conn: BufferedConn, close_after: bool) -> None:
        self.stop_reading(conn)
        conn.close_after = close_after
        conn.data_ready = True  # gunicorn's handle() then waits for nothing
        super().enqueue_req(conn)

    def stop_reading(self, conn: BufferedConn) -> None:
        if conn in self.reading:
            del self.reading[conn]
            self.poller.unregister(conn.sock)

    def drop(self, conn: BufferedConn) -> None:
        self.stop_reading(conn)
        self.nr_conns -= 1
        util.close(conn.sock.raw)

    def refuse(self, conn: BufferedConn, reply: bytes) -> None:
        self.stop_reading(conn)
        self.nr_conns -= 1
        self.send_quietly(conn.sock.raw, reply)
        self.linger(conn.sock.raw)

    @staticmethod
    def send_quietly(raw: socket.socket, data: bytes) -> None:
        # Non-blocking, and small enough to fit an empty send buffer; a client that cannot
        # take a few hundred bytes gets nothing, not a thread.
        with contextlib.suppress(OSError):
            raw.send(data)

    # -- pool threads ----------------------------------------------------------------------

    def handle_request(self, req: Any, conn: BufferedConn) -> Any:
        if conn.close_after:
            req.force_close()  # answered "Connection: close"; the rest is never read
        return super().handle_request(req, conn)

    def handle(self, conn: BufferedConn) -> Any:
        keep = super().handle(conn)
        if keep is True and conn.close_after:
            return False
        if keep is True and conn.sock.pending:
            # A pipelined request read ahead with this one: hand it back to the parser, where
            # finish_request looks for read-ahead (and then calls enqueue_req).
            unreader = conn.parser.unreader
            unreader.unread(unreader.take_buffered() + bytes(conn.sock.pending))
            conn.sock.pending.clear()
        return keep

    # -- timeouts and closing, on the poller ------------------------------------------------

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        soonest = [next(iter(self.reading)).deadline] if self.reading else []
        if self.lingering:
            soonest.append(next(iter(self.lingering.values()))[0])
        if soonest:
            timeout = max(0.0, min(timeout, min(soonest) - time.monotonic()))
        super().wait_for_and_dispatch_events(timeout)
        self.expire()

    def expire(self) -> None:
        now = time.monotonic()
        if not self.alive and self.stop_at is None:
            self.begin_stop(now)
        while self.reading:
            conn = next(iter(self.reading))
            if conn.deadline > now:
                break
            if conn.scanner.scan(conn.sock.pending).state is State.PARTIAL_BODY:
                detail = "the request body did not arrive in time"  # no setting's value
                self.refuse(conn, raw_reply(408, "request_timeout", detail))
            else:
                self.drop(conn)  # no complete head: nothing to answer
        while self.lingering:
            sock, (deadline, _budget) = next(iter(self.lingering.items()))
            if deadline > now:
                break
            self.end_linger(sock)

    def begin_stop(self, now: float) -> None:
        """The worker is stopping: idle connections close now, a request still arriving
        gets STOP_GRACE_SECONDS (gunicorn waits for open connections before it exits)."""
        self.stop_at = now + STOP_GRACE_SECONDS
        for conn in list(self.reading):
            if conn.sock.pending:
                conn.deadline = min(conn.deadline, self.stop_at)
            else:
                self.drop(conn)

    def linger(self, raw: socket.socket) -> None:
        try:
            raw.shutdown(socket.SHUT_WR)  # our answer is complete: FIN after it
            raw.setblocking(False)
            self.poller.register(raw, selectors.EVENT_READ, self.drain)
        except (OSError, ValueError, KeyError):
            util.close(raw)
            return
        self.lingering[raw] = [time.monotonic() + LINGER_SECONDS, float(LINGER_BYTES)]

    def drain(self, raw: socket.socket) -> None:
        entry = self.lingering.get(raw)
        if entry is None:
            return
        try:
            while True:
                data = raw.recv(RECV_BYTES)
                entry[1] -= len(data)
                if not data or entry[1] <= 0:
                    break
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            pass
        self.end_linger(raw)

    def end_linger(self, raw: socket.socket) -> None:
        self.lingering.pop(raw, None)
        with contextlib.suppress(KeyError, ValueError):
            self.poller.unregister(raw)
        util.close(raw)


def main(argv: list[str] | None = None) -> int:
    from functions_framework import create_app
    from functions_framework._http.gunicorn import GunicornApplication

    ap = argparse.ArgumentParser(
        prog="python -m ingest_function.server", description="The self-hosted ingest server."
    )
    ap.add_argument("--source", default=str(Path(__file__).with_name("main.py")))
    ap.add_argument("--target", default="ingest")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    args = ap.parse_args(argv)
    try:
        BufferingWorker.limits = limits_from_env(os.environ)
    except SettingsError as exc:
        print(f"oie ingest: configuration error: {exc}", file=sys.stderr)
        return 2
    # main.py is imported here, in the master, before gunicorn forks the workers (as under
    # functions-framework): the workers inherit it and BufferingWorker.limits.
    app = create_app(args.target, args.source)
    GunicornApplication(app, args.host, args.port, False, worker_class=BufferingWorker).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
