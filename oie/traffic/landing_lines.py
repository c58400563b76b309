"""Journeys as the collector would have landed them: raw_events lines, written directly.

Millions of events cannot go through the ingest code in reasonable time, so this module
plays the collector's part for written-out traffic (the bundled sample, the warehouse
benchmark). The rows are laid out by the ingest function's own `raw_event`, with the
fields it derives itself (`server_fields`: agent classification, IP truncation) and its
scanner verdict; validation is skipped because journeys are valid by construction. On top
comes what happens between browser and server: each device's clock skew, a second or two
of latency, a batch that comes back from the pixel's retry queue hours later, a batch that
lands twice (landing is at-least-once), and the visitor's country as a trusted proxy's geo
headers would give it.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

from ingest_function.enrich import Client, server_fields
from ingest_function.records import raw_event
from ingest_function.scanners import is_scanner
from oie.traffic.catalogue import PIXEL_VERSION, SCANNER_IP
from oie.traffic.model import Click, Journey, TrackBatch
from oie_core.iporg import NetworkLookup

# Where the visitors are (weights by repeats).
COUNTRIES = ["US", "US", "US", "GB", "DE", "FR", "CA", "NL", "SE", "AU"]
SCANNER_COUNTRY = "US"  # the gateway's data centre
# The collector's defaults: OIE_IP_MODE=truncate (no key needed), no scanner networks.
IP_MODE = "truncate"

Line = tuple[float, dict[str, Any]]  # (received at, epoch s; the raw_events record)


class LandingLines:
    """Turns journeys into (received at, record) pairs, one journey at a time."""

    def __init__(
        self,
        rng: random.Random,
        site: str,
        end: float,
        networks: NetworkLookup | None = None,
    ) -> None:
        self.rng = rng
        self.site = site.rstrip("/")
        self.end = end
        # The collector's network databases (OIE_IP_ORG_DB), when the traffic should carry
        # network fields; none: the fields stay null, as with no database configured.
        self.networks = networks or NetworkLookup(())

    def journey(self, journey: Journey) -> Iterator[Line]:
        """What has landed by `end`: actions after it have not happened yet."""
        country = self.rng.choice(COUNTRIES)
        skews: dict[str, int] = {}
        for action in journey.actions:
            if action.at > self.end:
                continue
            if isinstance(action, Click):
                yield self.click(action, SCANNER_COUNTRY if action.ip == SCANNER_IP else country)
            else:
                yield from self.batch(action, country, skews)

    def click(self, click: Click, country: str) -> Line:
        """The row `/go` lands: stamped with the server's clock, no browser fields."""
        scanner, reason = is_scanner(click.method, click.user_agent, click.ip, ())
        server = server_fields(
            click.at,
            click.user_agent,
            Client(click.ip, country=country),
            IP_MODE,
            b"",
            self.networks.lookup(click.ip),
        )
        record = raw_event(
            event_id=self.uid(),
            type="email_click",
            ts=int(click.at * 1000),
            sent_at=None,
            event_at=click.at,
            visitor_id=None,  # no cookie of the collector's yet
            client_visitor_id=None,
            client_session_id=None,
            token=click.token,
            token_valid=True,  # journeys only carry tokens minted for their leads
            url=self.site + click.to,
            referrer=None,
            data={"to": click.to, "scanner": scanner, "scanner_reason": reason},
            pixel_version=None,
            server=server,
        )
        return click.at, record

    def batch(self, batch: TrackBatch, country: str, skews: dict[str, int]) -> Iterator[Line]:
        """One `/track` batch: the browser's clock in `ts` and `sent_at`, the server's
        receive time, and `event_at` corrected for the skew as the server corrects it."""
        rng = self.rng
        visitor = batch.events[0]["visitor_id"]
        if visitor not in skews:
            skews[visitor] = (
                int(rng.gauss(0, 1500))
                if rng.random() < 0.9
                else rng.randint(-3_600_000, 3_600_000)
            )
        skew_ms = skews[visitor]
        sent = batch.at
        if rng.random() < 0.01:  # came back from the pixel's retry queue later
            retried = sent + rng.uniform(600, 6 * 3600)
            if retried < self.end:
                sent = retried
        received = min(sent + rng.uniform(0.05, 2.0), self.end)
        sent_ms = int(sent * 1000) + skew_ms
        correction_ms = int(received * 1000) - sent_ms  # the server's skew correction
        client = Client(batch.ip, country=country)
        network = self.networks.lookup(batch.ip)
        server = server_fields(received, batch.user_agent, client, IP_MODE, b"", network)
        lines = []
        for event in batch.events:
            ts = event["ts"] + skew_ms
            record = raw_event(
                event_id=event["event_id"],
                type=event["type"],
                ts=ts,
                sent_at=sent_ms,
                event_at=(ts + correction_ms) / 1000,
                visitor_id=event["visitor_id"],
                client_visitor_id=None,  # no first-party cookie: the site is not the collector's
                client_session_id=event["session_id"],
                token=event["token"],
                token_valid=None if event["token"] is None else True,
                url=event["url"],
                referrer=event["referrer"],
                data=event["data"],
                pixel_version=PIXEL_VERSION,
                server=server,
            )
            lines.append((received, record))
        yield from lines
        if rng.random() < 0.002:  # a retried batch that had landed after all: twice
            again = min(received + 5, self.end)
            server = server_fields(again, batch.user_agent, client, IP_MODE, b"", network)
            for _, record in lines:
                yield again, {**record, "received_at": server.received_at_iso}

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
