"""Journeys of earlier days through the ingest code itself, with a simulated clock.

The running server rightly refuses events older than OIE_MAX_EVENT_AGE and partitions
landing files by its own receive time, so past days cannot go over HTTP. They go through
the very same `Service` in this process instead, its clock set to when each request
happens. This is the only module of `oie/` that drives the ingest function's service.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from urllib.parse import urlsplit

from werkzeug.datastructures import Headers

from ingest_function.app import Service
from ingest_function.web import HttpRequest, HttpResponse
from oie.traffic.catalogue import PIXEL_VERSION
from oie.traffic.model import Click, SimStats, TrackBatch
from oie_core.settings import OriginPattern, Settings


class InProcessSender:
    """Earlier days: the same Service code, called directly with a simulated clock."""

    def __init__(self, site: str, stats: SimStats, settings: Settings | None = None) -> None:
        settings = settings or Settings.from_env()
        origin = site.rstrip("/")
        # Our own in-process instance: allow the simulated site and do not rate-limit the
        # simulated clock (the limiter's window is wall time).
        settings = replace(
            settings,
            allowed_origins=(*settings.allowed_origins, OriginPattern.parse(origin)),
            rate_limit=0,
            redirect_hosts=settings.redirect_hosts or (urlsplit(origin).netloc,),
        )
        self.now = 0.0  # the simulated clock: set to each request's time before it is sent
        self.service = Service(settings, clock=lambda: self.now)
        self.origin = origin
        self.host = urlsplit(origin).netloc
        self.stats = stats
        self.lock = threading.Lock()

    def _request(
        self,
        at: float,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        ip: str,
    ) -> HttpResponse:
        self.now = at
        return self.service.handle(
            HttpRequest(
                method=method,
                path=path,
                headers=Headers(headers),
                query=query,
                cookies={},
                remote_addr=ip,
                scheme="https",
                host=self.host,
                content_length=len(body),
                read_body=lambda limit: body[:limit],
            )
        )

    def go(self, click: Click) -> None:
        resp = self._request(
            click.at,
            click.method,
            "/go",
            {"i": click.token, "to": click.to},
            {"User-Agent": click.user_agent, "Host": self.host},
            b"",
            click.ip,
        )
        with self.lock:
            self.stats.count_click(resp.status, http=False)

    def track(self, batch: TrackBatch) -> None:
        body = json.dumps(
            {
                "events": batch.events,
                "meta": {"sent_at": int(batch.at * 1000), "pixel_version": PIXEL_VERSION},
            }
        )
        resp = self._request(
            batch.at + 0.05,
            "POST",
            "/track",
            {},
            {
                "Content-Type": "text/plain;charset=UTF-8",
                "Origin": self.origin,
                "User-Agent": batch.user_agent,
                "Host": self.host,
            },
            body.encode(),
            batch.ip,
        )
        with self.lock:
            self.stats.count_batch(batch, resp.status, resp.body, http=False)

    def close(self) -> None:
        self.service.close()
