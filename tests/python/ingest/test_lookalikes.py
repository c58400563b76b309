"""Look-alike origins and hosts: CORS, the preflight, the Referer fallback and /go's host
check accept exactly what is configured, never a prefix, a suffix, a neighbouring address,
another case or spelling of the same text (in-process app, settings pinned here)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from oie_core import tokens
from tests.python.helpers.servers import TEST_TOKEN_SECRET
from tests.python.ingest.conftest import batch, make_event, track
from tests.python.ingest.inprocess import start_ingest_app

ALLOWED = "http://127.0.0.1:5173"
# Each one differs from an allowed origin or redirect host by a prefix match, a suffix, a
# neighbouring address, a trailing dot, a spelled-out default port or the port itself.
LOOKALIKE_ORIGINS = [
    "http://127.0.0.1.evil.example",
    "http://127.0.0.1.evil.example:5173",
    "http://127.0.0.1:5173.evil.example",
    "http://localhost.evil.example",
    "http://localhost.evil.example:5173",
    "http://127.0.0.10:5173",
    "http://127.0.0.1:51730",
    "http://127.0.0.1:517",
    "http://127.0.0.1.:5173",
    "http://localhost.:5173",
    "https://127.0.0.1:5173",
    "http://127.0.0.1:5173@evil.example",
    "http://evil.example#127.0.0.1:5173",
    "http://www.site.example:443",
    "https://www.site.example:443",
    "https://www.site.example.",
    "https://www.site.example.evil.example",
    "https://evilwww.site.example",
    "https://wwwXsite.example",
]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    env = {
        "OIE_ALLOWED_ORIGINS": f"{ALLOWED},http://localhost:5173,https://www.site.example",
        "OIE_REDIRECT_HOSTS": "www.site.example,127.0.0.1:8080",
        "OIE_RATE_LIMIT": "0",
    }
    with start_ingest_app(env, data_dir=tmp_path_factory.mktemp("lookalikes")) as srv:
        yield srv


def test_the_configured_origins_are_accepted(app):
    for origin in (ALLOWED, "http://localhost:5173", "https://www.site.example"):
        assert track(app, batch(make_event()), origin=origin).status == 200, origin
    # Case is not part of an origin's identity (browsers send it lowercased anyway).
    assert track(app, batch(make_event()), origin="HTTP://LOCALHOST:5173").status == 200


@pytest.mark.parametrize("origin", LOOKALIKE_ORIGINS)
def test_lookalike_origin_is_refused(app, origin):
    reply = track(app, batch(make_event()), origin=origin)
    assert reply.status == 403, origin
    assert reply.json()["error"] == "origin_not_allowed"
    # It may read its refusal (so a pixel there stops retrying) and nothing more: no
    # cookie, and the echo is its own origin, never an allowed one.
    assert reply.headers["access-control-allow-origin"] == origin.lower()
    assert "set-cookie" not in reply.headers


@pytest.mark.parametrize("origin", LOOKALIKE_ORIGINS)
def test_lookalike_preflight_is_refused(app, origin):
    reply = app.call(
        "/track",
        "OPTIONS",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    assert reply.status == 403, origin
    assert "access-control-allow-origin" not in reply.headers


@pytest.mark.parametrize("origin", LOOKALIKE_ORIGINS)
def test_lookalike_referer_without_origin_is_refused(app, origin):
    reply = track(app, batch(make_event()), origin=None, headers={"Referer": origin + "/page"})
    assert reply.status == 403, origin


def test_the_referer_of_an_allowed_page_is_accepted(app):
    reply = track(app, batch(make_event()), origin=None, headers={"Referer": ALLOWED + "/page"})
    assert reply.status == 200


LOOKALIKE_HOSTS = [
    "https://www.site.example.evil.example/",
    "https://www.site.example./",
    "https://evilwww.site.example/",
    "https://www.site.example:443/",
    "http://127.0.0.1:80800/",
    "http://127.0.0.10:8080/",
    "http://127.0.0.1.evil.example:8080/",
    "http://127.0.0.1/",
    "https://wwwXsite.example/",
]


@pytest.mark.parametrize("to", LOOKALIKE_HOSTS)
def test_go_refuses_lookalike_hosts(app, to):
    token = tokens.mint(tokens.Keyring.parse(TEST_TOKEN_SECRET), "q4", "ada@example.com")
    reply = app.call(f"/go?i={token}&to={quote(to, safe='')}", "GET")
    assert reply.status == 302
    assert reply.headers["location"] == f"https://www.site.example/?i={token}", to


def test_go_accepts_the_configured_hosts(app):
    token = tokens.mint(tokens.Keyring.parse(TEST_TOKEN_SECRET), "q4", "ada@example.com")
    for to in ("https://www.site.example/a", "http://127.0.0.1:8080/b"):
        reply = app.call(f"/go?i={token}&to={quote(to, safe='')}", "GET")
        assert reply.headers["location"] == f"{to}?i={token}", to
