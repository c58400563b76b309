"""Identity, sessions, consent, GPC and opt-out, in real Chromium against the real server."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from playwright.sync_api import BrowserContext, Page

from oie.example_site import ExampleSite
from oie_core import tombstones
from tests.python.helpers.servers import IngestServer
from tests.python.pixel.support import (
    TOKEN,
    TrackLog,
    pause_clock,
    run_idle,
    visitor_id,
    wait_events,
    wait_for,
)

NINETY_DAYS_S = 90 * 86400
# Where the page's clock stands in the tests that assert on dates (any instant would do).
FIXED = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
FIXED_MS = int(FIXED.timestamp()) * 1000

# Logs every document.cookie write (the pixel's cookies are set from script).
COOKIE_WRITES = """(() => {
  const jar = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
  window.__cookieWrites = [];
  Object.defineProperty(Document.prototype, 'cookie', {configurable: true,
    get() { return jar.get.call(this); },
    set(v) { window.__cookieWrites.push(String(v)); jar.set.call(this, v); }});
})();"""


def stored(page: Page) -> dict:
    return json.loads(page.evaluate("localStorage.getItem('_oie_visitor')") or "null") or {}


def cookie(context: BrowserContext, name: str) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == name), None)


def wipe(page: Page, site: ExampleSite, local: bool = False, vid_cookie: bool = False) -> None:
    """Clear a store while no pixel runs (on leaving, the pixel writes both stores again):
    from a same-origin page without the tag."""
    page.goto(site.url + "/site.css")
    if local:
        page.evaluate("localStorage.clear()")
    if vid_cookie:
        page.context.clear_cookies(name="_oie_vid")


def test_token_is_persisted_and_stripped(
    page: Page, context: BrowserContext, site: ExampleSite, collector: IngestServer
):
    page.add_init_script(COOKIE_WRITES)
    pause_clock(page, at=FIXED)
    page.goto(f"{site.url}/pricing.html?utm_source=mail&i={TOKEN}#plans")
    # The pixel stores at idle time, which the paused clock has not reached. The browser
    # counts a cookie's max-age on its own clock, not on the page's fake one: two reference
    # cookies of the same lifetime, written just before and just after the pixel's, bracket
    # its expiry in the cookie store.
    page.evaluate(f"document.cookie = 'ref_before=1;path=/;max-age={NINETY_DAYS_S}'")
    run_idle(page)
    vid = visitor_id(page)
    page.evaluate(f"document.cookie = 'ref_after=1;path=/;max-age={NINETY_DAYS_S}'")
    assert page.url == f"{site.url}/pricing.html?utm_source=mail#plans"  # i= gone, rest kept
    assert stored(page)["t"] == TOKEN
    # 90 days after the (fake, standing) instant the pixel stored it.
    assert page.evaluate("Date.now()") == FIXED_MS
    assert stored(page)["x"] == FIXED_MS + NINETY_DAYS_S * 1000
    c = cookie(context, "_oie_vid")
    assert c is not None and c["value"] == f"{vid}.{TOKEN}"
    assert c["sameSite"] == "Lax" and c["secure"] is False  # Secure only on https
    (written,) = [w for w in page.evaluate("window.__cookieWrites") if w.startswith("_oie_vid=")]
    attrs = dict(a.strip().partition("=")[::2] for a in written.lower().split(";")[1:])
    assert attrs.get("max-age") == str(NINETY_DAYS_S) and "expires" not in attrs
    before, after = cookie(context, "ref_before"), cookie(context, "ref_after")
    assert before is not None and after is not None
    assert before["expires"] <= c["expires"] <= after["expires"]
    # The token rides on every event; the landed URL has no i=.
    page.goto(site.url + "/thanks.html")
    page.clock.run_for(11_000)  # this page's idle drain and 10 s batch timer
    pv = next(e for e in wait_events(collector, vid, "pageview", 2) if "pricing" in e["url"])
    assert pv["token"] == TOKEN and pv["url"] == f"{site.url}/pricing.html?utm_source=mail#plans"
    assert all(e["token"] == TOKEN for e in wait_events(collector, vid, "pageview", 2))


def test_bad_token_shape_is_ignored_but_stripped(page: Page, site: ExampleSite):
    page.goto(f"{site.url}/?i=not-a-token")
    visitor_id(page)
    assert page.url == site.url + "/"
    assert stored(page)["t"] is None


def test_identity_survives_reload_and_either_store_cleared(
    page: Page, context: BrowserContext, site: ExampleSite
):
    page.goto(f"{site.url}/?i={TOKEN}")
    vid = visitor_id(page)
    page.reload()
    assert visitor_id(page) == vid

    # localStorage cleared: the cookie restores it.
    wipe(page, site, local=True)
    page.goto(site.url + "/")
    assert visitor_id(page) == vid and stored(page)["t"] == TOKEN

    # Cookie cleared: localStorage restores it.
    wipe(page, site, vid_cookie=True)
    assert cookie(context, "_oie_vid") is None
    page.goto(site.url + "/")
    visitor_id(page)
    c = wait_for(lambda: cookie(context, "_oie_vid"), what="_oie_vid restored")
    assert c["value"] == f"{vid}.{TOKEN}"


def test_identity_with_localstorage_blocked(
    page: Page, context: BrowserContext, site: ExampleSite, collector: IngestServer
):
    """A browser that throws on localStorage: the cookie alone carries the visitor."""
    page.add_init_script(
        "Object.defineProperty(window, 'localStorage', "
        "{get() { throw new DOMException('blocked', 'SecurityError') }})"
    )
    log = TrackLog(page, collector.url)
    page.goto(f"{site.url}/?i={TOKEN}")
    first = wait_for(lambda: cookie(context, "_oie_vid"), what="_oie_vid")["value"]
    vid = first.split(".")[0]
    page.reload()
    # With the reloaded page's pageview, a batch of 5: it leaves at once. The drain that
    # stamps it with the visitor also rewrites the cookie, before the fetch is made.
    page.evaluate("for (let i = 1; i < 5; i++) oie('track', 'copy', {chars: i})")
    (batch,) = wait_for(
        lambda: [r for r in log.requests if any(e["type"] == "copy" for e in r["events"])],
        what="the reloaded page's batch",
    )
    assert {(e["visitor_id"], e["token"]) for e in batch["events"]} == {(vid, TOKEN)}
    assert cookie(context, "_oie_vid")["value"] == first


def test_session_rotates_after_30_minutes_and_is_shared_across_tabs(
    context: BrowserContext, site: ExampleSite, collector: IngestServer
):
    pause_clock(context)  # the context's clock: a run_for on either tab runs both tabs' timers
    tab1 = context.new_page()
    tab1.goto(site.url + "/")
    run_idle(tab1)
    vid = visitor_id(tab1)
    s1, l1 = stored(tab1)["s"], stored(tab1)["l"]
    tab1.clock.run_for(29 * 60_000)  # 29 min: still the same session
    tab2 = context.new_page()
    tab2.goto(site.url + "/pricing.html")
    run_idle(tab2)
    wait_for(lambda: stored(tab2)["l"] > l1, what="tab2's pageview stamped")
    assert stored(tab2)["l"] == l1 + 29 * 60_000
    tab1.clock.fast_forward(31 * 60_000)  # 31 min without an event: a new session
    tab1.evaluate("oie('track', 'copy', {chars: 3})")
    tab1.clock.run_for(11_000)  # the copy's drain and both tabs' 10 s batch timers
    events = wait_events(collector, vid, count=3)
    sessions = {
        e["type"] + ":" + e["url"].rsplit("/", 1)[-1]: e["client_session_id"] for e in events
    }
    assert sessions["pageview:"] == s1
    assert sessions["pageview:pricing.html"] == s1  # the other tab joined the same session
    assert sessions["copy:"] != s1
    assert stored(tab1)["s"] == sessions["copy:"]


def test_server_cookie_restores_visitor(
    page: Page, context: BrowserContext, site: ExampleSite, collector: IngestServer
):
    """Safari caps script-set storage at 7 days: the collector's HttpOnly first-party cookie
    (_oie_svid) restores the visitor id, and the pixel adopts it from /track's answer."""
    pause_clock(page)
    page.goto(site.url + "/")
    run_idle(page)
    vid = visitor_id(page)
    page.clock.run_for(10_000)  # the batch timer: /track answers with the server's cookie
    wait_for(lambda: cookie(context, "_oie_svid"), what="server cookie")
    assert cookie(context, "_oie_svid")["httpOnly"] is True
    # Safari's cap strikes: script storage gone, the server's cookie stays.
    wipe(page, site, local=True, vid_cookie=True)
    page.goto(site.url + "/")
    run_idle(page)
    new_vid = visitor_id(page)
    assert new_vid != vid
    page.clock.run_for(10_000)
    wait_for(lambda: stored(page).get("v") == vid, what="visitor id adopted from the server")
    assert cookie(context, "_oie_vid")["value"].startswith(vid)
    # What the server landed for the lost id was attributed to the restored one.
    restored = [e for e in wait_events(collector, vid, "pageview", 2) if e["client_visitor_id"]]
    assert restored and restored[0]["client_visitor_id"] == new_vid


