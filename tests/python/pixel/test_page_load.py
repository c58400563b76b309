"""A slow pixel never holds the page back: with the pixel answering 1 s late, the example
page's domInteractive, DOMContentLoaded and first contentful paint stay where they are
without the tag at all (interleaved runs on the same machine, best runs compared)."""

from __future__ import annotations

import statistics
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from oie.example_site import ExampleSite, serve_example_site
from tests.python.helpers.servers import IngestServer

DELAY_S = 1.0
RUNS = 6

TIMINGS = """() => new Promise((resolve) => {
  const nav = performance.getEntriesByType('navigation')[0];
  const done = () => {
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    if (!fcp) return setTimeout(done, 20);
    resolve({dom_interactive: nav.domInteractive, dcl: nav.domContentLoadedEventEnd,
             fcp: fcp.startTime});
  };
  done();
})"""


@pytest.fixture(scope="module")
def sites(collector: IngestServer) -> Iterator[tuple[ExampleSite, ExampleSite]]:
    with (
        serve_example_site("127.0.0.1", 0, collector.url, pixel_delay_s=DELAY_S) as slow,
        serve_example_site("127.0.0.1", 0, collector.url, include_tag=False) as bare,
    ):
        yield slow, bare


def test_delayed_pixel_does_not_hold_back_the_page(
    browser: Browser, sites: tuple[ExampleSite, ExampleSite]
):
    slow, bare = sites
    with_pixel: dict[str, list[float]] = {"dom_interactive": [], "dcl": [], "fcp": []}
    without: dict[str, list[float]] = {"dom_interactive": [], "dcl": [], "fcp": []}
    load_with: list[float] = []
    for _ in range(RUNS):  # interleaved: machine noise hits both sides alike
        for site, out in ((slow, with_pixel), (bare, without)):
            page = browser.new_page()
            page.goto(site.url + "/pricing.html", wait_until="domcontentloaded")
            t = page.evaluate(TIMINGS)
            for k in out:
                out[k].append(t[k])
            if site is slow:
                # The delay is real: the load event (which waits for async scripts) and the
                # pixel's first run come after it.
                page.wait_for_function("window._oie === 1")  # the pixel ran
                load_with.append(
                    page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
                )
            page.close()
    assert statistics.median(load_with) >= DELAY_S * 1000
    for k in with_pixel:
        # Noise on a shared 2-core machine only ever adds time, so the best run of each side
        # is the stable estimate. A pixel that blocked would push every run past the 1 s
        # delay; allow 50 % + 150 ms of difference, and the typical run must stay under 1 s.
        best_with, best_without = min(with_pixel[k]), min(without[k])
        assert best_with <= best_without * 1.5 + 150, (k, with_pixel[k], without[k])
        assert statistics.median(with_pixel[k]) < DELAY_S * 1000, (k, with_pixel[k])
