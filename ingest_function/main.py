"""Cloud Function entry point (target `ingest`): translates HTTP to plain calls, nothing else.

    functions-framework --source ingest_function/main.py --target ingest

Settings are read and checked at import, so a bad deployment fails at start with one clear
line; sinks open lazily in each worker process (the server forks after this import).
Self-hosted (`oie serve`), `python -m ingest_function.server` runs this same target with a
worker that reads each request whole first (docs/ingest.md "Hostile clients").
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

import flask
import functions_framework
from werkzeug.exceptions import ClientDisconnected

from ingest_function.app import Service
from ingest_function.endpoints import webhooks
from ingest_function.enrich import classify_agent
from ingest_function.web import BodyIncomplete, HttpRequest
from oie_core.settings import Settings, SettingsError

logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")

try:
    SERVICE = Service(Settings.from_env())
except SettingsError as exc:
    print(f"oie ingest: configuration error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None

CAP = SERVICE.settings.max_body_bytes
# No read through Flask ever takes more than one byte over the largest cap (read_body reads
# cap + 1 to tell "too large" from "exactly the cap"); a larger Content-Length is refused
# unread. The sequencers' webhooks have their own cap (a reply thread can be long).
flask.current_app.config["MAX_CONTENT_LENGTH"] = max(CAP, webhooks.MAX_BODY) + 1

# Load ua-parser's rules once in the parent so every forked worker shares them.
classify_agent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36")


class EnvironHeaders:
    """Case-insensitive header lookup straight from the WSGI environ: the few headers the
    service reads cost a dict lookup each instead of werkzeug's per-call key rewriting."""

    __slots__ = ("_env",)
    _keys: dict[str, str] = {}  # noqa: RUF012 - a shared cache of name -> environ key

    def __init__(self, environ: dict[str, Any]) -> None:
        self._env = environ

    def get(self, name: str, default: Any = None) -> Any:
        key = self._keys.get(name)
        if key is None:
            upper = name.upper().replace("-", "_")
            key = upper if upper in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + upper
            self._keys[name] = key
        return self._env.get(key, default)


class FlaskRequest(HttpRequest):
    """HttpRequest over a Flask request; query, cookies, scheme and host parse lazily.

    They are plain properties over werkzeug's request, which caches what it parses:
    `functools.cached_property` takes a lock on every first read under Python 3.11, a cost
    each /track request paid for the scheme alone."""

    def __init__(self, request: flask.Request) -> None:  # no dataclass __init__: lazy fields
        self._r = request
        env = request.environ
        self.method = env["REQUEST_METHOD"]
        self.path = request.path
        self.headers = EnvironHeaders(env)
        self.remote_addr = env.get("REMOTE_ADDR")
        self.content_length = request.content_length
        # Whether the body is known to be read to its end, or to be small enough for
        # functions-framework to read after the response (see `ingest`).
        self.body_settled = (
            self.content_length <= CAP
            if self.content_length is not None
            else "HTTP_TRANSFER_ENCODING" not in env
        )

    @property
    def query(self) -> Mapping[str, str]:  # type: ignore[override]
        return self._r.args

    @property
    def cookies(self) -> Mapping[str, str]:  # type: ignore[override]
        return self._r.cookies

    @property
    def scheme(self) -> str:  # type: ignore[override]
        return self._r.scheme

    @property
    def host(self) -> str:  # type: ignore[override]
        return self._r.host

    def read_body(self, limit: int) -> bytes:
        """At most `limit` (≤ cap + 1) bytes of the body, read as they stream in."""
        try:
            if self.content_length is not None and self.content_length < limit:
                # Exactly Content-Length bytes, kept on the request: functions-framework's
                # after-request hook reads the body again (see `ingest`), and a cached body
                # spares it a second pass over the spent stream.
                data = self._r.get_data()
                self.body_settled = True
                return data
            chunks, size = [], 0
            stream = self._r.stream
            while size < limit:
                chunk = stream.read(limit - size)
                if not chunk:
                    self.body_settled = True
                    break
                chunks.append(chunk)
                size += len(chunk)
            return b"".join(chunks)
        except ClientDisconnected:
            self.body_settled = False
            raise BodyIncomplete from None


@functions_framework.http
def ingest(request: flask.Request) -> flask.Response:
    req = FlaskRequest(request)
    response = SERVICE.handle(req)
    if req.body_settled:
        return flask.Response(response.body, status=response.status, headers=response.headers)
    # functions-framework reads the whole request body after every response that is not
    # streamed (its after_request hook `read_request`): an over-cap body would be read to
    # its end, or wait forever for bytes that never come. A streamed response is left
    # alone; the explicit Content-Length keeps it unchunked on the wire.
    headers = [*response.headers, ("Content-Length", str(len(response.body)))]
    return flask.Response(iter((response.body,)), status=response.status, headers=headers)
