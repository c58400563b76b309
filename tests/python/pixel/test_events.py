"""Every event type of docs/design.md reaches the real server's landing files with its fields."""

from __future__ import annotations

import re

from playwright.sync_api import Page

from oie.example_site import ExampleSite
from tests.python.helpers.servers import IngestServer
from tests.python.pixel.support import (
    idle_chunk,
    pause_clock,
    run_idle,
    visitor_id,
    wait_events,
    wait_for,
)

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
BATCH_WAIT_MS = 10_500


def flush(page: Page) -> None:
    """Let the idle drain and the 10 s batch timer fire: each test pauses the page's clock
    (support.pause_clock), which run_for leaves paused."""
    page.clock.run_for(BATCH_WAIT_MS)


def open_page(page: Page, url: str) -> str:
    """Load a page on the paused clock and run the pixel's first idle drain: its visitor id."""
    page.goto(url)
    run_idle(page)
    return visitor_id(page)


# Records the events the page dispatched, from listeners added after the pixel's (capture,
# on window): once one is seen, the pixel's own listener has handled it.
HEARD = """() => { window.__heard = [];
for (const t of ['scroll', 'popstate', 'hashchange'])
  addEventListener(t, () => window.__heard.push([t, scrollY, location.href]), true); }"""


def heard(page: Page, kind: str) -> list[list]:
    return [h for h in page.evaluate("window.__heard") if h[0] == kind]


def by_type(events: list[dict], etype: str) -> list[dict]:
    return [e for e in events if e["type"] == etype]


def test_pageview_envelope_and_fields(page: Page, site: ExampleSite, collector: IngestServer):
    pause_clock(page)
    vid = open_page(page, site.url + "/pricing.html")
    flush(page)
    (pv,) = wait_events(collector, vid, "pageview")
    assert UUID_RE.match(pv["event_id"]) and UUID_RE.match(vid)
    assert UUID_RE.match(pv["client_session_id"])
    assert pv["url"] == site.url + "/pricing.html"
    assert pv["token"] is None
    assert pv["pixel_version"] == "1.0.0"
    assert isinstance(pv["ts"], int) and isinstance(pv["sent_at"], int)
    data = pv["data"]
    assert data["title"] == "Pricing · Acme Analytics"
    assert (data["viewport_w"], data["viewport_h"]) == (1000, 700)
    assert data["screen_w"] > 0 and data["screen_h"] > 0
    assert data["language"] and data["tz"]


def test_scroll_depth_milestones_once_each(page: Page, site: ExampleSite, collector: IngestServer):
    pause_clock(page)
    vid = open_page(page, site.url + "/pricing.html")
    page.wait_for_load_state("load")
    page.evaluate(HEARD)
    for y in (600, 1200, 1800, 99999, 0, 99999):  # down, back up, down again
        at = page.evaluate(f"window.scrollTo(0, {y}); scrollY")
        # The browser fires scroll on its next frame, not on the page's clock.
        wait_for(
            lambda at=at: [h[1] for h in heard(page, "scroll")][-1:] == [at],
            what=f"the scroll to {at} handled",
        )
        page.clock.run_for(300)  # the throttled (250 ms) depth check
    flush(page)
    depths = sorted(e["data"]["depth"] for e in wait_events(collector, vid, "scroll_depth", 5))
    assert depths == [25, 50, 75, 90, 100]


def test_clicks_roles_and_rage(page: Page, site: ExampleSite, collector: IngestServer):
    pause_clock(page)
    vid = open_page(page, site.url + "/")
    # Keep the page: the site's own handler cancels navigation (the pixel never does).
    page.evaluate("document.addEventListener('click', e => e.preventDefault())")
    page.click("#hero-cta")  # class="cta"
    page.click("header nav a[href='/pricing.html']")
    page.click("#tour")  # a <button>
    page.click("#learn-more")  # a plain link in <main>
    page.clock.run_for(2000)  # separate the rage burst from the clicks above
    for _ in range(3):
        page.mouse.click(300, 400)
    flush(page)
    clicks = {
        e["data"]["id"] or e["data"]["text"]: e["data"]
        for e in by_type(wait_events(collector, vid, "click", 4), "click")
    }
    assert clicks["hero-cta"]["role"] == "cta"
    assert clicks["hero-cta"]["href"] == site.url + "/pricing.html"
    assert clicks["hero-cta"]["tag"] == "a" and "cta" in clicks["hero-cta"]["classes"]
    assert clicks["hero-cta"]["text"] == "See pricing"
    assert clicks["Pricing"]["role"] == "nav"
    assert clicks["tour"]["role"] == "button" and clicks["tour"]["tag"] == "button"
    assert clicks["learn-more"]["role"] == "link"
    (rage,) = wait_events(collector, vid, "rage_click")
    assert rage["data"]["count"] == 3 and rage["data"]["x"] == 300 and rage["data"]["y"] == 400