def test_gpc_means_nothing_stored_or_sent(
    page: Page, context: BrowserContext, site: ExampleSite, collector: IngestServer
):
    page.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
    )
    log = TrackLog(page, collector.url)
    pause_clock(page)
    page.goto(f"{site.url}/?i={TOKEN}")
    page.click("#tour")
    # The pixel is there, and everything its clock would do has run inside run_for (idle
    # storage, the 10 s batch timer); fetch/sendBeacon calls are logged as they are made.
    assert page.evaluate("window._oie") == 1
    page.clock.run_for(15_000)
    page.goto(site.url + "/thanks.html")  # pagehide would flush (it has run by now)
    assert page.evaluate("window._oie") == 1
    page.clock.run_for(15_000)
    assert log.requests == []
    assert not any("/personalize" in u for u in log.all_urls)
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('_oie'))") == []
    assert [c["name"] for c in context.cookies() if c["name"].startswith("_oie")] == []


def _consent_required(page: Page) -> None:
    page.add_init_script(
        """new MutationObserver((_, obs) => {
            const s = document.querySelector('script[src$="/oie.js"]');
            if (s) { s.dataset.consent = 'required'; obs.disconnect(); }
        }).observe(document, {childList: true, subtree: true});"""
    )


def test_consent_mode_sends_nothing_before_consent(
    page: Page, context: BrowserContext, site: ExampleSite, collector: IngestServer
):
    _consent_required(page)
    log = TrackLog(page, collector.url)
    pause_clock(page)
    page.goto(f"{site.url}/?i={TOKEN}")
    page.click("#tour")
    # The pixel is there and its clock has run past every timer (see the GPC test); the
    # events it held are sent below, once consent is given.
    assert page.evaluate("window._oie") == 1
    page.clock.run_for(15_000)
    assert log.requests == []
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('_oie'))") == []
    assert [c["name"] for c in context.cookies() if c["name"].startswith("_oie")] == []
    # The site's consent banner says yes: what happened so far is sent, identity stored.
    page.evaluate("oieConsent(true)")
    vid = visitor_id(page)
    page.clock.run_for(10_000)  # the batch timer
    types = {e["type"] for e in wait_events(collector, vid, count=2)}
    assert {"pageview", "click"} <= types
    assert stored(page)["t"] == TOKEN


