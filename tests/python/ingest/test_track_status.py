"""Every /track status code in docs/design.md, each from a real request to the real server."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from tests.python.helpers.raw_http import chunked, exchange
from tests.python.helpers.servers import http_call, start_ingest_server
from tests.python.ingest.conftest import ORIGIN, batch, landed_by_id, make_event, track


def test_200_accepts_a_valid_batch_and_lands_it(server):
    events = [make_event(), make_event(type="scroll_depth", data={"depth": 50})]
    reply = track(server, batch(*events))
    assert reply.status == 200
    assert reply.json()["accepted"] == 2 and reply.json()["rejected"] == 0
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    landed = landed_by_id(server)
    for event in events:
        assert len(landed[event["event_id"]]) == 1


def test_200_text_plain_beacon_from_allowed_origin(server):
    event = make_event()
    reply = track(server, batch(event), content_type="text/plain;charset=UTF-8")
    assert reply.status == 200 and reply.json()["accepted"] == 1


def test_text_plain_beacon_with_only_a_referer_is_checked_against_the_allow_list(server):
    ok = track(
        server,
        batch(make_event()),
        origin=None,
        content_type="text/plain",
        headers={"Referer": "http://localhost:8080/pricing?x=1"},
    )
    assert ok.status == 200
    bad = track(
        server,
        batch(make_event()),
        origin=None,
        content_type="text/plain",
        headers={"Referer": "https://evil.example/page"},
    )
    assert bad.status == 403


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"", "empty_body"),
        (b"\xff\xfe\x00garbage", "invalid_json"),
        (b'{"events": {"a": 1}}', "invalid_batch"),
        (b"[]", "invalid_batch"),
        (b'"events"', "invalid_batch"),
        (b'{"meta": {}}', "invalid_batch"),
        (b"[" * 30000 + b"]" * 30000, "invalid_json"),
    ],
    ids=[
        "malformed",
        "empty",
        "binary",
        "events-not-list",
        "array",
        "string",
        "no-events",
        "deeply-nested",
    ],
)
def test_400_unparseable_or_wrong_shape(server, body, code):
    reply = track(server, body)
    assert reply.status == 400
    assert reply.json()["error"] == code
    assert b"Traceback" not in reply.body and b'File "' not in reply.body


def test_403_disallowed_origin(server):
    reply = track(server, batch(make_event()), origin="https://evil.example")
    assert reply.status == 403
    assert reply.json()["error"] == "origin_not_allowed"
    # The page may read its refusal (so the pixel drops the batch instead of retrying a
    # network error forever), and nothing else: no cookie.
    assert reply.headers["access-control-allow-origin"] == "https://evil.example"
    assert reply.headers["access-control-allow-credentials"] == "true"
    assert "set-cookie" not in reply.headers


def test_403_from_a_referer_only_carries_no_cors(server):
    """Without an Origin header there is no CORS check to pass: nothing is echoed."""
    reply = track(
        server, batch(make_event()), origin=None, headers={"Referer": "https://evil.example/p"}
    )
    assert reply.status == 403
    assert "access-control-allow-origin" not in reply.headers


def test_403_missing_origin(server):
    reply = track(server, batch(make_event()), origin=None)
    assert reply.status == 403
    assert reply.json()["error"] == "missing_origin"


def test_413_body_over_64kb(server):
    body = batch(make_event(data={"title": "x" * (1024 * 1024)}))
    head = (
        "POST /track HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Origin: {ORIGIN}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    # Answered from the declared length; a client that keeps sending would meet a closed socket.
    answer = exchange(server.port, head, iter([body]))
    assert answer is not None and answer.status == 413, answer
    assert answer.json()["error"] == "body_too_large"


def test_413_too_many_events(server):
    small = [{"event_id": f"evt{i:08d}", "type": "focus_lost"} for i in range(10_000)]
    body = json.dumps({"events": small}, separators=(",", ":")).encode()
    assert len(body) > 64 * 1024  # the body cap answers first here; both are 413
    assert track(server, body).status == 413
    over_cap = [make_event(type="focus_lost", data={}) for _ in range(101)]
    body = json.dumps({"events": over_cap}, separators=(",", ":")).encode()
    assert len(body) < 64 * 1024
    reply = track(server, body)
    assert reply.status == 413 and reply.json()["error"] == "too_many_events"


@pytest.mark.parametrize(
    "ctype", ["application/x-www-form-urlencoded", "multipart/form-data", "application/xml", None]
)
def test_415_other_content_types(server, ctype):
    reply = track(server, batch(make_event()), content_type=ctype)
    assert reply.status == 415


def test_preflight_answers_allowed_origins_only(server):
    ok = http_call(
        server.url + "/track",
        "OPTIONS",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert ok.status == 204
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert "content-type" in ok.headers["access-control-allow-headers"].lower()
    bad = http_call(
        server.url + "/track",
        "OPTIONS",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert bad.status == 403


def test_405_wrong_method_and_404_unknown_path(server):
    assert http_call(server.url + "/track", "GET", headers={"Origin": ORIGIN}).status == 405
    assert http_call(server.url + "/nope").status == 404


def test_429_rate_limit_per_ip(tmp_path):
    with start_ingest_server({"OIE_RATE_LIMIT": "3"}, data_dir=tmp_path) as srv:
        statuses = [track(srv, batch(make_event())).status for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        reply = track(srv, batch(make_event()))
        assert int(reply.headers["retry-after"]) >= 1


def test_signed_batches_from_a_server_without_origin(tmp_path):
    secret = "server-to-server-signing-secret"
    with start_ingest_server({"OIE_EVENT_SIGNING_SECRET": secret}, data_dir=tmp_path) as srv:
        body = batch(make_event())
        good = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert track(srv, body, origin=None, headers={"X-OIE-Signature": good}).status == 200
        tampered = body.replace(b"Pricing", b"Pricinh")
        reply = track(srv, tampered, origin=None, headers={"X-OIE-Signature": good})
        assert reply.status == 403 and reply.json()["error"] == "bad_signature"
        assert secret not in reply.body.decode()
        junk = track(srv, body, origin=None, headers={"X-OIE-Signature": "sha256=zz"})
        assert junk.status == 403


def test_signature_header_is_refused_when_no_secret_is_configured(server):
    body = batch(make_event())
    sig = "sha256=" + hmac.new(b"guess", body, hashlib.sha256).hexdigest()
    assert track(server, body, origin=None, headers={"X-OIE-Signature": sig}).status == 403


def test_503_when_the_sink_fails_and_no_dead_letter(tmp_path):
    with start_ingest_server({"OIE_FAULT": "sink-503-next-2"}, data_dir=tmp_path) as srv:
        event = make_event()
        first, second, third = (track(srv, batch(event)).status for _ in range(3))
        assert (first, second, third) == (503, 503, 200)
        assert len(landed_by_id(srv)[event["event_id"]]) == 1


def test_health_reports_the_sink(server):
    reply = http_call(server.url + "/health")
    assert reply.status == 200
    doc = reply.json()
    assert doc["status"] == "ok" and doc["sink"]["name"] == "local" and doc["sink"]["ok"]


def test_a_400_body_is_kept_in_the_rejected_stream(server):
    marker = "broken-client-7f3a"
    reply = track(server, b'{"events": [' + marker.encode() + b" ada@example.com")
    assert reply.status == 400
    rows = [r for r in server.landed("rejected") if r.get("raw") and marker in r["raw"]]
    assert len(rows) == 1
    assert rows[0]["reason"].startswith("invalid_json") and rows[0]["stage"] == "track"
    assert "ada@example.com" not in rows[0]["raw"]  # scrubbed like any other string


def test_413_for_a_chunked_body_without_content_length(server):
    # The default cap (no OIE_MAX_BODY_BYTES): 256 KB streamed in chunks is refused.
    head = (
        "POST /track HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Origin: {ORIGIN}\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    answer = exchange(server.port, head, chunked(256 * 1024, piece=16 * 1024))
    assert answer is not None and answer.status == 413, answer
    assert answer.json()["error"] == "body_too_large"
    # A small chunked batch is read whole and accepted.
    body = batch(make_event())
    framed = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:50], body[50:]))
    answer = exchange(server.port, head + framed + b"0\r\n\r\n")
    assert answer is not None and answer.status == 200, answer
    assert answer.json()["accepted"] == 1
