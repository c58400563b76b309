"""`POST /webhooks/smartlead` and `POST /webhooks/instantly`: a sequencer tells us an email
was sent, opened, clicked, replied to, bounced or unsubscribed (docs/ingest.md "Email
webhooks").

Order of checks: POST only; an endpoint whose secret is not set answers 404 (never open);
JSON only (415); the body cap (413); who is calling (401): Instantly's `Authorization:
Bearer` header before the body is parsed, Smartlead's `secret_key` inside the body (and its
`X-Smartlead-Signature` HMAC when sent); then the event lands in the `email_events` stream
and the vendor gets 200. An authentic delivery we cannot use (unknown event, no address)
lands in `rejected` and still gets 200: the vendors retry non-2xx answers, and a retry
would not make it usable.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from ingest_function.context import Context
from ingest_function.email_events import Refused, email_event, rejected_summary
from ingest_function.endpoints.track import parse_json
from ingest_function.enrich import resolve_client
from ingest_function.records import rejected_delivery
from ingest_function.sinks.base import Batch, Unavailable
from ingest_function.sinks.delivery import deliver
from ingest_function.web import HttpRequest, HttpResponse, error, json_response
from oie_core.landing import iso_ms

# Sequencer payloads carry the whole message and reply thread (which is never kept): room
# for a long thread, still read with a cap.
MAX_BODY = 1024 * 1024
_JSON_TYPES = frozenset({"application/json"})


def smartlead(ctx: Context, req: HttpRequest) -> HttpResponse:
    return _handle(ctx, req, "smartlead", ctx.settings.smartlead_webhook_secret, _smartlead_auth)


def instantly(ctx: Context, req: HttpRequest) -> HttpResponse:
    return _handle(ctx, req, "instantly", ctx.settings.instantly_webhook_token, None)


def _handle(
    ctx: Context,
    req: HttpRequest,
    source: str,
    secret: str | None,
    body_auth: Callable[[str, bytes, Any, HttpRequest], HttpResponse | None] | None,
) -> HttpResponse:
    if not secret:
        return error(404, "not_found", "no such endpoint")
    if req.method != "POST":
        return error(405, "method_not_allowed", "use POST", [("Allow", "POST")])
    content_type = (req.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if content_type not in _JSON_TYPES:
        return error(415, "unsupported_media_type", "send application/json")
    if req.content_length is not None and req.content_length > MAX_BODY:
        return error(413, "body_too_large", f"body over {MAX_BODY} bytes")
    if body_auth is None and not _bearer_ok(req, secret):
        return error(401, "unauthorized", "missing or wrong Authorization: Bearer token")
    body = req.read_body(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return error(413, "body_too_large", f"body over {MAX_BODY} bytes")
    doc = parse_json(body) if body else None
    if not isinstance(doc, dict):
        return error(400, "invalid_json", "expected a JSON object")
    if body_auth is not None:
        refused = body_auth(secret, body, doc, req)
        if refused is not None:
            return refused

    now = ctx.clock()
    try:
        record = email_event(source, doc, now)
    except Refused as exc:
        return _land(ctx, Batch([], [_rejected(ctx, req, source, doc, str(exc), now)], now), 0)
    return _land(ctx, Batch([], [], now, email_events=[record]), 1)


def _land(ctx: Context, batch: Batch, accepted: int) -> HttpResponse:
    primary, dead_letter = ctx.sinks()
    try:
        deliver(primary, dead_letter, batch)
    except Unavailable:
        return error(503, "unavailable", "not stored; retry later", [("Retry-After", "5")])
    return json_response(200, {"accepted": accepted, "rejected": len(batch.rejected)})


def _bearer_ok(req: HttpRequest, token: str) -> bool:
    scheme, _, given = (req.headers.get("Authorization") or "").strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def _smartlead_auth(secret: str, body: bytes, doc: Any, req: HttpRequest) -> HttpResponse | None:
    """Smartlead puts the webhook's secret_key in the body; a signature header, when sent,
    must match the raw body too."""
    given = doc.get("secret_key")
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), secret.encode()):
        return error(401, "unauthorized", "missing or wrong secret_key")
    signature = req.headers.get("X-Smartlead-Signature")
    if signature is not None:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        scheme, _, digest = signature.strip().partition("=")
        if scheme.lower() != "sha256" or not hmac.compare_digest(
            digest.strip().lower().encode(), expected.encode()
        ):
            return error(401, "bad_signature", "X-Smartlead-Signature does not match the body")
    return None


def _rejected(
    ctx: Context, req: HttpRequest, source: str, doc: Any, reason: str, now: float
) -> dict[str, Any]:
    client = resolve_client(ctx.settings.trusted_proxy, req.remote_addr, req.headers)
    return rejected_delivery(
        rejected_summary(source, doc),
        reason,
        iso_ms(now),
        client.ip,
        req.headers.get("User-Agent") or "",
    )
