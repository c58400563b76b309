"""What a journey is made of, and the tally of sending one."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


def browser_event(
    event_id: str,
    etype: str,
    at: float,
    *,
    visitor_id: str,
    session_id: str,
    token: str | None,
    url: str,
    referrer: str | None,
    data: dict[str, Any],
) -> dict[str, Any]:
    """One event as the pixel sends it (the wire format of POST /track, docs/design.md)."""
    return {
        "event_id": event_id,
        "type": etype,
        "ts": int(at * 1000),
        "visitor_id": visitor_id,
        "session_id": session_id,
        "token": token,
        "url": url,
        "referrer": referrer,
        "data": data,
    }


def pageview_data(title: str, width: int, height: int) -> dict[str, Any]:
    """A pageview's `data` for a browser whose viewport fills its screen."""
    return {
        "title": title,
        "viewport_w": width,
        "viewport_h": height,
        "screen_w": width,
        "screen_h": height,
        "language": "en-US",
        "tz": "Europe/Berlin",
    }


@dataclass(frozen=True)
class SimLead:
    email: str
    token: str
    campaign_id: str


@dataclass
class Click:
    """An email link opened: `GET /go?i=<token>&to=<path>` (HEAD from some scanners)."""

    at: float
    token: str
    to: str
    user_agent: str
    ip: str
    method: str = "GET"


@dataclass
class TrackBatch:
    """A page's events as the pixel flushes them: one `POST /track`."""

    at: float  # when the browser sends it (meta.sent_at)
    events: list[dict[str, Any]]
    user_agent: str
    ip: str


Action = Click | TrackBatch


@dataclass
class Journey:
    """Everything one visitor does, in time order."""

    persona: str
    actions: list[Action] = field(default_factory=list)


def count_actions(journeys: list[Journey]) -> int:
    return sum(len(j.actions) for j in journeys)


@dataclass
class SimStats:
    visitors: Counter[str] = field(default_factory=Counter)
    clicks: int = 0
    batches: int = 0
    events_sent: int = 0
    accepted: int = 0
    rejected: int = 0
    http_requests: int = 0
    in_process_requests: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    def count_click(self, status: int, *, http: bool) -> None:
        """One `/go` answer; the caller holds the sender's lock."""
        self.clicks += 1
        self._count_request(http)
        if status != 302:
            self.errors[f"/go {status}"] += 1

    def count_batch(self, batch: TrackBatch, status: int, body: bytes, *, http: bool) -> None:
        """One `/track` answer; the caller holds the sender's lock."""
        self.batches += 1
        self.events_sent += len(batch.events)
        self._count_request(http)
        if status == 200:
            doc = json.loads(body or b"{}")
            self.accepted += int(doc.get("accepted", 0))
            self.rejected += int(doc.get("rejected", 0))
        else:
            self.errors[f"/track {status}"] += 1

    def _count_request(self, http: bool) -> None:
        if http:
            self.http_requests += 1
        else:
            self.in_process_requests += 1
