"""`GET /oie.js`, `/oie-hash.js` and `/oie-idle.js`: the built pixel from OIE_PIXEL_DIR
(local `oie serve`; production serves the same files from a CDN or the edge Worker)."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from ingest_function.context import Context
from ingest_function.web import HttpRequest, HttpResponse, error

_cache: dict[Path, tuple[float, int, bytes, str]] = {}
_lock = threading.Lock()


def _load(path: Path) -> tuple[bytes, str] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    with _lock:
        hit = _cache.get(path)
        if hit and hit[0] == st.st_mtime and hit[1] == st.st_size:
            return hit[2], hit[3]
    try:
        body = path.read_bytes()
    except OSError:
        return None
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    with _lock:
        _cache[path] = (st.st_mtime, st.st_size, body, etag)
    return body, etag


def handle(ctx: Context, req: HttpRequest) -> HttpResponse:
    if req.method not in ("GET", "HEAD"):
        return error(405, "method_not_allowed", "use GET", [("Allow", "GET, HEAD")])
    name = req.path.rsplit("/", 1)[-1]
    loaded = _load(Path(ctx.settings.pixel_dir) / name)
    if loaded is None:
        return error(404, "not_built", f"{name} is not built (npm run build in pixel/)")
    body, etag = loaded
    headers = [
        ("Content-Type", "application/javascript; charset=utf-8"),
        # Unversioned URL on every customer page: short cache, revalidated by ETag.
        ("Cache-Control", "public, max-age=300, stale-while-revalidate=86400"),
        ("ETag", etag),
        ("Access-Control-Allow-Origin", "*"),
        ("Cross-Origin-Resource-Policy", "cross-origin"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    if req.headers.get("If-None-Match") == etag:
        return HttpResponse(304, b"", headers)
    return HttpResponse(200, b"" if req.method == "HEAD" else body, headers)
