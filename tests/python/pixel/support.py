"""Helpers shared by the pixel tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from tests.python.helpers.servers import IngestServer

TOKEN = "0Ab3dE5fG7h"  # shape-valid; its signature is checked by the server, not the pixel


def wait_for(fn: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll fn until it returns something truthy (tests never sleep a fixed time)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def visitor_id(page: Page) -> str:
    """The visitor id the pixel stored (waits for the idle-time identity write)."""
    raw = wait_for(
        lambda: page.evaluate("localStorage.getItem('_oie_visitor')"), what="_oie_visitor"
    )
    return str(json.loads(raw)["v"])


def events_for(srv: IngestServer, vid: str, etype: str | None = None) -> list[dict[str, Any]]:
    return [
        e
        for e in srv.landed("events")
        if (e.get("visitor_id") == vid or e.get("client_visitor_id") == vid)
        and (etype is None or e["type"] == etype)
    ]


def wait_events(
    srv: IngestServer,
    vid: str,
    etype: str | None = None,
    count: int = 1,
    timeout: float = 10.0,
) -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]] | None:
        evs = events_for(srv, vid, etype)
        return evs if len(evs) >= count else None

    return wait_for(enough, timeout, f"{count} {etype or 'any'} event(s) of {vid}")


class TrackLog:
    """Every POST /track the page made: its body (parsed) and the status it got."""

    def __init__(self, page: Page, collector_url: str) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.bodies_raw: list[str] = []
        self.content_types: list[str] = []
        self.all_urls: list[str] = []
        page.on("request", self._on_request)
        page.on("response", self._on_response)
        self.collector_url = collector_url

    def _on_request(self, req: Any) -> None:
        self.all_urls.append(req.url)
        if req.url.startswith(self.collector_url + "/track") and req.method == "POST":
            body = req.post_data or ""
            self.bodies_raw.append(body)
            self.content_types.append(req.headers.get("content-type", ""))
            try:
                self.requests.append(json.loads(body))
            except ValueError:
                self.requests.append({"unparsed": body})

    def _on_response(self, resp: Any) -> None:
        if resp.url.startswith(self.collector_url + "/track"):
            self.statuses.append(resp.status)

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
