"""/go: token check, email_click with the scanner flag, and no open redirect (in-process:
functions-framework's app for main.py through Flask's test client)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from oie_core import tokens
from tests.python.helpers.servers import TEST_TOKEN_SECRET
from tests.python.ingest.inprocess import start_ingest_app

SITE = "www.site.example"
BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


@pytest.fixture(scope="module")
def go_app(tmp_path_factory):
    env = {
        "OIE_REDIRECT_HOSTS": f"{SITE},docs.site.example,127.0.0.1:8080",
        "OIE_SCANNER_NETWORKS": "127.0.0.2/32",
    }
    with start_ingest_app(env, data_dir=tmp_path_factory.mktemp("go")) as srv:
        yield srv


@pytest.fixture(scope="module")
def token():
    return tokens.mint(tokens.Keyring.parse(TEST_TOKEN_SECRET), "q4-cfo", "ada@example.com")


def go(srv, query: str, method: str = "GET", ua: str = BROWSER):
    return srv.call(f"/go?{query}", method, headers={"User-Agent": ua})


def clicks(srv, tok):
    return [r for r in srv.landed("events") if r["type"] == "email_click" and r["token"] == tok]


def test_valid_click_redirects_with_the_token_and_is_recorded(go_app):
    # Its own lead: other tests click the shared token, in any order (pytest-randomly).
    token = tokens.mint(tokens.Keyring.parse(TEST_TOKEN_SECRET), "q4-cfo", "once@example.com")
    reply = go(go_app, f"i={token}&to=/pricing?plan=pro")
    assert reply.status == 302
    assert reply.headers["location"] == f"https://{SITE}/pricing?plan=pro&i={token}"
    assert reply.headers["cache-control"] == "no-store"
    rows = clicks(go_app, token)
    assert len(rows) == 1
    row = rows[0]
    assert row["token_valid"] is True
    assert row["data"] == {"to": "/pricing?plan=pro", "scanner": False, "scanner_reason": None}
    assert row["ip"] == "127.0.0.0" and row["event_id"] and row["received_at"]


def test_url_on_another_configured_host_is_allowed(go_app, token):
    reply = go(go_app, f"i={token}&to=" + quote("https://docs.site.example/guide"))
    assert reply.headers["location"] == f"https://docs.site.example/guide?i={token}"
    reply = go(go_app, f"i={token}&to=" + quote("http://127.0.0.1:8080/x"))
    assert reply.headers["location"] == f"http://127.0.0.1:8080/x?i={token}"


@pytest.mark.parametrize(
    "to",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(document.cookie)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "%2F%2Fevil.example",
        "/%2F%2Fevil.example",
        "%252F%252Fevil.example",
        "/%5Cevil.example",
        "https://www.site.example@evil.example/",
        "https://www.site.example.evil.example/",
        "http://www.site.example:8443/",
        "https:evil.example",
        "/\t/evil.example",
        "%09//evil.example",
        "java%0ascript:alert(1)",
    ],
)
def test_open_redirect_attempts_land_on_the_default_site(go_app, token, to):
    reply = go(go_app, f"i={token}&to={quote(to, safe='%')}")
    assert reply.status == 302
    assert reply.headers["location"] == f"https://{SITE}/?i={token}"


def test_invalid_token_still_redirects_and_is_recorded_as_invalid(go_app, token):
    forged = token[:-3] + ("000" if token[-3:] != "000" else "111")
    reply = go(go_app, f"i={forged}&to=/pricing")
    assert reply.status == 302
    assert reply.headers["location"] == f"https://{SITE}/pricing"  # no forged i= passed on
    rows = clicks(go_app, forged)
    assert len(rows) == 1 and rows[0]["token_valid"] is False


def test_no_token_redirects_to_the_site(go_app):
    reply = go(go_app, "")
    assert reply.status == 302 and reply.headers["location"] == f"https://{SITE}/"


@pytest.mark.parametrize(
    ("ua", "reason"),
    [
        ("Mozilla/4.0 (compatible; ms-office; MSOffice 16)", "scanner_user_agent"),
        ("Microsoft Office Existence Discovery", "scanner_user_agent"),
        ("Mozilla/5.0 (compatible; Proofpoint URL Defense)", "scanner_user_agent"),
        ("Mimecast-URL-Protect/1.0", "scanner_user_agent"),
        ("Barracuda Sentinel (EE)", "scanner_user_agent"),
        (
            "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 "
            "(via ggpht.com GoogleImageProxy)",
            "scanner_user_agent",
        ),
        ("", "no_user_agent"),
    ],
)
def test_link_scanner_clicks_are_flagged(tmp_path, go_app, ua, reason):
    tok = tokens.mint(tokens.Keyring.parse(TEST_TOKEN_SECRET), "scan", f"{reason}{len(ua)}@x.io")
    reply = go(go_app, f"i={tok}&to=/", ua=ua)
    assert reply.status == 302  # scanners get the same answer: nothing to learn from it
    row = clicks(go_app, tok)[0]
    assert row["data"]["scanner"] is True and row["data"]["scanner_reason"] == reason


def test_head_requests_are_scanners(go_app):
    tok = tokens.mint(tokens.Keyring.parse(TEST_TOKEN_SECRET), "scan", "head@x.io")
    reply = go(go_app, f"i={tok}", method="HEAD")
    assert reply.status == 302
    row = clicks(go_app, tok)[0]
    assert row["data"]["scanner_reason"] == "head_request"


def test_scanner_networks_are_flagged(tmp_path):
    # The server believes CF-Connecting-IP only with OIE_TRUSTED_PROXY=cloudflare.
    env = {"OIE_REDIRECT_HOSTS": SITE, "OIE_TRUSTED_PROXY": "cloudflare"}
    with start_ingest_app(env, data_dir=tmp_path) as srv:
        tok = tokens.mint(tokens.Keyring.parse(TEST_TOKEN_SECRET), "scan", "net@x.io")
        srv.call(
            f"/go?i={tok}",
            headers={"User-Agent": BROWSER, "CF-Connecting-IP": "40.94.12.34"},
        )  # Safe Links range
        row = clicks(srv, tok)[0]
    assert row["data"]["scanner"] is True and row["data"]["scanner_reason"] == "scanner_network"


def test_a_failing_sink_still_redirects(tmp_path, token):
    env = {"OIE_REDIRECT_HOSTS": SITE, "OIE_FAULT": "sink-raise"}
    with start_ingest_app(env, data_dir=tmp_path) as srv:
        reply = go(srv, f"i={token}&to=/pricing")
        assert reply.status == 302
        assert reply.headers["location"] == f"https://{SITE}/pricing?i={token}"


def test_the_recorded_click_is_scrubbed_but_the_redirect_is_not(go_app):
    token = tokens.mint(tokens.Keyring.parse(TEST_TOKEN_SECRET), "scrub", "grace@example.com")
    to = "/thanks?email=ada%40example.com&plan=pro"
    reply = go(go_app, f"i={token}&to={quote(to)}")
    assert reply.headers["location"].startswith(f"https://{SITE}/thanks?email=ada%40example.com")
    (row,) = clicks(go_app, token)
    assert row["data"]["to"] == "/thanks?plan=pro"
    assert "ada" not in row["url"]
