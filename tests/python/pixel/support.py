"""Helpers shared by the pixel tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, Route

from tests.python.helpers.servers import IngestServer

TOKEN = "0Ab3dE5fG7h"  # shape-valid; its signature is checked by the server, not the pixel


def wait_for(fn: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll fn until it returns something truthy (tests never sleep a fixed time)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def wait_routed(page: Page, held: list[Route], what: str) -> Route:
    """The first request a test's route handler is holding (handler: `held.append`).
    Playwright hands routes to a sync handler only while the test is inside a Playwright
    call, so each poll makes one."""
    return wait_for(lambda: held[0] if held else page.evaluate("false"), what=what)


def pause_clock(target: Page | BrowserContext, at: datetime | None = None) -> None:
    """Fake timers that stay paused: nothing scheduled on the page's clock fires until the
    test runs the clock (page.clock.run_for, which leaves it paused), and Date.now() stands
    still in between, so a wait the pixel schedules is an exact number of ms and never races
    the machine's speed. Nothing here lets the clock flow again (no clock.resume).

    `at` is the instant the clock stands at (a literal, for a test that asserts on dates);
    by default about now. On a BrowserContext the clock is shared by all its pages: a
    run_for on one tab runs every tab's timers.

    Playwright's requestIdleCallback fires only when the fake clock decides the page is idle;
    it is removed, so the pixel uses its own fallback for browsers without it (Safari: a
    setTimeout 0), which run_idle fires."""
    # The installed clock runs until paused, and a clock only moves forward: install it a
    # minute before the instant and pause there. Harmless for the events: the server
    # corrects client clocks by meta.sent_at.
    start = at or datetime.now(UTC) + timedelta(minutes=1)
    target.clock.install(time=start - timedelta(minutes=1))
    target.clock.pause_at(start)
    target.add_init_script("delete window.requestIdleCallback")


def run_idle(page: Page) -> None:
    """Fire what is due now on a paused clock (the pixel's idle work), without moving it."""
    page.clock.run_for(0)


def wait_for_with_clock(
    page: Page, fn: Callable[[], Any], step_ms: int, what: str, timeout: float = 20.0
) -> Any:
    """wait_for, for a result the page reaches only as its paused clock moves (a retry after
    a backoff): each poll that finds nothing runs the clock step_ms further (run_for, so it
    stays paused). The page's time then moves in whole steps, set by the test."""

    def poll() -> Any:
        value = fn()
        if not value:
            page.clock.run_for(step_ms)
        return value

    return wait_for(poll, timeout, what)


def idle_chunk(page: Page) -> None:
    """Wait until the idle chunk (dist/oie-idle.js: focus, video, copy, selection, cursor
    and reading measures) has loaded and started; on a paused clock, run_idle first."""
    wait_for(lambda: page.evaluate("typeof window.__oieIdle == 'object'"), what="the idle chunk")


def visitor_id(page: Page) -> str:
    """The visitor id the pixel stored (waits for the idle-time identity write)."""
    raw = wait_for(
        lambda: page.evaluate("localStorage.getItem('_oie_visitor')"), what="_oie_visitor"
    )
    return str(json.loads(raw)["v"])


def events_for(
    srv: IngestServer, vid: str, etype: str | None = None, raw: bool = False
) -> list[dict[str, Any]]:
    """The landed events of one visitor. Landing is at-least-once (a retry whose first try
    did land lands again), so by default one line per event_id, like the events mart."""
    out: dict[str, dict[str, Any]] = {}
    lines = []
    for e in srv.landed("events"):
        if (e.get("visitor_id") == vid or e.get("client_visitor_id") == vid) and (
            etype is None or e["type"] == etype
        ):
            lines.append(e)
            out.setdefault(e["event_id"], e)
    return lines if raw else list(out.values())


def wait_events(
    srv: IngestServer,
    vid: str,
    etype: str | None = None,
    count: int = 1,
    timeout: float = 20.0,
) -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]] | None:
        evs = events_for(srv, vid, etype)
        return evs if len(evs) >= count else None

    return wait_for(enough, timeout, f"{count} {etype or 'any'} event(s) of {vid}")