def test_configurable_role_selectors(page: Page, site: ExampleSite, collector: IngestServer):
    """data-cta / data-nav on the site tag and data-oie-role on an element set the role."""
    pause_clock(page)

    # Set the tag's data- options as the parser inserts it (before the async script runs).
    page.add_init_script(
        """new MutationObserver((_, obs) => {
            const s = document.querySelector('script[src$="/oie.js"]');
            if (s) { s.dataset.cta = '#special'; s.dataset.nav = 'footer a'; obs.disconnect(); }
        }).observe(document, {childList: true, subtree: true});"""
    )
    vid = open_page(page, site.url + "/product.html")
    page.evaluate("document.addEventListener('click', e => e.preventDefault())")
    page.evaluate(
        """document.querySelector('main').insertAdjacentHTML('afterbegin',
            '<button id="special">Special</button>'
            + '<a id="forced" data-oie-role="cta" href="#x">Forced</a>')"""
    )
    page.click("#special")
    page.click("#forced")
    page.click("footer a")
    flush(page)
    roles = {e["data"]["text"]: e["data"]["role"] for e in wait_events(collector, vid, "click", 3)}
    assert roles == {"Special": "cta", "Forced": "cta", "Newsletter": "nav"}


def test_form_events(page: Page, site: ExampleSite, collector: IngestServer):
    page.goto(site.url + "/contact.html")
    vid = visitor_id(page)
    page.fill("input[name=email]", " Ada@Example.COM ")
    page.fill("input[name=name]", "Ada Lovelace")
    page.wait_for_function("window.__oieChunk")  # a person types slower than the chunk loads
    page.click("#contact-submit")
    page.wait_for_url("**/thanks.html")
    (start,) = wait_events(collector, vid, "form_start")
    assert start["data"] == {"form_id": "contact", "field": "email"}
    (submit,) = wait_events(collector, vid, "form_submit")
    assert submit["data"]["form_id"] == "contact"
    assert submit["data"]["fields"] == ["email", "name", "company", "message"]
    assert set(submit["data"]["hems"]) == {"sha256", "sha1", "md5"}


def test_video_events(page: Page, site: ExampleSite, collector: IngestServer):
    page.goto(site.url + "/product.html")
    vid = visitor_id(page)
    page.evaluate(
        """() => new Promise((resolve, reject) => {
            const v = document.getElementById('demo-video');
            v.playbackRate = 4;
            v.addEventListener('ended', () => resolve(), {once: true});
            v.play().catch(reject);
        })"""
    )
    page.evaluate("document.getElementById('demo-video').play()")
    page.evaluate("document.getElementById('demo-video').pause()")
    events = wait_events(collector, vid, "video", 7, timeout=20)
    actions = [(e["data"]["action"], e["data"]["percent"]) for e in events]
    # The first play loads the chunk, which reads the position when it arrives.
    assert any(a == "play" and p < 25 for a, p in actions)
    progress = sorted(p for a, p in actions if a == "progress")
    assert progress == [25, 50, 75]  # once each, even though the video played twice
    assert ("complete", 100) in actions
    assert sum(1 for a, _ in actions if a == "pause") >= 1
    assert all(e["data"]["src"] == site.url + "/media/demo.webm" for e in events)


def test_focus_copy_select_and_exit(page: Page, site: ExampleSite, collector: IngestServer):
    pause_clock(page)
    vid = open_page(page, site.url + "/")
    idle_chunk(page)  # focus, copy and selection are the idle chunk's
    page.evaluate(
        "addEventListener('selectionchange', () => window.__selSeen = 1, true)"
    )  # added after the chunk's listener: runs after it
    page.evaluate("window.dispatchEvent(new Event('blur'))")
    page.evaluate("window.dispatchEvent(new Event('focus'))")
    page.evaluate(
        """() => {
            const r = document.createRange();
            r.selectNodeContents(document.getElementById('quote'));
            getSelection().removeAllRanges();
            getSelection().addRange(r);
        }"""
    )
    chars = page.evaluate("String(getSelection()).length")
    # The chunk waits for the selection to be still for 1 s on the page's clock before
    # reporting text_select.
    wait_for(lambda: page.evaluate("window.__selSeen"), what="the selection seen")
    page.clock.run_for(1500)
    page.evaluate("document.dispatchEvent(new Event('copy'))")  # handled synchronously
    page.mouse.move(10, 10)  # 1.5 s after the page view
    page.clock.run_for(5000)
    page.mouse.move(20, 20)  # active: 5 s between two movements
    page.goto(site.url + "/thanks.html")  # page_exit by beacon on pagehide
    assert wait_events(collector, vid, "focus_lost") and wait_events(collector, vid, "focus_gained")
    (sel,) = wait_events(collector, vid, "text_select")
    assert sel["data"] == {"chars": chars}
    (copy,) = wait_events(collector, vid, "copy")
    assert copy["data"] == {"chars": chars}
    exits = [e for e in wait_events(collector, vid, "page_exit") if e["url"] == site.url + "/"]
    assert len(exits) == 1
    # The page's clock moved only in run_for: 1.5 s from the page view to the first
    # movement, then 5 s to the second; leaving adds nothing.
    assert exits[0]["data"]["active_ms"] == 6500
    assert exits[0]["data"]["max_depth"] > 0


