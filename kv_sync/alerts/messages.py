"""What an alert says: the webhook payload (JSON, stored in the outbox when the alert is
decided, so every attempt sends the same bytes), the Slack message made from it (`text`
and `blocks`), and the Standard Webhooks signature of a webhook request.

Never an email address, an email hash or an IP address: the payload names the lead, its
company and title, its campaign and what it did.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from kv_sync.alerts.outbox import COMPONENTS, AlertPoint

LEVELS = ("cold", "warm", "hot", "burning")
EVENT_TYPE = "lead.level_up"
COMPONENT_TITLES = {
    "recency": "Recency",
    "frequency": "Frequency",
    "engagement": "Engagement",
    "high_intent": "High intent",
    "conversions": "Conversions",
}
MAX_PAGES_TEXT = 1000  # characters of pages seen in a Slack field (a field takes 2,000)


def alert_id(lead_id: str, episode: int) -> str:
    """One id per lead and episode, the same on every run: the alert is decided once, and a
    receiver dedupes retries by it (it is the webhook-id)."""
    digest = hashlib.sha256(f"{lead_id}|{episode}".encode()).hexdigest()
    return f"alert_{digest[:24]}"


def iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: float | None) -> float | int | None:
    if value is None:
        return None
    rounded = round(float(value), 2)
    return int(rounded) if rounded.is_integer() else rounded


def payload(point: AlertPoint) -> dict[str, Any]:
    """The webhook body (docs/alerts.md "Payload")."""
    return {
        "type": EVENT_TYPE,
        "alert_id": alert_id(point.lead_id, point.episode),
        "timestamp": iso(point.recorded_at),
        "lead": {
            "lead_id": point.lead_id,
            "first_name": point.first_name,
            "last_name": point.last_name,
            "company": point.company,
            "title": point.title,
            "campaign_id": point.campaign_id,
        },
        "score": point.intent_score,
        "from_level": point.from_level,
        "to_level": point.level,
        "components": {name: _number(point.components.get(name)) for name in COMPONENTS},
        "last_visit_at": iso(point.last_visit_at),
        "pages_seen": [p for p in (point.pages_seen or "").split(", ") if p],
    }


def encode(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def decode(text: str) -> dict[str, Any]:
    body = json.loads(text)
    return body if isinstance(body, dict) else {}


def name_of(body: dict[str, Any]) -> str:
    lead = body.get("lead") or {}
    name = " ".join(p for p in (lead.get("first_name"), lead.get("last_name")) if p)
    return name or f"lead {lead.get('lead_id')}"


def headline(body: dict[str, Any]) -> str:
    """`Ada Lovelace (Analytical Engines) is now hot: 72/100`: Slack's `text`, the dry run's
    line, the fallback a notification shows."""
    company = (body.get("lead") or {}).get("company")
    who = f"{name_of(body)} ({company})" if company else name_of(body)
    return f"{who} is now {body.get('to_level')}: {body.get('score')}/100"


def _escape(text: object) -> str:
    """Slack mrkdwn: &, < and > are control characters."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _when(value: str | None) -> str:
    return value.replace("T", " ").replace("Z", " UTC") if value else "never"


def slack_message(body: dict[str, Any]) -> dict[str, Any]:
    """An incoming-webhook message: `text` (the notification) and `blocks` (the message)."""
    lead = body.get("lead") or {}
    who = f"*{_escape(name_of(body))}*"
    if lead.get("company"):
        who += f" ({_escape(lead['company'])})"
    about = " · ".join(
        _escape(part)
        for part in (
            lead.get("title"),
            lead.get("campaign_id") and f"campaign {lead['campaign_id']}",
        )
        if part
    )
    summary = (
        f"{who} is now *{_escape(body.get('to_level'))}*: *{body.get('score')}*/100 "
        f"(was {_escape(body.get('from_level'))})"
    )
    components = body.get("components") or {}
    fields = [
        {"type": "mrkdwn", "text": f"*{COMPONENT_TITLES[name]}*\n{components.get(name)}"}
        for name in COMPONENTS
    ]
    fields.append({"type": "mrkdwn", "text": f"*Last visit*\n{_when(body.get('last_visit_at'))}"})
    pages = ", ".join(body.get("pages_seen") or []) or "none"
    if len(pages) > MAX_PAGES_TEXT:
        pages = pages[: MAX_PAGES_TEXT - 1] + "…"
    return {
        "text": _escape(headline(body)),
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": summary + (f"\n{about}" if about else "")},
            },
            {"type": "section", "fields": fields},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*Pages seen*\n{_escape(pages)}"},
            },
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"Outbound Intent Engine · {body.get('alert_id')}"}
                ],
            },
        ],
    }


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks: `v1,` + base64(HMAC-SHA256(key, "id.timestamp.body")), where the
    key is the base64 after `whsec_` in the secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
    }
