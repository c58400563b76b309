"""`GET /identify?i=TOKEN`: whether a token is valid, and nothing else."""

from __future__ import annotations

from ingest_function.context import Context
from ingest_function.cors import cors_for, preflight
from ingest_function.enrich import resolve_client
from ingest_function.web import HttpRequest, HttpResponse, error, json_response
from oie_core import tokens


def handle(ctx: Context, req: HttpRequest) -> HttpResponse:
    if req.method == "OPTIONS":
        return preflight(ctx.origins, req, "GET, OPTIONS")
    cors = cors_for(ctx.origins, req)
    client = resolve_client(ctx.settings.trusted_proxy, req.remote_addr, req.headers)
    if not ctx.limiter.allow(client.ip):
        return error(429, "rate_limited", "too many requests", cors)
    valid = tokens.verify(ctx.keyring, req.query.get("i"))
    # Only what a page may show: validity. Names and scores never leave the warehouse
    # through this endpoint (personalization goes through /personalize).
    return json_response(200, {"valid": valid}, cors)
