"""Raw HTTP/1.1 on a socket, for tests about what the ingest server does on the wire.

http.client keeps sending a body after the server has answered and closed, which turns a
correct early 413 into a BrokenPipeError on a loaded machine; `exchange` stops sending as
soon as an answer arrives, as curl does.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, str]:
        doc = json.loads(self.body)
        assert isinstance(doc, dict)
        return doc


def parse_answer(raw: bytes) -> Answer | None:
    """The first final (non-1xx) response in `raw`, once it is complete."""
    while True:
        end = raw.find(b"\r\n\r\n")
        if end < 0:
            return None
        lines = raw[:end].decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        rest = raw[end + 4 :]
        if 100 <= status < 200:
            raw = rest
            continue
        length = int(headers.get("content-length", "0"))
        if len(rest) < length:
            return None
        return Answer(status, headers, rest[:length])


def exchange(
    port: int, head: bytes, body: Iterator[bytes] | None = None, timeout: float = 8.0
) -> Answer | None:
    """Send `head`, then `body` piece by piece for as long as the server takes it, and stop
    sending as soon as an answer arrives (like curl). None when no answer came in time."""
    body = body or iter(())
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setblocking(False)
    pending = head
    received = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            want_write = [sock] if pending else []
            readable, writable, _ = select.select([sock], want_write, [], 0.05)
            if readable:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    break
                if not data:
                    break
                received += data
                answer = parse_answer(received)
                if answer is not None:
                    return answer
                continue
            if writable and pending:
                try:
                    sent = sock.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    pending = b""
                    continue
                pending = pending[sent:] or next(body, b"")
        return parse_answer(received)
    finally:
        sock.close()


def filler(total: int, piece: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"x" * piece
        sent += piece


def chunked(total: int, piece: int = 64 * 1024) -> Iterator[bytes]:
    """Chunked framing of `total` bytes, never terminated (an endless upload)."""
    for data in filler(total, piece):
        yield b"%x\r\n%s\r\n" % (len(data), data)
