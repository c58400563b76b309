"""Where simulated visitors come from, and the demo's network database that names it.

Each lead's company gets its own /48 in the IPv6 documentation range 2001:db8::/32 (RFC
3849: realistic shape, never someone's network), derived from the email domain, so a
lead's desktop visits and some anonymous visitors (colleagues) come from their company's
network. Everyone else keeps the IPv4 documentation ranges the visit builder draws, which
the demo database names a consumer ISP, a mobile carrier and a fibre ISP; crawlers come
from a cloud. Every choice here is a hash of ids the journey already has: the journeys'
random sequence is unchanged, so a seed gives the same visitors as before.

`demo_networks(companies)` is the database `oie demo` writes (oie/network_db.py), shaped
like GeoIP2-ISP plus a domain, so the collector's lookup (oie_core/iporg.py) fills every
network field and the warehouse's company_activity shows the companies.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from typing import Any

COMPANY_NETWORKS = ipaddress.IPv6Network("2001:db8::/32")
CLOUD_PREFIX = "2001:db8:ffff"  # crawlers' cloud: a /48 no company hash ever gets
# One anonymous visitor in COLLEAGUE_SHARE comes from a lead company's network.
COLLEAGUE_SHARE = 3

# The IPv4 documentation ranges of VisitBuilder.ip(), as the demo database names them.
PUBLIC_NETWORKS: tuple[tuple[str, dict[str, Any]], ...] = (
    (
        "198.51.100.0/24",
        {
            "autonomous_system_number": 64496,
            "autonomous_system_organization": "EXAMPLE-BROADBAND",
            "isp": "Example Broadband",
            "organization": "Example Broadband",
            "connection_type": "Cable/DSL",
        },
    ),
    (
        "203.0.113.0/24",
        {
            "autonomous_system_number": 64497,
            "autonomous_system_organization": "EXAMPLE-MOBILE",
            "isp": "Example Mobile",
            "organization": "Example Mobile",
            "connection_type": "Cellular",
        },
    ),
    (
        "192.0.2.0/24",
        {
            "autonomous_system_number": 64498,
            "autonomous_system_organization": "EXAMPLE-FIBRE",
            "isp": "Example Fibre",
            "organization": "Example Fibre",
            "connection_type": "Cable/DSL",
        },
    ),
    (
        f"{CLOUD_PREFIX}::/48",
        {
            "autonomous_system_number": 64499,
            "autonomous_system_organization": "EXAMPLE-CLOUD",
            "isp": "Example Cloud Hosting",
            "organization": "Example Cloud Hosting",
            "user_type": "hosting",
        },
    ),
)


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def company_prefix(domain: str) -> str:
    """The company's /48 ("2001:db8:xxxx::/48"), the same for every run."""
    block = int.from_bytes(_digest(domain.lower())[:2]) % 0xFFFF  # never ffff (the cloud)
    return f"2001:db8:{block:x}::/48"


def _host_in(prefix: str, key: str) -> str:
    network = ipaddress.IPv6Network(prefix)
    host = int.from_bytes(_digest(key)[:8]) | 1  # never the network address itself
    return str(network.network_address + host)


def company_address(domain: str, visitor_id: str) -> str:
    """One visitor's address on the company network of `domain`."""
    return _host_in(company_prefix(domain), visitor_id)


def cloud_address(visitor_id: str) -> str:
    return _host_in(f"{CLOUD_PREFIX}::/48", visitor_id)


def colleague_domain(visitor_id: str, domains: list[str]) -> str | None:
    """The company domain an anonymous visitor reads from, for one in COLLEAGUE_SHARE."""
    if not domains:
        return None
    digest = int.from_bytes(_digest("colleague|" + visitor_id)[:4])
    if digest % COLLEAGUE_SHARE:
        return None
    return domains[(digest // COLLEAGUE_SHARE) % len(domains)]


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def demo_networks(companies: Iterable[tuple[str, str]]) -> list[tuple[str, dict[str, Any]]]:
    """(CIDR, record) for the demo database: each (company name, email domain) on its own
    /48 as a business line of a transit provider, then the public networks above."""
    records: dict[str, tuple[str, dict[str, Any]]] = {}
    for company, domain in companies:
        prefix = company_prefix(domain)
        records.setdefault(
            prefix,
            (
                prefix,
                {
                    "autonomous_system_number": 64500,
                    "autonomous_system_organization": "EXAMPLE-TRANSIT",
                    "isp": "Example Transit",
                    "organization": company,
                    "domain": domain.lower(),
                    "connection_type": "Corporate",
                },
            ),
        )
    return [*records.values(), *PUBLIC_NETWORKS]
