"""The ingest service: every endpoint as a plain function of HttpRequest -> HttpResponse.

One Service per process (created lazily, after gunicorn forks). Sinks open their files or
clients on first use, never at import.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import threading
import time
import uuid
from functools import lru_cache, partial
from typing import Any

import orjson

from ingest_function import assets, personalize
from ingest_function.enrich import classify_agent, resolve_client, stored_ip
from ingest_function.go import is_scanner, safe_destination, with_token
from ingest_function.origins import OriginPolicy, page_origin, same_site
from ingest_function.ratelimit import RateLimiter
from ingest_function.scrub import scrub_text, scrub_url
from ingest_function.sinks import Batch, Unavailable, deliver, make_dead_letter, make_primary
from ingest_function.validate import ID_RE, Invalid, clean_event, clean_meta, clean_str
from ingest_function.web import HttpRequest, HttpResponse, error, json_response
from oie_core import tokens
from oie_core.landing import iso_ms
from oie_core.settings import Settings

log = logging.getLogger("oie.ingest")

COOKIE = "_oie_svid"
COOKIE_MAX_AGE = 90 * 86400
_CONTENT_TYPES = frozenset({"application/json", "text/plain"})
_SIG_RE = re.compile(r"^sha256=([0-9a-fA-F]{64})$")
_INVALID = object()


def parse_json(body: bytes) -> Any:
    """orjson first (fast, depth-limited); the stdlib parser only for what orjson refuses
    but JSON allows (lone-surrogate escapes, which the validator then replaces)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return _INVALID


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.origins = OriginPolicy(settings.allowed_origins)
        self.limiter = RateLimiter(settings.rate_limit)
        self.keyring = settings.keyring
        # A pixel sends the same token with every batch: check each one once per process.
        self.verify_token = lru_cache(maxsize=4096)(partial(tokens.verify, self.keyring))
        # Keyed hash for OIE_IP_MODE=hash: its own secret, else derived from the token key.
        self.ip_key = (settings.ip_hash_secret or "ip|" + settings.token_secret).encode()
        self._primary: Any = None
        self._dead_letter: Any = None
        self._sink_lock = threading.Lock()
        self._pid = os.getpid()
        self.routes = {
            "/track": self.track,
            "/go": self.go,
            "/identify": self.identify,
            "/personalize": self.personalize,
            "/health": self.health,
            "/oie.js": self.asset,
            "/oie-hash.js": self.asset,
        }

    # -- plumbing ------------------------------------------------------------------------
    def sinks(self) -> tuple[Any, Any]:
        if self._primary is None or self._pid != os.getpid():
            with self._sink_lock:
                if self._primary is None or self._pid != os.getpid():
                    self._primary = make_primary(self.settings)
                    self._dead_letter = make_dead_letter(self.settings)
                    self._pid = os.getpid()
        return self._primary, self._dead_letter

    def close(self) -> None:
        if self._primary is not None:
            self._primary.close()

    def handle(self, req: HttpRequest) -> HttpResponse:
        route = self.routes.get(req.path.rstrip("/") or "/")
        if route is None:
            return error(404, "not_found", "no such endpoint")
        try:
            return route(req)
        except Exception:  # the client gets a code; the log gets the traceback
            log.exception("unhandled error on %s %s", req.method, req.path)
            return error(500, "internal", "internal error")

    def _cors(self, origin: str | None, credentials: bool = True) -> list[tuple[str, str]]:
        if not origin:
            return []
        headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        if credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers

    def _preflight(self, req: HttpRequest, methods: str) -> HttpResponse:
        origin = page_origin(req.headers) if req.headers.get("Origin") else None
        if not self.origins.allowed(origin):
            return error(403, "origin_not_allowed", "origin is not on the allow-list")
        return HttpResponse(
            204,
            b"",
            [
                *self._cors(origin),
                ("Access-Control-Allow-Methods", methods),
                ("Access-Control-Allow-Headers", "Content-Type, X-OIE-Signature"),
                ("Access-Control-Max-Age", "86400"),
            ],
        )

    def _client_ip(self, req: HttpRequest) -> str | None:
        return resolve_client(self.settings.trusted_proxy, req.remote_addr, req.headers).ip

    # -- POST /track -----------------------------------------------------------------------
    def track(self, req: HttpRequest) -> HttpResponse:
        s = self.settings
        if req.method == "OPTIONS":
            return self._preflight(req, "POST, OPTIONS")
        if req.method != "POST":
            return error(405, "method_not_allowed", "use POST", [("Allow", "POST, OPTIONS")])
        origin = page_origin(req.headers)
        origin_ok = self.origins.allowed(origin)
        cors = self._cors(origin) if origin_ok else []
        signature = req.headers.get("X-OIE-Signature")
        if signature is None and not origin_ok:
            if not origin:
                return error(403, "missing_origin", "no Origin or Referer header")
            return error(403, "origin_not_allowed", "origin is not on the allow-list")

        content_type = (req.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if content_type not in _CONTENT_TYPES:
            return error(415, "unsupported_media_type", "send application/json or text/plain", cors)
        if req.content_length is not None and req.content_length > s.max_body_bytes:
            return error(413, "body_too_large", f"body over {s.max_body_bytes} bytes", cors)
        body = req.read_body(s.max_body_bytes + 1)
        if len(body) > s.max_body_bytes:
            return error(413, "body_too_large", f"body over {s.max_body_bytes} bytes", cors)

        signed = False
        if signature is not None:
            secret = s.event_signing_secret
            m = _SIG_RE.match(signature.strip())
            expected = (
                hmac.new(secret.encode(), body, hashlib.sha256).hexdigest() if secret else None
            )
            if not (m and expected and hmac.compare_digest(m.group(1).lower(), expected)):
                return error(403, "bad_signature", "X-OIE-Signature does not match the body")
            signed = True

        client = resolve_client(s.trusted_proxy, req.remote_addr, req.headers)
        # Signed server-to-server senders are authenticated: no per-IP budget for them.
        if not signed and not self.limiter.allow(client.ip):
            return error(
                429,
                "rate_limited",
                "too many requests from this address",
                [*cors, ("Retry-After", str(self.limiter.retry_after()))],
            )

        if not body:
            return error(400, "empty_body", "the body is empty", cors)
        doc = parse_json(body)
        if doc is _INVALID:
            self._reject_body(body, "invalid_json: the body is not valid JSON (UTF-8)", req, client)
            return error(400, "invalid_json", "the body is not valid JSON (UTF-8)", cors)
        if not isinstance(doc, dict) or not isinstance(doc.get("events"), list):
            self._reject_body(
                body, 'invalid_batch: not an object with an "events" list', req, client
            )
            return error(400, "invalid_batch", 'expected an object with an "events" list', cors)
        raw_events = doc["events"]
        if len(raw_events) > s.max_batch_events:
            return error(
                413, "too_many_events", f"more than {s.max_batch_events} events in one batch", cors
            )

        received_at = time.time()
        cookie_ok = self._cookie_allowed(req, origin, signed)
        cookie_vid = self._cookie_vid(req) if cookie_ok else None
        events, rejected = self.build_events(
            raw_events, doc.get("meta"), received_at, req, client, cookie_vid
        )
        primary, dead_letter = self.sinks()
        try:
            deliver(primary, dead_letter, Batch(events, rejected, received_at))
        except Unavailable:
            return error(
                503,
                "unavailable",
                "events were not stored; retry later",
                [*cors, ("Retry-After", "5")],
            )

        payload: dict[str, Any] = {"accepted": len(events), "rejected": len(rejected)}
        headers = list(cors)
        svid = cookie_vid or (events[0]["visitor_id"] if events else None)
        if svid and cookie_ok:
            payload["vid"] = svid
            secure = "; Secure" if self._https(req, origin) else ""
            headers.append(
                (
                    "Set-Cookie",
                    f"{COOKIE}={svid}; Max-Age={COOKIE_MAX_AGE}; Path=/; HttpOnly; "
                    f"SameSite=Lax{secure}",
                )
            )
        return json_response(200, payload, headers)

    def _reject_body(self, body: bytes, reason: str, req: HttpRequest, client: Any) -> None:
        """A 400 body goes to the rejected stream too (first 4 KB): nothing vanishes
        silently, and a broken client shows up in the warehouse. Best effort: the answer is
        400 whatever happens here."""
        now = time.time()
        ua = req.headers.get("User-Agent")
        record = {
            "received_at": iso_ms(now),
            "reason": reason,
            "stage": "track",
            "event_id": None,
            "type": None,
            "event": None,
            "raw": clean_str(body[:4096].decode("utf-8", errors="replace"), 4096, scrub=True),
            "ip": stored_ip(client.ip, self.settings.ip_mode, self.ip_key),
            "user_agent": clean_str(ua, 512) if ua else None,
        }
        primary, dead_letter = self.sinks()
        try:
            deliver(primary, dead_letter, Batch([], [record], now))
        except Unavailable:
            log.warning("could not record a rejected body: sinks unavailable")

    def _https(self, req: HttpRequest, origin: str | None) -> bool:
        """Was the collector reached over https? Behind a proxy the container sees http, so
        also: an https page (a same-site collector of an https page is https too, browsers
        block mixed content) or the trusted proxy's X-Forwarded-Proto."""
        if (origin or "").startswith("https://") or req.scheme == "https":
            return True
        proto = req.headers.get("X-Forwarded-Proto") or ""
        return self.settings.trusted_proxy != "none" and proto.split(",")[0].strip() == "https"

    def _cookie_allowed(self, req: HttpRequest, origin: str | None, signed: bool) -> bool:
        return (
            not signed
            and self.settings.first_party_cookie == "auto"
            and same_site(req.headers.get("Host") or req.host, origin)
        )

    @staticmethod
    def _cookie_vid(req: HttpRequest) -> str | None:
        if "_oie_svid" not in (req.headers.get("Cookie") or ""):
            return None  # skip cookie parsing on the hot path
        value = req.cookies.get(COOKIE)
        return value if value and ID_RE.match(value) else None

    def build_events(
        self,
        raw_events: list[Any],
        meta: Any,
        received_at: float,
        req: HttpRequest,
        client: Any,
        cookie_vid: str | None,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        s = self.settings
        sent_at, pixel_version = clean_meta(meta)
        received_ms = int(received_at * 1000)
        skew = received_ms - sent_at if sent_at is not None else 0
        oldest = received_ms - int(s.max_event_age_s * 1000)
        newest = received_ms + int(s.max_future_skew_s * 1000)
        received_iso = iso_ms(received_at)
        ua = req.headers.get("User-Agent") or ""
        agent = classify_agent(ua)
        ua_stored = clean_str(ua, 512) if ua else None
        ip = stored_ip(client.ip, s.ip_mode, self.ip_key)
        events: list[dict[str, Any]] = []
        rejected: list[dict[str, Any]] = []
        for raw in raw_events:
            try:
                e = clean_event(raw)
                event_at = e["ts"] + skew
                if event_at < oldest:
                    raise Invalid("too_old", "event time is older than OIE_MAX_EVENT_AGE")
                if event_at > newest:
                    raise Invalid("in_future", "event time is in the future")
            except Invalid as exc:
                rejected.append(self._rejected(raw, str(exc), received_iso, ip, ua_stored))
                continue
            token = e["token"]
            if token is None:
                token_valid = False if e["token_shape_bad"] else None
            else:
                token_valid = self.verify_token(token)
            visitor_id = e["visitor_id"]
            client_visitor_id = None
            if cookie_vid and cookie_vid != visitor_id:
                visitor_id, client_visitor_id = cookie_vid, visitor_id
            events.append(
                {
                    "event_id": e["event_id"],
                    "type": e["type"],
                    "ts": e["ts"],
                    "sent_at": sent_at,
                    "received_at": received_iso,
                    "event_at": iso_ms(event_at / 1000),
                    "visitor_id": visitor_id,
                    "client_visitor_id": client_visitor_id,
                    "client_session_id": e["session_id"],
                    "token": token,
                    "token_valid": token_valid,
                    "url": e["url"],
                    "referrer": e["referrer"],
                    "data": e["data"],
                    "pixel_version": pixel_version,
                    "ip": ip,
                    "user_agent": ua_stored,
                    "device": agent.device,
                    "browser": agent.browser,
                    "os": agent.os,
                    "is_bot": agent.is_bot,
                    "country": client.country,
                    "region": client.region,
                    "city": client.city,
                    "asn": client.asn,
                    "as_org": client.as_org,
                }
            )
        return events, rejected

    @staticmethod
    def _rejected(
        raw: Any, reason: str, received_iso: str, ip: str | None, ua: str | None, stage="track"
    ) -> dict[str, Any]:
        is_obj = isinstance(raw, dict)
        event_id = raw.get("event_id") if is_obj else None
        etype = raw.get("type") if is_obj else None
        return {
            "received_at": received_iso,
            "reason": reason,
            "stage": stage,
            "event_id": clean_str(event_id, 64) if isinstance(event_id, str) else None,
            "type": clean_str(etype, 40) if isinstance(etype, str) else None,
            "event": _safe_json(raw),
            "raw": None,
            "ip": ip,
            "user_agent": ua,
        }

    # -- GET /go ---------------------------------------------------------------------------
    def go(self, req: HttpRequest) -> HttpResponse:
        s = self.settings
        if req.method not in ("GET", "HEAD"):
            return error(405, "method_not_allowed", "use GET", [("Allow", "GET, HEAD")])
        site = s.default_site
        if site is None:
            return error(503, "not_configured", "no redirect site is configured")
        token = req.query.get("i") or None
        shape_ok = bool(token and tokens.TOKEN_RE.match(token))
        valid = tokens.verify(self.keyring, token) if shape_ok else False
        to = req.query.get("to")
        dest = safe_destination(to, site, s.redirect_hosts) or site + "/"
        location = with_token(dest, token if valid else None)

        client = resolve_client(s.trusted_proxy, req.remote_addr, req.headers)
        ua = req.headers.get("User-Agent") or ""
        scanner, scanner_reason = is_scanner(req.method, ua, client.ip, s.scanner_networks)
        if not self.limiter.allow(client.ip):
            # Still redirect: a visitor must never see an error page; skip recording.
            return HttpResponse(302, b"", [("Location", location), ("Cache-Control", "no-store")])
        now = time.time()
        agent = classify_agent(ua)
        ip = stored_ip(client.ip, s.ip_mode, self.ip_key)
        cookie = req.cookies.get(COOKIE)
        path = dest.split("://", 1)[-1]
        path = path[path.find("/") :] if "/" in path else "/"
        event = {
            "event_id": str(uuid.uuid4()),
            "type": "email_click",
            "ts": int(now * 1000),
            "sent_at": None,
            "received_at": iso_ms(now),
            "event_at": iso_ms(now),
            "visitor_id": cookie if cookie and ID_RE.match(cookie) else None,
            "client_visitor_id": None,
            "client_session_id": None,
            "token": token if shape_ok else None,
            "token_valid": valid if token else None,
            "url": scrub_url(clean_str(dest, 2048, scrub=False)),
            "referrer": None,
            "data": {
                "to": scrub_url(clean_str(path, 2048, scrub=False)),
                "scanner": scanner,
                "scanner_reason": scanner_reason,
            },
            "pixel_version": None,
            "ip": ip,
            "user_agent": clean_str(ua, 512) if ua else None,
            "device": agent.device,
            "browser": agent.browser,
            "os": agent.os,
            "is_bot": agent.is_bot,
            "country": client.country,
            "region": client.region,
            "city": client.city,
            "asn": client.asn,
            "as_org": client.as_org,
        }
        primary, dead_letter = self.sinks()
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

    # -- GET /identify ----------------------------------------------------------------------
    def identify(self, req: HttpRequest) -> HttpResponse:
        if req.method == "OPTIONS":
            return self._preflight(req, "GET, OPTIONS")
        origin = page_origin(req.headers)
        cors = self._cors(origin) if self.origins.allowed(origin) else []
        if not self.limiter.allow(self._client_ip(req)):
            return error(429, "rate_limited", "too many requests", cors)
        token = req.query.get("i")
        valid = tokens.verify(self.keyring, token)
        # Only what a page may show: validity. Names and scores never leave the warehouse
        # through this endpoint (personalization goes through /personalize).
        return json_response(200, {"valid": valid}, cors)

    # -- GET /personalize -------------------------------------------------------------------
    def personalize(self, req: HttpRequest) -> HttpResponse:
        if req.method == "OPTIONS":
            return self._preflight(req, "GET, OPTIONS")
        origin = page_origin(req.headers)
        cors = self._cors(origin) if self.origins.allowed(origin) else []
        vid = req.query.get("vid")
        if not vid or not ID_RE.match(vid):
            return error(400, "invalid_vid", "vid must be a visitor id", cors)
        profile = personalize.lookup(self.settings.data_dir / "kv.sqlite", vid)
        if profile is None:
            return error(404, "not_found", "no profile for this visitor", cors)
        return json_response(200, profile, [*cors, ("Cache-Control", "private, max-age=60")])

    # -- GET /health -------------------------------------------------------------------------
    def health(self, req: HttpRequest) -> HttpResponse:
        primary, dead_letter = self.sinks()
        try:
            sink = primary.health()
        except Exception as exc:
            sink = {"name": primary.name, "ok": False, "error": type(exc).__name__}
        dl = None
        if dead_letter is not None:
            try:
                dl = dead_letter.health()
            except Exception as exc:
                dl = {"name": dead_letter.name, "ok": False, "error": type(exc).__name__}
        if sink.get("ok"):
            status, code = "ok", 200
        elif dl and dl.get("ok"):
            status, code = "degraded", 200
        else:
            status, code = "down", 503
        return json_response(code, {"status": status, "sink": sink, "dead_letter": dl})

    # -- GET /oie.js, /oie-hash.js -------------------------------------------------------------
    def asset(self, req: HttpRequest) -> HttpResponse:
        return assets.serve(self.settings.pixel_dir, req)


_SURROGATE = re.compile(r"[\ud800-\udfff]")


_URL_KEYS = frozenset({"url", "referrer", "href", "src"})


def _desurrogate(value: Any, key: str | None = None) -> Any:
    """Make a rejected original safe to land: UTF-8 clean, and scrubbed like accepted events
    (URLs by the URL rule, every other string by the email mask): a rejected event must not
    become a back door for the addresses and form values we keep out of `events`."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            value = _SURROGATE.sub("\ufffd", value)
        return scrub_url(value) if key in _URL_KEYS else scrub_text(value)
    if isinstance(value, dict):
        return {
            _desurrogate(k): _desurrogate(v, k if isinstance(k, str) else None)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_desurrogate(v) for v in value]
    return value


def _safe_json(value: Any) -> Any:
    """The original event for the rejected stream: UTF-8 safe and at most ~16 KB."""
    try:
        clean = _desurrogate(value)
        text = json.dumps(clean, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return None
    if len(text) > 16384:
        return {"truncated": text[:16384]}
    return clean
