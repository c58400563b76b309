"""Server-side enrichment: user agent -> device/browser/os/is_bot, client IP and geo, and
`server_fields()`, the one place that decides what the server adds to a landed record.

Client IP and geo come only from the headers of the proxy named by OIE_TRUSTED_PROXY:
- `none`: the TCP peer address; every forwarding/geo header is ignored (forgeable);
- `cloudflare`: CF-Connecting-IP, CF-IPCountry, CF-Region, CF-IPCity (Cloudflare's visitor
  location headers);
- `gclb`: Google external Application Load Balancer. It appends `<client-ip>,<lb-ip>` to
  X-Forwarded-For, so the client is the SECOND-TO-LAST entry (anything before it was sent
  by the client and is ignored); geo from the custom request headers the deploy docs set on
  the backend service: X-Client-Geo-Location (`{client_region},{client_city}`) and
  X-Client-Region-Subdivision.
The function must only be reachable through that proxy (docs/ingest.md).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from ua_parser import parse as ua_parse

from ingest_function.validate import clean_str
from oie_core.iporg import NOTHING, Network
from oie_core.landing import iso_ms

BOT_RE = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|headless|phantomjs|puppeteer|playwright|selenium|"
    r"lighthouse|pagespeed|python-requests|python-urllib|aiohttp|httpx|curl/|wget/|"
    r"go-http-client|java/|okhttp|libwww|facebookexternalhit|preview|monitor|uptime|"
    r"scanner|validator|feedfetcher",
    re.IGNORECASE,
)
_TABLET_RE = re.compile(r"ipad|tablet|kindle|silk/|playbook|(android(?!.*mobile))", re.IGNORECASE)
_MOBILE_OS = frozenset({"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS"})
_DESKTOP_OS = frozenset(
    {"Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "ChromeOS", "Fedora", "FreeBSD"}
    | {"Debian", "OpenBSD", "NetBSD", "Red Hat", "SUSE", "macOS"}
)
_GEO_CLEAN = re.compile(r"[^\w .,'()\-]", re.UNICODE)


@dataclass(frozen=True)
class Agent:
    device: str | None
    browser: str | None
    os: str | None
    is_bot: bool


@lru_cache(maxsize=4096)
def classify_agent(ua: str) -> Agent:
    """device (desktop|mobile|tablet|bot|other), browser, os and a bot verdict.

    `is_bot` flags crawlers, scripts AND headless browsers; it is a flag, never a reason to
    drop (our own browser tests run HeadlessChrome). `device` is `bot` only for crawlers
    ua-parser recognises as spiders, so a headless desktop browser stays `desktop`.
    """
    if not ua:
        return Agent(None, None, None, True)
    result = ua_parse(ua[:1024])
    browser = result.user_agent.family if result.user_agent else None
    os_family = result.os.family if result.os else None
    device_family = result.device.family if result.device else None
    is_bot = bool(BOT_RE.search(ua)) or device_family == "Spider"
    if device_family == "Spider":
        device = "bot"
    elif _TABLET_RE.search(ua):
        device = "tablet"
    elif os_family in _MOBILE_OS or "Mobile" in ua:
        device = "mobile"
    elif os_family in _DESKTOP_OS:
        device = "desktop"
    else:
        device = "bot" if is_bot else "other"
    return Agent(device, browser, os_family, is_bot)


@dataclass(frozen=True)
class Client:
    ip: str | None  # the real client address (used for rate limits and scanner checks)
    country: str | None = None
    region: str | None = None
    city: str | None = None
    asn: str | None = None
    as_org: str | None = None


def _geo(value: str | None, limit: int = 80) -> str | None:
    if not value:
        return None
    value = _GEO_CLEAN.sub("", value).strip()[:limit]
    return value or None


@lru_cache(maxsize=8192)
def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def resolve_client(mode: str, remote_addr: str | None, headers: Mapping[str, str]) -> Client:
    if mode == "cloudflare":
        country = _geo(headers.get("CF-IPCountry"), 2)
        if country in ("XX", "T1"):  # unknown / Tor
            country = None
        return Client(
            ip=_valid_ip(headers.get("CF-Connecting-IP")) or _valid_ip(remote_addr),
            country=country,
            region=_geo(headers.get("CF-Region")),
            city=_geo(headers.get("CF-IPCity")),
            asn=_geo(headers.get("CF-ASN"), 16),
        )
    if mode == "gclb":
        hops = [h.strip() for h in (headers.get("X-Forwarded-For") or "").split(",")]
        ip = _valid_ip(hops[-2]) if len(hops) >= 2 else None
        country = city = None
        loc = headers.get("X-Client-Geo-Location")
        if loc:
            country_raw, _, city_raw = loc.partition(",")
            country, city = _geo(country_raw, 2), _geo(city_raw)
        return Client(
            ip=ip or _valid_ip(remote_addr),
            country=country,
            region=_geo(headers.get("X-Client-Region-Subdivision")),
            city=city,
        )
    return Client(ip=_valid_ip(remote_addr))


@lru_cache(maxsize=8192)
def truncate_ip(ip: str) -> str | None:
    """IPv4 /24, IPv6 /48: enough for geography, not enough to single out a household."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False).network_address)


def stored_ip(ip: str | None, mode: str, hash_key: bytes) -> str | None:
    """The IP as landed: truncate (default) | hash (keyed, not reversible) | drop | raw."""
    if ip is None or mode == "drop":
        return None
    if mode == "truncate":
        return truncate_ip(ip)
    if mode == "hash":
        return hmac.new(hash_key, ip.encode(), hashlib.sha256).hexdigest()[:32]
    return ip


@dataclass(frozen=True, slots=True)
class ServerFields:
    """What the server adds to every record of one request (/track batch or /go click)."""

    received_at: float  # epoch seconds: the batch's partition and the load-time watermark
    received_at_iso: str
    ip: str | None  # as stored (OIE_IP_MODE), never the raw address unless `raw`
    user_agent: str | None
    device: str | None
    browser: str | None
    os: str | None
    is_bot: bool
    country: str | None
    region: str | None
    city: str | None
    asn: str | None
    as_org: str | None
    ip_org: str | None
    ip_domain: str | None
    ip_connection_type: str | None
    ip_user_type: str | None


def server_fields(
    received_at: float,
    user_agent: str,
    client: Client,
    ip_mode: str,
    ip_key: bytes,
    network: Network = NOTHING,
) -> ServerFields:
    """Computed once per request: the user agent parsed, the address stored per
    OIE_IP_MODE, geo from the resolved client, and the network the full address belongs to
    (looked up before the address is truncated; the proxy's own CF-ASN wins over a file)."""
    agent = classify_agent(user_agent)
    return ServerFields(
        received_at=received_at,
        received_at_iso=iso_ms(received_at),
        ip=stored_ip(client.ip, ip_mode, ip_key),
        user_agent=clean_str(user_agent, 512) if user_agent else None,
        device=agent.device,
        browser=agent.browser,
        os=agent.os,
        is_bot=agent.is_bot,
        country=client.country,
        region=client.region,
        city=client.city,
        asn=client.asn or network.asn,
        as_org=client.as_org or network.as_org,
        ip_org=network.org,
        ip_domain=network.domain,
        ip_connection_type=network.connection_type,
        ip_user_type=network.user_type,
    )
