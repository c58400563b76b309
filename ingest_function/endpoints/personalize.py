"""`GET /personalize?vid=VISITOR`: the public fields of a visitor's profile from the local
KV store (production serves this path from Workers KV at the edge)."""

from __future__ import annotations

from ingest_function import local_kv
from ingest_function.context import Context
from ingest_function.cors import cors_for, preflight
from ingest_function.validate import ID_RE
from ingest_function.web import HttpRequest, HttpResponse, error, json_response


def handle(ctx: Context, req: HttpRequest) -> HttpResponse:
    if req.method == "OPTIONS":
        return preflight(ctx.origins, req, "GET, OPTIONS")
    cors = cors_for(ctx.origins, req)
    vid = req.query.get("vid")
    if not vid or not ID_RE.match(vid):
        return error(400, "invalid_vid", "vid must be a visitor id", cors)
    profile = local_kv.lookup(ctx.settings.data_dir / "kv.sqlite", vid)
    if profile is None:
        return error(404, "not_found", "no profile for this visitor", cors)
    return json_response(200, profile, [*cors, ("Cache-Control", "private, max-age=60")])
