"""Origin rules: the CORS allow-list and the same-site test for the first-party cookie."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from functools import lru_cache

from oie_core.settings import OriginPattern

_ORIGIN_OF_URL = re.compile(r"^(https?://[^/?#]+)", re.IGNORECASE)
# Common two-label public suffixes (co.uk, com.au, ...): a compact stand-in for the Public
# Suffix List, which is enough to decide "same site" for the cookie (docs/ingest.md).
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov", "edu", "ne", "or", "gv"})


def page_origin(headers: Mapping[str, str]) -> str | None:
    """The page's origin: the Origin header, else the origin part of Referer."""
    origin = headers.get("Origin")
    if origin and origin != "null":
        return origin.rstrip("/").lower()
    referer = headers.get("Referer")
    if referer:
        m = _ORIGIN_OF_URL.match(referer)
        if m:
            return m.group(1).lower()
    return None


class OriginPolicy:
    def __init__(self, patterns: tuple[OriginPattern, ...]) -> None:
        self.patterns = patterns

    @lru_cache(maxsize=1024)  # noqa: B019 - one policy per process; bounded
    def allowed(self, origin: str | None) -> bool:
        if not origin:
            return False
        return any(p.regex.match(origin) for p in self.patterns)


def _host_only(hostport: str) -> str:
    hostport = hostport.strip().lower()
    if hostport.startswith("["):
        return hostport[1 : hostport.find("]")] if "]" in hostport else hostport
    return hostport.rsplit(":", 1)[0] if hostport.count(":") == 1 else hostport


@lru_cache(maxsize=1024)
def site_of(host: str) -> str:
    """The registrable part of a host: IPs and single labels stand alone, otherwise the
    last two labels (three for co.uk-style suffixes)."""
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    labels = host.strip(".").split(".")
    if len(labels) <= 2:
        return host
    if len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


@lru_cache(maxsize=1024)
def same_site(request_host: str, origin: str | None) -> bool:
    """True when the collector's host and the page share a site (the cookie is first-party):
    `collect.site.example` serving `www.site.example`, or 127.0.0.1 on another port."""
    if not origin or not request_host:
        return False
    m = re.match(r"^https?://([^/]+)$", origin)
    if not m:
        return False
    return site_of(_host_only(request_host)) == site_of(_host_only(m.group(1)))