def test_spa_navigations_are_pageviews(page: Page, site: ExampleSite, collector: IngestServer):
    pause_clock(page)
    vid = open_page(page, site.url + "/app.html")
    page.evaluate(HEARD)
    # Each view a second after the one before on the page's clock (ts orders them below).
    page.clock.run_for(1000)
    page.click("#to-leads")  # pushState
    page.clock.run_for(1000)
    page.click("#filter")  # replaceState with a new query
    page.clock.run_for(1000)
    page.go_back()  # popstate back to /app.html
    wait_for(lambda: heard(page, "popstate"), what="the popstate handled")
    page.evaluate("location.hash = '#section'")  # a fragment change is not a page view
    # hashchange comes after the fragment's popstate: the pixel has seen both.
    wait_for(lambda: heard(page, "hashchange"), what="the hashchange")
    flush(page)
    views = wait_events(collector, vid, "pageview", 4)
    urls = [e["url"] for e in sorted(views, key=lambda e: e["ts"])]
    base = site.url
    assert urls == [
        base + "/app.html",
        base + "/app/leads",
        base + "/app/leads?status=hot",
        base + "/app.html",
    ]
    refs = [e["referrer"] for e in sorted(views, key=lambda e: e["ts"])]
    assert refs[1:] == urls[:-1]
    # Each left view reported its page_exit.
    assert len(wait_events(collector, vid, "page_exit", 3)) >= 3


def test_custom_track_api_and_queue_stub(page: Page, site: ExampleSite, collector: IngestServer):
    """Calls made before the file loads (the queue stub) run once it loads."""
    pause_clock(page)
    page.add_init_script(
        "window.oie = window.oie || function () { (oie.q = oie.q || []).push(arguments) };"
        "oie('track', 'video', {src: 'https://youtube.example/v/1', action: 'play', percent: 0});"
    )
    vid = open_page(page, site.url + "/case-studies/acme.html")
    page.evaluate("oie('track', 'copy', {chars: 7})")
    flush(page)
    (video,) = wait_events(collector, vid, "video")
    assert video["data"]["src"] == "https://youtube.example/v/1"
    (copy,) = wait_events(collector, vid, "copy")
    assert copy["data"] == {"chars": 7}


def test_chunk_loads_lazily_at_the_first_focus_on_a_form(page: Page, site: ExampleSite):
    chunk: list[str] = []
    page.on("request", lambda r: chunk.append(r.url) if r.url.endswith("/oie-hash.js") else None)
    page.goto(site.url + "/contact.html")
    visitor_id(page)
    # Listeners added after the pixel's (capture, on document) run after them: once these
    # saw an event, the pixel has handled it, and a load of the chunk would have added its
    # <script> already (the request follows that element).
    page.evaluate(
        """() => { window.__heard = [];
        for (const t of ['focusin', 'click', 'selectionchange'])
          document.addEventListener(t, () => window.__heard.push(t), true); }"""
    )
    page.focus("#mail-link")  # focus outside a form
    page.click("h1")  # a click on text (an empty selection)
    wait_for(
        lambda: {"focusin", "click", "selectionchange"} <= set(page.evaluate("window.__heard")),
        what="the pixel's listeners to have seen the events",
    )
    assert page.evaluate("document.querySelectorAll('script[src$=\"/oie-hash.js\"]').length") == 0
    assert chunk == []
    page.focus("input[name=email]")
    wait_for(lambda: chunk, what="the hashing chunk")
    assert len(chunk) == 1


def test_a_field_filled_without_a_focus_loads_the_chunk(page: Page, site: ExampleSite):
    """A script or an autofill that types into a form without focusing it: its input events
    load the chunk, so a submit that navigates away right after still finds it there."""
    chunk: list[str] = []
    page.on("request", lambda r: chunk.append(r.url) if r.url.endswith("/oie-hash.js") else None)
    page.goto(site.url + "/contact.html")
    visitor_id(page)
    page.evaluate(
        """() => { const f = document.querySelector('input[name=email]');
        f.value = 'ada@example.com';
        f.dispatchEvent(new Event('input', {bubbles: true})); }"""
    )
    wait_for(lambda: chunk, what="the hashing chunk")
    assert page.evaluate("document.activeElement.name") != "email"
    assert len(chunk) == 1


def test_submit_before_the_chunk_arrives_is_still_reported(
    page: Page, site: ExampleSite, collector: IngestServer
):
    """The chunk blocked (or slower than the visitor): the submit is reported on leaving,
    with its form_id (the hashes need the chunk)."""
    page.route("**/oie-hash.js", lambda route: route.abort())
    page.goto(site.url + "/contact.html")
    vid = visitor_id(page)
    page.fill("input[name=email]", "ada@example.com")
    page.click("#contact-submit")
    page.wait_for_url("**/thanks.html")
    (submit,) = wait_events(collector, vid, "form_submit")
    assert submit["data"] == {"form_id": "contact"}
