"""The request framing the server's poller waits on (ingest_function/framing.py): where a
request ends, fed whole or a byte at a time."""

from __future__ import annotations

import pytest

from ingest_function.framing import Framing, Scanner, State

CAP = 100
HEAD = b"POST /track HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


def scan(data: bytes, cap: int = CAP) -> Framing:
    return Scanner(cap, 1024).scan(data)


def trickle(data: bytes, cap: int = CAP) -> list[State]:
    """Feed `data` one byte at a time to one scanner, as a slow client would."""
    scanner, buf, states = Scanner(cap, 1024), bytearray(), []
    for byte in data:
        buf.append(byte)
        states.append(scanner.scan(buf).state)
    return states


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


@pytest.mark.parametrize(
    ("data", "state"),
    [
        (b"GET /health HTTP/1.1\r\nHost: x\r\n", State.PARTIAL_HEAD),
        (b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", State.COMPLETE),
        (HEAD + b"Content-Length: 5\r\n\r\n{}", State.PARTIAL_BODY),
        (HEAD + b'Content-Length: 5\r\n\r\n{"a"}', State.COMPLETE),
        (HEAD + b'content-length:   5  \r\n\r\n{"a"}', State.COMPLETE),
        (HEAD + b"Content-Length: 101\r\n\r\n", State.OVER_CAP),
        (HEAD + b"Content-Length: 100\r\n\r\n", State.PARTIAL_BODY),
        (HEAD + b"Content-Length: -1\r\n\r\n", State.INVALID),
        (HEAD + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\n", State.INVALID),
        (HEAD + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", State.INVALID),
        (HEAD + b"Transfer-Encoding: gzip\r\n\r\n", State.INVALID),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n", State.PARTIAL_BODY),
        (
            HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + chunk(b"{}") + b"0\r\n\r\n",
            State.COMPLETE,
        ),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n\r\n", State.COMPLETE),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + chunk(b"x" * 100), State.PARTIAL_BODY),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + chunk(b"x" * 101), State.OVER_CAP),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n11E1A300\r\n" + b"x" * 101, State.OVER_CAP),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", State.INVALID),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}XX", State.INVALID),
        (b"GET / HTTP/1.1\nHost: x\n\n", State.COMPLETE),  # bare LF: gunicorn answers 400
        (b"GET /" + b"a" * 2000, State.HEAD_TOO_LARGE),
    ],
)
def test_where_a_request_stands(data: bytes, state: State) -> None:
    assert scan(data).state is state


def test_a_request_trickled_byte_by_byte_completes_on_its_last_byte() -> None:
    body = b'{"events": []}'
    for request in (
        HEAD + b"Content-Length: %d\r\n\r\n" % len(body) + body,
        HEAD
        + b"Transfer-Encoding: chunked\r\n\r\n"
        + chunk(body[:5])
        + chunk(body[5:])
        + b"0\r\n\r\n",
    ):
        states = trickle(request)
        assert states[-1] is State.COMPLETE
        assert State.COMPLETE not in states[:-1]
        assert set(states[:-1]) <= {State.PARTIAL_HEAD, State.PARTIAL_BODY}


def test_a_chunked_body_trickled_past_the_cap_is_over_cap_once_cap_plus_one_arrived() -> None:
    request = HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + chunk(b"x" * 60) + chunk(b"y" * 60)
    states = trickle(request)
    first = states.index(State.OVER_CAP)
    # 60 bytes of the first chunk, its CRLF, the second size line, then 41 bytes
    assert request[: first + 1].endswith(b"3c\r\n" + b"y" * 41)


def test_expect_100_continue_is_noticed_on_http_1_1_only() -> None:
    head = HEAD + b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    assert scan(head).expects_continue
    assert not scan(head.replace(b"HTTP/1.1", b"HTTP/1.0", 1)).expects_continue
    assert not scan(HEAD + b"Content-Length: 5\r\n\r\n").expects_continue
