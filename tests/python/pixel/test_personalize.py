"""Personalization from the local KV store through the real /personalize, without flicker.

The page's clock is paused (support.pause_clock): the pixel's 1 s anti-flicker deadline
passes only when a test runs the clock past it, so "in time" and "late" are decided by the
test, not by how fast this machine answers.
"""

from __future__ import annotations

import json

from playwright.sync_api import Page, Route

from oie.example_site import ExampleSite
from tests.python.helpers.servers import IngestServer
from tests.python.pixel.support import (
    CHUNK_SPY,
    pause_clock,
    put_profile,
    run_idle,
    visitor_id,
    wait_for,
    wait_routed,
)

# Samples what a reader could see at every change of the document, from its first node:
# the greeting's text while it is visible, and whether the "hot" block is displayed. A
# MutationObserver runs before the browser can render the change, so no rendered state is
# missed (and, unlike requestAnimationFrame, it does not stop with the paused clock). Also
# keeps the oie:profile event's detail.
OBSERVER = """
window.__seen = []; window.__hotShown = false;
document.addEventListener('oie:profile', (e) => { window.__profile = e.detail; window.__got = 1; });
new MutationObserver(() => {
  const el = document.querySelector('[data-personalize]');
  if (el && getComputedStyle(el).visibility !== 'hidden') {
    const t = el.textContent;
    if (window.__seen[window.__seen.length - 1] !== t) window.__seen.push(t);
  }
  const hot = document.getElementById('hot-offer');
  if (hot && getComputedStyle(hot).display !== 'none') window.__hotShown = true;
}).observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
"""

# The pixel's deadline and the site snippet's own fallback timer, on the page's clock.
DEADLINE_MS = 1000
SNIPPET_MS = 1500


def open_home(page: Page, site: ExampleSite) -> None:
    """Open the home page and let the pixel decide before its deadline (the paused clock
    does not reach it); then run the clock past both timers, so whatever they would still
    change has happened before the test looks."""
    page.add_init_script(OBSERVER)
    pause_clock(page)
    page.goto(site.url + "/")
    run_idle(page)  # identity, then the chunk and /personalize
    wait_for(lambda: page.evaluate("window.__got === 1"), what="oie:profile")
    # The pixel revealed the page itself on deciding (neither timer has run yet).
    assert not page.evaluate("document.documentElement.classList.contains('oie-pending')")
    page.clock.run_for(SNIPPET_MS)


def first_visit(page: Page, site: ExampleSite) -> str:
    """Open the home page once, unpaused, and return the visitor id once that page's own
    /personalize has answered: a test that then holds /personalize requests holds only the
    next page's, never this one's late request from a document already left."""
    with page.expect_response(lambda r: "/personalize" in r.url):
        page.goto(site.url + "/")
    return visitor_id(page)


def test_known_visitor_sees_their_first_name(
    page: Page, site: ExampleSite, collector: IngestServer
):
    vid = first_visit(page, site)
    put_profile(
        collector.data_dir,
        vid,
        {"first_name": "Ada", "company": "Analytical Engines", "engagement_level": "hot"},
    )
    open_home(page, site)
    assert page.text_content("#greeting") == "Hi Ada, see who is warming up."
    assert page.is_visible("#hot-offer")
    assert page.evaluate("window.__profile.first_name") == "Ada"
    # No flicker: the fallback was never on screen before the name.
    assert page.evaluate("window.__seen") == ["Ada"]


def test_a_first_visit_from_an_email_link_is_personalized_by_its_token(
    page: Page, site: ExampleSite, collector: IngestServer
):
    """A browser never seen before arrives with ?i=TOKEN: the pixel sends the token along
    (&i=), and the token's key (`t:`, written by the KV sync's own store) answers before any
    run has linked this visitor."""
    from kv_sync.clock import SystemClock
    from kv_sync.local import LocalKV
    from kv_sync.store import Entry

    token = "TkFirst0001"
    value = json.dumps({"first_name": "Ada", "company": "AE", "engagement_level": "hot"})
    LocalKV(collector.data_dir / "kv.sqlite", SystemClock()).put_many(
        [Entry(f"t:{token}", value, 3600, {"h": "0" * 32})]
    )
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/personalize" in r.url else None)
    page.add_init_script(OBSERVER)
    pause_clock(page)
    page.goto(site.url + "/?i=" + token)
    run_idle(page)
    wait_for(lambda: page.evaluate("window.__got === 1"), what="oie:profile")
    page.clock.run_for(SNIPPET_MS)
    assert page.text_content("#greeting") == "Hi Ada, see who is warming up."
    assert page.evaluate("window.__seen") == ["Ada"]
    vid = visitor_id(page)
    assert asked == [f"{collector.url}/personalize?vid={vid}&i={token}"]


