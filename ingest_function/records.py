"""The two records the function lands, laid out once: an accepted event (`raw_event`, the
fields of `oie_core.raw_schema.RAW_EVENTS` in declaration order) and a rejected one
(`rejected_event`, `rejected_body`: RAW_REJECTED_EVENTS). /track and /go both build their
rows here, so a column added to the schema is added in one place."""

from __future__ import annotations

import json
import re
from typing import Any

from ingest_function.enrich import ServerFields
from ingest_function.scrub import cut, scrub_json_text, scrub_text, scrub_url
from ingest_function.validate import clean_str
from oie_core.landing import iso_ms

_SURROGATE = re.compile(r"[\ud800-\udfff]")
_URL_KEYS = frozenset({"url", "referrer", "href", "src"})
RAW_TEXT_CHARS = 4096
# Integers a double holds exactly (JavaScript's safe range, BigQuery JSON's lossless one).
SAFE_NUMBER = 2**53


def raw_event(
    *,
    event_id: str,
    type: str,
    ts: int,
    sent_at: int | None,
    event_at: float,
    visitor_id: str | None,
    client_visitor_id: str | None,
    client_session_id: str | None,
    token: str | None,
    token_valid: bool | None,
    url: str | None,
    referrer: str | None,
    data: Any,
    pixel_version: str | None,
    server: ServerFields,
) -> dict[str, Any]:
    """One `events` row. `event_at` is epoch seconds (already corrected for clock skew);
    the landing line keeps this key order, which is the raw table's column order."""
    return {
        "event_id": event_id,
        "type": type,
        "ts": ts,
        "sent_at": sent_at,
        "received_at": server.received_at_iso,
        "event_at": iso_ms(event_at),
        "visitor_id": visitor_id,
        "client_visitor_id": client_visitor_id,
        "client_session_id": client_session_id,
        "token": token,
        "token_valid": token_valid,
        "url": url,
        "referrer": referrer,
        "data": data,
        "pixel_version": pixel_version,
        "ip": server.ip,
        "user_agent": server.user_agent,
        "device": server.device,
        "browser": server.browser,
        "os": server.os,
        "is_bot": server.is_bot,
        "country": server.country,
        "region": server.region,
        "city": server.city,
        "asn": server.asn,
        "as_org": server.as_org,
        "ip_org": server.ip_org,
        "ip_domain": server.ip_domain,
        "ip_connection_type": server.ip_connection_type,
        "ip_user_type": server.ip_user_type,
    }


def rejected_event(raw: Any, reason: str, server: ServerFields) -> dict[str, Any]:
    """One `rejected` row for an event that failed validation: the original, made safe."""
    is_obj = isinstance(raw, dict)
    event_id = raw.get("event_id") if is_obj else None
    etype = raw.get("type") if is_obj else None
    return {
        "received_at": server.received_at_iso,
        "reason": reason,
        "stage": "track",
        "event_id": clean_str(event_id, 64) if isinstance(event_id, str) else None,
        "type": clean_str(etype, 40) if isinstance(etype, str) else None,
        "event": _safe_original(raw),
        "raw": None,
        "ip": server.ip,
        "user_agent": server.user_agent,
    }


def rejected_body(body: bytes, reason: str, server: ServerFields) -> dict[str, Any]:
    """One `rejected` row for a whole body answered 400: its first 4,096 characters,
    scrubbed, so a broken client shows up in the warehouse instead of vanishing. The whole
    body (at most OIE_MAX_BODY_BYTES) is masked before the cut, and read through its JSON
    escapes: it is JSON text, which whoever reads it will decode."""
    text = clean_str(body.decode("utf-8", errors="replace"), len(body), scrub=False)
    return {
        "received_at": server.received_at_iso,
        "reason": reason,
        "stage": "track",
        "event_id": None,
        "type": None,
        "event": None,
        "raw": cut(scrub_json_text(text), RAW_TEXT_CHARS),
        "ip": server.ip,
        "user_agent": server.user_agent,
    }


def rejected_delivery(
    summary: dict[str, Any], reason: str, received_at_iso: str, ip: str | None, user_agent: str
) -> dict[str, Any]:
    """One `rejected` row for an authentic webhook delivery that is no email event: what
    `email_events.rejected_summary` kept of it (never the address or the message)."""
    return {
        "received_at": received_at_iso,
        "reason": reason,
        "stage": "webhook",
        "event_id": None,
        "type": summary.get("event_type"),
        "event": summary,
        "raw": None,
        # The sender is the vendor's server, not a person: its address is kept whole.
        "ip": ip,
        "user_agent": user_agent[:512] or None,
    }


def _made_safe(value: Any, key: str | None = None) -> Any:
    """Make a rejected original safe to land: UTF-8 clean, and scrubbed like accepted events
    (URLs by the URL rule, every other string by the email mask): a rejected event must not
    become a back door for the addresses and form values we keep out of `events`. A number
    outside ±2^53 is kept as its text: as a number, readers would round it (or refuse it)."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            value = _SURROGATE.sub("\ufffd", value)
        return scrub_url(value) if key in _URL_KEYS else scrub_text(value)
    if isinstance(value, dict):
        return {
            _made_safe(k): _made_safe(v, k if isinstance(k, str) else None)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_made_safe(v) for v in value]
    if (type(value) is int or type(value) is float) and not -SAFE_NUMBER <= value <= SAFE_NUMBER:
        return str(value) if type(value) is int else repr(value)
    return value


def _safe_original(value: Any) -> Any:
    """The original event for the rejected stream: UTF-8 safe and at most ~16 KB."""
    try:
        clean = _made_safe(value)
        text = json.dumps(clean, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None
    if len(text) > 16384:
        return {"truncated": cut(text, 16384)}
    return clean
