"""One session on the example site, as the pixel reports it: a batch per page view.

Every random choice comes from the caller's `random.Random`, in a fixed order, so a journey
is a pure function of the seed.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from oie.traffic.catalogue import BROWSE, FORM_ID, INTENT, PAGES, VIDEO, is_mobile
from oie.traffic.model import TrackBatch, browser_event, pageview_data
from oie_core.hashing import email_hashes


class VisitBuilder:
    def __init__(self, rng: random.Random, site: str) -> None:
        self.rng = rng
        self.site = site.rstrip("/")

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def ip(self) -> str:
        # Documentation ranges (RFC 5737): realistic shape, never someone's address.
        net = self.rng.choice(["198.51.100", "203.0.113", "192.0.2"])
        return f"{net}.{self.rng.randint(1, 254)}"

    def visit(
        self,
        start: float,
        pages: list[str],
        *,
        visitor_id: str,
        token: str | None,
        user_agent: str,
        ip: str,
        referrer: str,
        form_email: str | None = None,
        engaged: float = 0.5,
        bot: bool = False,
    ) -> tuple[list[TrackBatch], float]:
        """One session: a batch per page view (the pixel flushes on page exit)."""
        rng = self.rng
        session_id = self.uid()
        vw, vh = (390, 844) if is_mobile(user_agent) else (1440, 900)
        t = start
        batches: list[TrackBatch] = []
        prev_url = referrer
        for path in pages:
            title, kind = PAGES.get(path, (path, "other"))
            url = self.site + path
            events: list[dict[str, Any]] = []

            def add(
                etype: str,
                at: float,
                data: dict[str, Any],
                url: str = url,
                events: list[dict[str, Any]] = events,
                referrer: str = prev_url,
            ) -> None:
                events.append(
                    browser_event(
                        self.uid(),
                        etype,
                        at,
                        visitor_id=visitor_id,
                        session_id=session_id,
                        token=token,
                        url=url,
                        referrer=referrer or None,
                        data=data,
                    )
                )

            add("pageview", t, pageview_data(title, vw, vh))
            if bot:
                t += rng.uniform(0.3, 2.0)
                batches.append(TrackBatch(t, events, user_agent, ip))
                prev_url = url
                continue
            dwell = rng.uniform(15, 90) * (1 + 2 * engaged)
            depth = 0
            for step in (25, 50, 75, 90, 100):
                if rng.random() < 0.55 + 0.4 * engaged:
                    depth = step
                    add("scroll_depth", t + dwell * step / 130, {"depth": step})
                else:
                    break
            if kind == "pricing" and rng.random() < 0.5:
                add(
                    "click",
                    t + dwell * 0.6,
                    {
                        "tag": "a",
                        "id": "start-trial",
                        "classes": "btn",
                        "text": "Start free trial",
                        "href": "/signup",
                        "role": "cta",
                    },
                )
            if kind == "product" and rng.random() < engaged:
                add("video", t + 5, {"src": VIDEO, "action": "play", "percent": 0})
                done = rng.random() < engaged
                add(
                    "video",
                    t + dwell * 0.9,
                    {
                        "src": VIDEO,
                        "action": "complete" if done else "pause",
                        "percent": 100 if done else 40,
                    },
                )
            if rng.random() < 0.2:
                add("focus_lost", t + dwell * 0.3, {})
                add("focus_gained", t + dwell * 0.5, {})
            if kind == "form" and form_email:
                add("form_start", t + 8, {"form_id": FORM_ID, "field": "email"})
                add(
                    "form_submit",
                    t + dwell * 0.8,
                    {
                        "form_id": FORM_ID,
                        "fields": ["name", "email", "company"],
                        "hems": email_hashes(form_email),
                    },
                )
            active_ms = int(dwell * rng.uniform(0.55, 0.95) * 1000)
            t += dwell
            add("page_exit", t, {"active_ms": active_ms, "max_depth": depth})
            batches.append(TrackBatch(t + 0.2, events, user_agent, ip))
            prev_url = url
            t += rng.uniform(1, 6)
        return batches, t


def pick_pages(rng: random.Random, count: int, intent_bias: float, first: str | None) -> list[str]:
    """`count` pages, no page twice in a row; intent pages with probability `intent_bias`."""
    pages = [first] if first else []
    while len(pages) < count:
        pool = INTENT if rng.random() < intent_bias else BROWSE
        page = rng.choice(pool)
        if pages and page == pages[-1]:
            continue
        pages.append(page)
    return pages
