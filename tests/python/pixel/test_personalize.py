"""Personalization from the local KV store through the real /personalize, without flicker."""

from __future__ import annotations

import time

from playwright.sync_api import Page, Route

from oie.example_site import ExampleSite
from tests.python.helpers.servers import IngestServer
from tests.python.pixel.support import put_profile, visitor_id, wait_for

# Samples, on every animation frame from the first one, what a reader could see: the
# greeting's text while it is visible, and whether the "hot" block is displayed. Also keeps
# the oie:profile event's detail.
OBSERVER = """
window.__seen = []; window.__hotShown = false;
document.addEventListener('oie:profile', (e) => { window.__profile = e.detail; window.__got = 1; });
(function sample() {
  const el = document.querySelector('[data-personalize]');
  if (el && getComputedStyle(el).visibility !== 'hidden' && el.isConnected) {
    const t = el.textContent;
    if (window.__seen[window.__seen.length - 1] !== t) window.__seen.push(t);
  }
  const hot = document.getElementById('hot-offer');
  if (hot && getComputedStyle(hot).display !== 'none') window.__hotShown = true;
  requestAnimationFrame(sample);
})();
"""


def open_home(page: Page, site: ExampleSite) -> None:
    page.goto(site.url + "/")
    wait_for(lambda: page.evaluate("window.__got === 1"), what="oie:profile")
    page.wait_for_timeout(100)  # a few more frames after the decision


def test_known_visitor_sees_their_first_name(
    page: Page, site: ExampleSite, collector: IngestServer
):
    page.goto(site.url + "/")
    vid = visitor_id(page)
    put_profile(
        collector.data_dir,
        vid,
        {"first_name": "Ada", "company": "Analytical Engines", "engagement_level": "hot"},
    )
    page.add_init_script(OBSERVER)
    open_home(page, site)
    assert page.text_content("#greeting") == "Hi Ada, see who is warming up."
    assert page.is_visible("#hot-offer")
    assert page.evaluate("window.__profile.first_name") == "Ada"
    # No flicker: the fallback was never on screen before the name.
    assert page.evaluate("window.__seen") == ["Ada"]
    assert not page.evaluate("document.documentElement.classList.contains('oie-pending')")


def test_unknown_visitor_sees_the_fallback(page: Page, site: ExampleSite):
    page.add_init_script(OBSERVER)
    open_home(page, site)
    assert page.text_content("#greeting") == "Hi there, see who is warming up."
    assert page.evaluate("window.__profile") is None
    assert page.evaluate("window.__seen") == ["there"]
    assert page.evaluate("window.__hotShown") is False
    assert not page.is_visible("#hot-offer")


def test_show_if_needs_a_matching_value(page: Page, site: ExampleSite, collector: IngestServer):
    page.goto(site.url + "/")
    vid = visitor_id(page)
    put_profile(collector.data_dir, vid, {"first_name": "Grace", "engagement_level": "warm"})
    page.add_init_script(OBSERVER)
    open_home(page, site)
    assert page.text_content("[data-personalize]") == "Grace"
    assert page.evaluate("window.__hotShown") is False  # never, not even for a frame


def test_late_profile_does_not_swap_visible_text(
    page: Page, site: ExampleSite, collector: IngestServer
):
    """A profile slower than the 1 s anti-flicker deadline is not applied: the reader keeps
    the fallback instead of seeing it change."""
    page.goto(site.url + "/")
    vid = visitor_id(page)
    put_profile(collector.data_dir, vid, {"first_name": "Ada", "engagement_level": "hot"})

    def slow(route: Route) -> None:
        time.sleep(1.6)
        route.continue_()

    page.route(collector.url + "/personalize*", slow)
    page.add_init_script(OBSERVER)
    open_home(page, site)
    assert page.evaluate("window.__profile.first_name") == "Ada"  # it did arrive, late
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
    page.goto(site.url + "/")
    visitor_id(page)
    wait_for(lambda: held, what="the chunk request")
    page.evaluate("oie('optout')")
    held[0].continue_()
    wait_for(lambda: page.evaluate("typeof window.__oieChunk === 'object'"), what="chunk")
    page.wait_for_timeout(200)  # a chance for a wrong callback to run
    assert asked == []
    assert page.evaluate("localStorage.getItem('_oie_visitor')") is None
