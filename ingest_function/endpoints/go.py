"""`GET /go?i=TOKEN&to=/path`: the tracked email link. Always a 302 (a visitor never sees
an error page); the click lands as an `email_click` event, flagged when a scanner made it."""

from __future__ import annotations

import logging
import uuid

from ingest_function.consent import gpc
from ingest_function.context import Context
from ingest_function.cookie import cookie_visitor_id
from ingest_function.enrich import resolve_client, server_fields
from ingest_function.records import raw_event
from ingest_function.redirect import safe_destination, with_token
from ingest_function.scanners import is_scanner
from ingest_function.scrub import scrub_url
from ingest_function.sinks.base import Batch, Unavailable
from ingest_function.sinks.delivery import deliver
from ingest_function.validate import clean_str
from ingest_function.web import HttpRequest, HttpResponse, error
from oie_core import tokens

log = logging.getLogger("oie.ingest")


def handle(ctx: Context, req: HttpRequest) -> HttpResponse:
    s = ctx.settings
    if req.method not in ("GET", "HEAD"):
        return error(405, "method_not_allowed", "use GET", [("Allow", "GET, HEAD")])
    site = s.default_site
    if site is None:
        return error(503, "not_configured", "no redirect site is configured")
    token = req.query.get("i") or None
    shape_ok = bool(token and tokens.TOKEN_RE.match(token))
    valid = tokens.verify(ctx.keyring, token) if shape_ok else False
    dest = safe_destination(req.query.get("to"), site, s.redirect_hosts) or site + "/"
    location = with_token(dest, token if valid else None)

    client = resolve_client(s.trusted_proxy, req.remote_addr, req.headers)
    ua = req.headers.get("User-Agent") or ""
    scanner, scanner_reason = is_scanner(req.method, ua, client.ip, s.scanner_networks)
    if not ctx.limiter.allow(client.ip):
        # Still redirect: a visitor must never see an error page; skip recording.
        return HttpResponse(302, b"", [("Location", location), ("Cache-Control", "no-store")])
    network = ctx.networks.lookup(client.ip)
    server = server_fields(ctx.clock(), ua, client, s.ip_mode, ctx.ip_key, network)
    now = server.received_at
    path = dest.split("://", 1)[-1]
    path = path[path.find("/") :] if "/" in path else "/"
    event = raw_event(
        event_id=str(uuid.uuid4()),
        type="email_click",
        ts=int(now * 1000),
        sent_at=None,
        event_at=now,
        # Global Privacy Control: the click is still counted, but no visitor is attached.
        visitor_id=None if gpc(req) else cookie_visitor_id(req),
        client_visitor_id=None,
        client_session_id=None,
        token=token if shape_ok else None,
        token_valid=valid if token else None,
        url=scrub_url(clean_str(dest, 2048, scrub=False)),
        referrer=None,
        data={
            "to": scrub_url(clean_str(path, 2048, scrub=False)),
            "scanner": scanner,
            "scanner_reason": scanner_reason,
        },
        pixel_version=None,
        server=server,
    )
    primary, dead_letter = ctx.sinks()
    try:
        deliver(primary, dead_letter, Batch([event], [], now))
    except Unavailable:
        log.error("email_click %s not stored: sink and dead letter failed", event["event_id"])
    return HttpResponse(
        302,
        b"",
        [
            ("Location", location),
            ("Cache-Control", "no-store"),
            ("Referrer-Policy", "no-referrer"),
        ],
    )
