"""Fixtures and helpers for the ingest tests. A test talks to either the real server
(functions-framework subprocess, `server`) or the same app in-process (`app`, Flask's test
client over functions-framework's app for main.py): `call`/`track` take both."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.python.helpers.servers import IngestServer, Reply, http_call, start_ingest_server
from tests.python.ingest.inprocess import IngestApp, start_ingest_app

Target = IngestServer | IngestApp

ORIGIN = "http://127.0.0.1:5173"
HEADLESS_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/131.0.0.0 Safari/537.36"
)
DESKTOP_UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def now_ms() -> int:
    return int(time.time() * 1000)


def uid() -> str:
    return str(uuid.uuid4())


def make_event(**overrides: Any) -> dict[str, Any]:
    event = {
        "event_id": uid(),
        "type": "pageview",
        "ts": now_ms(),
        "visitor_id": "vis-" + uuid.uuid4().hex[:12],
        "session_id": "ses-" + uuid.uuid4().hex[:12],
        "token": None,
        "url": "http://127.0.0.1:5173/pricing",
        "referrer": "https://mail.google.com/",
        "data": {
            "title": "Pricing",
            "viewport_w": 1280,
            "viewport_h": 720,
            "screen_w": 1920,
            "screen_h": 1080,
            "language": "en-US",
            "tz": "Europe/Berlin",
        },
    }
    event.update(overrides)
    return event


def batch(*events: dict[str, Any], sent_at: int | None = None) -> bytes:
    return json.dumps(
        {"events": list(events), "meta": {"sent_at": sent_at or now_ms(), "pixel_version": "1.0.0"}}
    ).encode()


def call(
    srv: Target,
    path: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """One request with exactly these headers, to the real server or the in-process app."""
    if isinstance(srv, IngestApp):
        return srv.call(path, method, body, headers)
    return http_call(srv.url + path, method, body, headers)


def track(
    srv: Target,
    body: bytes,
    origin: str | None = ORIGIN,
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
) -> Reply:
    h = {"User-Agent": DESKTOP_UA}
    if origin:
        h["Origin"] = origin
    if content_type:
        h["Content-Type"] = content_type
    h.update(headers or {})
    return call(srv, "/track", "POST", body, h)


def landed_by_id(srv: Target, stream: str = "events") -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in srv.landed(stream):
        out.setdefault(row.get("event_id") or "", []).append(row)
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IngestServer]:
    """One default server per test module (start-up ≈ 1 s)."""
    with start_ingest_server(data_dir=tmp_path_factory.mktemp("ingest")) as srv:
        yield srv


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IngestApp]:
    """One default in-process app per test module."""
    with start_ingest_app(data_dir=tmp_path_factory.mktemp("ingest-app")) as ingest_app:
        yield ingest_app


def counts(reply: Reply) -> dict[str, int]:
    doc = reply.json()
    return {"accepted": doc["accepted"], "rejected": doc["rejected"]}
