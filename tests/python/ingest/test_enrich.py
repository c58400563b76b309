"""User agents, trusted-proxy client IPs and IP storage modes (in-process units)."""

from __future__ import annotations

import pytest

from ingest_function.enrich import classify_agent, resolve_client, stored_ip, truncate_ip

UAS = {
    "googlebot": (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "bot",
        True,
    ),
    "ipad": (
        "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
        "tablet",
        False,
    ),
    "android-tablet": (
        "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, "
        "like Gecko) Chrome/120.0.0.0 Safari/537.36",
        "tablet",
        False,
    ),
    "android-phone": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, "
        "like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
        "mobile",
        False,
    ),
    "windows": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
        "Gecko) Chrome/131.0.0.0 Safari/537.36",
        "desktop",
        False,
    ),
    "headless": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/131.0.0.0 Safari/537.36",
        "desktop",
        True,
    ),
    "curl": ("curl/8.5.0", "bot", True),
}


@pytest.mark.parametrize("name", sorted(UAS))
def test_user_agents(name):
    ua, device, is_bot = UAS[name]
    agent = classify_agent(ua)
    assert (agent.device, agent.is_bot) == (device, is_bot)


def test_empty_user_agent_is_a_bot_without_details():
    agent = classify_agent("")
    assert agent.is_bot and agent.device is None and agent.browser is None


FORGED = {
    "X-Forwarded-For": "6.6.6.6, 203.0.113.9, 130.211.0.1",
    "CF-Connecting-IP": "7.7.7.7",
    "CF-IPCountry": "KP",
    "X-Client-Geo-Location": "FR,Paris",
    "X-Client-Region-Subdivision": "FRIDF",
}


def test_none_believes_only_the_tcp_peer():
    client = resolve_client("none", "198.51.100.4", FORGED)
    assert client.ip == "198.51.100.4" and client.country is None and client.city is None


def test_gclb_takes_the_client_the_load_balancer_appended():
    client = resolve_client("gclb", "10.0.0.1", FORGED)
    # "<anything the client sent>, <client>, <lb>": the client is second to last.
    assert client.ip == "203.0.113.9"
    assert (client.country, client.city, client.region) == ("FR", "Paris", "FRIDF")


def test_gclb_without_forwarding_header_falls_back_to_the_peer():
    assert resolve_client("gclb", "10.0.0.1", {}).ip == "10.0.0.1"


def test_cloudflare_headers_and_unknown_country():
    client = resolve_client("cloudflare", "172.68.0.1", FORGED | {"CF-IPCountry": "XX"})
    assert client.ip == "7.7.7.7" and client.country is None


def test_garbage_ip_headers_are_ignored():
    client = resolve_client("cloudflare", "172.68.0.1", {"CF-Connecting-IP": "<script>"})
    assert client.ip == "172.68.0.1"


def test_ip_modes():
    assert truncate_ip("203.0.113.77") == "203.0.113.0"
    assert truncate_ip("2001:db8:abcd:12:1:2:3:4") == "2001:db8:abcd::"
    assert stored_ip("203.0.113.77", "drop", b"k") is None
    assert stored_ip("203.0.113.77", "raw", b"k") == "203.0.113.77"
    hashed = stored_ip("203.0.113.77", "hash", b"k")
    assert (
        hashed == stored_ip("203.0.113.77", "hash", b"k") != stored_ip("203.0.113.78", "hash", b"k")
    )
    assert hashed != stored_ip("203.0.113.77", "hash", b"other-key")


def test_token_bucket_rate_limit():
    import ingest_function.ratelimit as rl

    clock = [1000.0]
    limiter = rl.RateLimiter(60, clock=lambda: clock[0])  # one per second, bursts of 60
    assert all(limiter.allow("a") for _ in range(60))
    assert not limiter.allow("a")
    assert limiter.allow("b")  # per address
    clock[0] += 1.0
    assert limiter.allow("a") and not limiter.allow("a")
    assert limiter.retry_after() == 1
    assert rl.RateLimiter(0).allow("a")
