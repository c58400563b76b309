"""One small driver interface over three browser engines, so each core scenario is written
once (scenarios.py) and runs in all of them:

- chromium: Debian's /usr/bin/chromium through Playwright's sync API (helpers/chromium.py);
- firefox: Debian's Firefox ESR through WebDriver BiDi by npm puppeteer-core, in a Node
  process spoken to in JSON lines (helpers/firefox.py);
- webkit: WebKitGTK's MiniBrowser through WebKitWebDriver by selenium, under Xvfb
  (helpers/webkit.py).

Input is the engine's own (mouse clicks at an element's centre, key presses), so the pixel
sees trusted events; scrolling is `scrollBy` everywhere (WebKitGTK's wheel stops at 500 px)
and a hidden tab is simulated (headless and virtual-display tabs stay visible).
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, ViewportSize
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.by import By

from tests.python.helpers import chromium
from tests.python.helpers.firefox import FirefoxBridge
from tests.python.helpers.webkit import launch_webkit

VIEWPORT: ViewportSize = {"width": 1000, "height": 700}
ENGINES = ("chromium", "firefox", "webkit")
# localStorage keys where the example site's `recorder` logs each pageshow and error.
PAGESHOW, ERRORS = "__oie_pageshow", "__oie_errors"

# Headless tabs stay visible: make the page report hidden and fire visibilitychange.
HIDE_PAGE = """(() => {
  Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
  Object.defineProperty(document, 'hidden', {value: true, configurable: true});
  document.dispatchEvent(new Event('visibilitychange'));
})()"""


def wait_until(fn: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Poll fn until it returns something truthy. An exception counts as "not yet" (a page
    between two documents cannot run a script) until the deadline, then it is raised."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = fn()
            error: Exception | None = None
        except Exception as exc:
            value, error = None, exc
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}") from error
        time.sleep(0.05)


class Driver(ABC):
    engine: str
    browser_family: str  # what the collector's user-agent parser calls it

    @abstractmethod
    def new_visitor(self, origin: str) -> None:
        """A browser with nothing stored for `origin` (cookies, local and session storage)."""

    @abstractmethod
    def goto(self, url: str) -> None:
        """Navigate and wait for the load event."""

    @abstractmethod
    def _history(self, delta: int) -> None:
        """Start the back (-1) or forward (+1) button's traversal; back() waits for the page."""

    @abstractmethod
    def click(self, selector: str, count: int = 1) -> None:
        """Mouse clicks (`count` in quick succession) at the centre of the first match."""

    @abstractmethod
    def type(self, selector: str, text: str) -> None:
        """Focus the field and press the keys of `text`."""

    @abstractmethod
    def move_mouse(self, x: int, y: int) -> None: ...

    @abstractmethod
    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (a promise is awaited) in the page."""

    @abstractmethod
    def close(self) -> None: ...

    # --- built on the above, the same for every engine ----------------------------------

    def back(self) -> None:
        self._traverse(-1)

    def forward(self) -> None:
        self._traverse(1)

    def _traverse(self, delta: int) -> None:
        """A page restored from the back/forward cache fires no load event, only pageshow:
        the test pages' recorder (the example site's `recorder`) stamps window.__shown."""
        before_url, before = self.evaluate("[location.href, Date.now()]")
        self._history(delta)
        wait_until(
            lambda: self.evaluate(
                f"location.href != {json.dumps(before_url)} && window.__shown >= {before}"
            ),
            what=f"the page after going {delta} in the history",
        )

    @property
    def url(self) -> str:
        return str(self.evaluate("location.href"))

    def wait_url(self, test: Callable[[str], bool], what: str) -> str:
        """Wait for a navigation: an address that passes `test`, its document loaded."""

        def arrived() -> str | None:
            url = self.evaluate("document.readyState == 'complete' && location.href")
            return url if url and test(url) else None

        return str(wait_until(arrived, what=what))

    def scroll_by(self, dy: int) -> int:
        """Scroll the window by dy px; the new scrollY."""
        return int(self.evaluate(f"(scrollBy(0, {int(dy)}), scrollY)"))

    def hide_page(self) -> None:
        self.evaluate(HIDE_PAGE)

    def recorded(self, key: str) -> list[Any]:
        """A list the example site's recorder keeps in localStorage (this origin)."""
        return list(json.loads(self.evaluate(f"localStorage.getItem({json.dumps(key)})") or "[]"))


