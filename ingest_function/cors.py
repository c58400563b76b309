"""CORS answers: the headers an allowed origin gets, and the preflight (OPTIONS) reply."""

from __future__ import annotations

from ingest_function.origins import OriginPolicy, page_origin
from ingest_function.web import HttpRequest, HttpResponse, error


def cors_headers(origin: str | None) -> list[tuple[str, str]]:
    """Echo an (already allowed) origin with credentials: the first-party cookie travels
    only on credentialed requests, and those need the exact origin, never `*`."""
    if not origin:
        return []
    return [
        ("Access-Control-Allow-Origin", origin),
        ("Vary", "Origin"),
        ("Access-Control-Allow-Credentials", "true"),
    ]


def refusal_cors(req: HttpRequest) -> list[tuple[str, str]]:
    """The headers that let a refused page read its refusal. Without them the browser
    reports a network error, and the pixel keeps retrying a batch that will never be
    accepted; with them it sees the 403 and drops the batch. Only the error body is
    exposed: nothing is read, landed or set for that origin."""
    return cors_headers(page_origin(req.headers) if req.headers.get("Origin") else None)


def cors_for(origins: OriginPolicy, req: HttpRequest) -> list[tuple[str, str]]:
    """The CORS headers for this request's page origin, or none when it is not allowed."""
    origin = page_origin(req.headers)
    return cors_headers(origin) if origins.allowed(origin) else []


def preflight(origins: OriginPolicy, req: HttpRequest, methods: str) -> HttpResponse:
    origin = page_origin(req.headers) if req.headers.get("Origin") else None
    if not origins.allowed(origin):
        return error(403, "origin_not_allowed", "origin is not on the allow-list")
    return HttpResponse(
        204,
        b"",
        [
            *cors_headers(origin),
            ("Access-Control-Allow-Methods", methods),
            ("Access-Control-Allow-Headers", "Content-Type, X-OIE-Signature"),
            ("Access-Control-Max-Age", "86400"),
        ],
    )
