"""Validation of one browser event (docs/design.md "Wire format") into clean, bounded values.

`clean_event(raw)` returns the cleaned core fields or raises Invalid with a short machine
code and a human reason ("unknown_type: 'foo' is not an event type"). Rules:
- envelope: event_id and visitor_id are ids (8-64 of [0-9A-Za-z_-]), type is a known
  browser type, ts an integer epoch-ms, url/referrer strings or null;
- `data` is checked per type: a field of the wrong type rejects the event; strings are cut
  to their limit (never rejected for length); unknown data fields are dropped;
- every string is cleaned: control characters removed, lone surrogates replaced, email
  addresses masked (scrub.py) before any cut, so each landed line is valid UTF-8 JSON;
- every number has a range well inside ±2^53, so a number a double cannot hold exactly
  rejects its event rather than landing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from ingest_function.scrub import cut, scrub_text, scrub_url
from oie_core.tokens import TOKEN_RE

BROWSER_TYPES = frozenset(
    {
        "pageview",
        "scroll_depth",
        "click",
        "form_start",
        "form_submit",
        "video",
        "focus_lost",
        "focus_gained",
        "page_exit",
        "rage_click",
        "copy",
        "text_select",
    }
)
SERVER_TYPES = frozenset({"email_click"})
ID_RE = re.compile(r"\A[0-9A-Za-z_-]{8,64}\Z")  # \Z: `$` would also pass a trailing newline
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_HEX = {"sha256": re.compile(r"^[0-9a-f]{64}$"), "sha1": re.compile(r"^[0-9a-f]{40}$")}
_HEX["md5"] = re.compile(r"^[0-9a-f]{32}$")
MIN_TS = 946684800000  # 2000-01-01: anything older is a broken clock, not an old event
MAX_TS = 4102444800000  # 2100-01-01
# What the mask reads past a limit: an address is at most 64 + 1 + 255 characters (RFC
# 5321). A longer (or percent-encoded) one across the edge is trimmed by `cut` instead.
_ADDRESS_ROOM = 320


class Invalid(ValueError):
    """An event (or field) the server will not land; str() is `code: reason`."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code


def clean_str(value: str, limit: int, scrub: bool = True) -> str:
    if _BAD_CHARS.search(value):
        value = _BAD_CHARS.sub(lambda m: "" if m.group() < "\ud800" else "\ufffd", value)
    if len(value) <= limit:
        # `[email]` is longer than the shortest addresses: the mask may need the cut too.
        return cut(scrub_text(value), limit) if scrub else value
    if not scrub:
        return cut(value, limit)
    # Mask, then cut: cut first, an address across the limit leaves a fragment no mask
    # matches. The mask reads the part kept plus room for an address across the limit.
    return cut(scrub_text(cut(value, limit + _ADDRESS_ROOM)), limit)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and v == v  # not NaN


# -- field checkers: (value, field name) -> cleaned value, or raise Invalid ----------------
Checker = Callable[[Any, str], Any]


def s(limit: int) -> Checker:
    def check(v: Any, name: str) -> Any:
        if type(v) is str:
            return clean_str(v, limit)
        if v is None:
            return None
        raise Invalid("invalid_data", f"{name} must be a string")

    return check


def text(limit: int) -> Checker:
    """Free text the browser already trimmed; trimmed again and cut to `limit`."""
    inner = s(limit * 4)

    def check(v: Any, name: str) -> Any:
        out = inner(v, name)
        return None if out is None else cut(" ".join(out.split()), limit)

    return check


@lru_cache(maxsize=8192)
def _clean_url(v: str) -> str:
    return scrub_url(clean_str(v, 8192, scrub=False))


def url(v: Any, name: str) -> Any:
    # Cached: a session's events repeat the same page URL and referrer.
    if type(v) is str:
        return _clean_url(v) if len(v) <= 8192 else scrub_url(clean_str(v, 8192, scrub=False))
    if v is None:
        return None
    raise Invalid("invalid_data", f"{name} must be a string URL")


def i(lo: int, hi: int) -> Checker:
    def check(v: Any, name: str) -> Any:
        if type(v) is int and lo <= v <= hi:
            return v
        if v is None:
            return None
        if _is_num(v) and not _is_int(v) and float(v).is_integer():
            v = int(v)
        if not _is_int(v) or not lo <= v <= hi:
            raise Invalid("invalid_data", f"{name} must be an integer in [{lo}, {hi}]")
        return v

    return check


def n(lo: float, hi: float) -> Checker:
    def check(v: Any, name: str) -> Any:
        if (type(v) is int or type(v) is float) and lo <= v <= hi:
            return v
        if v is None:
            return None
        if not _is_num(v) or not lo <= v <= hi:
            raise Invalid("invalid_data", f"{name} must be a number in [{lo}, {hi}]")
        return v

    return check


def one_of(*values: Any) -> Checker:
    allowed = frozenset(values)
    shown = "|".join(str(x) for x in values)

    def check(v: Any, name: str) -> Any:
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, str | int | float) or v not in allowed:
            raise Invalid("invalid_data", f"{name} must be one of {shown}")
        return v

    return check


def classes(v: Any, name: str) -> Any:
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        v = " ".join(v)
    return s(300)(v, name)


def names(v: Any, name: str) -> Any:
    if v is None:
        return None
    if not isinstance(v, list) or len(v) > 100 or not all(isinstance(x, str) for x in v):
        raise Invalid("invalid_data", f"{name} must be a list of at most 100 field names")
    return [clean_str(x, 100) for x in v]


