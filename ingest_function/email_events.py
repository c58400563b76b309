"""Sequencer webhooks (Smartlead, Instantly) read into `email_events` rows: what happened to
which email of which campaign, never the message, the reply or the address.

The vendors' own pages disagree on names (Smartlead documents `event_type` + `to_email` +
`time_*` in one place and `event` + `lead.email` + `timestamp` in another), so every alias
is accepted. What is kept is the `RAW_EMAIL_EVENTS` row (oie_core/raw_schema.py); the
address only as its sha256 by the one email rule (oie_core/hashing.py).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from oie_core.hashing import email_sha256
from oie_core.landing import iso_ms

SOURCES = ("smartlead", "instantly")
EVENTS = ("sent", "open", "click", "reply", "auto_reply", "bounce", "unsubscribe", "status")

SMARTLEAD_EVENTS: dict[str, str] = {
    "EMAIL_SENT": "sent",
    "FIRST_EMAIL_SENT": "sent",
    "EMAIL_OPEN": "open",
    "EMAIL_OPENED": "open",
    "EMAIL_LINK_CLICK": "click",
    "EMAIL_CLICKED": "click",
    "LINK_CLICKED": "click",
    "EMAIL_REPLY": "reply",
    "EMAIL_REPLIED": "reply",
    "EMAIL_BOUNCE": "bounce",
    "EMAIL_BOUNCED": "bounce",
    "LEAD_UNSUBSCRIBED": "unsubscribe",
    "EMAIL_UNSUBSCRIBED": "unsubscribe",
    "LEAD_CATEGORY_UPDATED": "status",
}
INSTANTLY_EVENTS: dict[str, str] = {
    "email_sent": "sent",
    "email_opened": "open",
    "link_clicked": "click",
    "email_link_clicked": "click",
    "reply_received": "reply",
    # An out-of-office or other machine answer: kept so the timeline is whole, never scored.
    "auto_reply_received": "auto_reply",
    "email_bounced": "bounce",
    "lead_unsubscribed": "unsubscribe",
    "lead_interested": "status",
    "lead_not_interested": "status",
    "lead_meeting_booked": "status",
    "lead_out_of_office": "status",
    "lead_wrong_person": "status",
}
# The vendor's ids of one delivery, in the order they are joined into the event id: a
# retry of the same delivery repeats them, a different email or open does not.
_VENDOR_IDS = {
    "smartlead": ("stats_id", "message_id", "sl_email_lead_map_id", "sl_email_lead_id", "lead_id"),
    "instantly": ("email_id", "workspace", "campaign_id"),
}
_NAMESPACE = uuid.UUID("6f1c1f0e-3b0a-5d7e-9a53-2f4d0c8e7b11")
_MAX_TEXT = 200
_EMAIL_RE = re.compile(r"^[^@\s]{1,200}@[^@\s]{1,253}$")


class Refused(ValueError):
    """A delivery that is authentic but cannot be an email event: `reason` goes to the
    rejected stream (`code: text`) and the vendor still gets its 200."""

    def __init__(self, code: str, text: str, vendor_event: str | None = None) -> None:
        super().__init__(f"{code}: {text}")
        self.vendor_event = vendor_event


def email_event(source: str, doc: Mapping[str, Any], received_at: float) -> dict[str, Any]:
    """One `email_events` row from a vendor's webhook body, or Refused."""
    if source == "smartlead":
        vendor_event = _text(doc.get("event_type")) or _text(doc.get("event"))
        event = SMARTLEAD_EVENTS.get((vendor_event or "").upper())
        address = _first_text(doc, "to_email", "lead_email") or _nested(doc, "lead", "email")
        step = _integer(doc.get("sequence_number"))
    else:
        vendor_event = _text(doc.get("event_type"))
        event = INSTANTLY_EVENTS.get((vendor_event or "").lower())
        address = _text(doc.get("lead_email"))
        step = _integer(doc.get("step"))
    if vendor_event is None:
        raise Refused("missing_event", "the body names no event type")
    if event is None:
        raise Refused("unknown_email_event", f"{source} event {vendor_event!r}", vendor_event)
    if address is None or not _EMAIL_RE.match(address.strip()):
        raise Refused("missing_lead_email", f"{source} {vendor_event} names no lead address")
    occurred = _occurred_at(doc)
    ids = [_text(doc.get(name)) or "" for name in _VENDOR_IDS[source]]
    identity = "|".join([source, *ids, event, vendor_event, occurred or "", email_sha256(address)])
    return {
        "event_id": str(uuid.uuid5(_NAMESPACE, identity)),
        "source": source,
        "event": event,
        "vendor_event": vendor_event,
        "status": _status(source, event, vendor_event, doc),
        "occurred_at": occurred,
        "received_at": iso_ms(received_at),
        "campaign_id": _text(doc.get("campaign_id")),
        "campaign_name": _text(doc.get("campaign_name")),
        "step": step,
        "email_sha256": email_sha256(address),
        "link": _link(doc) if event == "click" else None,
    }


