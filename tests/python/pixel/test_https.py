"""Over https (a TLS front with a throwaway CA, as a load balancer in production): the
collector's first-party cookie `_oie_svid` is `Secure; HttpOnly; SameSite=Lax` and brings
the visitor back when the pixel's own storage is gone, and the pixel's own `_oie_vid`
cookie is `Secure` there (docs/pixel.md "Identity")."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
import trustme
from playwright.sync_api import Browser

from oie.example_site import serve_example_site
from tests.python.helpers.chromium import DESKTOP_UA
from tests.python.helpers.servers import IngestServer, start_ingest_server
from tests.python.helpers.tls_proxy import tls_front
from tests.python.pixel.conftest import DIST
from tests.python.pixel.support import events_for, visitor_id, wait_for

NINETY_DAYS = 90 * 86400


class Https(NamedTuple):
    site: str  # https://localhost:<port>
    collector: str  # https://localhost:<port>
    srv: IngestServer  # the plain-HTTP collector behind the TLS front


@pytest.fixture(scope="module")
def https(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Https]:
    ca = trustme.CA()
    env = {"OIE_ALLOWED_ORIGINS": "https://localhost:*", "OIE_PIXEL_DIR": str(DIST)}
    data_dir: Path = tmp_path_factory.mktemp("https-collector")
    with start_ingest_server(data_dir=data_dir, env=env) as srv:
        collector_port = int(srv.url.rsplit(":", 1)[1])
        with tls_front(collector_port, ca) as collector_tls:
            collector = f"https://localhost:{collector_tls}"
            with serve_example_site("127.0.0.1", 0, collector) as site:
                site_port = int(site.url.rsplit(":", 1)[1])
                with tls_front(site_port, ca) as site_tls:
                    yield Https(f"https://localhost:{site_tls}", collector, srv)


def test_cookies_are_secure_and_the_server_cookie_restores_the_visitor(
    browser: Browser, https: Https
):
    site, collector, srv = https
    # The CA is throwaway: the browser is told to accept it, as it would a real certificate.
    ctx = browser.new_context(ignore_https_errors=True, user_agent=DESKTOP_UA)
    try:
        page = ctx.new_page()
        page.goto(site + "/pricing.html")
        assert page.evaluate("location.protocol + isSecureContext") == "https:true"
        vid = visitor_id(page)
        for i in range(5):  # a full batch leaves at once
            page.evaluate(f"oie('track', 'copy', {{chars: {i + 1}}})")
        wait_for(lambda: len(events_for(srv, vid, "copy")) == 5, what="the batch landed")

        def cookie(name: str) -> dict:
            found = [c for c in ctx.cookies() if c["name"] == name]
            return found[0] if found else {}

        server = wait_for(lambda: cookie("_oie_svid"), what="the collector's cookie")
        assert server["value"] == vid
        assert (server["secure"], server["httpOnly"], server["sameSite"]) == (True, True, "Lax")
        assert server["expires"] > time.time() + NINETY_DAYS - 3600
        own = cookie("_oie_vid")
        assert own["value"].split(".")[0] == vid
        assert (own["secure"], own["httpOnly"], own["sameSite"]) == (True, False, "Lax")

        # The pixel's own storage is wiped (Safari caps script-set storage at 7 days): the
        # next page starts as a stranger, and the collector's cookie brings the visitor back.
        page.evaluate("localStorage.clear()")
        ctx.clear_cookies(name="_oie_vid")
        page.goto(site + "/product.html")
        for i in range(5):
            page.evaluate(f"oie('track', 'copy', {{chars: {i + 10}}})")
        wait_for(
            lambda: (
                json.loads(page.evaluate("localStorage.getItem('_oie_visitor')") or "{}").get("v")
                == vid
            ),
            what="the visitor restored from _oie_svid",
        )
        assert cookie("_oie_svid")["value"] == vid
        assert collector.startswith("https://")
    finally:
        ctx.close()
