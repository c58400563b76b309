"""`POST /track`: a batch of browser events (docs/ingest.md "POST /track", which lists the
order of checks this function keeps)."""

from __future__ import annotations

import json
import logging
import math
from functools import lru_cache
from typing import Any

import orjson

from ingest_function.consent import gpc
from ingest_function.context import Context
from ingest_function.cookie import (
    cookie_allowed,
    cookie_visitor_id,
    reached_over_https,
    set_cookie_header,
)
from ingest_function.cors import cors_headers, preflight, refusal_cors
from ingest_function.enrich import Client, ServerFields, resolve_client, server_fields
from ingest_function.origins import page_origin
from ingest_function.records import raw_event, rejected_body, rejected_event
from ingest_function.signature import signature_valid
from ingest_function.sinks.base import Batch, Unavailable
from ingest_function.sinks.delivery import deliver
from ingest_function.validate import Invalid, clean_event, clean_meta
from ingest_function.web import HttpRequest, HttpResponse, error, json_response

log = logging.getLogger("oie.ingest")

_CONTENT_TYPES = frozenset({"application/json", "text/plain"})
_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
_INVALID = object()
_I64_MIN, _U64_MAX = -(2**63), 2**64 - 1


def parse_json(body: bytes) -> Any:
    """orjson first (fast, depth-limited, strict); the stdlib parser only for what orjson
    refuses but JSON allows (lone-surrogate escapes, which the validator then replaces),
    held to orjson's number rules so both paths read the same document."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        # Decoded here, not by json.loads: given bytes it guesses UTF-16/32 and lets encoded
        # surrogates through. A UTF-8 byte order mark is ignored, as RFC 8259 allows.
        text = body.decode("utf-8-sig")
        return json.loads(
            text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_int
        )
    except (ValueError, RecursionError, OverflowError):
        return _INVALID


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400: orjson refuses what a double cannot hold
        raise ValueError("number out of range")
    return value


def _int(text: str) -> int | float:
    # orjson keeps integers of 64 bits (signed or unsigned) and reads wider ones as doubles;
    # float() raises OverflowError past the double range, which orjson refuses too.
    value = int(text)
    if _I64_MIN <= value <= _U64_MAX:
        return value
    return float(value)


@lru_cache(maxsize=64)
def _charset_ok(content_type: str) -> bool:
    """Only UTF-8 (or its subset US-ASCII) is read: a body in another charset would be
    decoded wrongly, not refused, by a UTF-8 parser."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        charset = value.strip().strip('"').strip().lower()
        if name.strip().lower() == "charset" and charset not in _CHARSETS:
            return False
    return True


def handle(ctx: Context, req: HttpRequest) -> HttpResponse:
    s = ctx.settings
    if req.method == "OPTIONS":
        return preflight(ctx.origins, req, "POST, OPTIONS")
    if req.method != "POST":
        return error(405, "method_not_allowed", "use POST", [("Allow", "POST, OPTIONS")])
    origin = page_origin(req.headers)
    origin_ok = ctx.origins.allowed(origin)
    cors = cors_headers(origin) if origin_ok else []
    signature = req.headers.get("X-OIE-Signature")
    if signature is None and not origin_ok:
        if not origin:
            return error(403, "missing_origin", "no Origin or Referer header")
        return error(
            403, "origin_not_allowed", "origin is not on the allow-list", refusal_cors(req)
        )

    if gpc(req):
        # Global Privacy Control: the person said no. Nothing is read, landed or set.
        return json_response(200, {"accepted": 0, "rejected": 0, "gpc": True}, cors)

    raw_type = req.headers.get("Content-Type") or ""
    content_type = raw_type.split(";", 1)[0].strip().lower()
    if content_type not in _CONTENT_TYPES:
        return error(415, "unsupported_media_type", "send application/json or text/plain", cors)
    if ";" in raw_type and not _charset_ok(raw_type):
        return error(415, "unsupported_charset", "send the body as UTF-8 (charset=utf-8)", cors)
    if req.content_length is not None and req.content_length > s.max_body_bytes:
        return error(413, "body_too_large", f"body over {s.max_body_bytes} bytes", cors)
    body = req.read_body(s.max_body_bytes + 1)
    if len(body) > s.max_body_bytes:
        return error(413, "body_too_large", f"body over {s.max_body_bytes} bytes", cors)

    signed = signature is not None
    if signature is not None and not signature_valid(signature, body, s.event_signing_secret):
        return error(403, "bad_signature", "X-OIE-Signature does not match the body")

    client = resolve_client(s.trusted_proxy, req.remote_addr, req.headers)
    # Signed server-to-server senders are authenticated: no per-IP budget for them.
    if not signed and not ctx.limiter.allow(client.ip):
        return error(
            429,
            "rate_limited",
            "too many requests from this address",
            [*cors, ("Retry-After", str(ctx.limiter.retry_after()))],
        )

    if not body:
        return error(400, "empty_body", "the body is empty", cors)
    doc = parse_json(body)
    if doc is _INVALID:
        _record_bad_body(ctx, req, client, body, "invalid_json: the body is not valid JSON (UTF-8)")
        return error(400, "invalid_json", "the body is not valid JSON (UTF-8)", cors)
    if not isinstance(doc, dict) or not isinstance(doc.get("events"), list):
        _record_bad_body(
            ctx, req, client, body, 'invalid_batch: not an object with an "events" list'
        )
        return error(400, "invalid_batch", 'expected an object with an "events" list', cors)
    raw_events = doc["events"]
    if len(raw_events) > s.max_batch_events:
        return error(
            413, "too_many_events", f"more than {s.max_batch_events} events in one batch", cors
        )

    server = _server_fields(ctx, req, client)
    cookie_ok = cookie_allowed(s, req, origin, signed)
    cookie_vid = cookie_visitor_id(req) if cookie_ok else None
    if cookie_vid and ctx.forgotten((cookie_vid,), None):
        cookie_vid, cookie_ok = None, False  # a forgotten visitor's cookie is not renewed
    events, rejected = build_events(ctx, raw_events, doc.get("meta"), server, cookie_vid)
    landed = _not_forgotten(ctx, events)
    if len(landed) != len(events):
        # Accepted (the pixel must not retry them) but landed nowhere: a rejected line would
        # keep the very identifiers that were erased.
        ctx.count_forgotten(len(events) - len(landed))
    primary, dead_letter = ctx.sinks()
    try:
        deliver(primary, dead_letter, Batch(landed, rejected, server.received_at))
    except Unavailable:
        return error(
            503,
            "unavailable",
            "events were not stored; retry later",
            [*cors, ("Retry-After", "5")],
        )

    payload: dict[str, Any] = {"accepted": len(events), "rejected": len(rejected)}
    headers = list(cors)
    svid = cookie_vid or (landed[0]["visitor_id"] if landed else None)
    if svid and cookie_ok:
        payload["vid"] = svid
        headers.append(set_cookie_header(svid, reached_over_https(s, req, origin)))
    return json_response(200, payload, headers)


