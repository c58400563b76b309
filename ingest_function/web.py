"""Plain request/response values: main.py converts Flask objects into these and back, so the
service logic never touches a web framework and tests can call it in-process."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass
class HttpRequest:
    """One request. main.py passes a subclass whose query/cookies/scheme/host are computed
    only when an endpoint reads them (parsing them on every /track costs throughput)."""

    method: str
    path: str
    headers: Any  # case-insensitive .get(): werkzeug Headers / EnvironHeaders
    query: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)
    remote_addr: str | None = None
    scheme: str = "http"
    host: str = ""
    content_length: int | None = None
    read_body: Callable[[int], bytes] = lambda limit: b""


class BodyIncomplete(Exception):
    """`read_body`: the connection ended before the body its Content-Length announced."""


@dataclass
class HttpResponse:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def json_response(
    status: int, payload: Any, headers: list[tuple[str, str]] | None = None
) -> HttpResponse:
    extra = headers or []
    cache = [] if any(k == "Cache-Control" for k, _ in extra) else [("Cache-Control", "no-store")]
    return HttpResponse(
        status,
        orjson.dumps(payload),
        [
            ("Content-Type", "application/json"),
            *cache,
            ("X-Content-Type-Options", "nosniff"),
            *extra,
        ],
    )


def error(
    status: int, code: str, detail: str, headers: list[tuple[str, str]] | None = None
) -> HttpResponse:
    """Errors say what was wrong with the request: never a stack trace or a setting's value."""
    return json_response(status, {"error": code, "detail": detail}, headers)
