"""The first-party cookie's flags behind a proxy (in-process: needs https origins)."""

from __future__ import annotations

import json
import time

import pytest
from werkzeug.datastructures import Headers

from ingest_function.app import Service
from ingest_function.web import HttpRequest
from oie_core.settings import Settings


@pytest.fixture
def service(tmp_path):
    svc = Service(
        Settings.from_env(
            {
                "OIE_DATA_DIR": str(tmp_path),
                "OIE_TOKEN_SECRET": "cookie-test-secret-0123456789",
                "OIE_ALLOWED_ORIGINS": "https://www.acme.example,http://www.acme.example",
                "OIE_RATE_LIMIT": "0",
                "OIE_TRUSTED_PROXY": "gclb",
            }
        )
    )
    yield svc
    svc.close()


def post(svc: Service, origin: str, host: str, extra: dict | None = None):
    now = int(time.time() * 1000)
    body = json.dumps(
        {
            "events": [
                {
                    "event_id": "cookie-evt-1",
                    "type": "focus_lost",
                    "ts": now,
                    "visitor_id": "visitor-abc",
                }
            ],
            "meta": {"sent_at": now},
        }
    )
    data = body.encode()
    headers = Headers(
        {"Origin": origin, "Content-Type": "text/plain", "Host": host, **(extra or {})}
    )
    return svc.handle(
        HttpRequest(
            "POST",
            "/track",
            headers,
            remote_addr="10.0.0.1",
            scheme="http",
            host=host,
            content_length=len(data),
            read_body=lambda n: data[:n],
        )
    )


def test_https_page_gets_a_secure_cookie_even_though_the_container_sees_http(service):
    reply = post(service, "https://www.acme.example", "collect.acme.example")
    cookie = reply.header("Set-Cookie")
    assert cookie and cookie.endswith("; Secure") and "HttpOnly" in cookie


def test_trusted_proxy_forwarded_proto(service):
    reply = post(
        service, "http://www.acme.example", "collect.acme.example", {"X-Forwarded-Proto": "https"}
    )
    assert reply.header("Set-Cookie").endswith("; Secure")
    plain = post(service, "http://www.acme.example", "collect.acme.example")
    assert not plain.header("Set-Cookie").endswith("; Secure")


def test_cross_site_collector_sets_no_cookie(service):
    reply = post(service, "https://www.acme.example", "collect.vendor.example")
    assert reply.status == 200 and reply.header("Set-Cookie") is None
