"""`GET /health`: ok (sink healthy), degraded (only the dead letter is) or down (503)."""

from __future__ import annotations

from typing import Any

from ingest_function.context import Context
from ingest_function.web import HttpRequest, HttpResponse, json_response


def handle(ctx: Context, req: HttpRequest) -> HttpResponse:
    primary, dead_letter = ctx.sinks()
    try:
        sink = primary.health()
    except Exception as exc:
        sink = {"name": primary.name, "ok": False, "error": type(exc).__name__}
    dl: dict[str, Any] | None = None
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
    body: dict[str, Any] = {"status": status, "sink": sink, "dead_letter": dl}
    body["forgotten_dropped"] = ctx.forgotten_dropped
    body["ip_org_db"] = ctx.networks.describe()
    if not ctx.checks_tombstones:
        body["tombstones"] = "not checked: OIE_TOMBSTONE_SECRET is not set"
    return json_response(code, body)
