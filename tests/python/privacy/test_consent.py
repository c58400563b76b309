"""Server-side consent against the real ingest server: `Sec-GPC: 1` on /track lands
nothing and sets no cookie; on /go the redirect and the click still happen, without a
visitor; `POST /optout` (allowed origins only) expires the HttpOnly cookie and tombstones
the visitor, whose later events land nowhere."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from oie_core import tombstones
from tests.python.helpers.servers import (
    TEST_TOKEN_SECRET,
    IngestServer,
    http_call,
    start_ingest_server,
)

ORIGIN = "http://127.0.0.1:5173"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126 Safari"


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[IngestServer]:
    with start_ingest_server(data_dir=tmp_path / "data") as server:
        yield server


def _batch(visitor: str) -> bytes:
    event = {
        "event_id": str(uuid.uuid4()),
        "type": "pageview",
        "ts": int(time.time() * 1000),
        "visitor_id": visitor,
        "session_id": "ses-" + visitor,
        "url": ORIGIN + "/pricing",
        "data": {"title": "Pricing"},
    }
    return json.dumps({"events": [event], "meta": {"sent_at": int(time.time() * 1000)}}).encode()


def _track(srv: IngestServer, visitor: str, **headers: str):
    h = {"Origin": ORIGIN, "Content-Type": "application/json", "User-Agent": UA, **headers}
    return http_call(srv.url + "/track", "POST", _batch(visitor), h)


def test_gpc_on_track_lands_nothing_and_sets_no_cookie(srv: IngestServer) -> None:
    reply = _track(
        srv, "vis-gpc-visitor", **{"Sec-GPC": "1", "Cookie": "_oie_svid=vis-gpc-visitor"}
    )
    assert reply.status == 200
    assert reply.json() == {"accepted": 0, "rejected": 0, "gpc": True}
    assert reply.headers.get("access-control-allow-origin") == ORIGIN
    assert reply.headers.get("set-cookie") is None
    # The same request without the signal lands (so the silence above is the signal's).
    assert _track(srv, "vis-gpc-control").json()["accepted"] == 1
    assert [r["visitor_id"] for r in srv.landed("events")] == ["vis-gpc-control"]
    assert srv.landed("rejected") == []


def test_gpc_on_go_redirects_and_counts_the_click_without_a_visitor(srv: IngestServer) -> None:
    from oie_core import tokens

    token = tokens.mint(tokens.Keyring.parse(TEST_TOKEN_SECRET), "q4", "ada@example.com")
    headers = {"User-Agent": UA, "Cookie": "_oie_svid=vis-gpc-clicker"}
    with_gpc = http_call(
        f"{srv.url}/go?i={token}&to=/pricing", "GET", None, {**headers, "Sec-GPC": "1"}
    )
    without = http_call(f"{srv.url}/go?i={token}&to=/pricing", "GET", None, headers)
    assert with_gpc.status == without.status == 302
    assert with_gpc.headers.get("location") == without.headers.get("location")
    assert with_gpc.headers.get("set-cookie") is None
    clicks = [r for r in srv.landed("events") if r["type"] == "email_click"]
    assert sorted(str(r["visitor_id"]) for r in clicks) == ["None", "vis-gpc-clicker"]
    assert all(r["token"] == token for r in clicks)


def _optout(srv: IngestServer, body: bytes, origin: str | None = ORIGIN, **headers: str):
    h = {"Content-Type": "text/plain;charset=UTF-8", "User-Agent": UA, **headers}
    if origin:
        h["Origin"] = origin
    return http_call(srv.url + "/optout", "POST", body, h)


def test_optout_expires_the_cookie_and_tombstones_the_visitor(srv: IngestServer) -> None:
    assert _track(srv, "vis-optout-one").json()["accepted"] == 1
    reply = _optout(srv, b"vis-optout-two", Cookie="_oie_svid=vis-optout-one")
    assert reply.status == 200 and reply.json() == {"forgotten": 2}
    cookie = reply.headers.get("set-cookie") or ""
    assert cookie.startswith("_oie_svid=;") and "Max-Age=0" in cookie and "HttpOnly" in cookie
    assert reply.headers.get("access-control-allow-origin") == ORIGIN

    key = tombstones.TombstoneKey((srv.data_dir / "tombstone_secret").read_text().strip())
    stones = srv.landed("tombstones")
    assert {(r["kind"], r["key_hash"]) for r in stones} == {
        ("visitor", key.hash("visitor", "vis-optout-one")),
        ("visitor", key.hash("visitor", "vis-optout-two")),
    }
    assert "vis-optout" not in json.dumps(stones)

    # From now on their events are accepted (no retry) and land nowhere; others still land.
    for visitor in ("vis-optout-one", "vis-optout-two"):
        assert _track(srv, visitor).json()["accepted"] == 1
    assert _track(srv, "vis-optout-other").json()["accepted"] == 1
    visitors = [r["visitor_id"] for r in srv.landed("events")]
    assert visitors == ["vis-optout-one", "vis-optout-other"]  # the first landed before
    health = json.loads(http_call(srv.url + "/health", "GET", None, {}).body)
    assert health["forgotten_dropped"] == 2


def test_optout_json_body_and_nothing_to_forget(srv: IngestServer) -> None:
    reply = _optout(srv, json.dumps({"visitor_id": "vis-json-body"}).encode())
    assert reply.json() == {"forgotten": 1}
    nothing = _optout(srv, b"")
    assert nothing.status == 200 and nothing.json() == {"forgotten": 0}
    assert "Max-Age=0" in (nothing.headers.get("set-cookie") or "")
    bad_id = _optout(srv, b"not an id!")
    assert bad_id.json() == {"forgotten": 0}
    assert len(srv.landed("tombstones")) == 1


def test_optout_refuses_other_origins_and_big_bodies(srv: IngestServer) -> None:
    foreign = _optout(srv, b"vis-foreign-01", origin="http://127.0.0.1.evil.example")
    assert foreign.status == 403 and foreign.json()["error"] == "origin_not_allowed"
    missing = _optout(srv, b"vis-foreign-01", origin=None)
    assert missing.status == 403 and missing.json()["error"] == "missing_origin"
    big = _optout(srv, b"x" * 2000)
    assert big.status == 413
    assert http_call(srv.url + "/optout", "GET", None, {"Origin": ORIGIN}).status == 405
    pre = http_call(
        srv.url + "/optout",
        "OPTIONS",
        None,
        {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert pre.status == 204
    assert srv.landed("tombstones") == []


def test_raw_ip_mode_is_warned_about_on_every_run(tmp_path: Path) -> None:
    from tests.python.cli.conftest import Cli, cli_env

    work = tmp_path / "work"
    work.mkdir()
    raw = Cli(cli_env(tmp_path / "data", OIE_IP_MODE="raw"), work)
    for _ in range(2):
        proc = raw("run", "--skip-dbt")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "warning: OIE_IP_MODE=raw: visitors' full IP addresses" in proc.stdout
    quiet = Cli(cli_env(tmp_path / "data", OIE_IP_MODE="truncate"), work)("run", "--skip-dbt")
    assert quiet.returncode == 0 and "OIE_IP_MODE" not in quiet.stdout


def test_optout_without_a_tombstone_secret_in_production_is_503(tmp_path: Path) -> None:
    env = {"OIE_TARGET": "bigquery", "OIE_BQ_PROJECT": "acme-prod"}  # production, no secret
    with start_ingest_server(env, data_dir=tmp_path / "data") as srv:
        reply = _optout(srv, b"vis-no-secret-1")
        assert reply.status == 503 and reply.json()["error"] == "not_configured"
        assert "OIE_TOMBSTONE_SECRET" in reply.json()["detail"]
        assert "Max-Age=0" in (reply.headers.get("set-cookie") or "")  # still expired
        assert srv.landed("tombstones") == []
