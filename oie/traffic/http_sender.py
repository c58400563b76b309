"""Journeys through a running collector's real HTTP API, as a browser would send them."""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
from urllib.parse import SplitResult, quote, urlsplit

from oie.errors import UserError
from oie.traffic.catalogue import PIXEL_VERSION
from oie.traffic.model import Click, SimStats, TrackBatch

# The simulated visitor's address, as Cloudflare would pass it: a collector run with
# OIE_TRUSTED_PROXY=cloudflare (`oie demo`) takes it as the client's; any other ignores it.
CLIENT_IP_HEADER = "CF-Connecting-IP"


class RateLimited(RuntimeError):
    """The server answered 429: a simulation would only pile up retries."""


def check_endpoint(endpoint: str) -> SplitResult:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"--endpoint must be http(s)://host:port, got {endpoint!r}")
    return parts


class HttpSender:
    """Today's traffic: the running server's real HTTP API, a connection per thread."""

    def __init__(self, endpoint: str, site: str, stats: SimStats) -> None:
        self.parts = check_endpoint(endpoint)
        self.origin = site.rstrip("/")
        self.stats = stats
        self.local = threading.local()
        self.lock = threading.Lock()

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            cls = (
                http.client.HTTPSConnection
                if self.parts.scheme == "https"
                else http.client.HTTPConnection
            )
            conn = cls(self.parts.hostname or "127.0.0.1", self.parts.port, timeout=30)
            self.local.conn = conn
        return conn

    def _request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        for attempt in range(4):
            conn = self._conn()
            try:
                # The server may answer (429, 413) before reading the whole body and close:
                # its answer is still readable and says why.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                if attempt == 3:
                    raise
                time.sleep(0.2 * (attempt + 1))
                continue
            if resp.will_close:
                conn.close()
                self.local.conn = None
            if resp.status == 429:
                raise RateLimited(
                    "the server rate-limits this machine (429): run it with OIE_RATE_LIMIT=0 "
                    "for simulations (`oie serve` and --start-server do)"
                )
            if resp.status == 503 and attempt < 3:
                # The pixel retries these; so do we, honouring a short Retry-After.
                time.sleep(min(float(resp.getheader("Retry-After") or 1), 5.0))
                continue
            return resp.status, data
        raise RuntimeError("unreachable")

    def go(self, click: Click) -> None:
        path = f"/go?i={click.token}&to={quote(click.to, safe='/')}"
        headers = {"User-Agent": click.user_agent, CLIENT_IP_HEADER: click.ip}
        status, _ = self._request(click.method, path, None, headers)
        with self.lock:
            self.stats.count_click(status, http=True)

    def track(self, batch: TrackBatch) -> None:
        # Sent now, with the times the events happened: a flushed page queue.
        body = json.dumps(
            {
                "events": batch.events,
                "meta": {"sent_at": int(time.time() * 1000), "pixel_version": PIXEL_VERSION},
            }
        )
        status, data = self._request(
            "POST",
            "/track",
            body.encode(),
            {
                "Content-Type": "text/plain;charset=UTF-8",
                "Origin": self.origin,
                "User-Agent": batch.user_agent,
                CLIENT_IP_HEADER: batch.ip,
            },
        )
        with self.lock:
            self.stats.count_batch(batch, status, data, http=True)
