"""The first-party cookie `_oie_svid` (docs/ingest.md): when it may be set, how it is
read back, and its Set-Cookie line. Set by /track, read by /track and /go."""

from __future__ import annotations

from ingest_function.origins import same_site
from ingest_function.validate import ID_RE
from ingest_function.web import HttpRequest
from oie_core.settings import Settings

COOKIE = "_oie_svid"
COOKIE_MAX_AGE = 90 * 86400


def cookie_visitor_id(req: HttpRequest) -> str | None:
    """The visitor id the cookie holds, when it is a well-formed id."""
    if COOKIE not in (req.headers.get("Cookie") or ""):
        return None  # skip cookie parsing on the hot path
    value = req.cookies.get(COOKIE)
    return value if value and ID_RE.match(value) else None


def cookie_allowed(settings: Settings, req: HttpRequest, origin: str | None, signed: bool) -> bool:
    """Only for browsers (not signed senders), and only when the collector is same-site with
    the page: a third-party cookie would be blocked anyway."""
    return (
        not signed
        and settings.first_party_cookie == "auto"
        and same_site(req.headers.get("Host") or req.host, origin)
    )


def reached_over_https(settings: Settings, req: HttpRequest, origin: str | None) -> bool:
    """Was the collector reached over https? Behind a proxy the container sees http, so
    also: an https page (a same-site collector of an https page is https too, browsers
    block mixed content) or the trusted proxy's X-Forwarded-Proto."""
    if (origin or "").startswith("https://") or req.scheme == "https":
        return True
    proto = req.headers.get("X-Forwarded-Proto") or ""
    return settings.trusted_proxy != "none" and proto.split(",")[0].strip() == "https"


def expire_cookie_header() -> tuple[str, str]:
    """Deletes the cookie (POST /optout): same name, path and attributes, Max-Age=0."""
    return ("Set-Cookie", f"{COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax")


def set_cookie_header(visitor_id: str, secure: bool) -> tuple[str, str]:
    flag = "; Secure" if secure else ""
    return (
        "Set-Cookie",
        f"{COOKIE}={visitor_id}; Max-Age={COOKIE_MAX_AGE}; Path=/; HttpOnly; SameSite=Lax{flag}",
    )
