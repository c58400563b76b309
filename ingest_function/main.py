"""Cloud Function entry point (target `ingest`): translates HTTP to plain calls, nothing else.

    functions-framework --source ingest_function/main.py --target ingest

Settings are read and checked at import, so a bad deployment fails at start with one clear
line; sinks open lazily in each worker process (the server forks after this import).
"""

from __future__ import annotations

import logging
import sys

import flask
import functions_framework

from ingest_function.enrich import classify_agent
from ingest_function.service import Service
from ingest_function.web import HttpRequest
from oie.settings import Settings, SettingsError

logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")

try:
    SERVICE = Service(Settings.from_env())
except SettingsError as exc:
    print(f"oie ingest: configuration error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None

# Load ua-parser's rules once in the parent so every forked worker shares them.
classify_agent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36")


def _reader(request: flask.Request):
    def read(limit: int) -> bytes:
        chunks, size = [], 0
        while size < limit:
            chunk = request.stream.read(limit - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)

    return read


@functions_framework.http
def ingest(request: flask.Request) -> flask.Response:
    response = SERVICE.handle(
        HttpRequest(
            method=request.method,
            path=request.path,
            headers=request.headers,
            query=request.args,
            cookies=request.cookies,
            remote_addr=request.remote_addr,
            scheme=request.scheme,
            host=request.host,
            content_length=request.content_length,
            read_body=_reader(request),
        )
    )
    return flask.Response(response.body, status=response.status, headers=response.headers)
