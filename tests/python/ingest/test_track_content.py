"""What lands: validation reasons, scrubbing, clock skew, enrichment, tokens, the cookie.

In-process (functions-framework's app for main.py through Flask's test client): what lands
does not depend on the socket; test_track_status.py checks the codes on the wire."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from oie_core import tokens
from tests.python.helpers.servers import TEST_TOKEN_SECRET
from tests.python.ingest.conftest import (
    HEADLESS_UA,
    batch,
    counts,
    landed_by_id,
    make_event,
    now_ms,
    track,
)
from tests.python.ingest.inprocess import start_ingest_app


def _iso_ms(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def test_partial_batch_lands_good_events_and_rejects_bad_ones_with_reasons(app):
    good = make_event()
    unknown = make_event(type="mouse_wiggle")
    future = make_event(ts=now_ms() + 3600_000)
    bad_data = make_event(type="scroll_depth", data={"depth": 33})
    server_only = make_event(type="email_click")
    no_id = make_event(event_id=None)
    reply = track(app, batch(good, unknown, future, bad_data, server_only, no_id, "junk"))
    assert reply.status == 200
    assert counts(reply) == {"accepted": 1, "rejected": 6}
    events = landed_by_id(app)
    assert good["event_id"] in events
    rejected = landed_by_id(app, "rejected")
    reasons = {eid: rows[0]["reason"] for eid, rows in rejected.items()}
    assert reasons[unknown["event_id"]].startswith("unknown_type:")
    assert reasons[future["event_id"]].startswith("in_future:")
    assert reasons[bad_data["event_id"]].startswith("invalid_data:")
    assert reasons[server_only["event_id"]].startswith("server_only_type:")
    row = rejected[unknown["event_id"]][0]
    assert row["stage"] == "track" and row["type"] == "mouse_wiggle"
    assert row["event"]["event_id"] == unknown["event_id"]  # the original, kept for replay
    junk = [r for r in app.landed("rejected") if r["event"] == "junk"]
    assert junk and junk[0]["reason"].startswith("invalid_event:")


def test_clock_skewed_batch_is_corrected(app):
    skew = 2 * 3600_000  # the browser's clock is two hours fast
    sent_at = now_ms() + skew
    event = make_event(ts=sent_at - 5000)  # happened 5 s before sending, browser time
    reply = track(app, batch(event, sent_at=sent_at))
    assert reply.json()["accepted"] == 1
    row = landed_by_id(app)[event["event_id"]][0]
    assert row["ts"] == event["ts"]  # kept as sent
    received = _iso_ms(row["received_at"])
    assert abs(_iso_ms(row["event_at"]) - (received - 5000)) <= 2


def test_events_older_than_max_age_are_rejected(app):
    old = make_event(ts=now_ms() - 8 * 86400_000)
    recent = make_event(ts=now_ms() - 6 * 86400_000)  # a retry queue's week is fine
    reply = track(app, batch(old, recent))
    assert counts(reply) == {"accepted": 1, "rejected": 1}
    assert landed_by_id(app, "rejected")[old["event_id"]][0]["reason"].startswith("too_old")


def test_emails_and_form_values_never_land_in_urls(app):
    event = make_event(
        url="http://127.0.0.1:5173/thanks?email=ada%40example.com&utm_source=mail&name=Ada"
        "&plan=pro#contact?phone=123",
        referrer="https://mail.example/u/ada@example.com/inbox?x=1",
        type="click",
        data={
            "tag": "a",
            "text": "Write to ada@example.com",
            "href": "mailto:ada@example.com",
            "role": "link",
        },
    )
    track(app, batch(event))
    row = landed_by_id(app)[event["event_id"]][0]
    line = json.dumps(row)
    assert "ada@example.com" not in line.lower() and "ada%40example.com" not in line.lower()
    assert row["data"]["text"] == "Write to [email]"
    assert "@" not in row["url"] and "ada%40" not in row["url"]
    assert "utm_source=mail" in row["url"] and "plan=pro" in row["url"]
    assert "name=" not in row["url"] and "phone" not in row["url"]
    assert "@" not in row["referrer"]
    assert "@" not in row["data"]["text"] and "@" not in row["data"]["href"]


def test_unicode_and_control_characters(app):
    title = "Prix \u00e9t\u00e9 \U0001f525 \u0000\u0007\u001b[31m \u2028 \ud800 ok"
    event = make_event(data={"title": title, "language": "fr\u0000"})
    body = json.dumps({"events": [event], "meta": {"sent_at": now_ms()}}).encode()
    reply = track(app, body)
    assert reply.status == 200 and reply.json()["accepted"] == 1
    row = landed_by_id(app)[event["event_id"]][0]
    assert "\U0001f525" in row["data"]["title"] and "\u00e9t\u00e9" in row["data"]["title"]
    assert not any(ord(c) < 32 for c in row["data"]["title"])
    assert "\ufffd" in row["data"]["title"]  # the lone surrogate, replaced
    assert row["data"]["language"] == "fr"
    for path in app.landing_dir.glob("events/*/*/*.ndjson*"):
        path.read_bytes().decode("utf-8")  # every landed byte is valid UTF-8


def test_duplicate_event_ids_within_and_across_batches_are_accepted(app):
    event = make_event()
    first = track(app, batch(event, event))
    second = track(app, batch(event))
    assert counts(first) == {"accepted": 2, "rejected": 0}
    assert counts(second) == {"accepted": 1, "rejected": 0}
    assert len(landed_by_id(app)[event["event_id"]]) == 3  # deduped in the events mart


def test_forged_proxy_headers_are_ignored_without_a_trusted_proxy(app):
    event = make_event()
    track(
        app,
        batch(event),
        headers={
            "X-Forwarded-For": "8.8.8.8",
            "CF-Connecting-IP": "1.1.1.1",
            "CF-IPCountry": "FR",
            "X-Client-Geo-Location": "US,Mountain View",
            "X-Real-IP": "9.9.9.9",
        },
    )
    row = landed_by_id(app)[event["event_id"]][0]
    assert row["ip"] == "127.0.0.0"  # the TCP peer, truncated to /24
    assert row["country"] is None and row["city"] is None


def test_cloudflare_headers_are_believed_when_cloudflare_is_the_trusted_proxy(tmp_path):
    env = {"OIE_TRUSTED_PROXY": "cloudflare", "OIE_IP_MODE": "truncate"}
    with start_ingest_app(env, data_dir=tmp_path) as srv:
        event = make_event()
        track(
            srv,
            batch(event),
            headers={
                "CF-Connecting-IP": "203.0.113.77",
                "CF-IPCountry": "DE",
                "CF-IPCity": "Berlin",
                "CF-Region": "Berlin",
                "X-Forwarded-For": "8.8.8.8",
            },
        )
        gclb = make_event()
        track(srv, batch(gclb), headers={"X-Client-Geo-Location": "US,Mountain View"})
        rows = landed_by_id(srv)
    row = rows[event["event_id"]][0]
    assert (row["ip"], row["country"], row["city"]) == ("203.0.113.0", "DE", "Berlin")
    assert rows[gclb["event_id"]][0]["country"] is None  # other proxies' headers ignored


@pytest.mark.parametrize(
    ("mode", "expect"), [("hash", "hex"), ("drop", None), ("raw", "127.0.0.1")]
)
def test_ip_modes(tmp_path, mode, expect):
    with start_ingest_app({"OIE_IP_MODE": mode}, data_dir=tmp_path) as srv:
        event = make_event()
        track(srv, batch(event))
        ip = landed_by_id(srv)[event["event_id"]][0]["ip"]
    if expect == "hex":
        assert re.fullmatch(r"[0-9a-f]{32}", ip), ip
        assert "127.0.0" not in ip
    else:
        assert ip == expect


def test_tokens_are_verified_and_forged_ones_flagged(app):
    keyring = tokens.Keyring.parse(TEST_TOKEN_SECRET)
    good = tokens.mint(keyring, "q4", "ada@example.com")
    forged = good[:-1] + ("a" if good[-1] != "a" else "b")
    events = [make_event(token=good), make_event(token=forged), make_event(token="bad shape")]
    track(app, batch(*events))
    rows = landed_by_id(app)
    assert rows[events[0]["event_id"]][0]["token_valid"] is True
    assert rows[events[1]["event_id"]][0]["token_valid"] is False
    assert rows[events[1]["event_id"]][0]["token"] == forged
    shape = rows[events[2]["event_id"]][0]
    assert shape["token"] is None and shape["token_valid"] is False


def test_enrichment_flags_headless_browsers_without_dropping_them(app):
    event = make_event()
    reply = track(app, batch(event), headers={"User-Agent": HEADLESS_UA})
    assert reply.json()["accepted"] == 1
    row = landed_by_id(app)[event["event_id"]][0]
    assert row["is_bot"] is True and row["device"] == "desktop"
    assert row["browser"] == "HeadlessChrome" and row["os"] == "Linux"
    assert row["client_session_id"] == event["session_id"]
    assert row["pixel_version"] == "1.0.0"


def test_mobile_user_agent(app):
    ua = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
    )
    event = make_event()
    track(app, batch(event), headers={"User-Agent": ua})
    row = landed_by_id(app)[event["event_id"]][0]
    assert (row["device"], row["os"], row["is_bot"]) == ("mobile", "iOS", False)


def test_first_party_cookie_restores_a_lost_visitor_id(app):
    # Any port: 127.0.0.1:8080 and the page at 127.0.0.1:5173 are the same site.
    host = {"Host": "127.0.0.1:8080"}
    first = make_event()
    reply = track(app, batch(first), headers=host)
    cookie = reply.headers["set-cookie"]
    assert cookie.startswith(f"_oie_svid={first['visitor_id']};")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=7776000" in cookie
    assert "Secure" not in cookie  # plain http on 127.0.0.1
    assert reply.json()["vid"] == first["visitor_id"]
    # Safari wiped the browser's storage: a new visitor id arrives with the old cookie.
    later = make_event()
    reply = track(app, batch(later), headers={**host, "Cookie": f"_oie_svid={first['visitor_id']}"})
    assert reply.json()["vid"] == first["visitor_id"]
    row = landed_by_id(app)[later["event_id"]][0]
    assert row["visitor_id"] == first["visitor_id"]
    assert row["client_visitor_id"] == later["visitor_id"]


def test_no_cookie_for_a_cross_site_collector(app):
    reply = track(app, batch(make_event()), headers={"Host": "collect.other-site.example"})
    assert "set-cookie" not in reply.headers and "vid" not in reply.json()


def test_every_data_schema_accepts_its_documented_shape(app):
    shapes = {
        "pageview": {
            "title": "t",
            "viewport_w": 1,
            "viewport_h": 1,
            "screen_w": 1,
            "screen_h": 1,
            "language": "en",
            "tz": "UTC",
        },
        "scroll_depth": {"depth": 90},
        "click": {
            "tag": "button",
            "id": "buy",
            "classes": "btn cta",
            "text": "  Buy   now ",
            "href": "/pricing",
            "role": "cta",
        },
        "form_start": {"form_id": "demo", "field": "email"},
        "form_submit": {
            "form_id": "demo",
            "fields": ["email", "company"],
            "hems": {
                "sha256": "b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72",
                "sha1": "3ca93ad87e0bb737e653b66ad67731e86bbc050f",
                "md5": "3e3417d7ef77d5932a6734b916515ed5",
            },
        },
        "video": {"src": "https://cdn.example/v.mp4", "action": "complete", "percent": 100},
        "focus_lost": {},
        "focus_gained": {},
        "page_exit": {
            "active_ms": 12345,
            "max_depth": 75,
            "cursor_jitter": 41.3,
            "cursor_reversals": 6,
            "cursor_moves": 88,
            "reading_wpm": 240,
        },
        "rage_click": {"x": 10, "y": 20, "count": 5},
        "copy": {"chars": 42},
        "text_select": {"chars": 7},
    }
    events = [make_event(type=t, data=d) for t, d in shapes.items()]
    reply = track(app, batch(*events))
    assert counts(reply) == {"accepted": len(shapes), "rejected": 0}
    rows = landed_by_id(app)
    for event in events:
        row = rows[event["event_id"]][0]
        assert row["type"] == event["type"]
    click = rows[events[2]["event_id"]][0]["data"]
    assert click["text"] == "Buy now"
    exit_event = next(e for e in events if e["type"] == "page_exit")
    assert rows[exit_event["event_id"]][0]["data"] == shapes["page_exit"]


@pytest.mark.parametrize(
    ("etype", "data"),
    [
        (
            "form_submit",
            {"form_id": "f", "fields": ["email"], "hems": {"sha256": "ada@example.com"}},
        ),
        ("form_submit", {"form_id": "f", "fields": "email"}),
        ("video", {"src": "x", "action": "rewind"}),
        ("click", {"role": "hero"}),
        ("page_exit", {"active_ms": -5}),
        ("page_exit", {"active_ms": 5, "cursor_jitter": 181}),
        ("page_exit", {"reading_wpm": 100_001}),
        ("pageview", {"viewport_w": "wide"}),
        ("pageview", "not an object"),
        ("copy", {"chars": True}),
    ],
)
def test_wrong_data_types_are_rejected_with_a_reason(app, etype, data):
    event = make_event(type=etype, data=data)
    assert counts(track(app, batch(event))) == {"accepted": 0, "rejected": 1}
    row = landed_by_id(app, "rejected")[event["event_id"]][0]
    assert row["reason"].startswith("invalid_data:")
    assert "ada@example.com" not in json.dumps(row["reason"])


def test_unknown_data_fields_are_dropped(app):
    event = make_event(type="copy", data={"chars": 3, "clipboard": "secret text"})
    track(app, batch(event))
    assert landed_by_id(app)[event["event_id"]][0]["data"] == {"chars": 3}


def test_ids_are_checked(app):
    events = [make_event(visitor_id="x"), make_event(event_id="a" * 65), make_event(ts="now")]
    reply = track(app, batch(*events))
    assert counts(reply) == {"accepted": 0, "rejected": 3}


def test_rejected_originals_are_scrubbed_too(app):
    # Random hex ids contain "ada" now and then ("…-adae-…"): ids without an "a" keep the
    # check below about the address alone.
    ids = {k: v.replace("a", "b") for k, v in make_event().items() if k.endswith("_id")}
    event = make_event(
        **ids,
        type="nope",
        url="http://127.0.0.1:5173/thanks?email=ada%40example.com&plan=pro",
        data={"note": "call ada@example.com"},
    )
    track(app, batch(event))
    row = landed_by_id(app, "rejected")[event["event_id"]][0]
    text = json.dumps(row)
    assert "ada" not in text and "plan=pro" in row["event"]["url"]
    assert row["event"]["data"]["note"] == "call [email]"
