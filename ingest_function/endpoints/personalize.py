"""`GET /personalize?vid=VISITOR[&i=TOKEN]`: the public fields of a visitor's profile from
the local KV store (production serves this path from Workers KV at the edge). The visitor's
own key `v:<vid>` first, then the email token's `t:<token>`: the pixel sends the token it
holds, so a lead's first visit from an email link is personalized before any run has
linked that browser."""

from __future__ import annotations

from ingest_function import local_kv
from ingest_function.context import Context
from ingest_function.cors import cors_for, preflight
from ingest_function.validate import ID_RE
from ingest_function.web import HttpRequest, HttpResponse, error, json_response
from oie_core.tokens import TOKEN_RE


def handle(ctx: Context, req: HttpRequest) -> HttpResponse:
    if req.method == "OPTIONS":
        return preflight(ctx.origins, req, "GET, OPTIONS")
    cors = cors_for(ctx.origins, req)
    vid = req.query.get("vid")
    if not vid or not ID_RE.match(vid):
        return error(400, "invalid_vid", "vid must be a visitor id", cors)
    keys = [local_kv.visitor_key(vid)]
    token = req.query.get("i")
    if token:
        # Shape only, as the pixel checks it: a token nobody minted simply has no key.
        if not TOKEN_RE.match(token):
            return error(400, "invalid_token", "i must be an 11-character token", cors)
        keys.append(local_kv.token_key(token))
    profile = local_kv.lookup(ctx.settings.data_dir / local_kv.FILE_NAME, keys)
    if profile is None:
        return error(404, "not_found", "no profile for this visitor", cors)
    return json_response(200, profile, [*cors, ("Cache-Control", "private, max-age=60")])