class ChromiumDriver(Driver):
    engine = "chromium"
    browser_family = "Chrome"

    def __init__(self, playwright: Playwright) -> None:
        args = chromium.launch_args()
        # Playwright adds --disable-back-forward-cache to Chromium's switches; without it
        # Debian's Chromium may restore pages from the cache, as a visitor's does.
        self.browser: Browser = playwright.chromium.launch(
            **args, ignore_default_args=["--disable-back-forward-cache"]
        )
        self.context: BrowserContext | None = None
        self._page: Page | None = None

    @property
    def page(self) -> Page:
        assert self._page is not None, "new_visitor() first"
        return self._page

    def new_visitor(self, origin: str) -> None:
        if self.context is not None:
            self.context.close()
        self.context = self.browser.new_context(viewport=VIEWPORT)
        self._page = self.context.new_page()

    def goto(self, url: str) -> None:
        self.page.goto(url, wait_until="load")

    def _history(self, delta: int) -> None:
        # "commit": a restore from the back/forward cache fires no load event.
        if delta < 0:
            self.page.go_back(wait_until="commit")
        else:
            self.page.go_forward(wait_until="commit")

    def click(self, selector: str, count: int = 1) -> None:
        self.page.click(selector, click_count=count)

    def type(self, selector: str, text: str) -> None:
        self.page.locator(selector).press_sequentially(text)

    def move_mouse(self, x: int, y: int) -> None:
        self.page.mouse.move(x, y)

    def evaluate(self, expression: str) -> Any:
        return self.page.evaluate(f"(async () => ({expression}))()")

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
        self.browser.close()


class FirefoxDriver(Driver):
    engine = "firefox"
    browser_family = "Firefox"

    def __init__(self, log_path: Path) -> None:
        self.ff = FirefoxBridge.launch(log_path)

    def new_visitor(self, origin: str) -> None:
        self.ff.call("newPage", **VIEWPORT)  # a new browser context

    def goto(self, url: str) -> None:
        self.ff.call("goto", url=url)

    def _history(self, delta: int) -> None:
        self.ff.call("history", delta=delta)

    def click(self, selector: str, count: int = 1) -> None:
        self.ff.call("click", selector=selector, count=count)

    def type(self, selector: str, text: str) -> None:
        self.ff.call("type", selector=selector, text=text)

    def move_mouse(self, x: int, y: int) -> None:
        self.ff.call("move", x=x, y=y)

    def evaluate(self, expression: str) -> Any:
        return self.ff.call("evaluate", expression=expression)

    def close(self) -> None:
        self.ff.close()


class WebKitDriver(Driver):
    engine = "webkit"
    browser_family = "Safari"

    def __init__(self, display: str, log_path: Path) -> None:
        self.wd: webdriver.WebKitGTK = launch_webkit(display, log_path)
        self.wd.set_window_size(VIEWPORT["width"], VIEWPORT["height"])

    def new_visitor(self, origin: str) -> None:
        # One MiniBrowser for the module (a session costs ≈ 1.3 s): forget the visitor
        # instead. A tag-less page of the origin, so no pixel writes the stores back;
        # WebDriver's Delete All Cookies also deletes HttpOnly ones (the collector's
        # _oie_svid), and cookies ignore the port: the collector's go too.
        self.goto(origin + "/site.css")
        self.wd.delete_all_cookies()
        self.evaluate("(localStorage.clear(), sessionStorage.clear(), document.cookie)")

    def goto(self, url: str) -> None:
        self.wd.get(url)

    def _history(self, delta: int) -> None:
        if delta < 0:
            self.wd.back()
        else:
            self.wd.forward()

    def click(self, selector: str, count: int = 1) -> None:
        el = self.wd.find_element(By.CSS_SELECTOR, selector)
        if count == 1:
            el.click()
            return
        self.wd.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
        chain = ActionChains(self.wd, duration=0).move_to_element(el)
        for _ in range(count):
            chain = chain.click()
        chain.perform()

    def type(self, selector: str, text: str) -> None:
        self.wd.find_element(By.CSS_SELECTOR, selector).send_keys(text)

    def move_mouse(self, x: int, y: int) -> None:
        actions = ActionBuilder(self.wd, duration=0)
        actions.pointer_action.move_to_location(x, y)
        actions.perform()

    def evaluate(self, expression: str) -> Any:
        # execute_script does not await promises: the async form calls back with the value.
        answer = self.wd.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            f"Promise.resolve().then(() => ({expression}))"
            ".then(v => done({v: v === undefined ? null : v}),"
            " e => done({e: String(e && e.stack || e)}));"
        )
        if "e" in answer:
            raise RuntimeError(f"{expression}: {answer['e']}")
        return answer["v"]

    def close(self) -> None:
        self.wd.quit()
