"""The ingest service: one `Service` per process, routing each plain HttpRequest to its
endpoint module (`ingest_function/endpoints/`).

The service holds what every endpoint shares in a process: settings, the origin policy, the
rate limiter, the keyring with a cached token check, and the sinks. Sinks open on first use
and again after a fork, never at import (functions-framework imports main.py in the
gunicorn master, then forks the workers).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from functools import lru_cache, partial
from typing import Any

from ingest_function.context import Endpoint
from ingest_function.endpoints import (
    assets,
    go,
    health,
    identify,
    optout,
    personalize,
    track,
    webhooks,
)
from ingest_function.origins import OriginPolicy
from ingest_function.ratelimit import RateLimiter
from ingest_function.sinks.base import DeadLetter, Sink
from ingest_function.sinks.delivery import make_dead_letter, make_primary
from ingest_function.web import BodyIncomplete, HttpRequest, HttpResponse, error
from oie_core import tokens
from oie_core.iporg import NetworkLookup
from oie_core.settings import Settings
from oie_core.tombstones import LandingTombstones, TombstoneCache, TombstoneKey, TombstoneSource
from oie_core.tombstones_bigquery import BigQueryTombstones

log = logging.getLogger("oie.ingest")


def _tombstone_source(settings: Settings) -> TombstoneSource:
    return BigQueryTombstones.for_settings(settings) or LandingTombstones(settings.landing_dir)


def _tombstones_failed(exc: Exception) -> None:
    # The list read last stays in force; the next request a minute on asks again.
    log.warning("tombstones could not be read: %s: %s", type(exc).__name__, exc)


ROUTES: dict[str, Endpoint] = {
    "/track": track.handle,
    "/go": go.handle,
    "/identify": identify.handle,
    "/personalize": personalize.handle,
    "/health": health.handle,
    "/optout": optout.handle,
    "/oie.js": assets.handle,
    "/oie-hash.js": assets.handle,
    "/oie-idle.js": assets.handle,
    "/webhooks/smartlead": webhooks.smartlead,
    "/webhooks/instantly": webhooks.instantly,
}


class Service:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.origins = OriginPolicy(settings.allowed_origins)
        self.limiter = RateLimiter(settings.rate_limit)
        self.keyring = settings.keyring
        # The clock stamps received_at; the traffic simulator replaces it with its own.
        self.clock = clock
        # A pixel sends the same token with every batch: check each one once per process.
        self.verify_token: Callable[[str | None], bool] = lru_cache(maxsize=4096)(
            partial(tokens.verify, self.keyring)
        )
        # Keyed hash for OIE_IP_MODE=hash: its own secret, else derived from the token key.
        self.ip_key = (settings.ip_hash_secret or "ip|" + settings.token_secret).encode()
        # Network databases: checked here (a bad path stops the server at start, IpOrgError
        # is a SettingsError), opened again lazily in each worker after the fork.
        self.networks = NetworkLookup(settings.ip_org_db, fail=bool(settings.faults_for("iporg")))
        self.networks.check()
        self._primary: Sink | None = None
        self._dead_letter: DeadLetter | None = None
        self._sink_lock = threading.Lock()
        self._pid = os.getpid()
        self.tombstones = TombstoneCache(
            _tombstone_source(settings), settings.tombstone_key, on_error=_tombstones_failed
        )
        self.forgotten_dropped = 0

    @property
    def checks_tombstones(self) -> bool:
        """Production needs OIE_TOMBSTONE_SECRET to hash what it checks (/health says when
        it is missing); a local install makes its own."""
        return self.settings.sink == "local" or self.settings.tombstone_secret is not None

    def forgotten(self, visitor_ids: tuple[str | None, ...], token: str | None) -> bool:
        if not self.checks_tombstones:
            return False
        return self.tombstones.forgotten(visitor_ids, token)

    def tombstone_key(self) -> TombstoneKey:
        return self.tombstones.key()

    def remember_tombstones(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            self.tombstones.add(record["kind"], record["key_hash"])

    def count_forgotten(self, n: int) -> None:
        with self._sink_lock:
            self.forgotten_dropped += n

    def sinks(self) -> tuple[Sink, DeadLetter | None]:
        primary = self._primary
        if primary is None or self._pid != os.getpid():
            with self._sink_lock:
                if self._primary is None or self._pid != os.getpid():
                    self._primary = make_primary(self.settings)
                    self._dead_letter = make_dead_letter(self.settings)
                    self._pid = os.getpid()
                primary = self._primary
        return primary, self._dead_letter

    def close(self) -> None:
        if self._primary is not None:
            self._primary.close()

    def handle(self, req: HttpRequest) -> HttpResponse:
        endpoint = ROUTES.get(req.path.rstrip("/") or "/")
        if endpoint is None:
            return error(404, "not_found", "no such endpoint")
        try:
            return endpoint(self, req)
        except BodyIncomplete:
            return error(400, "incomplete_body", "the body ended before its Content-Length")
        except Exception:  # the client gets a code; the log gets the traceback
            log.exception("unhandled error on %s %s", req.method, req.path)
            return error(500, "internal", "internal error")
