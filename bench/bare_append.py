"""The benchmark's baseline: a functions-framework handler that only appends the request
body to a file (O_APPEND, one write, fd kept per process) and answers 200."""

from __future__ import annotations

import os

import flask
import functions_framework

_fd: int | None = None
_pid = 0


@functions_framework.http
def bare(request: flask.Request) -> flask.Response:
    global _fd, _pid
    if _fd is None or _pid != os.getpid():
        path = os.path.join(os.environ["BARE_DIR"], f"bare-{os.getpid()}.ndjson")
        _fd, _pid = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644), os.getpid()
    os.write(_fd, request.get_data() + b"\n")
    return flask.Response(b'{"ok":true}', status=200, content_type="application/json")