def hems(v: Any, name: str) -> Any:
    """Email hashes only: lowercase hex of the right length, never a raw address."""
    if v is None:
        return None
    if not isinstance(v, dict) or not set(v) <= set(_HEX):
        raise Invalid("invalid_data", f"{name} must be an object of sha256/sha1/md5 hex")
    for algo, value in v.items():
        if value is not None and (not isinstance(value, str) or not _HEX[algo].match(value)):
            raise Invalid("invalid_data", f"{name}.{algo} must be lowercase hex")
    return {k: val for k, val in v.items() if val is not None}


_VIEW = i(0, 100_000)
_COUNT = i(0, 10_000_000)
SCHEMAS: dict[str, dict[str, Checker]] = {
    "pageview": {
        "title": s(300),
        "viewport_w": _VIEW,
        "viewport_h": _VIEW,
        "screen_w": _VIEW,
        "screen_h": _VIEW,
        "language": s(35),
        "tz": s(64),
    },
    "scroll_depth": {"depth": one_of(25, 50, 75, 90, 100)},
    "click": {
        "tag": s(32),
        "id": s(200),
        "classes": classes,
        "text": text(100),
        "href": url,
        "role": one_of("cta", "nav", "button", "link"),
    },
    "form_start": {"form_id": s(200), "field": s(100)},
    "form_submit": {"form_id": s(200), "fields": names, "hems": hems},
    "video": {
        "src": url,
        "action": one_of("play", "pause", "progress", "complete"),
        "percent": n(0, 100),
    },
    "focus_lost": {},
    "focus_gained": {},
    "page_exit": {
        "active_ms": i(0, 7 * 86_400_000),
        "max_depth": n(0, 100),
        # pointer and reading measures, cumulative for the page view like active_ms
        "cursor_jitter": n(0, 180),  # mean turn between movement segments, degrees
        "cursor_reversals": _COUNT,  # segments that turned by more than 90 degrees
        "cursor_moves": _COUNT,  # segments measured
        "reading_wpm": i(0, 100_000),  # main-text words scrolled past per active minute
    },
    "rage_click": {"x": i(-1_000_000, 1_000_000), "y": i(-1_000_000, 1_000_000)}
    | {"count": i(0, 100_000)},
    "copy": {"chars": i(0, 100_000_000)},
    "text_select": {"chars": i(0, 100_000_000)},
}
# (checker, "type.field") with the name built once, not per event.
_NAMED: dict[str, dict[str, tuple[Checker, str]]] = {
    etype: {key: (check, f"{etype}.{key}") for key, check in fields.items()}
    for etype, fields in SCHEMAS.items()
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "scroll_depth": ("depth",),
    "video": ("action",),
}


def clean_data(etype: str, data: Any) -> dict[str, Any]:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise Invalid("invalid_data", "data must be an object")
    schema = _NAMED[etype]
    out: dict[str, Any] = {}
    for key, raw in data.items():
        entry = schema.get(key)
        if entry is not None:
            value = entry[0](raw, entry[1])
            if value is not None:
                out[key] = value
    for key in REQUIRED.get(etype, ()):
        if key not in out:
            raise Invalid("invalid_data", f"{etype}.{key} is required")
    return out


def clean_id(value: Any, name: str, required: bool = True) -> str | None:
    if type(value) is str and ID_RE.match(value):
        return value
    if value is None and not required:
        return None
    if not isinstance(value, str) or not ID_RE.match(value):
        raise Invalid(f"invalid_{name}", f"{name} must be 8-64 characters of [0-9A-Za-z_-]")
    return value


def clean_event(raw: Any) -> dict[str, Any]:
    """The cleaned envelope + data of one browser event (token validity is checked later)."""
    if not isinstance(raw, dict):
        raise Invalid("invalid_event", "event must be an object")
    etype = raw.get("type")
    if type(etype) is not str or etype not in BROWSER_TYPES:
        if isinstance(etype, str) and etype in SERVER_TYPES:
            raise Invalid("server_only_type", f"{etype} is recorded by /go, not the browser")
        shown = clean_str(etype, 40) if isinstance(etype, str) else type(etype).__name__
        raise Invalid("unknown_type", f"{shown!r} is not an event type")
    event_id = clean_id(raw.get("event_id"), "event_id")
    ts = raw.get("ts")
    if type(ts) is not int:
        if type(ts) is float and ts.is_integer():
            ts = int(ts)
        else:
            raise Invalid("invalid_ts", "ts must be an integer epoch in milliseconds")
    if not MIN_TS <= ts <= MAX_TS:
        raise Invalid("invalid_ts", "ts is not a plausible epoch in milliseconds")
    token = raw.get("token")
    if token is not None and not (type(token) is str and TOKEN_RE.match(token)):
        # A malformed token is dropped, not the behaviour: the pixel only sends valid shapes.
        token = None
    return {
        "event_id": event_id,
        "type": etype,
        "ts": ts,
        "visitor_id": clean_id(raw.get("visitor_id"), "visitor_id"),
        "session_id": clean_id(raw.get("session_id"), "session_id", required=False),
        "token": token,
        "token_shape_bad": raw.get("token") is not None and token is None,
        "url": url(raw.get("url"), "url"),
        "referrer": url(raw.get("referrer"), "referrer"),
        "data": clean_data(etype, raw.get("data")),
    }


def clean_meta(meta: Any) -> tuple[int | None, str | None]:
    """(sent_at, pixel_version) from the batch's meta; bad values become None."""
    if not isinstance(meta, dict):
        return None, None
    raw = meta.get("sent_at")
    sent_at: int | None = None
    if type(raw) is float and raw.is_integer():
        raw = int(raw)
    if type(raw) is int and MIN_TS <= raw <= MAX_TS:
        sent_at = raw
    version = meta.get("pixel_version")
    version = clean_str(version, 32) if isinstance(version, str) else None
    return sent_at, version
