"""Hostile HTTP against the real server (docs/ingest.md "Hostile clients"): oversized and
endless bodies, bodies that stop arriving, and slow clients holding connections open.

Raw sockets on 127.0.0.1: the point is what the server does on the wire and in memory, which
neither http.client nor the in-process app can show. Each test takes a few seconds at most.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.python.helpers.raw_http import chunked, exchange, filler, parse_answer
from tests.python.helpers.servers import IngestServer, http_call, start_ingest_server
from tests.python.ingest.conftest import DESKTOP_UA, ORIGIN, batch, make_event, track

CAP = 64 * 1024
HUGE = 300 * 1024 * 1024  # declared, never sent in full
SENT_AT_MOST = 16 * 1024 * 1024  # what a test client pushes before giving up
RSS_SLACK = 5 * 1024 * 1024
TRACK_HEAD = (
    "POST /track HTTP/1.1\r\n"
    "Host: 127.0.0.1\r\n"
    f"Origin: {ORIGIN}\r\n"
    f"User-Agent: {DESKTOP_UA}\r\n"
    "Content-Type: application/json\r\n"
)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IngestServer]:
    # The read timeout pinned low so a stalled body is answered within the test's patience.
    env = {"OIE_MAX_BODY_BYTES": str(CAP), "OIE_READ_TIMEOUT": "1s"}
    with start_ingest_server(env, data_dir=tmp_path_factory.mktemp("hostile"), threads=8) as s:
        yield s


def worker_pid(master: int) -> int:
    """The gunicorn worker: the one child of the master (WORKERS=1)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            return int(stat.parent.name)
    raise AssertionError(f"no worker process under {master}")


def rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    m = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert m, status
    return int(m.group(1)) * 1024


def warm_up(srv: IngestServer) -> int:
    """Settle the worker's memory (imports, caches, first landing file) before measuring."""
    for _ in range(3):
        assert track(srv, batch(make_event())).status == 200
        assert track(srv, b"x" * (CAP + 1)).status == 413
    return worker_pid(srv.proc.pid)


def test_a_huge_declared_body_is_refused_at_once_without_reading_it(srv: IngestServer) -> None:
    pid = warm_up(srv)
    before = rss(pid)
    head = (TRACK_HEAD + f"Content-Length: {HUGE}\r\n\r\n").encode()
    answer = exchange(srv.port, head, filler(SENT_AT_MOST))
    assert answer is not None, "no answer to a 300 MB Content-Length"
    assert answer.status == 413
    assert answer.json()["error"] == "body_too_large"
    assert answer.headers.get("connection", "").lower() == "close"
    # The worker answered a later request: it is done with this one, memory included.
    assert http_call(srv.url + "/health", timeout=10).status == 200
    assert rss(pid) - before < RSS_SLACK


def test_an_endless_chunked_body_is_refused_past_the_cap(srv: IngestServer) -> None:
    pid = warm_up(srv)
    before = rss(pid)
    head = (TRACK_HEAD + "Transfer-Encoding: chunked\r\n\r\n").encode()
    answer = exchange(srv.port, head, chunked(SENT_AT_MOST))
    assert answer is not None, "no answer to an endless chunked body"
    assert answer.status == 413
    assert answer.json()["error"] == "body_too_large"
    assert answer.headers.get("connection", "").lower() == "close"
    assert http_call(srv.url + "/health", timeout=10).status == 200
    assert rss(pid) - before < RSS_SLACK


def test_a_chunked_batch_within_the_cap_lands(srv: IngestServer) -> None:
    event = make_event()
    body = batch(event)
    head = (TRACK_HEAD + "Transfer-Encoding: chunked\r\n\r\n").encode()
    framed = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    answer = exchange(srv.port, head + framed)
    assert answer is not None and answer.status == 200, answer
    assert answer.json()["accepted"] == 1


def test_a_body_shorter_than_its_content_length_gets_a_timeout_answer(
    srv: IngestServer,
) -> None:
    head = (TRACK_HEAD + "Content-Length: 1000\r\n\r\n").encode()
    # OIE_READ_TIMEOUT=1s here; without a read timeout no answer would ever come.
    answer = exchange(srv.port, head + b'{"events": [', timeout=10)
    assert answer is not None, "no answer to a body that stopped arriving"
    assert answer.status == 408
    assert answer.json()["error"] == "request_timeout"
    assert answer.headers.get("connection", "").lower() == "close"


def test_incomplete_headers_are_dropped_after_the_read_timeout(srv: IngestServer) -> None:
    with socket.create_connection(("127.0.0.1", srv.port)) as sock:
        sock.sendall(b"POST /track HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-")
        sock.settimeout(10)  # OIE_READ_TIMEOUT=1s: closed long before this gives up
        assert sock.recv(1024) == b""


def test_expect_100_continue_is_answered_before_the_body(srv: IngestServer) -> None:
    body = batch(make_event())
    head = (TRACK_HEAD + f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
        sock.sendall(head)
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue\r\n")
        sock.sendall(body)
        received = b""
        answer = None
        while answer is None:
            data = sock.recv(65536)
            assert data
            received += data
            answer = parse_answer(received)
    assert answer.status == 200


def test_keep_alive_and_pipelined_requests_are_all_answered(srv: IngestServer) -> None:
    bodies = [batch(make_event()) for _ in range(3)]
    requests = [(TRACK_HEAD + f"Content-Length: {len(b)}\r\n\r\n").encode() + b for b in bodies]
    health = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
        # one by one on the same connection, then pipelined, the last one cut in two
        statuses = []
        for request in (requests[0], health):
            sock.sendall(request)
            statuses.append(_read_answers(sock, 1))
        sock.sendall(requests[1] + health + requests[2][:40])
        time.sleep(0.2)
        sock.sendall(requests[2][40:])
        statuses.append(_read_answers(sock, 3))
    assert statuses == [[200], [200], [200, 200, 200]]


def _read_answers(sock: socket.socket, count: int) -> list[int]:
    received = b""
    statuses: list[int] = []
    while len(statuses) < count:
        data = sock.recv(65536)
        assert data, f"connection closed after {statuses}"
        received += data
        while (answer := parse_answer(received)) is not None:
            statuses.append(answer.status)
            consumed = received.find(b"\r\n\r\n") + 4 + len(answer.body)
            received = received[consumed:]
    return statuses


def test_slow_clients_do_not_starve_health(tmp_path: Path) -> None:
    """100 stalled connections (50 with half a header, 50 with half a body) and /health still
    answers. The read timeout is long here (60 s), so it is not what saves /health: under
    stock gthread every thread would wait on a stalled socket and these calls would time
    out. How fast it answers is measured by bench/slow_clients.py (target < 1 s)."""
    env = {"OIE_READ_TIMEOUT": "60s"}
    with start_ingest_server(env, data_dir=tmp_path, threads=8) as srv:
        stalled = []
        try:
            for i in range(100):
                sock = socket.create_connection(("127.0.0.1", srv.port))
                if i % 2:
                    sock.sendall(b"POST /track HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
                else:
                    sock.sendall((TRACK_HEAD + "Content-Length: 5000\r\n\r\n{").encode())
                stalled.append(sock)
            for _ in range(3):
                assert http_call(srv.url + "/health", timeout=20.0).status == 200
            event = make_event()
            assert track(srv, batch(event)).status == 200
        finally:
            for sock in stalled:
                sock.close()
        assert any(row["event_id"] == event["event_id"] for row in srv.landed("events"))
