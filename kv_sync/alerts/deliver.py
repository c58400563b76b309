"""One delivery attempt of one alert to one destination, and what its answer means.

- 2xx (Slack: 200 with the body `ok`): delivered.
- 429, 408, 5xx, a timeout, no connection: temporary. The alert stays pending and is tried
  again on a later run, `next_attempt_at` = now + min(5 min * 2^(attempts-1), 6 h), or
  later when a 429 says so (Retry-After); after OIE_ALERT_MAX_ATTEMPTS attempts it is
  `failed`. The destination is not tried again in this run, so an outage costs one
  request (at most one timeout) per destination and run.
- any other answer (400 invalid_payload, 403, 404 no_service, 410 channel_is_archived, a
  redirect): `failed` at once, with Slack's reason (the answer's body) in last_error.

URLs are secrets (a Slack incoming-webhook URL is its own credential): no message here
names one.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from kv_sync.alerts import messages
from kv_sync.alerts.outbox import LogRow
from kv_sync.alerts.sql import DELIVERED, FAILED, PENDING

SLACK, WEBHOOK = "slack", "webhook"
CHANNELS = (SLACK, WEBHOOK)
TIMEOUT_S = 10.0
BACKOFF_BASE_S = 300.0
BACKOFF_CAP_S = 6 * 3600.0
MAX_ERROR_CHARS = 300
USER_AGENT = "outbound-intent-engine-alerts/1"


@dataclass(frozen=True)
class Destination:
    channel: str  # slack | webhook
    url: str
    secret: str | None = None  # the webhook's whsec_ signing secret


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    temporary: bool = False  # try again on a later run (429, 408, 5xx, no answer)
    error: str | None = None
    retry_after_s: float | None = None


def request(destination: Destination, row: LogRow, now: float) -> tuple[bytes, dict[str, str]]:
    """The body and headers one attempt sends."""
    if destination.channel == SLACK:
        body = messages.encode(messages.slack_message(messages.decode(row.payload))).encode()
        return body, {"content-type": "application/json", "user-agent": USER_AGENT}
    body = row.payload.encode()
    headers = messages.webhook_headers(destination.secret or "", row.alert_id, int(now), body)
    return body, {**headers, "user-agent": USER_AGENT}


def attempt(client: httpx.Client, destination: Destination, row: LogRow, now: float) -> Outcome:
    body, headers = request(destination, row, now)
    try:
        answer = client.post(destination.url, content=body, headers=headers)
    except httpx.TimeoutException:
        return Outcome(False, True, f"no answer within {_seconds(client)} s (timed out)")
    except httpx.TransportError as exc:
        return Outcome(False, True, f"connection failed: {_safe(str(exc), destination.url)}")
    return judge(destination, answer)


def judge(destination: Destination, answer: httpx.Response) -> Outcome:
    status = answer.status_code
    text = _safe(answer.text.strip(), destination.url)[:MAX_ERROR_CHARS]
    said = f"HTTP {status}" + (f": {text}" if text else "")
    if 200 <= status < 300:
        if destination.channel == SLACK and text != "ok":
            return Outcome(False, error=f"{said} (Slack answers ok when it took a message)")
        return Outcome(True)
    if status == 429:
        return Outcome(False, True, said, retry_after(answer.headers.get("retry-after")))
    if status == 408 or status >= 500:
        return Outcome(False, True, said)
    if 300 <= status < 400:
        return Outcome(
            False, error=f"HTTP {status}: redirects are not followed (set the final URL)"
        )
    return Outcome(False, error=said)


def backoff_s(attempts: int) -> float:
    """The wait before attempt `attempts + 1`: 5 min, 10 min, 20 min ... at most 6 h."""
    return min(BACKOFF_BASE_S * 2 ** max(attempts - 1, 0), BACKOFF_CAP_S)


def after(row: LogRow, outcome: Outcome, now: float, max_attempts: int) -> LogRow:
    """The row as the outbox records it after this attempt."""
    attempts = row.attempts + 1
    if outcome.delivered:
        return row.but(
            status=DELIVERED,
            attempts=attempts,
            next_attempt_at=None,
            last_error=None,
            delivered_at=now,
        )
    if not outcome.temporary:
        return row.but(
            status=FAILED, attempts=attempts, next_attempt_at=None, last_error=outcome.error
        )
    if attempts >= max_attempts:
        return row.but(
            status=FAILED,
            attempts=attempts,
            next_attempt_at=None,
            last_error=f"{outcome.error} (gave up after {attempts} attempt(s))",
        )
    wait = max(backoff_s(attempts), min(outcome.retry_after_s or 0.0, BACKOFF_CAP_S))
    return row.but(
        status=PENDING, attempts=attempts, next_attempt_at=now + wait, last_error=outcome.error
    )


def retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (a number, or an HTTP date)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _seconds(client: httpx.Client) -> str:
    timeout = client.timeout.read
    return f"{timeout:g}" if timeout is not None else "?"


def _safe(text: str, url: str) -> str:
    return text.replace(url, "<url>") if url else text