def test_consent_flag_set_before_the_tag(page: Page, site: ExampleSite, collector: IngestServer):
    _consent_required(page)
    page.add_init_script("window.oieConsent = true")
    page.goto(site.url + "/")
    vid = visitor_id(page)
    page.goto(site.url + "/thanks.html")
    assert wait_events(collector, vid, "pageview")


def test_optout_clears_identity_and_stops_tracking(
    page: Page, context: BrowserContext, site: ExampleSite, collector: IngestServer
):
    page.goto(f"{site.url}/?i={TOKEN}")
    vid = visitor_id(page)
    page.evaluate("localStorage.setItem('_oie_queue', '[]')")  # as if a batch waited
    page.evaluate("oie('optout')")
    # The collector was told (POST /optout): it records the visitor's tombstone, a keyed
    # hash under its own secret (docs/privacy.md), never the id itself.
    # The beacon is asynchronous, and the collector makes its secret when the first
    # tombstone arrives: the key is read once the file is there.
    secret = collector.data_dir / "tombstone_secret"
    wait_for(secret.exists, what="the collector's tombstone secret")
    wanted = tombstones.TombstoneKey(secret.read_text().strip()).hash("visitor", vid)
    wait_for(
        lambda: wanted in {r["key_hash"] for r in collector.landed("tombstones")},
        what="the visitor's tombstone",
    )
    assert vid not in json.dumps(collector.landed("tombstones"))
    assert page.evaluate("localStorage.getItem('_oie_visitor')") is None
    assert page.evaluate("localStorage.getItem('_oie_queue')") is None
    assert cookie(context, "_oie_vid") is None
    assert cookie(context, "_oie_optout")["value"] == "1"
    log = TrackLog(page, collector.url)
    pause_clock(page)
    for _ in range(2):  # the choice is remembered on later page loads
        page.goto(site.url + "/")
        page.click("#tour")
        # The pixel is there, and everything its clock would do has run: idle-time
        # storage, the 10 s batch timer, the 1 s personalization deadline.
        assert page.evaluate("window._oie") == 1
        page.clock.run_for(11_000)
        assert log.calls() == []  # fetch/sendBeacon calls are logged as they are made
        assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('_oie'))") == []
    page.goto(site.url + "/site.css")  # pagehide has run: a flush would be logged by now
    assert log.calls() == []
    assert cookie(context, "_oie_vid") is None
    # The same steps do see traffic once the opt-out cookie is gone (the log works).
    context.clear_cookies(name="_oie_optout")
    page.goto(site.url + "/thanks.html")
    page.clock.run_for(11_000)
    assert "pageview" in {e["type"] for e in log.events()}
