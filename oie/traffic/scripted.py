"""One session with every number given: the journeys of tests and benchmarks, nothing random."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from oie.traffic.catalogue import DESKTOP_UAS, FORM_ID, PAGES, VIDEO
from oie.traffic.model import SimLead, TrackBatch, browser_event, pageview_data
from oie_core.hashing import email_hashes


@dataclass(frozen=True)
class PageSpec:
    """One page view of a scripted journey, every number explicit (tests, benchmarks)."""

    path: str
    dwell_s: float
    active_s: float
    depth: int  # deepest scroll milestone reached: 0, 25, 50, 75, 90 or 100
    form: bool = False
    video_complete: bool = False


def scripted_visit(
    lead: SimLead,
    pages: list[PageSpec],
    *,
    end: float,
    site: str,
    visitor_id: str,
    user_agent: str = DESKTOP_UAS[0],
    ip: str = "198.51.100.7",
) -> list[TrackBatch]:
    """One session ending at `end` (epoch s), a batch per page, nothing random."""
    start = end - sum(p.dwell_s + 1 for p in pages)
    session_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{visitor_id}|{start}"))
    counter = 0
    t = start
    batches: list[TrackBatch] = []
    referrer: str | None = "https://mail.google.com/"
    for page in pages:
        title, _ = PAGES.get(page.path, (page.path, "other"))
        url = site.rstrip("/") + page.path
        events: list[dict[str, Any]] = []

        def add(
            etype: str,
            at: float,
            data: dict[str, Any],
            url: str = url,
            events: list[dict[str, Any]] = events,
            ref: str | None = referrer,
        ) -> None:
            nonlocal counter
            counter += 1
            event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{session_id}|{counter}"))
            events.append(
                browser_event(
                    event_id,
                    etype,
                    at,
                    visitor_id=visitor_id,
                    session_id=session_id,
                    token=lead.token,
                    url=url,
                    referrer=ref,
                    data=data,
                )
            )

        add("pageview", t, pageview_data(title, 1440, 900))
        for step in (25, 50, 75, 90, 100):
            if step <= page.depth:
                add("scroll_depth", t + page.dwell_s * step / 200, {"depth": step})
        if page.video_complete:
            add("video", t + 2, {"src": VIDEO, "action": "play", "percent": 0})
            add(
                "video",
                t + page.dwell_s * 0.9,
                {"src": VIDEO, "action": "complete", "percent": 100},
            )
        if page.form:
            add("form_start", t + 3, {"form_id": FORM_ID, "field": "email"})
            add(
                "form_submit",
                t + page.dwell_s * 0.8,
                {
                    "form_id": FORM_ID,
                    "fields": ["name", "email", "company"],
                    "hems": email_hashes(lead.email),
                },
            )
        t += page.dwell_s
        add("page_exit", t, {"active_ms": int(page.active_s * 1000), "max_depth": page.depth})
        batches.append(TrackBatch(t, events, user_agent, ip))
        referrer = url
        t += 1
    return batches