def _not_forgotten(ctx: Context, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of no tombstoned visitor or token; a batch's events share their ids, so
    each distinct (visitor, browser's visitor, token) is checked once."""
    verdicts: dict[tuple[str | None, str | None, str | None], bool] = {}
    kept = []
    for e in events:
        ids = (e["visitor_id"], e["client_visitor_id"], e["token"])
        gone = verdicts.get(ids)
        if gone is None:
            gone = verdicts[ids] = ctx.forgotten(ids[:2], ids[2])
        if not gone:
            kept.append(e)
    return kept


def build_events(
    ctx: Context,
    raw_events: list[Any],
    meta: Any,
    server: ServerFields,
    cookie_vid: str | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(events, rejected) of one batch. Event time is corrected for the browser's clock
    skew (received_at - meta.sent_at) and must fall inside the accepted window."""
    s = ctx.settings
    sent_at, pixel_version = clean_meta(meta)
    received_ms = int(server.received_at * 1000)
    skew = received_ms - sent_at if sent_at is not None else 0
    oldest = received_ms - int(s.max_event_age_s * 1000)
    newest = received_ms + int(s.max_future_skew_s * 1000)
    events: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    for raw in raw_events:
        try:
            e = clean_event(raw)
            event_at = e["ts"] + skew
            if event_at < oldest:
                raise Invalid("too_old", "event time is older than OIE_MAX_EVENT_AGE")
            if event_at > newest:
                raise Invalid("in_future", "event time is in the future")
        except Invalid as exc:
            rejected.append(rejected_event(raw, str(exc), server))
            continue
        token = e["token"]
        if token is None:
            token_valid = False if e["token_shape_bad"] else None
        else:
            token_valid = ctx.verify_token(token)
        visitor_id = e["visitor_id"]
        client_visitor_id = None
        if cookie_vid and cookie_vid != visitor_id:
            # The browser lost its storage; the server's cookie still knows the visitor.
            visitor_id, client_visitor_id = cookie_vid, visitor_id
        events.append(
            raw_event(
                event_id=e["event_id"],
                type=e["type"],
                ts=e["ts"],
                sent_at=sent_at,
                event_at=event_at / 1000,
                visitor_id=visitor_id,
                client_visitor_id=client_visitor_id,
                client_session_id=e["session_id"],
                token=token,
                token_valid=token_valid,
                url=e["url"],
                referrer=e["referrer"],
                data=e["data"],
                pixel_version=pixel_version,
                server=server,
            )
        )
    return events, rejected


def _server_fields(ctx: Context, req: HttpRequest, client: Client) -> ServerFields:
    s = ctx.settings
    user_agent = req.headers.get("User-Agent") or ""
    network = ctx.networks.lookup(client.ip)
    return server_fields(ctx.clock(), user_agent, client, s.ip_mode, ctx.ip_key, network)


def _record_bad_body(
    ctx: Context, req: HttpRequest, client: Client, body: bytes, reason: str
) -> None:
    """A 400 body goes to the rejected stream too (first 4 KB): nothing vanishes silently,
    and a broken client shows up in the warehouse. Best effort: the answer is 400 whatever
    happens here."""
    server = _server_fields(ctx, req, client)
    primary, dead_letter = ctx.sinks()
    try:
        deliver(
            primary,
            dead_letter,
            Batch([], [rejected_body(body, reason, server)], server.received_at),
        )
    except Unavailable:
        log.warning("could not record a rejected body: sinks unavailable")
