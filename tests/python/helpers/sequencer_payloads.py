"""Webhook bodies shaped like Smartlead's and Instantly's documented examples (both of
Smartlead's documented shapes: `event_type` + `to_email` + `time_*`/`event_timestamp`, and
`event` + `lead.email` + `timestamp`), and the calls that send them to a collector."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from tests.python.helpers.servers import Reply, http_call

SMARTLEAD_SECRET = "sl-webhook-secret-0123456789"
INSTANTLY_TOKEN = "inst-webhook-token-0123456789"
WEBHOOK_ENV = {
    "OIE_SMARTLEAD_WEBHOOK_SECRET": SMARTLEAD_SECRET,
    "OIE_INSTANTLY_WEBHOOK_TOKEN": INSTANTLY_TOKEN,
}
REPLY_TEXT = "Sounds great, can we talk Thursday? My cell is 555-0100."


def smartlead(
    event_type: str,
    to_email: str = "ada@example.com",
    *,
    stats_id: str = "stats-1",
    when: str = "2026-11-30T10:00:00.000Z",
    campaign: str = "Spring Launch",
    campaign_id: int = 4242,
    step: int = 1,
    secret: str | None = SMARTLEAD_SECRET,
    **extra: Any,
) -> dict[str, Any]:
    """The `event_type` shape (Smartlead's help-centre pages), with the message bodies a
    real delivery carries: none of them may be kept."""
    body: dict[str, Any] = {
        "webhook_id": 77,
        "webhook_name": "oie",
        "sl_email_lead_id": 901,
        "sl_email_lead_map_id": 902,
        "stats_id": stats_id,
        "event_type": event_type,
        "event_timestamp": when,
        "from_email": "sdr@seller.example",
        "to_email": to_email,
        "to_name": "Ada Lovelace",
        "subject": "Quick question about Analytical Engines",
        "campaign_id": campaign_id,
        "campaign_name": campaign,
        "campaign_status": "ACTIVE",
        "sequence_number": step,
        "sent_message": {"id": "m1", "html": "<p>Hi Ada, our pitch</p>", "text": "Hi Ada"},
        "app_url": "https://app.smartlead.ai/app/master-inbox?leadMap=902",
        "description": f"{event_type} for Ada",
        "metadata": {"webhook_created_at": "2026-11-01T00:00:00Z"},
    }
    if event_type in ("EMAIL_REPLY", "EMAIL_REPLIED"):
        body["reply_message"] = {
            "message_id": "r1",
            "html": f"<p>{REPLY_TEXT}</p>",
            "text": REPLY_TEXT,
            "time": when,
        }
    if event_type in ("EMAIL_LINK_CLICK", "EMAIL_CLICKED", "LINK_CLICKED"):
        body["link_details"] = ["https://seller.example/pricing?email=ada@example.com&utm=x"]
    if secret is not None:
        body["secret_key"] = secret
    body.update(extra)
    return body


def smartlead_v2(event: str, email: str = "ada@example.com", **extra: Any) -> dict[str, Any]:
    """The `event` + `lead.email` + `timestamp` shape of Smartlead's API reference."""
    body: dict[str, Any] = {
        "event": event,
        "timestamp": "2026-11-30T11:00:00Z",
        "campaign_id": 4242,
        "campaign_name": "Spring Launch",
        "lead_id": 789,
        "email_account_id": 456,
        "sequence_number": 2,
        "lead": {"email": email, "first_name": "Ada", "company_name": "AE"},
        "secret_key": SMARTLEAD_SECRET,
    }
    if event == "EMAIL_REPLIED":
        body["reply"] = {"subject": "Re: Quick question", "body": REPLY_TEXT}
    if event == "EMAIL_CLICKED":
        body["link"] = {"url": "https://seller.example/demo#x", "clicked_at": body["timestamp"]}
    body.update(extra)
    return body


def instantly(
    event_type: str,
    lead_email: str = "ada@example.com",
    *,
    email_id: str = "em-1",
    when: str = "2026-11-30T10:00:00.000Z",
    campaign: str = "Spring Launch",
    step: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    """Instantly's documented webhook schema (developer.instantly.ai, webhook events)."""
    body: dict[str, Any] = {
        "timestamp": when,
        "event_type": event_type,
        "workspace": "0b3c9a4e-ws",
        "campaign_id": "5f1e-campaign",
        "campaign_name": campaign,
        "lead_email": lead_email,
        "email_account": "sdr@seller.example",
        "step": step,
        "variant": 1,
        "is_first": True,
        "email_id": email_id,
        "email_subject": "Quick question",
        "email_text": "Hi Ada, our pitch",
        "email_html": "<p>Hi Ada, our pitch</p>",
    }
    if event_type in ("reply_received", "auto_reply_received"):
        body.update(
            {
                "unibox_url": "https://app.instantly.ai/unibox?x=1",
                "reply_text_snippet": REPLY_TEXT[:30],
                "reply_subject": "Re: Quick question",
                "reply_text": REPLY_TEXT,
                "reply_html": f"<p>{REPLY_TEXT}</p>",
            }
        )
    if event_type in ("link_clicked", "email_link_clicked"):
        body["link"] = "https://seller.example/case-studies/acme?ref=ada@example.com"
    body.update(extra)
    return body


def post_smartlead(
    url: str,
    body: dict[str, Any] | bytes,
    *,
    sign: str | None = None,
    content_type: str = "application/json",
) -> Reply:
    """`sign`: the secret to put an X-Smartlead-Signature of the raw body under."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": content_type, "User-Agent": "Smartlead-Webhook/1.0"}
    if sign is not None:
        digest = hmac.new(sign.encode(), data, hashlib.sha256).hexdigest()
        headers["X-Smartlead-Signature"] = f"sha256={digest}"
    return http_call(url + "/webhooks/smartlead", "POST", data, headers)


def post_instantly(
    url: str,
    body: dict[str, Any] | bytes,
    *,
    token: str | None = INSTANTLY_TOKEN,
    content_type: str = "application/json",
) -> Reply:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": content_type, "User-Agent": "Instantly-Webhooks"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return http_call(url + "/webhooks/instantly", "POST", data, headers)
