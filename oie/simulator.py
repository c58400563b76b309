"""`oie simulate`: realistic visitor journeys sent through the real ingest code.

Two ways in, one set of journeys:
- today's visits go through the real HTTP API of a running server: `GET /go` for the email
  click, then `POST /track` batches, as a browser would;
- earlier days go through the very same `ingest_function.service.Service` in-process with a
  simulated clock, because the server rightly refuses events older than OIE_MAX_EVENT_AGE
  and partitions landing files by its own receive time.

Today's sessions are sent the way the pixel flushes a queued page: events keep the times
they happened (`ts` minutes ago) and `meta.sent_at` is the real send time, so the server's
skew correction leaves them where they were. Journeys are a pure function of the seed, the
lead list and the start of today: the same seed gives the same visitors, pages and ids.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, urlsplit

from oie_core.hashing import email_hashes

DAY_S = 86400.0

# The pixel's example site (pixel/examples): path -> (title, kind). The kinds are what the
# warehouse scores (its URL patterns: %/pricing%, %/case-stud%, %/product%).
PAGES: dict[str, tuple[str, str]] = {
    "/": ("Home · Acme Analytics", "other"),
    "/pricing.html": ("Pricing · Acme Analytics", "pricing"),
    "/product.html": ("Product · Acme Analytics", "product"),
    "/case-studies/acme.html": ("Case study: Acme Corp · Acme Analytics", "case_study"),
    "/newsletter.html": ("Newsletter · Acme Analytics", "other"),
    "/app/": ("App (single-page) · Acme Analytics", "other"),
    "/contact.html": ("Contact · Acme Analytics", "form"),
}
BROWSE = ["/", "/newsletter.html", "/app/", "/product.html"]
INTENT = ["/pricing.html", "/case-studies/acme.html", "/product.html"]
FORM_PAGE = "/contact.html"
FORM_ID = "contact"
VIDEO = "/media/demo.webm"

DESKTOP_UAS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
]
MOBILE_UAS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
]
BOT_UAS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
]
SCANNER_UA = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)"
REFERRERS = ["https://mail.google.com/", "", "https://outlook.office.com/"]
RETURN_REFERRERS = ["https://www.google.com/", "", "https://www.linkedin.com/"]

# Personas and their share of visitors.
PERSONAS = (
    ("lead", 0.58),
    ("anonymous", 0.25),
    ("bot", 0.08),
    ("forwarded", 0.05),
    ("scanner", 0.04),
)
# How engaged a clicking lead is: (share, visits range, pages per visit range, intent bias).
INTEREST = {
    "cold": (0.45, (1, 1), (1, 2), 0.05),
    "warm": (0.30, (1, 2), (2, 3), 0.25),
    "hot": (0.17, (1, 3), (2, 4), 0.45),
    "burning": (0.08, (2, 4), (3, 5), 0.7),
}
# Chance that a lead of this interest fills in the demo form on their last visit.
FORM_CHANCE = {"cold": 0.0, "warm": 0.02, "hot": 0.15, "burning": 0.6}


@dataclass(frozen=True)
class SimLead:
    email: str
    token: str
    campaign_id: str


@dataclass
class Click:
    at: float
    token: str
    to: str
    user_agent: str
    ip: str
    method: str = "GET"


@dataclass
class TrackBatch:
    at: float  # when the browser sends it (meta.sent_at)
    events: list[dict[str, Any]]
    user_agent: str
    ip: str


@dataclass
class Journey:
    """Everything one visitor does, in time order."""

    persona: str
    actions: list[Click | TrackBatch] = field(default_factory=list)


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


# --------------------------------------------------------------------------- journeys


class _Builder:
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
        mobile = "Mobile" in user_agent or "iPhone" in user_agent
        vw, vh = (390, 844) if mobile else (1440, 900)
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
                    {
                        "event_id": self.uid(),
                        "type": etype,
                        "ts": int(at * 1000),
                        "visitor_id": visitor_id,
                        "session_id": session_id,
                        "token": token,
                        "url": url,
                        "referrer": referrer or None,
                        "data": data,
                    }
                )

            add(
                "pageview",
                t,
                {
                    "title": title,
                    "viewport_w": vw,
                    "viewport_h": vh,
                    "screen_w": vw,
                    "screen_h": vh,
                    "language": "en-US",
                    "tz": "Europe/Berlin",
                },
            )
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
    pages = [first] if first else []
    while len(pages) < count:
        pool = INTENT if rng.random() < intent_bias else BROWSE
        page = rng.choice(pool)
        if pages and page == pages[-1]:
            continue
        pages.append(page)
    return pages


def plan_journeys(
    leads: list[SimLead],
    *,
    visitors: int,
    days: int,
    seed: int,
    today_start: float,
    now: float,
    site: str,
) -> list[Journey]:
    """Deterministic journeys for `visitors` visitors over the last `days` days (today incl.)."""
    rng = random.Random(seed)
    b = _Builder(rng, site)
    pool = list(leads)
    rng.shuffle(pool)
    clicked: list[SimLead] = []
    journeys: list[Journey] = []
    names = [name for name, _ in PERSONAS]
    weights = [share for _, share in PERSONAS]
    levels = list(INTEREST)
    level_weights = [INTEREST[k][0] for k in levels]
    # Today's visits end before `now`; earlier days run 08:00-20:00 UTC.
    latest_today = max(today_start + 60, now - 120)

    def day_time(day_offset: int) -> float:
        if day_offset == 0:
            span = max(60.0, latest_today - today_start - 1800)
            return today_start + rng.uniform(0, span)
        return today_start - day_offset * DAY_S + rng.uniform(8 * 3600, 20 * 3600)

    for _ in range(visitors):
        persona = rng.choices(names, weights)[0]
        if persona in ("lead", "scanner") and not pool:
            persona = "anonymous"
        if persona == "forwarded" and not clicked:
            persona = "anonymous"
        j = Journey(persona)
        ua = rng.choice(DESKTOP_UAS if rng.random() < 0.75 else MOBILE_UAS)
        ip = b.ip()
        vid = b.uid()
        if persona == "lead":
            lead = pool.pop()
            clicked.append(lead)
            level = rng.choices(levels, level_weights)[0]
            _, (v_lo, v_hi), (p_lo, p_hi), bias = INTEREST[level]
            n_visits = min(rng.randint(v_lo, v_hi), days)
            first_day = rng.randint(n_visits - 1, days - 1)
            visit_days = (
                sorted({first_day, *rng.sample(range(first_day), n_visits - 1)}, reverse=True)
                if n_visits > 1
                else [first_day]
            )
            wants_form = rng.random() < FORM_CHANCE[level]
            for n, day in enumerate(visit_days):
                start = day_time(day)
                token = lead.token
                if n == 0:
                    # Email security gateways often open the link seconds before the human.
                    if rng.random() < 0.15:
                        j.actions.append(
                            Click(
                                start - rng.uniform(5, 60),
                                token,
                                "/",
                                SCANNER_UA,
                                "40.94.12.7",
                                rng.choice(["GET", "HEAD"]),
                            )
                        )
                    j.actions.append(Click(start, token, "/", ua, ip))
                    start += rng.uniform(0.5, 2.0)
                # Some leads come back on their phone: a second device, a second click.
                switch = n > 0 and rng.random() < 0.15
                visit_ua, visit_vid, visit_ip = ua, vid, ip
                if switch:
                    visit_ua, visit_vid, visit_ip = rng.choice(MOBILE_UAS), b.uid(), b.ip()
                    j.actions.append(Click(start, token, "/pricing.html", visit_ua, visit_ip))
                    start += 1.0
                count = rng.randint(p_lo, p_hi)
                pages = pick_pages(rng, count, bias, "/" if n == 0 else None)
                last = n == len(visit_days) - 1
                if wants_form and last:
                    pages.append(FORM_PAGE)
                batches, _ = b.visit(
                    start,
                    pages,
                    visitor_id=visit_vid,
                    token=token,
                    user_agent=visit_ua,
                    ip=visit_ip,
                    referrer=rng.choice(REFERRERS if n == 0 else RETURN_REFERRERS),
                    form_email=lead.email if wants_form and last else None,
                    engaged=bias,
                )
                j.actions.extend(batches)
        elif persona == "scanner":
            # A scanner-only click: the lead never came; the warehouse must not score it.
            lead = pool.pop()
            j.actions.append(
                Click(
                    day_time(rng.randint(0, days - 1)),
                    lead.token,
                    "/",
                    SCANNER_UA,
                    "40.94.12.7",
                    rng.choice(["GET", "HEAD"]),
                )
            )
        elif persona == "forwarded":
            lead = rng.choice(clicked)
            batches, _ = b.visit(
                day_time(rng.randint(0, days - 1)),
                pick_pages(rng, rng.randint(1, 3), 0.3, "/"),
                visitor_id=vid,
                token=lead.token,
                user_agent=ua,
                ip=ip,
                referrer="",
                engaged=0.3,
            )
            j.actions.extend(batches)
        elif persona == "bot":
            batches, _ = b.visit(
                day_time(rng.randint(0, days - 1)),
                pick_pages(rng, rng.randint(2, 6), 0.5, "/"),
                visitor_id=vid,
                token=None,
                user_agent=rng.choice(BOT_UAS),
                ip=ip,
                referrer="",
                bot=True,
            )
            j.actions.extend(batches)
        else:  # anonymous; a few fill in the demo form, some with a lead's address
            form_email = None
            if rng.random() < 0.12:
                known = [*clicked, *pool]
                form_email = (
                    rng.choice(known).email
                    if known and rng.random() < 0.5
                    else f"visitor{rng.randint(1, 10**6)}@example.org"
                )
            pages = pick_pages(rng, rng.randint(1, 4), 0.3, None)
            if form_email:
                pages.append(FORM_PAGE)
            batches, _ = b.visit(
                day_time(rng.randint(0, days - 1)),
                pages,
                visitor_id=vid,
                token=None,
                user_agent=ua,
                ip=ip,
                referrer=rng.choice(RETURN_REFERRERS),
                form_email=form_email,
            )
            j.actions.extend(batches)
        j.actions.sort(key=lambda a: a.at)
        journeys.append(j)
    return journeys


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
            events.append(
                {
                    "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{session_id}|{counter}")),
                    "type": etype,
                    "ts": int(at * 1000),
                    "visitor_id": visitor_id,
                    "session_id": session_id,
                    "token": lead.token,
                    "url": url,
                    "referrer": ref,
                    "data": data,
                }
            )

        add(
            "pageview",
            t,
            {
                "title": title,
                "viewport_w": 1440,
                "viewport_h": 900,
                "screen_w": 1440,
                "screen_h": 900,
                "language": "en-US",
                "tz": "Europe/Berlin",
            },
        )
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


# --------------------------------------------------------------------------- senders


class RateLimited(RuntimeError):
    """The server answered 429: a simulation would only pile up retries."""


class HttpSender:
    """Today's traffic: the running server's real HTTP API, a connection per thread."""

    def __init__(self, endpoint: str, site: str, stats: SimStats) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--endpoint must be http(s)://host:port, got {endpoint!r}")
        self.parts = parts
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
        status, _ = self._request(click.method, path, None, {"User-Agent": click.user_agent})
        with self.lock:
            self.stats.clicks += 1
            self.stats.http_requests += 1
            if status != 302:
                self.stats.errors[f"/go {status}"] += 1

    def track(self, batch: TrackBatch) -> None:
        # Sent now, with the times the events happened: a flushed page queue.
        body = json.dumps(
            {
                "events": batch.events,
                "meta": {"sent_at": int(time.time() * 1000), "pixel_version": "sim"},
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
            },
        )
        _count(self.stats, self.lock, batch, status, data, http=True)


class InProcessSender:
    """Earlier days: the same Service code, called directly with a simulated clock."""

    def __init__(self, site: str, stats: SimStats) -> None:
        from ingest_function import service as service_module
        from oie_core.settings import OriginPattern, Settings

        settings = Settings.from_env()
        origin = site.rstrip("/")
        # Our own in-process instance: allow the simulated site and do not rate-limit the
        # simulated clock (the limiter's window is wall time).
        settings = replace(
            settings,
            allowed_origins=(*settings.allowed_origins, OriginPattern.parse(origin)),
            rate_limit=0,
            redirect_hosts=settings.redirect_hosts or (urlsplit(origin).netloc,),
        )
        self.module = service_module
        self.service = service_module.Service(settings)
        self.origin = origin
        self.host = urlsplit(origin).netloc
        self.stats = stats
        self.lock = threading.Lock()

    @contextmanager
    def clock(self, at: float) -> Iterator[None]:
        real = self.module.time
        self.module.time = _FixedClock(at)  # type: ignore[assignment]
        try:
            yield
        finally:
            self.module.time = real

    def _request(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        ip: str,
    ) -> Any:
        from werkzeug.datastructures import Headers

        from ingest_function.web import HttpRequest

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
        with self.clock(click.at):
            resp = self._request(
                click.method,
                "/go",
                {"i": click.token, "to": click.to},
                {"User-Agent": click.user_agent, "Host": self.host},
                b"",
                click.ip,
            )
        with self.lock:
            self.stats.clicks += 1
            self.stats.in_process_requests += 1
            if resp.status != 302:
                self.stats.errors[f"/go {resp.status}"] += 1

    def track(self, batch: TrackBatch) -> None:
        body = json.dumps(
            {
                "events": batch.events,
                "meta": {"sent_at": int(batch.at * 1000), "pixel_version": "sim"},
            }
        )
        with self.clock(batch.at + 0.05):
            resp = self._request(
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
        _count(self.stats, self.lock, batch, resp.status, resp.body, http=False)

    def close(self) -> None:
        self.service.close()


class _FixedClock:
    """Stands in for the `time` module inside the service: `time()` is the simulated now."""

    def __init__(self, at: float) -> None:
        self.at = at

    def time(self) -> float:
        return self.at

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def _count(
    stats: SimStats,
    lock: threading.Lock,
    batch: TrackBatch,
    status: int,
    data: bytes,
    *,
    http: bool,
) -> None:
    with lock:
        stats.batches += 1
        stats.events_sent += len(batch.events)
        if http:
            stats.http_requests += 1
        else:
            stats.in_process_requests += 1
        if status == 200:
            doc = json.loads(data or b"{}")
            stats.accepted += int(doc.get("accepted", 0))
            stats.rejected += int(doc.get("rejected", 0))
        else:
            stats.errors[f"/track {status}"] += 1


# --------------------------------------------------------------------------- running


def send_journeys(
    journeys: list[Journey],
    *,
    today_start: float,
    endpoint: str | None,
    site: str,
    threads: int = 8,
    progress: Callable[[int], None] | None = None,
) -> SimStats:
    """Earlier-day actions in-process (in time order), then today's through HTTP."""
    stats = SimStats()
    for j in journeys:
        stats.visitors[j.persona] += 1
    past: list[Click | TrackBatch] = []
    today: list[list[Click | TrackBatch]] = []
    for j in journeys:
        earlier = [a for a in j.actions if a.at < today_start]
        later = [a for a in j.actions if a.at >= today_start]
        past.extend(earlier)
        if later:
            today.append(later)
    past.sort(key=lambda a: a.at)
    done = 0
    if past:
        sender = InProcessSender(site, stats)
        try:
            for action in past:
                if isinstance(action, Click):
                    sender.go(action)
                else:
                    sender.track(action)
                done += 1
                if progress is not None and done % 200 == 0:
                    progress(done)
        finally:
            sender.close()
    if today:
        if endpoint is None:
            raise ValueError("today's traffic needs a running server: pass --endpoint")
        http_sender = HttpSender(endpoint, site, stats)
        lock = threading.Lock()

        def run(actions: list[Click | TrackBatch]) -> None:
            nonlocal done
            # The server stamps a /go click with its own clock, so a visit that starts with
            # a click today is replayed ending now (click first, then its pages, whose
            # events keep their relative times). Other visits keep their planned times,
            # pulled back if they would end in the future.
            end = max(a.at for a in actions)
            late = time.time() - end
            shift = late if any(isinstance(a, Click) for a in actions) else min(0.0, late)
            for action in actions:
                if isinstance(action, Click):
                    http_sender.go(action)
                else:
                    http_sender.track(_shifted(action, shift))
            with lock:
                done += len(actions)
                if progress is not None:
                    progress(done)

        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(run, today))
    if progress is not None:
        progress(done)
    return stats


def _shifted(batch: TrackBatch, shift_s: float) -> TrackBatch:
    if not shift_s:
        return batch
    delta = int(shift_s * 1000)
    events = [{**e, "ts": e["ts"] + delta} for e in batch.events]
    return TrackBatch(batch.at + shift_s, events, batch.user_agent, batch.ip)


def count_actions(journeys: list[Journey]) -> int:
    return sum(len(j.actions) for j in journeys)
