"""The per-client rate limit (OIE_RATE_LIMIT) counts an IPv6 client by its /64 -- one
subscriber's network, inside which it may rotate addresses at will -- an IPv4 client by its
address, and an IPv4-mapped IPv6 address as that IPv4 address (docs/ingest.md check 6)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ingest_function.ratelimit import RateLimiter, bucket_key
from tests.python.ingest.conftest import batch, call, make_event, track
from tests.python.ingest.inprocess import IngestApp, start_ingest_app

LIMIT = 5


@pytest.fixture
def limited(tmp_path) -> Iterator[IngestApp]:
    # Cloudflare as the trusted proxy: CF-Connecting-IP names the client, so one test
    # client can be many addresses. The limit is pinned here, not inherited.
    env = {"OIE_RATE_LIMIT": str(LIMIT), "OIE_TRUSTED_PROXY": "cloudflare"}
    with start_ingest_app(env, tmp_path) as app:
        yield app


def _from(app: IngestApp, ip: str) -> int:
    return track(app, batch(make_event()), headers={"CF-Connecting-IP": ip}).status


def test_addresses_rotated_within_one_ipv6_64_share_one_budget(limited):
    statuses = [_from(limited, f"2001:db8:1:2:{i:x}:{i * 7:x}::{i + 1:x}") for i in range(10)]
    assert statuses == [200] * LIMIT + [429] * (10 - LIMIT)
    # The next /64 is another subscriber; the same one in another spelling is not.
    assert _from(limited, "2001:db8:1:3::1") == 200
    assert _from(limited, "2001:0DB8:0001:0002:ffff:ffff:ffff:ffff") == 429


def test_ipv4_clients_are_counted_per_address(limited):
    assert [_from(limited, "203.0.113.7") for _ in range(LIMIT + 1)][-2:] == [200, 429]
    assert _from(limited, "203.0.113.8") == 200  # same /24, another client
    assert _from(limited, "::ffff:203.0.113.7") == 429  # the same IPv4 client, mapped


def test_identify_shares_the_rule(limited):
    def identify(ip: str) -> int:
        return call(limited, "/identify?i=x", headers={"CF-Connecting-IP": ip}).status

    assert [identify(f"2001:db8:9:9::{i + 1:x}") for i in range(LIMIT + 1)][-2:] == [200, 429]


def test_bucket_keys():
    assert bucket_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64"
    assert bucket_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert bucket_key("192.0.2.1") == "192.0.2.1"
    assert bucket_key("not-an-address") == "not-an-address"
    limiter = RateLimiter(1, clock=lambda: 0.0)
    assert limiter.allow("2001:db8::1") and not limiter.allow("2001:db8::2")
    assert limiter.allow(None) and not limiter.allow(None)
