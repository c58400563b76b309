"""The pixel's core, written once and run in Chromium, Firefox and WebKit (test_<engine>.py
each subclass CoreScenarios). Every assertion is on what landed at the real ingest server,
the same for every engine; the browser is driven with real input (drivers.py).

No fake clock here (only Playwright has one): waits are real and short, and a page's
events are flushed by leaving it (pagehide: one beacon) or by a full batch of 5.
"""

from __future__ import annotations

import collections
import json
import re
import time
from pathlib import Path

import pytest

from oie.example_site import ExampleSite, serve_example_site
from oie_core import tokens
from tests.python.engines.drivers import PAGESHOW, Driver, wait_until
from tests.python.helpers.servers import TEST_TOKEN_SECRET, IngestServer, start_ingest_server
from tests.python.pixel.conftest import DIST
from tests.python.pixel.support import events_for, wait_events

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# docs/design.md's test vector: the hashes of " Ada@Example.COM " (trimmed, lowercased).
VECTOR = {
    "sha256": "b5fc85e55755f9e0d030a10ab4429b6b2944855f9a0d60077fe832becbc41d72",
    "sha1": "3ca93ad87e0bb737e653b66ad67731e86bbc050f",
    "md5": "3e3417d7ef77d5932a6734b916515ed5",
}
CONTACT_FIELDS = ["email", "name", "company", "message"]


def visitor_id(drv: Driver) -> str:
    """The visitor id the pixel stored (it writes at idle time, after its start)."""
    raw = wait_until(lambda: drv.evaluate("localStorage.getItem('_oie_visitor')"), "_oie_visitor")
    return str(json.loads(raw)["v"])


def open_page(drv: Driver, url: str) -> str:
    """Load a page of the example site and wait for the pixel: its visitor id."""
    drv.goto(url)
    assert drv.evaluate("Array.isArray(window.__errors)"), "the example site's recorder is off"
    return visitor_id(drv)


def leave(drv: Driver, site: ExampleSite) -> None:
    """Leave the page for a same-origin one without the tag: pagehide, and the pixel sends
    what it holds in one beacon (page_exit included)."""
    drv.goto(site.url + "/site.css")


def landed_text(srv: IngestServer) -> str:
    """Every landing file of the collector (every stream), as text."""
    return "".join(p.read_text() for p in sorted(srv.landing_dir.rglob("*.ndjson*")) if p.is_file())


def chunk_loaded(drv: Driver) -> None:
    """A person types slower than the hashing chunk loads: wait for it as they would."""
    wait_until(lambda: drv.evaluate("!!window.__oieChunk"), "the hashing chunk")


