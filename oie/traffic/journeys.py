"""Who visits, when, and what they do: deterministic journeys for a list of leads.

Journeys are a pure function of the seed, the lead list and the start of today: the same
seed gives the same visitors, pages and ids. Most visitors are leads who click the email
link (some after a link scanner), read a few pages, come back over days, switch devices,
and a few fill in the contact form; mixed in are forwarded links, anonymous visitors
(some identifying themselves through the form), crawlers, and scanner-only clicks.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import overload

from oie.traffic.catalogue import (
    BOT_UAS,
    DESKTOP_UAS,
    FORM_PAGE,
    MOBILE_UAS,
    REFERRERS,
    RETURN_REFERRERS,
    SCANNER_IP,
    SCANNER_UA,
)
from oie.traffic.model import Click, Journey, SimLead
from oie.traffic.networks import cloud_address, colleague_domain, company_address, email_domain
from oie.traffic.visit import VisitBuilder, pick_pages

DAY_S = 86400.0

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
    return list(
        iter_journeys(
            leads,
            visitors=visitors,
            days=days,
            seed=seed,
            today_start=today_start,
            now=now,
            site=site,
        )
    )


def iter_journeys(
    leads: list[SimLead],
    *,
    visitors: int,
    days: int,
    seed: int,
    today_start: float,
    now: float,
    site: str,
) -> Iterator[Journey]:
    """`plan_journeys` one visitor at a time: millions of visitors in bounded memory."""
    planner = _Planner(random.Random(seed), leads, days, today_start, now, site)
    for _ in range(visitors):
        yield planner.next_journey()


class _Planner:
    def __init__(
        self,
        rng: random.Random,
        leads: list[SimLead],
        days: int,
        today_start: float,
        now: float,
        site: str,
    ) -> None:
        self.rng = rng
        self.b = VisitBuilder(rng, site)
        self.days = days
        self.today_start = today_start
        self.pool = list(leads)
        rng.shuffle(self.pool)
        self.clicked: list[SimLead] = []
        # Lead companies' networks, where some anonymous visitors (colleagues) read from.
        self.domains = sorted({email_domain(lead.email) for lead in self.pool})
        self.names = [name for name, _ in PERSONAS]
        self.weights = [share for _, share in PERSONAS]
        self.levels = list(INTEREST)
        self.level_weights = [INTEREST[k][0] for k in self.levels]
        # Today's visits end before `now`; earlier days run 08:00-20:00 UTC.
        self.latest_today = max(today_start + 60, now - 120)

    def day_time(self, day_offset: int) -> float:
        if day_offset == 0:
            span = max(60.0, self.latest_today - self.today_start - 1800)
            return self.today_start + self.rng.uniform(0, span)
        return self.today_start - day_offset * DAY_S + self.rng.uniform(8 * 3600, 20 * 3600)

    def any_day(self) -> float:
        return self.day_time(self.rng.randint(0, self.days - 1))

    def next_journey(self) -> Journey:
        rng = self.rng
        persona = rng.choices(self.names, self.weights)[0]
        if persona in ("lead", "scanner") and not self.pool:
            persona = "anonymous"
        if persona == "forwarded" and not self.clicked:
            persona = "anonymous"
        j = Journey(persona)
        ua = rng.choice(DESKTOP_UAS if rng.random() < 0.75 else MOBILE_UAS)
        ip = self.b.ip()
        vid = self.b.uid()
        if persona == "lead":
            self.lead(j, ua, ip, vid)
        elif persona == "scanner":
            self.scanner_only(j)
        elif persona == "forwarded":
            self.forwarded(j, ua, ip, vid)
        elif persona == "bot":
            self.bot(j, ip, vid)
        else:
            self.anonymous(j, ua, ip, vid)
        j.actions.sort(key=lambda a: a.at)
        return j

    def lead(self, j: Journey, ua: str, ip: str, vid: str) -> None:
        """A lead clicks the email link, then reads pages over one or more days."""
        rng, b = self.rng, self.b
        lead = self.pool.pop()
        self.clicked.append(lead)
        # the desktop reads from the company's network; a second device does not
        ip = company_address(email_domain(lead.email), vid)
        level = rng.choices(self.levels, self.level_weights)[0]
        _, (v_lo, v_hi), (p_lo, p_hi), bias = INTEREST[level]
        n_visits = min(rng.randint(v_lo, v_hi), self.days)
        first_day = rng.randint(n_visits - 1, self.days - 1)
        visit_days = (
            sorted({first_day, *rng.sample(range(first_day), n_visits - 1)}, reverse=True)
            if n_visits > 1
            else [first_day]
        )
        wants_form = rng.random() < FORM_CHANCE[level]
        for n, day in enumerate(visit_days):
            start = self.day_time(day)
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
                            SCANNER_IP,
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

    def scanner_only(self, j: Journey) -> None:
        """A scanner-only click: the lead never came; the warehouse must not score it."""
        rng = self.rng
        lead = self.pool.pop()
        j.actions.append(
            Click(
                self.any_day(),
                lead.token,
                "/",
                SCANNER_UA,
                SCANNER_IP,
                rng.choice(["GET", "HEAD"]),
            )
        )

    def forwarded(self, j: Journey, ua: str, ip: str, vid: str) -> None:
        """Someone the email was forwarded to: a lead's token, a stranger's browser."""
        rng = self.rng
        lead = rng.choice(self.clicked)
        batches, _ = self.b.visit(
            self.any_day(),
            pick_pages(rng, rng.randint(1, 3), 0.3, "/"),
            visitor_id=vid,
            token=lead.token,
            user_agent=ua,
            ip=ip,
            referrer="",
            engaged=0.3,
        )
        j.actions.extend(batches)

    def bot(self, j: Journey, ip: str, vid: str) -> None:
        rng = self.rng
        ip = cloud_address(vid)  # crawlers run in clouds
        batches, _ = self.b.visit(
            self.any_day(),
            pick_pages(rng, rng.randint(2, 6), 0.5, "/"),
            visitor_id=vid,
            token=None,
            user_agent=rng.choice(BOT_UAS),
            ip=ip,
            referrer="",
            bot=True,
        )
        j.actions.extend(batches)

    def anonymous(self, j: Journey, ua: str, ip: str, vid: str) -> None:
        """No token; a few fill in the demo form, some with a lead's address; some are
        colleagues of a lead, on their company's network."""
        rng = self.rng
        colleague_of = colleague_domain(vid, self.domains)
        if colleague_of is not None:
            ip = company_address(colleague_of, vid)
        form_email = None
        if rng.random() < 0.12:
            known = _Joined(self.clicked, self.pool)
            form_email = (
                rng.choice(known).email
                if known and rng.random() < 0.5
                else f"visitor{rng.randint(1, 10**6)}@example.org"
            )
        pages = pick_pages(rng, rng.randint(1, 4), 0.3, None)
        if form_email:
            pages.append(FORM_PAGE)
        batches, _ = self.b.visit(
            self.any_day(),
            pages,
            visitor_id=vid,
            token=None,
            user_agent=ua,
            ip=ip,
            referrer=rng.choice(RETURN_REFERRERS),
            form_email=form_email,
        )
        j.actions.extend(batches)


class _Joined(Sequence[SimLead]):
    """`[*first, *second]` without the copy: `rng.choice` over it picks the same lead as
    over the concatenated list, and a million-visitor run does not copy every lead each time."""

    def __init__(self, first: list[SimLead], second: list[SimLead]) -> None:
        self.first = first
        self.second = second

    def __len__(self) -> int:
        return len(self.first) + len(self.second)

    @overload
    def __getitem__(self, index: int) -> SimLead: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[SimLead]: ...
    def __getitem__(self, index: int | slice) -> SimLead | Sequence[SimLead]:
        if isinstance(index, slice):
            return [*self.first, *self.second][index]
        if 0 <= index < len(self.first):
            return self.first[index]
        return self.second[index - len(self.first)]