def test_unknown_visitor_sees_the_fallback(page: Page, site: ExampleSite):
    open_home(page, site)
    assert page.text_content("#greeting") == "Hi there, see who is warming up."
    assert page.evaluate("window.__profile") is None
    assert page.evaluate("window.__seen") == ["there"]
    assert page.evaluate("window.__hotShown") is False
    assert not page.is_visible("#hot-offer")


def test_show_if_needs_a_matching_value(page: Page, site: ExampleSite, collector: IngestServer):
    vid = first_visit(page, site)
    put_profile(collector.data_dir, vid, {"first_name": "Grace", "engagement_level": "warm"})
    open_home(page, site)
    assert page.text_content("[data-personalize]") == "Grace"
    assert page.evaluate("window.__hotShown") is False  # never, not even for a frame


def test_late_profile_does_not_swap_visible_text(
    page: Page, site: ExampleSite, collector: IngestServer
):
    """A profile slower than the 1 s anti-flicker deadline is not applied: the reader keeps
    the fallback instead of seeing it change."""
    vid = first_visit(page, site)
    put_profile(collector.data_dir, vid, {"first_name": "Ada", "engagement_level": "hot"})
    held: list[Route] = []
    page.route(collector.url + "/personalize*", lambda route: held.append(route))
    page.add_init_script(OBSERVER)
    pause_clock(page)
    page.goto(site.url + "/")
    run_idle(page)
    wait_routed(page, held, "the /personalize request")
    assert page.evaluate("window.__seen") == []  # hidden while the pixel decides
    page.clock.run_for(DEADLINE_MS)  # the deadline passes on the page's clock, not the snippet's
    assert page.evaluate("window.__seen") == ["there"]  # the fallback, revealed by the pixel
    held[0].continue_()  # the profile arrives, late
    wait_for(lambda: page.evaluate("window.__got === 1"), what="oie:profile")
    assert page.evaluate("window.__profile.first_name") == "Ada"  # it did arrive
    page.clock.run_for(SNIPPET_MS)
    assert page.text_content("[data-personalize]") == "there"
    assert page.evaluate("window.__seen") == ["there"]
    assert page.evaluate("window.__hotShown") is False


def test_opt_out_while_the_chunk_loads_personalizes_nobody(page: Page, site: ExampleSite):
    """The visitor opts out after being identified but before the lazy chunk arrives: the
    chunk then finds no identity and must neither throw nor ask /personalize."""
    held: list[Route] = []
    page.route("**/oie-hash.js*", lambda route: held.append(route))
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/personalize" in r.url else None)
    page.add_init_script(CHUNK_SPY)
    page.goto(site.url + "/")
    visitor_id(page)
    wait_routed(page, held, "the chunk request")
    page.evaluate("oie('optout')")
    held[0].continue_()
    wait_for(lambda: page.evaluate("typeof window.__oieChunk === 'object'"), what="chunk")
    # A form's submit reaches the chunk through the same load promise, after the
    # personalization callback (registered first): once it is handled, that callback has run.
    page.evaluate(
        """() => document.body.appendChild(document.createElement('form'))
                   .dispatchEvent(new Event('submit', {bubbles: true}))"""
    )
    wait_for(lambda: page.evaluate("window.__calls"), what="the submit handled")
    assert page.evaluate("window.__calls") == ["handle:submit"]
    assert asked == []
    assert page.evaluate("localStorage.getItem('_oie_visitor')") is None


def test_a_chunk_that_never_arrives_keeps_the_fallback_and_throws_nothing(
    page: Page, site: ExampleSite
):
    """The chunk's load fails (the visitor left while it loaded, a blocker): the reader keeps
    the fallback, revealed at the deadline, and no rejection reaches the page (the autouse
    no_page_errors fixture fails the test on one, as a site's error tracker would see it)."""
    page.route("**/oie-hash.js*", lambda route: route.abort())
    page.add_init_script(OBSERVER)
    page.add_init_script(
        "addEventListener('error', (e) => { if (String(e.target.src).includes('oie-hash'))"
        " window.__chunkFailed = 1; }, true);"
        "addEventListener('unhandledrejection', () => { window.__rejections ="
        " (window.__rejections || 0) + 1; });"
    )
    pause_clock(page)
    page.goto(site.url + "/")
    run_idle(page)
    wait_for(lambda: page.evaluate("window.__chunkFailed === 1"), what="the failed chunk load")
    assert page.evaluate("window.__seen") == []  # hidden while the pixel decides
    page.clock.run_for(DEADLINE_MS)  # a task after the failure: a rejection was reported by now
    assert page.evaluate("window.__seen") == ["there"]
    assert page.evaluate("window.__rejections || 0") == 0
    assert page.evaluate("window.__got") is None  # no profile, and no event claiming one
