"""`/go`: where to send the visitor (never an open redirect) and whether a scanner clicked."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

SCANNER_UA_RE = re.compile(
    r"safelinks|safe ?links|microsoft office|ms-office|msoffice|office365|outlook-ios|"
    r"proofpoint|urldefense|mimecast|barracuda|googleimageproxy|ggpht\.com|google-safety|"
    r"forcepoint|symantec|messagelabs|trend ?micro|fireeye|ironport|cisco|sophos|zscaler|"
    r"bitdefender|linkscanner|checkpoint|avanan|abnormal|trustwave|cloudmark|spamtitan|"
    r"vadesecure|hornetsecurity|appriver|mailscanner|link ?checker",
    re.IGNORECASE,
)
_BAD_TO = re.compile(r"[\\\x00-\x20\x7f]")


def is_scanner(
    method: str,
    user_agent: str | None,
    ip: str | None,
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...],
) -> tuple[bool, str | None]:
    """(scanner, reason). Timing rules (clicks within seconds of sending, no pixel follow-up)
    need campaign data and are applied in the warehouse."""
    if method == "HEAD":
        return True, "head_request"
    if not user_agent:
        return True, "no_user_agent"
    if SCANNER_UA_RE.search(user_agent):
        return True, "scanner_user_agent"
    if ip:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False, None
        for net in networks:
            if addr.version == net.version and addr in net:
                return True, "scanner_network"
    return False, None


def _fully_decoded(value: str) -> str:
    for _ in range(4):
        decoded = unquote(value)
        if decoded == value:
            break
        value = decoded
    return value


def safe_destination(to: str | None, default_site: str, hosts: tuple[str, ...]) -> str | None:
    """The absolute URL to send the visitor to, or None when `to` is not allowed.

    Allowed: a path (`/pricing?x=1`) on the default site, or an http(s) URL whose host[:port]
    is in OIE_REDIRECT_HOSTS. Refused, also when percent-encoded any number of times:
    `//host`, backslashes, control characters, other schemes (`javascript:`), user@host.
    """
    if not to:
        return default_site + "/"
    if len(to) > 2048:
        return None
    decoded = _fully_decoded(to)
    if _BAD_TO.search(to) or _BAD_TO.search(decoded):
        return None
    if decoded.startswith("//") or decoded.startswith("/\\"):
        return None
    if to.startswith("/"):
        if "@" in decoded.split("?", 1)[0] and ":" in decoded.split("?", 1)[0]:
            return None
        candidate = default_site + to
    else:
        candidate = to
    parts = urlsplit(candidate)
    if parts.scheme not in ("http", "https") or "@" in parts.netloc:
        return None
    allowed = {h.split("://", 1)[-1] for h in hosts}
    if parts.netloc.lower() not in allowed:
        return None
    # Rebuild from parts so nothing ambiguous survives; the decoded form must agree.
    if urlsplit(_fully_decoded(candidate)).netloc.lower() != parts.netloc.lower():
        return None
    return urlunsplit(parts)


def with_token(url: str, token: str | None) -> str:
    """The destination with `i=TOKEN` (any `i` already in `to` is replaced)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "i"]
    if token:
        query.append(("i", token))
    return urlunsplit(parts._replace(query=urlencode(query)))