class CoreScenarios:
    """Each test: `drv` is a fresh visitor in this module's engine."""

    def test_pageview(self, drv: Driver, site: ExampleSite, collector: IngestServer) -> None:
        vid = open_page(drv, site.url + "/pricing.html")
        viewport = drv.evaluate("[innerWidth, innerHeight]")
        leave(drv, site)
        (pv,) = wait_events(collector, vid, "pageview")
        assert UUID_RE.match(pv["event_id"]) and UUID_RE.match(vid)
        assert UUID_RE.match(pv["client_session_id"])
        assert pv["url"] == site.url + "/pricing.html"
        assert pv["token"] is None
        data = pv["data"]
        assert data["title"] == "Pricing · Acme Analytics"
        assert [data["viewport_w"], data["viewport_h"]] == viewport
        assert data["screen_w"] > 0 and data["screen_h"] > 0
        assert data["language"] and data["tz"]
        # The page_exit came by beacon at pagehide: the same agent, scored as a visitor.
        wait_events(collector, vid, "page_exit")
        events = events_for(collector, vid)
        assert {(e["browser"], e["device"], e["is_bot"]) for e in events} == {
            (drv.browser_family, "desktop", False)
        }

    def test_scroll_depth_milestones(
        self, drv: Driver, site: ExampleSite, collector: IngestServer
    ) -> None:
        vid = open_page(drv, site.url + "/pricing.html")
        bottom = drv.evaluate("document.documentElement.scrollHeight - innerHeight")
        assert bottom > 2000
        y = 0
        while y < bottom:  # down in steps, each seen by the pixel's 250 ms depth check
            y = drv.scroll_by(600)
            time.sleep(0.35)
        drv.scroll_by(-bottom)  # back up, and down again: no milestone twice
        time.sleep(0.35)
        drv.scroll_by(bottom)
        time.sleep(0.35)
        leave(drv, site)
        (exit_,) = wait_events(collector, vid, "page_exit")
        depths = sorted(e["data"]["depth"] for e in events_for(collector, vid, "scroll_depth"))
        assert depths == [25, 50, 75, 90, 100]
        assert exit_["data"]["max_depth"] == 100

    def test_clicks_and_roles(
        self, drv: Driver, site: ExampleSite, collector: IngestServer
    ) -> None:
        vid = open_page(drv, site.url + "/")
        # Keep the page: the site's own handler cancels navigation (the pixel never does).
        drv.evaluate("(document.addEventListener('click', e => e.preventDefault()), 0)")
        for selector in ("#hero-cta", "header nav a[href='/pricing.html']", "#tour", "#learn-more"):
            drv.click(selector)
        leave(drv, site)
        wait_events(collector, vid, "page_exit")
        clicks = {
            e["data"]["id"] or e["data"]["text"]: e["data"]
            for e in events_for(collector, vid, "click")
        }
        assert set(clicks) == {"hero-cta", "Pricing", "tour", "learn-more"}
        cta = clicks["hero-cta"]
        assert (cta["role"], cta["tag"], cta["text"]) == ("cta", "a", "See pricing")
        assert cta["href"] == site.url + "/pricing.html" and "cta" in cta["classes"]
        assert clicks["Pricing"]["role"] == "nav"
        assert (clicks["tour"]["role"], clicks["tour"]["tag"]) == ("button", "button")
        assert clicks["learn-more"]["role"] == "link"
        assert events_for(collector, vid, "rage_click") == []

    def test_form_submit_carries_hashes_never_the_email(
        self, drv: Driver, site: ExampleSite, collector: IngestServer
    ) -> None:
        vid = open_page(drv, site.url + "/contact.html")
        drv.type("input[name=email]", "Ada@Example.COM")
        drv.type("input[name=name]", "Ada Lovelace")
        chunk_loaded(drv)
        drv.click("#contact-submit")  # POST to /thanks.html
        drv.wait_url(lambda u: u == site.url + "/thanks.html", "the thanks page")
        visitor_id(drv)
        leave(drv, site)
        (start,) = wait_events(collector, vid, "form_start")
        assert start["data"] == {"form_id": "contact", "field": "email"}
        (submit,) = wait_events(collector, vid, "form_submit")
        assert submit["data"] == {"form_id": "contact", "fields": CONTACT_FIELDS, "hems": VECTOR}
        wait_events(collector, vid, "page_exit", 2)
        on_disk = landed_text(collector).lower()
        for secret in ("ada@example.com", "ada%40example.com", "lovelace"):
            assert secret not in on_disk, f"{secret!r} landed"

    def test_page_exit_with_active_time(
        self, drv: Driver, site: ExampleSite, collector: IngestServer
    ) -> None:
        started = time.monotonic()
        vid = open_page(drv, site.url + "/")
        drv.move_mouse(100, 100)
        time.sleep(1.0)
        drv.move_mouse(200, 200)
        time.sleep(0.5)
        drv.move_mouse(300, 300)
        drv.hide_page()  # the tab hidden: page_exit, by beacon, without leaving
        elapsed_ms = (time.monotonic() - started) * 1000
        (exit_,) = wait_events(collector, vid, "page_exit")
        # Active from the page view to the tab hidden (no gap over 30 s): at least the
        # 1.5 s between the first and the last movement, at most the whole visit.
        assert 1500 <= exit_["data"]["active_ms"] <= elapsed_ms
        assert 0 <= exit_["data"]["max_depth"] < 100  # the home page is taller than the view

    def test_identity_across_pages_and_email_token(
        self, drv: Driver, site: ExampleSite, collector: IngestServer
    ) -> None:
        keyring = tokens.Keyring.parse(TEST_TOKEN_SECRET)
        token = tokens.mint(keyring, "engines", f"{drv.engine}@example.com")
        vid = open_page(drv, f"{site.url}/pricing.html?utm_source=mail&i={token}#plans")
        first_url = f"{site.url}/pricing.html?utm_source=mail#plans"
        assert drv.url == first_url  # the token left the address bar, the rest stayed
        stored = json.loads(drv.evaluate("localStorage.getItem('_oie_visitor')"))
        assert stored["t"] == token
        assert f"_oie_vid={vid}.{token}" in drv.evaluate("document.cookie").split("; ")
        drv.click("#buy")  # a second page load, by a link
        drv.wait_url(lambda u: u == site.url + "/contact.html", "the contact page")
        assert visitor_id(drv) == vid
        leave(drv, site)
        wait_events(collector, vid, "page_exit", 2)
        views = sorted(events_for(collector, vid, "pageview"), key=lambda e: e["ts"])
        assert [e["url"] for e in views] == [first_url, site.url + "/contact.html"]
        # The browser's referrer (never a fragment): the address without the token.
        assert views[1]["referrer"] == first_url.removesuffix("#plans"), views[1]["referrer"]
        for e in events_for(collector, vid):
            assert e["visitor_id"] == vid and e["client_visitor_id"] is None
            assert (e["token"], e["token_valid"]) == (token, True)
        assert f"i={token}" not in landed_text(collector)

    def test_get_form_values_never_reach_a_url(
        self, drv: Driver, site: ExampleSite, collector: IngestServer
    ) -> None:
        vid = open_page(drv, site.url + "/newsletter.html")
        drv.type("input[name=email]", "Augusta.King@Example.org")
        drv.type("input[name=first_name]", "Augusta")
        chunk_loaded(drv)
        drv.click("#newsletter-submit")  # GET: the values are in the next page's address
        drv.wait_url(lambda u: u.startswith(site.url + "/thanks.html?"), "the thanks page")
        assert "augusta" in drv.url.lower()
        visitor_id(drv)
        drv.click("a[href='/']")  # this page view's referrer is the address with the values
        drv.wait_url(lambda u: u == site.url + "/", "the home page")
        visitor_id(drv)
        leave(drv, site)
        wait_events(collector, vid, "page_exit", 3)
        views = {e["url"]: e for e in events_for(collector, vid, "pageview")}
        assert set(views) == {site.url + p for p in ("/newsletter.html", "/thanks.html", "/")}
        assert views[site.url + "/"]["referrer"] == site.url + "/thanks.html"
        (submit,) = events_for(collector, vid, "form_submit")
        assert submit["data"]["form_id"] == "newsletter"
        assert set(submit["data"]["hems"]) == {"sha256", "sha1", "md5"}
        assert "augusta" not in landed_text(collector).lower()

    def test_retry_after_503_lands_each_event_once(self, drv: Driver, tmp_path: Path) -> None:
        env = {"OIE_FAULT": "sink-503-next-2", "OIE_PIXEL_DIR": str(DIST)}
        with (
            start_ingest_server(data_dir=tmp_path, env=env) as faulty,
            serve_example_site("127.0.0.1", 0, faulty.url, recorder=True) as fsite,
        ):
            vid = open_page(drv, fsite.url + "/case-studies/acme.html")
            drv.evaluate(
                "(() => { for (let i = 1; i < 5; i++) oie('track', 'copy', {chars: i}) })()"
            )
            # The batch of 5 leaves at once and is answered 503: kept in the retry queue
            # (retried after 1 s: 503 again; after 2 s more: accepted).
            queued = wait_until(
                lambda: json.loads(drv.evaluate("localStorage.getItem('_oie_queue')") or "[]"),
                "the refused batch in the retry queue",
            )
            ids = {e["event_id"] for e in queued}
            assert len(ids) == 5
            landed = wait_events(faulty, vid, count=5, timeout=30)
            assert {e["event_id"] for e in landed} == ids
            wait_until(
                lambda: drv.evaluate("localStorage.getItem('_oie_queue')") in (None, "[]"),
                "the retry queue emptied",
            )
            assert (tmp_path / "faults" / "sink-503-next-2.used").read_text() == "2"
            leave(drv, fsite)
            wait_events(faulty, vid, "page_exit")
            # Exactly once: each of the refused events landed one time, no duplicate.
            lines = collections.Counter(e["event_id"] for e in events_for(faulty, vid, raw=True))
            assert {i: lines[i] for i in ids} == dict.fromkeys(ids, 1)

    def test_triple_click_selecting_text_is_no_rage_click(
        self, drv: Driver, site: ExampleSite, collector: IngestServer
    ) -> None:
        vid = open_page(drv, site.url + "/")
        tour = drv.evaluate(
            "(r => [r.left, r.top, r.right, r.bottom])"
            "(document.getElementById('tour').getBoundingClientRect())"
        )
        drv.click("#tour", count=3)  # three quick clicks on a button: a rage click
        time.sleep(1.2)  # a new burst
        drv.click("#quote", count=3)  # a triple-click selects the paragraph
        assert "We doubled reply rates" in drv.evaluate("String(getSelection())")
        leave(drv, site)
        wait_events(collector, vid, "page_exit")
        rages = [e["data"] for e in events_for(collector, vid, "rage_click")]
        assert len(rages) == 1, f"one rage click (the button's) expected: {rages}"
        x, y = rages[0]["x"], rages[0]["y"]
        assert tour[0] <= x <= tour[2] and tour[1] <= y <= tour[3], (rages, tour)
        assert [e["data"]["id"] for e in events_for(collector, vid, "click")] == ["tour"] * 3

    @pytest.mark.parametrize("cacheable", [True, False], ids=["cacheable", "no-store"])
    def test_back_forward_cache(
        self, drv: Driver, collector: IngestServer, cacheable: bool
    ) -> None:
        """A -> B, back, forward: each shows one page view (A, B, A, B) and one page_exit.
        Cacheable pages are restored from the back/forward cache in all three engines; the
        example site's no-store pages only in WebKit (Chromium and Firefox load them again).
        The seconds A spends in the cache are not active time."""
        stay_s = 3.0
        with serve_example_site(
            "127.0.0.1", 0, collector.url, recorder=True, no_store=not cacheable
        ) as bsite:
            a, b = bsite.url + "/", bsite.url + "/case-studies/acme.html"
            started = time.monotonic()
            vid = open_page(drv, a)
            drv.move_mouse(50, 50)
            drv.click("#learn-more")
            drv.wait_url(lambda u: u == b, "page B")
            first_visit_s = time.monotonic() - started  # at most this long on A, then...
            visitor_id(drv)
            time.sleep(stay_s)  # ...on B, while A waits in the cache
            started = time.monotonic()
            drv.back()
            drv.move_mouse(60, 60)
            time.sleep(0.3)
            drv.forward()
            second_visit_s = time.monotonic() - started
            drv.move_mouse(70, 70)
            leave(drv, bsite)
            shows = drv.recorded(PAGESHOW)
        exits = wait_events(collector, vid, "page_exit", 4)
        views = sorted(events_for(collector, vid, "pageview"), key=lambda e: e["ts"])
        assert [e["url"] for e in views] == [a, b, a, b]
        assert sorted(e["url"] for e in exits) == sorted([a, a, b, b])
        assert len(events_for(collector, vid, "page_exit")) == 4
        assert [path for path, _ in shows] == ["/", "/case-studies/acme.html"] * 2
        restored = [persisted for _, persisted in shows[2:]]
        if cacheable or drv.engine == "webkit":
            assert restored == [True, True], f"not restored from the back/forward cache: {shows}"
        # Each of A's page views counts its own time at most, never the seconds on B.
        a_exits = sorted((e for e in exits if e["url"] == a), key=lambda e: e["ts"])
        a_active = [e["data"]["active_ms"] for e in a_exits]
        limits = [first_visit_s * 1000, second_visit_s * 1000]
        assert all(ms <= limit for ms, limit in zip(a_active, limits, strict=True)), (
            f"A's active_ms {a_active}, time on A at most {limits} (and {stay_s} s on B)"
        )
