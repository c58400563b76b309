"""The idle chunk's two measures of how a page is read, in real Chromium against the real
ingest server: cursor jitter (hesitation of the mouse) and reading velocity (words scrolled
past per minute), both reported in the page's page_exit (docs/pixel.md "Idle chunk").

Time is the page's paused clock (support.pause_clock): each scroll step happens an exact
number of milliseconds after the previous one, so the expected velocity is known."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page

from oie.example_site import ExampleSite
from tests.python.helpers.chromium import DESKTOP_UA
from tests.python.helpers.servers import IngestServer
from tests.python.pixel.support import (
    idle_chunk,
    pause_clock,
    run_idle,
    visitor_id,
    wait_events,
    wait_for,
)

ARTICLE = "/blog/reading-intent.html"
CURSOR_FIELDS = {"cursor_jitter", "cursor_reversals", "cursor_moves"}
STEP_MS = 500
# Listener added after the chunk's (capture, on window): once it counted a scroll, the
# chunk has seen it too.
COUNT_SCROLLS = (
    "addEventListener('scroll', () => window.__scrolls = (window.__scrolls || 0) + 1, true)"
)


def open_ready(page: Page, url: str) -> str:
    """Load a page on the paused clock, run the idle work, wait for the idle chunk."""
    page.goto(url)
    run_idle(page)
    vid = visitor_id(page)
    idle_chunk(page)
    return vid


def exit_data(page: Page, site: ExampleSite, collector: IngestServer, vid: str, url: str) -> Any:
    """Leave the page (page_exit by beacon on pagehide) and return that page_exit's data."""
    page.goto(site.url + "/thanks.html")
    exits = wait_events(collector, vid, "page_exit")
    (exit_,) = [e for e in exits if e["url"] == url]
    return exit_["data"]


def move_through(page: Page, points: list[tuple[int, int]], steps: int) -> None:
    for x, y in points:
        page.mouse.move(x, y, steps=steps)


def test_a_hesitant_pointer_scores_higher_than_a_straight_one(
    page: Page, browser: Browser, site: ExampleSite, collector: IngestServer
):
    pause_clock(page)
    url = site.url + "/pricing.html"
    vid = open_ready(page, url)
    page.mouse.move(100, 300)
    page.mouse.move(800, 300, steps=70)  # one straight sweep, 10 px per move
    straight = exit_data(page, site, collector, vid, url)

    other = browser.new_page(user_agent=DESKTOP_UA, viewport={"width": 1000, "height": 700})
    try:
        pause_clock(other)
        vid2 = open_ready(other, url)
        other.mouse.move(300, 300)
        # Back and forth over a price, drifting: 40 px on, 25 px back, twice per stop.
        path = []
        for i in range(12):
            x = 300 + 15 * i
            path += [(x + 40, 300 + (i % 3) * 6), (x + 15, 304)]
        move_through(other, path, steps=2)
        hesitant = exit_data(other, site, collector, vid2, url)
    finally:
        other.close()

    assert straight["cursor_moves"] >= 20
    assert straight["cursor_jitter"] < 5 and straight["cursor_reversals"] == 0
    assert hesitant["cursor_moves"] >= 20
    assert hesitant["cursor_reversals"] >= 10
    assert hesitant["cursor_jitter"] > 45
    assert hesitant["cursor_jitter"] > straight["cursor_jitter"] + 40


def test_a_touch_device_sends_no_cursor_measure(
    browser: Browser, site: ExampleSite, collector: IngestServer
):
    ctx = browser.new_context(
        user_agent=DESKTOP_UA,
        has_touch=True,
        is_mobile=True,
        viewport={"width": 400, "height": 800},
    )
    try:
        page = ctx.new_page()
        pause_clock(page)
        url = site.url + "/pricing.html"
        vid = open_ready(page, url)
        assert page.evaluate("matchMedia('(pointer: coarse)').matches")
        # Taps and moves on the page's blank spacer: a tap on the trial link would leave the
        # page at the first tap, before any of the pointer's moves.
        left, top = page.evaluate(
            "(() => { const r = document.querySelector('.tall').getBoundingClientRect();"
            " return [Math.ceil(r.left), Math.ceil(r.top)]; })()"
        )
        taps = [(left + 10 + 20 * i, top + 20 + (i % 2) * 40) for i in range(10)]
        moves = [(left + 150, top + 100), (left + 170, top + 100), (left + 155, top + 105)]
        assert max(y for _, y in taps + moves) < 800
        on_spacer = "([x, y]) => document.elementFromPoint(x, y).classList.contains('tall')"
        assert all(page.evaluate(on_spacer, list(point)) for point in taps + moves)
        for x, y in taps:
            page.touchscreen.tap(x, y)
        move_through(page, moves * 6, steps=2)
        assert page.url == url  # still on the page whose page_exit is read
        data = exit_data(page, site, collector, vid, url)
    finally:
        ctx.close()
    assert not CURSOR_FIELDS & set(data), data
    assert "active_ms" in data  # the page_exit itself is there


def test_reading_velocity_of_a_known_pace(page: Page, site: ExampleSite, collector: IngestServer):
    """An article scrolled at 600 words a minute (from its own word count and height)
    reports that pace within 20 %."""
    pause_clock(page)
    url = site.url + ARTICLE
    vid = open_ready(page, url)
    words, height = page.evaluate(
        """() => { const a = document.querySelector('article');
                   return [a.textContent.split(/\\s+/).filter(Boolean).length,
                           a.getBoundingClientRect().height]; }"""
    )
    assert words > 800  # the page is the article it claims to be
    target_wpm = 600
    px_per_step = target_wpm * (STEP_MS / 60_000) * height / words
    steps = 16
    assert px_per_step * steps < height - 700  # the whole run stays inside the article
    page.evaluate(COUNT_SCROLLS)
    for k in range(1, steps + 1):
        page.evaluate(f"scrollTo(0, {round(k * px_per_step)})")
        wait_for(lambda k=k: page.evaluate("window.__scrolls || 0") >= k, what=f"scroll {k}")
        page.clock.run_for(STEP_MS)
    data = exit_data(page, site, collector, vid, url)
    assert abs(data["reading_wpm"] - target_wpm) <= 0.2 * target_wpm, data


def test_a_page_left_idle_reports_no_reading_velocity(
    page: Page, site: ExampleSite, collector: IngestServer
):
    pause_clock(page)
    url = site.url + ARTICLE
    vid = open_ready(page, url)
    page.clock.run_for(20_000)
    data = exit_data(page, site, collector, vid, url)
    assert "reading_wpm" not in data and not CURSOR_FIELDS & set(data)
    assert "active_ms" in data
