"""A slow pixel never holds the page back, proven by order rather than by a stopwatch: the
pixel's script is held at the network until the page has reached DOMContentLoaded and
painted, then released, and only then does the pixel run. How much time the tag costs is
measured by bench/pixel.py (with and without the tag, and with the pixel 1 s late)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Route

from oie.example_site import ExampleSite
from tests.python.helpers.servers import IngestServer
from tests.python.pixel.support import visitor_id, wait_for, wait_routed

# What the page had reached, and whether the pixel had run by then. Paint entries are read
# from the performance timeline, so they count whenever the page looks.
PROGRESS = """window.__dcl = null;
document.addEventListener('DOMContentLoaded', () => {
  window.__dcl = {pixel: window._oie === 1};
});"""
STATE = """() => ({
  dcl: window.__dcl,
  paints: performance.getEntriesByType('paint').map((e) => e.name).sort(),
  pixel: window._oie === 1,
  ready: document.readyState,
})"""


@pytest.mark.parametrize("path", ["/pricing.html", "/"])  # "/": a personalized page
def test_page_loads_and_paints_while_the_pixel_is_held(
    page: Page, site: ExampleSite, collector: IngestServer, path: str
):
    held: list[Route] = []
    page.route(collector.url + "/oie.js", lambda route: held.append(route))
    page.add_init_script(PROGRESS)
    page.goto(site.url + path, wait_until="commit")
    pixel = wait_routed(page, held, "the page's request for the pixel")

    def painted() -> dict | None:
        s = page.evaluate(STATE)
        return s if s["dcl"] and s["paints"] == ["first-contentful-paint", "first-paint"] else None

    # With the pixel still held: the document is parsed, DOMContentLoaded has fired and the
    # page has painted its content. A blocking tag would time out here.
    before = wait_for(painted, what="DOMContentLoaded and first paint with the pixel held")
    assert before["dcl"] == {"pixel": False}
    assert before["pixel"] is False
    # The gate is real: the load event waits for async scripts, so it has not fired.
    assert before["ready"] == "interactive"

    pixel.continue_()
    wait_for(lambda: page.evaluate(STATE)["pixel"], what="the pixel to run once released")
    visitor_id(page)  # and do its work
    wait_for(lambda: page.evaluate(STATE)["ready"] == "complete", what="the load event")
