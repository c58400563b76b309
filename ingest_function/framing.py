"""How much of one HTTP/1.1 request sits in a buffer: the server's poller (server.py) keeps
reading a connection until its `Scanner` says the request is whole, so no pool thread ever
waits on a slow client.

The rules follow gunicorn's parser (gunicorn/http/message.py, `set_body_reader`) closely
enough to know where a request ends; what it would refuse is `INVALID` and is handed over
at once, so gunicorn answers it with its own 400 without waiting for more bytes.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

# Header fields that decide framing; a field name never spans lines, so a regex over the
# head finds them without splitting every line (this runs for every request).
_FIELD_RE = re.compile(rb"\n(content-length|transfer-encoding|expect)[ \t]*:([^\r\n]*)", re.I)
_HEX_RE = re.compile(rb"[0-9a-fA-F]{1,16}")
# A chunk-size line is a few hex digits plus optional extensions; a longer one is an attack.
_MAX_CHUNK_LINE = 4096


class State(enum.Enum):
    PARTIAL_HEAD = "partial_head"  # the head has not fully arrived
    PARTIAL_BODY = "partial_body"  # head complete, the body still arriving
    COMPLETE = "complete"  # the whole request is in the buffer
    OVER_CAP = "over_cap"  # the body is larger than the cap: answer now, read no further
    INVALID = "invalid"  # framing gunicorn refuses: let it answer 400 now
    HEAD_TOO_LARGE = "head_too_large"  # no end of head within the head limit


@dataclass(frozen=True)
class Framing:
    state: State
    expects_continue: bool = False  # `Expect: 100-continue` on an HTTP/1.1 request


# One instance per answer that carries nothing else (this runs for every request).
_ANSWER = {state: Framing(state) for state in State}


class Scanner:
    """The framing of one request, scanned as its bytes arrive in a growing buffer. Each
    call looks only at what is new: a request sent a byte at a time costs its length, not
    its length squared.

    `cap` is the body limit: a declared Content-Length above it is OVER_CAP as soon as the
    head is complete; a chunked body is OVER_CAP once more than `cap` bytes of it are
    buffered (so the app can read cap + 1 and answer 413 itself)."""

    __slots__ = (
        "cap",
        "chunk_at",
        "chunk_total",
        "chunked",
        "expects",
        "head_end",
        "length",
        "max_head",
        "searched",
    )

    def __init__(self, cap: int, max_head: int) -> None:
        self.cap = cap
        self.max_head = max_head
        self.searched = 0  # the end of the head is not before this offset
        self.head_end = -1  # offset just past the head, once complete
        self.length = 0  # Content-Length (0 without one)
        self.chunked = False
        self.expects = False
        self.chunk_at = 0  # offset of the next chunk-size line
        self.chunk_total = 0  # body bytes in the chunks before it

    def scan(self, buf: bytes | bytearray) -> Framing:
        if self.head_end < 0:
            end = self._head_end(buf)
            if end < 0:
                too_large = len(buf) > self.max_head
                return _ANSWER[State.HEAD_TOO_LARGE if too_large else State.PARTIAL_HEAD]
            self.head_end = self.chunk_at = end
            refused = self._read_head(bytes(buf[:end]))
            if refused is not None:
                return _ANSWER[refused]
        if self.chunked:
            return self._chunks(buf)
        if len(buf) - self.head_end >= self.length:
            return _ANSWER[State.COMPLETE]
        return Framing(State.PARTIAL_BODY, self.expects)

    def _head_end(self, buf: bytes | bytearray) -> int:
        """Offset of the first byte after the blank line ending the head, or -1. A bare-LF
        head counts as ended too: gunicorn refuses it with a 400, and must get it to."""
        start = self.searched
        crlf = buf.find(b"\r\n\r\n", start, self.max_head + 4)
        # Only the head before a CRLF end can hold a bare-LF one (the body may hold anything).
        lf = buf.find(b"\n\n", start, crlf + 2 if crlf >= 0 else self.max_head + 2)
        if lf >= 0:
            return lf + 2
        if crlf >= 0:
            return crlf + 4
        self.searched = max(0, len(buf) - 3)  # a terminator may straddle the next piece
        return -1

    def _read_head(self, head: bytes) -> State | None:
        """Framing fields of the head; a state when the request is decided by them."""
        lengths: list[bytes] = []
        codings: list[bytes] = []
        for name, value in _FIELD_RE.findall(head):
            name, value = name.lower(), value.strip(b" \t")
            if name == b"content-length":
                lengths.append(value)
            elif name == b"transfer-encoding":
                codings += [c.strip(b" \t").lower() for c in value.split(b",")]
            elif value.lower() == b"100-continue":
                self.expects = head.split(b"\n", 1)[0].rstrip(b"\r").endswith(b"HTTP/1.1")
        if codings:
            if lengths or codings[-1] != b"chunked" or codings.count(b"chunked") != 1:
                return State.INVALID
            self.chunked = True
            return None
        if not lengths:
            return None
        if len(lengths) > 1 or not lengths[0].isdigit():
            return State.INVALID
        self.length = int(lengths[0])
        return State.OVER_CAP if self.length > self.cap else None

    def _chunks(self, buf: bytes | bytearray) -> Framing:
        """Walk the chunks from where the last call stopped; COMPLETE after the trailers."""
        partial = Framing(State.PARTIAL_BODY, self.expects)
        while True:
            pos = self.chunk_at
            line_end = buf.find(b"\r\n", pos, pos + _MAX_CHUNK_LINE + 2)
            if line_end < 0:
                return _ANSWER[State.INVALID] if len(buf) - pos > _MAX_CHUNK_LINE else partial
            size_field = bytes(buf[pos:line_end]).split(b";", 1)[0].rstrip(b" \t")
            if not _HEX_RE.fullmatch(size_field):
                return _ANSWER[State.INVALID]
            size = int(size_field, 16)
            data = line_end + 2
            if size == 0:  # the last chunk, then trailer fields up to a blank line
                if buf[data : data + 2] == b"\r\n" or buf.find(b"\r\n\r\n", data) >= 0:
                    return _ANSWER[State.COMPLETE]
                return _ANSWER[State.INVALID] if len(buf) - data > self.max_head else partial
            available = len(buf) - data
            if self.chunk_total + min(size, available) > self.cap:
                return _ANSWER[State.OVER_CAP]
            if available < size + 2:  # the chunk's data or its CRLF is still arriving
                if available > size and buf[data + size] != ord("\r"):
                    return _ANSWER[State.INVALID]
                return partial
            if buf[data + size : data + size + 2] != b"\r\n":
                return _ANSWER[State.INVALID]
            self.chunk_total += size
            self.chunk_at = data + size + 2
