"""Where /go sends the visitor: only to a configured host (never an open redirect), with
the token passed on."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

_BAD_TO = re.compile(r"[\\\x00-\x20\x7f]")


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
