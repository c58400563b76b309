"""`POST /optout`: the visitor said no (the pixel's `oie('optout')`). The collector expires
its HttpOnly `_oie_svid` cookie, which script cannot clear, and records tombstones for the
visitor ids it was given (the cookie's and the body's), so nothing of theirs lands again
and the warehouse drops what it has (docs/privacy.md). Allowed origins only."""

from __future__ import annotations

import json

from ingest_function.context import Context
from ingest_function.cookie import cookie_visitor_id, expire_cookie_header
from ingest_function.cors import cors_headers, preflight
from ingest_function.enrich import resolve_client
from ingest_function.origins import page_origin
from ingest_function.sinks.base import Batch, Unavailable
from ingest_function.sinks.delivery import deliver
from ingest_function.validate import ID_RE
from ingest_function.web import HttpRequest, HttpResponse, error, json_response
from oie_core import tombstones
from oie_core.settings import SettingsError

MAX_BODY = 1024  # a visitor id as text, or {"visitor_id": ...}


def handle(ctx: Context, req: HttpRequest) -> HttpResponse:
    if req.method == "OPTIONS":
        return preflight(ctx.origins, req, "POST, OPTIONS")
    if req.method != "POST":
        return error(405, "method_not_allowed", "use POST", [("Allow", "POST, OPTIONS")])
    origin = page_origin(req.headers)
    if not ctx.origins.allowed(origin):
        if not origin:
            return error(403, "missing_origin", "no Origin or Referer header")
        return error(403, "origin_not_allowed", "origin is not on the allow-list")
    cors = [*cors_headers(origin), expire_cookie_header(), ("Cache-Control", "no-store")]
    client = resolve_client(ctx.settings.trusted_proxy, req.remote_addr, req.headers)
    if not ctx.limiter.allow(client.ip):
        return error(429, "rate_limited", "too many requests from this address", cors)
    if req.content_length is not None and req.content_length > MAX_BODY:
        return error(413, "body_too_large", f"body over {MAX_BODY} bytes", cors)
    body = req.read_body(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return error(413, "body_too_large", f"body over {MAX_BODY} bytes", cors)
    visitors = sorted({v for v in (cookie_visitor_id(req), _body_visitor(body)) if v})
    if not visitors:
        return json_response(200, {"forgotten": 0}, cors)
    try:
        key = ctx.tombstone_key()
    except SettingsError as exc:
        return error(503, "not_configured", str(exc), cors)
    now = ctx.clock()
    records = tombstones.records(key, [("visitor", v) for v in visitors], now)
    primary, dead_letter = ctx.sinks()
    try:
        deliver(primary, dead_letter, Batch([], [], now, tombstones=records))
    except Unavailable:
        return error(503, "unavailable", "not recorded; retry later", [*cors, ("Retry-After", "5")])
    ctx.remember_tombstones(records)
    return json_response(200, {"forgotten": len(visitors)}, cors)


def _body_visitor(body: bytes) -> str | None:
    """The body is the visitor id as text (the pixel's beacon) or {"visitor_id": ...}."""
    text = body.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            return None
        value = doc.get("visitor_id") if isinstance(doc, dict) else None
        if not isinstance(value, str):
            return None
        text = value
    return text if ID_RE.match(text) else None
