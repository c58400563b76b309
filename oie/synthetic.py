"""Synthetic raw data written straight to landing files: the bundled demo sample and the
warehouse benchmark (1M-10M events) are made here.

Journeys are shaped like real outbound traffic: most leads never click; clickers arrive
through /go (often after a link scanner), read a few pages, some return over days, some
switch devices and identify themselves through a form, some forward the email, and bots
and anonymous visitors mix in. Output is deterministic for a seed and `end`.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oie_core.hashing import email_hashes, email_sha256, normalize_email
from oie_core.landing import iso_ms, partition_of
from oie_core.tokens import Keyring, mint

SAMPLE_TOKEN_SECRET = "sample-secret-not-for-production"
SITE = "https://site.example"

FIRST_NAMES = [
    "Ada",
    "Grace",
    "Alan",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Dennis",
    "Frances",
    "John",
    "Radia",
    "Tim",
    "Katherine",
    "Edsger",
    "Hedy",
    "Donald",
]
LAST_NAMES = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Torvalds",
    "Hamilton",
    "Thompson",
    "Liskov",
    "Ritchie",
    "Allen",
    "Backus",
    "Perlman",
    "Berners-Lee",
    "Johnson",
    "Dijkstra",
]
COMPANIES = [
    ("Acme Analytics", "SaaS"),
    ("Globex", "Manufacturing"),
    ("Initech", "Fintech"),
    ("Umbrella Health", "Healthcare"),
    ("Hooli", "SaaS"),
    ("Stark Logistics", "Logistics"),
    ("Wayne Capital", "Fintech"),
    ("Soylent Foods", "Retail"),
    ("Cyberdyne", "DevTools"),
    ("Tyrell Bio", "Healthcare"),
    ("Massive Dynamic", "DevTools"),
    ("Vandelay", "Retail"),
]
TITLES = [
    "VP Sales",
    "Head of RevOps",
    "CTO",
    "CFO",
    "Founder",
    "VP Engineering",
    "Director of Marketing",
    "Sales Ops Manager",
]
CAMPAIGNS = [
    ("q4-saas-founders", "Q4 SaaS founders"),
    ("fintech-cfos", "Fintech CFOs"),
    ("devtools-vp-eng", "DevTools VP Eng"),
]
PAGES = [
    ("/", "Home", 30),
    ("/pricing", "Pricing", 14),
    ("/product", "Product", 12),
    ("/features/analytics", "Analytics", 8),
    ("/case-studies/acme", "Acme case study", 7),
    ("/customers/globex", "Globex story", 5),
    ("/blog/intent-data", "Intent data 101", 12),
    ("/about", "About", 6),
    ("/demo", "Book a demo", 6),
]
PAGE_WEIGHTS = [p[2] for p in PAGES]
HUMAN_AGENTS = [
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0 Safari/537.36",
        "desktop",
        "Chrome",
        "Mac OS X",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0 Safari/537.36 Edg/131.0",
        "desktop",
        "Edge",
        "Windows",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "mobile",
        "Mobile Safari",
        "iOS",
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "desktop",
        "Firefox",
        "Linux",
    ),
]
BOT_AGENT = (
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "bot",
    "AhrefsBot",
    "Other",
)
SCANNER_AGENT = "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0; SafeLinks)"
COUNTRIES = ["US", "US", "US", "GB", "DE", "FR", "CA", "NL", "SE", "AU"]


@dataclass
class Stats:
    leads: int = 0
    visitors: int = 0
    events: int = 0
    files: int = 0
    by_stream: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class _PartitionedWriter:
    """Buffers lines per (stream, partition) and writes sealed files in bounded chunks."""

    def __init__(self, landing_dir: Path, prefix: str, chunk_lines: int = 200_000) -> None:
        self.landing_dir = landing_dir
        self.prefix = prefix
        self.chunk_lines = chunk_lines
        self.buffers: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.buffered = 0
        self.stats = Stats()

    def add(self, stream: str, received_epoch_s: float, record: dict[str, Any]) -> None:
        self.buffers[(stream, partition_of(received_epoch_s))].append(
            json.dumps(record, separators=(",", ":"))
        )
        self.buffered += 1
        self.stats.by_stream[stream] += 1
        if self.buffered >= self.chunk_lines:
            self.flush()

    def flush(self) -> None:
        for (stream, partition), lines in self.buffers.items():
            folder = self.landing_dir / stream / partition
            folder.mkdir(parents=True, exist_ok=True)
            name = f"{self.prefix}-{uuid.uuid4().hex[:12]}.ndjson"
            tmp = folder / (name + ".tmp")
            tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
            tmp.rename(folder / name)  # sealed in one step: readers never see half a file
            self.stats.files += 1
        self.buffers.clear()
        self.buffered = 0


def lead_id_for(campaign_id: str, email: str) -> str:
    return hashlib.sha256(f"{campaign_id}|{normalize_email(email)}".encode()).hexdigest()[:16]


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class _Journeys:
    def __init__(self, rng: random.Random, writer: _PartitionedWriter, start: float, end: float):
        self.rng = rng
        self.writer = writer
        self.start = start
        self.end = end

    def event(
        self,
        visitor: dict[str, Any],
        etype: str,
        at: float,
        url: str | None,
        data: dict[str, Any],
        session: str | None,
        token: str | None,
        referrer: str | None = None,
    ) -> None:
        rng = self.rng
        received = at + rng.uniform(0.05, 2.0)
        if rng.random() < 0.01:  # came back from the pixel's retry queue hours later
            received += rng.uniform(600, 6 * 3600)
        received = min(received, self.end)
        skew_ms = visitor["skew_ms"]
        ts_ms = int(at * 1000) + skew_ms
        sent_ms = ts_ms + int((received - at) * 1000)
        agent, device, browser, os_name = visitor["agent"]
        record = {
            "event_id": _uuid(rng),
            "type": etype,
            "ts": ts_ms,
            "sent_at": sent_ms,
            "received_at": iso_ms(received),
            "event_at": iso_ms(at),
            "visitor_id": visitor["id"],
            "client_visitor_id": None,
            "client_session_id": session,
            "token": token,
            "token_valid": None if token is None else True,
            "url": url,
            "referrer": referrer,
            "data": data,
            "pixel_version": "1.0.0",
            "ip": visitor["ip"],
            "user_agent": agent,
            "device": device,
            "browser": browser,
            "os": os_name,
            "is_bot": device == "bot",
            "country": visitor["country"],
            "region": None,
            "city": None,
            "asn": None,
            "as_org": None,
        }
        self.writer.add("events", received, record)
        if rng.random() < 0.002:  # at-least-once landing: a retried batch lands twice
            self.writer.add("events", min(received + 5, self.end), record)

    def email_click(self, token: str, at: float, scanner: bool) -> None:
        rng = self.rng
        agent = SCANNER_AGENT if scanner else HUMAN_AGENTS[0][0]
        record = {
            "event_id": _uuid(rng),
            "type": "email_click",
            "ts": int(at * 1000),
            "sent_at": int(at * 1000),
            "received_at": iso_ms(at),
            "event_at": iso_ms(at),
            "visitor_id": None,
            "client_visitor_id": None,
            "client_session_id": None,
            "token": token,
            "token_valid": True,
            "url": f"{SITE}/",
            "referrer": None,
            "data": {
                "to": "/",
                "scanner": scanner,
                "scanner_reason": "user_agent" if scanner else None,
            },
            "pixel_version": None,
            "ip": "40.94.12.0" if scanner else "198.51.100.0",
            "user_agent": agent,
            "device": "other" if scanner else "desktop",
            "browser": None,
            "os": None,
            "is_bot": False,
            "country": "US",
            "region": None,
            "city": None,
            "asn": None,
            "as_org": None,
        }
        self.writer.add("events", at, record)

    def session(
        self,
        visitor: dict[str, Any],
        at: float,
        token: str | None,
        email: str | None,
        pages: int,
        bot: bool = False,
    ) -> float:
        rng = self.rng
        session = _uuid(rng)
        referrer = "https://mail.google.com/" if token else "https://www.google.com/"
        for _ in range(pages):
            path, title, _w = rng.choices(PAGES, weights=PAGE_WEIGHTS)[0]
            url = SITE + path
            self.event(
                visitor,
                "pageview",
                at,
                url,
                {
                    "title": title,
                    "viewport_w": 1440,
                    "viewport_h": 900,
                    "screen_w": 1512,
                    "screen_h": 982,
                    "language": "en-US",
                    "tz": "America/New_York",
                },
                session,
                token,
                referrer,
            )
            referrer = None
            dwell = rng.uniform(1, 4) if bot else rng.expovariate(1 / 70)
            depth = 0
            for milestone in (25, 50, 75, 90, 100):
                if rng.random() < (0.95 if bot else 0.72):
                    depth = milestone
                    self.event(
                        visitor,
                        "scroll_depth",
                        at + dwell * milestone / 120,
                        url,
                        {"depth": milestone},
                        session,
                        token,
                    )
                else:
                    break
            if not bot and rng.random() < 0.35:
                role = rng.choice(["cta", "nav", "button", "link"])
                self.event(
                    visitor,
                    "click",
                    at + dwell * 0.6,
                    url,
                    {
                        "tag": "a",
                        "id": None,
                        "classes": "btn",
                        "text": "Book a demo",
                        "href": f"{SITE}/demo",
                        "role": role,
                    },
                    session,
                    token,
                )
            if not bot and path == "/product" and rng.random() < 0.4:
                for action, pct in (
                    ("play", 0),
                    ("progress", 25),
                    ("progress", 50),
                    ("complete", 100),
                ):
                    if action != "play" and rng.random() < 0.25:
                        break
                    self.event(
                        visitor,
                        "video",
                        at + dwell * (0.2 + pct / 200),
                        url,
                        {"src": "/media/demo.webm", "action": action, "percent": pct},
                        session,
                        token,
                    )
            if not bot and path == "/demo" and rng.random() < 0.5:
                self.event(
                    visitor,
                    "form_start",
                    at + dwell * 0.3,
                    url,
                    {"form_id": "demo-form", "field": "email"},
                    session,
                    token,
                )
                if rng.random() < 0.6:
                    typed = email or f"{_uuid(rng)[:8]}@gmail.com"
                    self.event(
                        visitor,
                        "form_submit",
                        at + dwell * 0.8,
                        url,
                        {
                            "form_id": "demo-form",
                            "fields": ["email", "company"],
                            "hems": email_hashes(typed),
                        },
                        session,
                        token,
                    )
            active_ms = int(min(dwell, 30 + dwell * 0.6) * 1000)
            self.event(
                visitor,
                "page_exit",
                at + dwell,
                url,
                {"active_ms": active_ms, "max_depth": depth},
                session,
                token,
            )
            at += dwell + rng.uniform(0.5, 6)
        return at


def _visitor(rng: random.Random, bot: bool = False) -> dict[str, Any]:
    return {
        "id": _uuid(rng),
        "agent": BOT_AGENT if bot else rng.choice(HUMAN_AGENTS),
        "ip": f"{rng.randint(11, 220)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.0",
        "country": rng.choice(COUNTRIES),
        "skew_ms": int(rng.gauss(0, 1500))
        if rng.random() < 0.9
        else rng.randint(-3_600_000, 3_600_000),
    }


def _leads(
    rng: random.Random, count: int, keyring: Keyring, created: float
) -> Iterator[dict[str, Any]]:
    taken: dict[str, str] = {}
    for n in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company, industry = rng.choice(COMPANIES)
        campaign_id, campaign_name = CAMPAIGNS[n % len(CAMPAIGNS)]
        domain = company.lower().replace(" ", "") + ".example"
        email = f"{first.lower()}.{last.lower()}{n}@{domain}"
        token = mint(keyring, campaign_id, email, taken.get)
        taken[token] = f"{campaign_id}|{email}"
        yield {
            "lead_id": lead_id_for(campaign_id, email),
            "email": email,
            "email_sha256": email_sha256(email),
            "first_name": first,
            "last_name": last,
            "company": company,
            "title": rng.choice(TITLES),
            "industry": industry,
            "campaign_id": campaign_id,
            "campaign_name": campaign_name,
            "token": token,
            "created_at": iso_ms(created),
            "attributes": {"source": "synthetic", "row": n},
        }


def generate(
    landing_dir: Path,
    *,
    visitors: int,
    days: int,
    end: float,
    seed: int = 7,
    prefix: str = "synthetic",
) -> Stats:
    """Write leads and `visitors` journeys (≈ 11 events each) spread over `days` before `end`."""
    rng = random.Random(seed)
    writer = _PartitionedWriter(landing_dir, prefix)
    start = end - days * 86400
    keyring = Keyring.parse(SAMPLE_TOKEN_SECRET)
    journeys = _Journeys(rng, writer, start, end)
    lead_count = max(1, int(visitors * 0.9))
    leads = list(_leads(rng, lead_count, keyring, start - 86400))
    for lead in leads:
        writer.add("leads", start - 86400, lead)
    stats = writer.stats
    stats.leads = len(leads)
    lead_iter = iter(leads)

    def when(recent_bias: float) -> float:
        # recent-biased arrival: hot leads are the ones active in the last days
        return end - min(days * 86400 - 3600, rng.expovariate(1 / (recent_bias * 86400)))

    made = 0
    while made < visitors:
        kind = rng.random()
        if kind < 0.62:  # a lead clicks the email and visits
            lead = next(lead_iter, None)
            if lead is None:
                lead_iter = iter(leads)
                continue
            visitor = _visitor(rng)
            at = when(rng.choice([1.5, 4, 12, 40]))
            if rng.random() < 0.35:  # the security gateway clicks first
                journeys.email_click(lead["token"], at - rng.uniform(5, 60), scanner=True)
            journeys.email_click(lead["token"], at - 1, scanner=False)
            sessions = 1 + min(5, int(rng.expovariate(0.8)))
            for s in range(sessions):
                pages = 1 + min(8, int(rng.expovariate(0.45)))
                at = journeys.session(
                    visitor, at, lead["token"] if s == 0 else None, lead["email"], pages
                )
                at += rng.uniform(3600, 3 * 86400)
                if at > end - 60:
                    break
            made += 1
            if rng.random() < 0.12 and made < visitors:  # second device, identified by a form
                phone = _visitor(rng)
                phone_at = min(end - 600, at - rng.uniform(0, 86400))
                journeys.session(phone, phone_at, None, lead["email"], 2)
                visit_at = min(end - 60, phone_at + 300)
                journeys.event(
                    phone,
                    "pageview",
                    visit_at,
                    SITE + "/demo",
                    {"title": "Book a demo"},
                    _uuid(rng),
                    None,
                )
                journeys.event(
                    phone,
                    "form_submit",
                    visit_at + 20,
                    SITE + "/demo",
                    {
                        "form_id": "demo-form",
                        "fields": ["email"],
                        "hems": email_hashes(lead["email"]),
                    },
                    _uuid(rng),
                    None,
                )
                made += 1
            if rng.random() < 0.04:  # forwarded to colleagues: same token, new people
                for _ in range(rng.randint(3, 5)):
                    colleague = _visitor(rng)
                    journeys.session(
                        colleague,
                        min(end - 600, at + rng.uniform(60, 86400)),
                        lead["token"],
                        None,
                        2,
                    )
                    made += 1
        elif kind < 0.92:  # anonymous visitor
            visitor = _visitor(rng)
            journeys.session(visitor, when(10), None, None, 1 + int(rng.expovariate(0.6)))
            made += 1
        else:  # crawler
            visitor = _visitor(rng, bot=True)
            journeys.session(visitor, when(10), None, None, 5 + rng.randint(0, 20), bot=True)
            made += 1
    writer.flush()
    stats.visitors = made
    stats.events = stats.by_stream["events"]
    return stats
