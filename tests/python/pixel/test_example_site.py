"""oie/example_site.py: the example site's server (used by `oie serve` and these tests)."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from oie import example_site
from oie.example_site import serve_example_site
from tests.python.pixel.conftest import DIST

COLLECTOR = "http://127.0.0.1:9"  # never contacted: only written into the pages


def get(url: str, data: bytes | None = None) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, data=data, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, "", ""


def test_pages_carry_the_site_tag_pointing_at_the_collector():
    with serve_example_site("127.0.0.1", 0, COLLECTOR) as site:
        status, ctype, html = get(site.url + "/")
        assert status == 200 and ctype.startswith("text/html")
        assert (
            f'<script async src="{COLLECTOR}/oie.js" data-endpoint="{COLLECTOR}"></script>' in html
        )
        assert "collect.example" not in html
        for path in (
            "/pricing.html",
            "/case-studies/acme.html",
            "/product.html",
            "/contact.html",
            "/newsletter.html",
            "/app.html",
        ):
            assert f"{COLLECTOR}/oie.js" in get(site.url + path)[2], path


def test_routes_post_spa_and_traversal():
    with serve_example_site("127.0.0.1", 0, COLLECTOR) as site:
        status, _, html = get(site.url + "/thanks.html", data=b"email=ada%40example.com")
        assert status == 200 and "Thank you" in html and "ada" not in html
        assert "Dashboard" in get(site.url + "/app/leads")[2]  # SPA deep link
        assert get(site.url + "/../pyproject.toml")[0] == 404
        assert get(site.url + "/%2e%2e/pyproject.toml")[0] == 404
        assert get(site.url + "/media/demo.webm")[1] == "video/webm"


def test_without_tag_and_with_delayed_pixel(monkeypatch: pytest.MonkeyPatch):
    with serve_example_site("127.0.0.1", 0, COLLECTOR, include_tag=False) as bare:
        assert "oie.js" not in get(bare.url + "/")[2]

    # The delay is the server's sleep: the test holds it as a gate, so "the pixel is not
    # served before the delay is over" is checked by order, not with a stopwatch.
    asked: list[float] = []
    sleeping, wake = threading.Event(), threading.Event()

    def gate(seconds: float) -> None:
        asked.append(seconds)
        sleeping.set()
        wake.wait(60)

    monkeypatch.setattr(example_site, "time", SimpleNamespace(sleep=gate))
    with (
        serve_example_site("127.0.0.1", 0, COLLECTOR, pixel_delay_s=0.3) as slow,
        ThreadPoolExecutor(1) as pool,
    ):
        try:
            html = get(slow.url + "/")[2]
            assert f'src="/_pixel/oie.js" data-endpoint="{COLLECTOR}"' in html
            pending = pool.submit(get, slow.url + "/_pixel/oie.js")
            assert sleeping.wait(20), "the pixel was served without the delay"
            assert asked == [0.3]
            # Held in the delay: pages are still served meanwhile, the pixel is not.
            assert get(slow.url + "/pricing.html")[0] == 200
            assert not pending.done()
        finally:
            wake.set()
        status, _, js = pending.result(20)
        assert status == 200 and js == (DIST / "oie.js").read_text()
        assert get(slow.url + "/_pixel/oie-hash.js")[0] == 200
        assert asked == [0.3]  # only oie.js is delayed
        assert get(slow.url + "/_pixel/other.js")[0] == 404


def test_close_stops_serving():
    site = serve_example_site("127.0.0.1", 0, COLLECTOR)
    url = site.url
    site.close()
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/", timeout=2)
