"""The fictional leads of written-out traffic: three campaigns of people with names,
companies and titles, their tokens minted with the sample's own (public) secret."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from oie.lead_list import lead_id_for
from oie.traffic.model import SimLead
from oie_core.hashing import email_sha256, normalize_email
from oie_core.landing import iso_ms
from oie_core.tokens import Keyring, mint

# Public on purpose: written-out data is for demos and benchmarks, never for production.
SAMPLE_TOKEN_SECRET = "sample-secret-not-for-production"

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


def lead_records(rng: random.Random, count: int, created: float) -> Iterator[dict[str, Any]]:
    """`count` raw_leads records, as `oie campaign create` lands them."""
    keyring = Keyring.parse(SAMPLE_TOKEN_SECRET)
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
            "lead_id": lead_id_for(campaign_id, normalize_email(email)),
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
            "imported_at": iso_ms(created),
        }


def sim_lead(record: dict[str, Any]) -> SimLead:
    return SimLead(record["email"], record["token"], record["campaign_id"])
