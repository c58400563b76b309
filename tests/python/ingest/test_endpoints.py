"""/identify, /personalize (local KV), /oie.js and /oie-hash.js (in-process:
functions-framework's app for main.py through Flask's test client)."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from oie_core import tokens
from tests.python.helpers.servers import TEST_TOKEN_SECRET
from tests.python.ingest.conftest import ORIGIN
from tests.python.ingest.inprocess import start_ingest_app


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    data = tmp_path_factory.mktemp("endpoints")
    pixel = tmp_path_factory.mktemp("pixel")
    (pixel / "oie.js").write_text("/*oie*/(()=>{})();\n")
    con = sqlite3.connect(data / "kv.sqlite")
    con.execute("CREATE TABLE kv(key TEXT PRIMARY KEY, value TEXT, expires_at INTEGER NULL)")
    rows = [
        (
            "v:visitor-known1",
            {
                "first_name": "Ada",
                "company": "Analytical",
                "email": "a@x.io",
                "intent_score": 91,
                "engagement_level": "hot",
            },
            None,
        ),
        ("v:visitor-expired", {"first_name": "Old"}, int(time.time()) - 10),
        ("v:visitor-forward", {"first_name": "Fwd", "forwarded": True}, None),
    ]
    con.executemany("INSERT INTO kv VALUES (?, ?, ?)", [(k, json.dumps(v), e) for k, v, e in rows])
    con.commit()
    con.close()
    with start_ingest_app({"OIE_PIXEL_DIR": str(pixel)}, data_dir=data) as server:
        yield server


def test_identify_says_only_whether_the_token_is_valid(srv):
    good = tokens.mint(tokens.Keyring.parse(TEST_TOKEN_SECRET), "c", "ada@example.com")
    reply = srv.call(f"/identify?i={good}", headers={"Origin": ORIGIN})
    assert reply.status == 200 and reply.json() == {"valid": True}
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    forged = good[:8] + "zzz"
    assert srv.call(f"/identify?i={forged}").json() == {"valid": False}
    assert srv.call("/identify").json() == {"valid": False}


def test_personalize_serves_only_public_fields(srv):
    reply = srv.call("/personalize?vid=visitor-known1", headers={"Origin": ORIGIN})
    assert reply.status == 200
    assert reply.json() == {"first_name": "Ada", "company": "Analytical", "engagement_level": "hot"}
    assert reply.headers["access-control-allow-origin"] == ORIGIN


@pytest.mark.parametrize("vid", ["visitor-unknown", "visitor-expired", "visitor-forward"])
def test_personalize_404_for_unknown_expired_or_forwarded(srv, vid):
    assert srv.call(f"/personalize?vid={vid}").status == 404


def test_personalize_400_for_a_bad_id(srv):
    assert srv.call("/personalize?vid=%27%3B--").status == 400


@pytest.mark.parametrize("query", ["vid=visitor-known1%0A", "vid=visitor-known1&i=TkAda000001%0A"])
def test_personalize_400_for_an_id_or_token_with_a_trailing_newline(srv, query):
    """A regex ending in `$` also passes a trailing newline; the edge Worker's does not."""
    assert srv.call(f"/personalize?{query}").status == 400


def test_personalize_404_without_a_kv_store(tmp_path):
    with start_ingest_app(data_dir=tmp_path) as server:
        assert server.call("/personalize?vid=visitor-known1").status == 404


def test_pixel_is_served_with_type_cache_and_cors(srv):
    reply = srv.call("/oie.js")
    assert reply.status == 200 and reply.body == b"/*oie*/(()=>{})();\n"
    assert reply.headers["content-type"] == "application/javascript; charset=utf-8"
    assert "max-age=" in reply.headers["cache-control"]
    assert reply.headers["access-control-allow-origin"] == "*"
    again = srv.call("/oie.js", headers={"If-None-Match": reply.headers["etag"]})
    assert again.status == 304 and again.body == b""


def test_missing_pixel_build_is_404(srv):
    assert srv.call("/oie-hash.js").status == 404


def test_personalize_is_privately_cacheable_once(srv):
    reply = srv.call("/personalize?vid=visitor-known1")
    assert reply.all("Cache-Control") == ["private, max-age=60"]