# Records every fetch / sendBeacon call of the page (the pixel's network API calls) with
# body and status, kept in sessionStorage so the log survives navigations. Playwright's
# page.on("request") misses keepalive fetches and beacons sent while a page unloads.
_NET_SCRIPT = """(() => {
  const KEY = '__oie_net', corrupt = __CORRUPT__;
  let prev = [];
  try { prev = JSON.parse(sessionStorage.getItem(KEY) || '[]'); } catch (e) {}
  const cur = [];
  const save = () => {
    try { sessionStorage.setItem(KEY, JSON.stringify(prev.concat(cur))); } catch (e) {}
  };
  const f = window.fetch;
  window.fetch = function (input, init) {
    const r = {kind: 'fetch', url: String(input && input.url || input), t: Date.now(),
               method: (init && init.method) || 'GET',
               body: init && typeof init.body === 'string' ? init.body : null, status: null};
    if (r.method === 'POST' && r.url.endsWith('/track') && corrupt.length) {
      r.original = r.body; r.body = corrupt.shift(); init = Object.assign({}, init, {body: r.body});
    }
    cur.push(r); save();
    return f.call(this, input, init).then(
      (resp) => { r.status = resp.status; r.rt = Date.now(); save(); return resp; },
      (err) => { r.status = 'error'; save(); throw err; });
  };
  const b = navigator.sendBeacon;
  navigator.sendBeacon = function (url, data) {
    const r = {kind: 'beacon', url: String(url), method: 'POST',
               body: typeof data === 'string' ? data : null, status: null};
    cur.push(r); save();
    r.queued = b.call(navigator, url, data); save();  // false: the browser refused to send it
    return r.queued;
  };
})();"""


# Wraps the lazy chunk's API as the chunk installs it (window.__oieChunk = {...}) and logs
# each call in window.__calls: "personalize", or "handle:<event type>" for a forwarded event.
# A call is logged when the core makes it, so once an entry is there the chunk has acted.
CHUNK_SPY = """(() => {
  let chunk; window.__calls = [];
  Object.defineProperty(window, '__oieChunk', {configurable: true, get: () => chunk, set(c) {
    const {personalize, handle} = c;
    c.personalize = function () { window.__calls.push('personalize');
                                  return personalize.apply(this, arguments); };
    c.handle = function (e) { window.__calls.push('handle:' + e.type);
                              return handle.apply(this, arguments); };
    chunk = c;
  }});
})();"""


class TrackLog:
    """What the pixel handed to fetch/sendBeacon: every call, its body and its answer."""

    def __init__(self, page: Page, collector_url: str, corrupt: list[str] | None = None) -> None:
        self.page = page
        self.collector_url = collector_url
        page.add_init_script(_NET_SCRIPT.replace("__CORRUPT__", json.dumps(corrupt or [])))

    def calls(self) -> list[dict[str, Any]]:
        try:
            raw = self.page.evaluate("sessionStorage.getItem('__oie_net')")
        except Exception:  # the page is between documents: ask again
            time.sleep(0.1)
            raw = self.page.evaluate("sessionStorage.getItem('__oie_net')")
        return json.loads(raw or "[]")

    def track_calls(self) -> list[dict[str, Any]]:
        return [c for c in self.calls() if c["url"] == self.collector_url + "/track"]

    @property
    def requests(self) -> list[dict[str, Any]]:
        out = []
        for c in self.track_calls():
            try:
                out.append(json.loads(c["body"]))
            except (TypeError, ValueError):
                out.append({"unparsed": c["body"]})
        return out

    @property
    def bodies_raw(self) -> list[str]:
        return [c["body"] or "" for c in self.track_calls()]

    @property
    def statuses(self) -> list[Any]:
        return [c["status"] for c in self.track_calls() if c["status"] is not None]

    @property
    def all_urls(self) -> list[str]:
        return [c["url"] for c in self.calls()]

    def events(self) -> list[dict[str, Any]]:
        return [e for r in self.requests for e in r.get("events", [])]


def put_profile(data_dir: Path, vid: str, profile: dict[str, Any]) -> None:
    """Write a personalization profile into the local KV (contracts.md "Local KV")."""
    con = sqlite3.connect(data_dir / "kv.sqlite")
    try:
        con.execute(
            "CREATE TABLE IF NOT EXISTS kv"
            " (key TEXT PRIMARY KEY, value TEXT, expires_at INTEGER NULL)"
        )
        con.execute(
            "INSERT OR REPLACE INTO kv (key, value, expires_at) VALUES (?, ?, NULL)",
            (f"v:{vid}", json.dumps(profile)),
        )
        con.commit()
    finally:
        con.close()


def hide_page(page: Page) -> None:
    """Headless tabs stay visible: make the page report hidden and fire visibilitychange."""
    page.evaluate(
        """() => {
        Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
        Object.defineProperty(document, 'hidden', {value: true, configurable: true});
        document.dispatchEvent(new Event('visibilitychange'));
    }"""
    )