def rejected_summary(source: str, doc: Any) -> dict[str, Any]:
    """What a refused delivery may keep in `rejected`: its event name and campaign, and the
    names of its fields; never a value that could hold the address or the message."""
    if not isinstance(doc, Mapping):
        return {"source": source}
    return {
        "source": source,
        "event_type": _text(doc.get("event_type")) or _text(doc.get("event")),
        "campaign_id": _text(doc.get("campaign_id")),
        "campaign_name": _text(doc.get("campaign_name")),
        "fields": sorted(str(k)[:60] for k in list(doc)[:100]),
    }


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(int(value)) if float(value).is_integer() else str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value[:_MAX_TEXT] if value else None


def _first_text(doc: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = _text(doc.get(name))
        if value is not None:
            return value
    return None


def _nested(doc: Mapping[str, Any], outer: str, inner: str) -> str | None:
    value = doc.get(outer)
    return _text(value.get(inner)) if isinstance(value, Mapping) else None


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 <= value < 10_000:
        return value
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 5:
        return int(value.strip())
    return None


def _occurred_at(doc: Mapping[str, Any]) -> str | None:
    """`event_timestamp` (Smartlead), `timestamp` (Instantly, Smartlead's newer shape), else
    the older `time_sent` / `time_opened` / ... of Smartlead; null when none parses."""
    names = ["event_timestamp", "timestamp", *sorted(k for k in doc if k.startswith("time_"))]
    for name in names:
        when = _parse_time(doc.get(name))
        if when is not None:
            return iso_ms(when)
    return None


def _parse_time(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value  # epoch ms or s
        return float(seconds) if 0 < seconds < 4102444800 else None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _status(source: str, event: str, vendor_event: str, doc: Mapping[str, Any]) -> str | None:
    """The lead's new category for `status` events: Instantly names it in the event type
    (`lead_meeting_booked` -> `meeting_booked`), Smartlead in the body."""
    if event != "status":
        return None
    if source == "instantly":
        return vendor_event.lower().removeprefix("lead_")
    category = doc.get("lead_category")
    name = None
    if isinstance(category, Mapping):
        name = _first_text(category, "new_name", "name", "category")
    else:
        name = _text(category)
    name = name or _first_text(doc, "new_category", "category", "lead_category_name")
    if name is None:
        return None
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:60] or None


def _link(doc: Mapping[str, Any]) -> str | None:
    """The clicked link as host + path: the query and fragment may carry the lead's address
    or a vendor's tracking ids, and the page is what tells intent."""
    for name in ("link_details", "link_clicked", "link", "link_url", "url", "clicked_link"):
        value = doc.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, Mapping):
            value = value.get("url") or value.get("link") or value.get("original_url")
        text = _text(value) if isinstance(value, str) else None
        if text:
            return host_path(text)
    return None


def host_path(url: str) -> str | None:
    try:
        parts = urlsplit(url if "//" in url else "//" + url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if not host:
        return None
    path = parts.path or "/"
    if "@" in path:  # an address in the path is the lead's: keep the host only
        path = "/"
    return (host + path)[:_MAX_TEXT]
