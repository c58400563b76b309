"""Only UTF-8 bodies are read (docs/ingest.md "POST /track", check 3): a declared charset
other than UTF-8 / US-ASCII is 415, and an undeclared UTF-16 body is not JSON (400)."""

from __future__ import annotations

import json

import pytest

from tests.python.ingest.conftest import batch, counts, make_event, now_ms, track


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain; charset=utf-16",
        "application/json; charset=utf-16",
        "text/plain;charset=UTF-16LE",
        'application/json; charset="utf-32"',
        "text/plain; charset=iso-8859-1",
        "text/plain; charset=",
        "application/json; charset=utf-8; charset=utf-16",
    ],
)
def test_415_for_a_charset_other_than_utf8(app, content_type):
    body = json.dumps({"events": [make_event()], "meta": {"sent_at": now_ms()}})
    reply = track(app, body.encode("utf-16"), content_type=content_type)
    assert reply.status == 415
    doc = reply.json()
    assert doc["error"] == "unsupported_charset" and "UTF-8" in doc["detail"]
    assert reply.headers["access-control-allow-origin"]  # the browser may read the reason


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain;charset=UTF-8",  # what sendBeacon sends
        "application/json; charset=utf-8",
        'application/json; charset="UTF-8"',
        "text/plain; charset=us-ascii",
        "application/json; boundary=x",
        "text/plain",
    ],
)
def test_utf8_and_ascii_are_read(app, content_type):
    assert counts(track(app, batch(make_event()), content_type=content_type)) == {
        "accepted": 1,
        "rejected": 0,
    }


def test_an_undeclared_utf16_body_is_not_json(app):
    body = json.dumps({"events": [make_event()], "meta": {"sent_at": now_ms()}})
    for encoded in (body.encode("utf-16"), body.encode("utf-16-le"), body.encode("utf-32")):
        reply = track(app, encoded, content_type="text/plain")
        assert reply.status == 400 and reply.json()["error"] == "invalid_json"


def test_a_utf8_byte_order_mark_is_ignored(app):
    reply = track(app, b"\xef\xbb\xbf" + batch(make_event()))
    assert counts(reply) == {"accepted": 1, "rejected": 0}
