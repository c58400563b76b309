"""The ingest function in-process: functions-framework's own Flask app for
`ingest_function/main.py`, driven by Flask's test client (no socket, no gunicorn).

    with start_ingest_app({"OIE_TRUSTED_PROXY": "cloudflare"}) as app:
        reply = app.call("/track", "POST", body, headers)   # a servers.Reply, as over HTTP
        app.landed("events")

`create_app` executes main.py afresh on every call, so main.py reads Settings from the
environment this helper sets: the same defaults as `start_ingest_server` (fixed token
secret, 127.0.0.1/localhost origins, OIE_REDIRECT_HOSTS=127.0.0.1, no rate limit), inherited
OIE_* variables dropped, `env` on top; the environment is restored once the app is made.
When the block ends the service is closed, which seals its landing files.

Use the real server (`tests.python.helpers.servers`) for what only it shows: status codes
and bodies on the wire, workers, signals, shutdown.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import functions_framework
from flask.testing import FlaskClient

from ingest_function.app import Service
from oie_core.settings import Settings
from tests.python.helpers.environment import inherited_env
from tests.python.helpers.servers import REPO, TEST_ORIGINS, TEST_TOKEN_SECRET, Reply

# What the test client pretends to be reached at; a request's own Host header wins.
BASE_URL = "http://127.0.0.1:8080"


@dataclass
class IngestApp:
    client: FlaskClient
    service: Service  # the SERVICE main.py built from the environment
    data_dir: Path
    landing_dir: Path
    url: str = BASE_URL

    def call(
        self,
        path: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """Like servers.http_call: exactly these headers (no cookie jar, no default
        User-Agent), Content-Length when there is a body, no redirect followed."""
        extra = {"CONTENT_LENGTH": str(len(body))} if body is not None else {}
        resp = self.client.open(
            path,
            method=method,
            data=body,
            headers=headers or {},
            base_url=self.url,
            environ_overrides=extra,
        )
        raw = list(resp.headers.items())
        return Reply(resp.status_code, {k.lower(): v for k, v in raw}, resp.get_data(), raw)

    def landed(self, stream: str = "events") -> list[dict[str, Any]]:
        """Every line of the stream's landing files, parsed (raises on a corrupt line)."""
        rows = []
        for path in sorted((self.landing_dir / stream).glob("dt=*/hr=*/*.ndjson*")):
            for line in path.read_bytes().splitlines():
                if line.strip():
                    rows.append(json.loads(line))
        return rows


@contextlib.contextmanager
def start_ingest_app(
    env: dict[str, str] | None = None, data_dir: Path | None = None
) -> Iterator[IngestApp]:
    own_dir = data_dir is None  # a folder the caller did not give goes with the app
    data_dir = Path(data_dir or tempfile.mkdtemp(prefix="oie-ingest-app-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    settings_env = {
        "OIE_DATA_DIR": str(data_dir),
        "OIE_TOKEN_SECRET": TEST_TOKEN_SECRET,
        "OIE_ALLOWED_ORIGINS": TEST_ORIGINS,
        "OIE_REDIRECT_HOSTS": "127.0.0.1",
        "OIE_RATE_LIMIT": "0",
        **(env or {}),
    }
    inherited = inherited_env()
    saved_path, saved_main = list(sys.path), sys.modules.get("main")
    # main.py reads its settings while create_app executes it; nothing reads them later.
    with mock.patch.dict(os.environ, {**inherited, **settings_env}, clear=True):
        try:
            app = functions_framework.create_app(
                target="ingest", source=str(REPO / "ingest_function" / "main.py")
            )
            service = sys.modules["main"].SERVICE
        finally:
            # create_app puts main.py's folder on sys.path and the module in sys.modules.
            sys.path[:] = saved_path
            if saved_main is None:
                sys.modules.pop("main", None)
            else:
                sys.modules["main"] = saved_main
    # Like a raw HTTP call: no cookie jar (a cookie is sent only when a test sends it), no
    # default User-Agent.
    client = app.test_client(use_cookies=False)
    client.environ_base = {"REMOTE_ADDR": "127.0.0.1"}
    landing = Path(settings_env.get("OIE_LANDING_DIR") or data_dir / "landing")
    try:
        yield IngestApp(client, service, data_dir, landing)
    finally:
        service.close()
        if own_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


class ModuleService:
    """The service alone (no Flask, no socket) for a module's hypothesis examples: built on
    first call with this helper's defaults (no rate limit, site.example redirects), reused
    after; `close` closes it and removes its folder, for the module's teardown."""

    def __init__(self, prefix: str, token_secret: str) -> None:
        self.prefix, self.token_secret = prefix, token_secret
        self._service: Service | None = None

    def __call__(self) -> Service:
        if self._service is None:
            self._service = Service(
                Settings.from_env(
                    {
                        "OIE_DATA_DIR": tempfile.mkdtemp(prefix=self.prefix),
                        "OIE_TOKEN_SECRET": self.token_secret,
                        "OIE_ALLOWED_ORIGINS": "http://127.0.0.1:*",
                        "OIE_REDIRECT_HOSTS": "site.example",
                        "OIE_RATE_LIMIT": "0",
                    }
                )
            )
        return self._service

    def close(self) -> None:
        if self._service is not None:
            self._service.close()
            shutil.rmtree(self._service.settings.data_dir, ignore_errors=True)
            self._service = None
