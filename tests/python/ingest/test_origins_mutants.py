"""Origin rules (ingest_function/origins.py), called directly: which origin a request's
headers name, and when the collector and the page share a site (the first-party cookie).
Written against the mutants `make mutate` found alive (bench/results/mutation.md)."""

from __future__ import annotations

import pytest

from ingest_function.origins import OriginPolicy, page_origin, same_site
from oie_core.settings import OriginPattern


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Origin": "HTTPS://Www.Site.Example/"}, "https://www.site.example"),
        ({"Origin": "HTTPS://WWW.BOX"}, "https://www.box"),  # lowercased, nothing cut
        (
            {"Origin": "https://www.site.example", "Referer": "https://evil.example/"},
            ("https://www.site.example"),
        ),
        (
            {"Origin": "null", "Referer": "https://Www.Site.Example/p?q=1"},
            ("https://www.site.example"),
        ),
        ({"Origin": "", "Referer": "HTTP://Site.Example:8080/path#x"}, "http://site.example:8080"),
        ({"Referer": "https://site.example?q=1"}, "https://site.example"),
        ({"Referer": "android-app://com.example/"}, None),
        ({"Referer": ""}, None),
        ({"Origin": "null"}, None),
        ({}, None),
    ],
)
def test_page_origin_is_the_origin_header_else_the_referers_origin(headers, expected):
    assert page_origin(headers) == expected


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("collect.site.example", "https://www.site.example"),
        ("Collect.Site.Example:443", "https://www.site.example:8443"),
        ("site.example", "https://www.site.example"),
        ("collect.shop.co.uk", "https://www.shop.co.uk"),
        ("127.0.0.1:8080", "http://127.0.0.1:5173"),
        ("[::1]:8080", "http://[::1]:5173"),
        ("[2001:db8::1]", "http://[2001:db8::1]:8443"),
        ("localhost:8080", "http://localhost:5173"),
        ("2001:db8::1", "http://[2001:db8::1]:8443"),  # an IPv6 Host without brackets
        ("[::1]:8080]", "http://[::1]:5173"),  # the address is inside the first brackets
    ],
)
def test_same_site(host, origin):
    assert same_site(host, origin)


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("collect.other.example", "https://www.site.example"),
        ("a.co.uk", "https://b.co.uk"),
        ("127.0.0.1:8080", "http://127.0.0.2:8080"),
        ("[::1]:8080", "http://[::2]:8080"),
        ("[::1", "http://[::1]:8080"),  # not a bracketed address: the text as it is
        ("[::1x", "http://[::1]:8080"),
        ("[2001:db8::1]:8080", "http://[3001:db8::1]:8080"),
        ("collect.site.example", "https://www.site.example/page"),  # not an origin
        ("collect.site.example", "ftp://www.site.example"),
        ("collect.site.example", None),
        ("", "https://www.site.example"),
    ],
)
def test_not_same_site(host, origin):
    assert not same_site(host, origin)


def test_the_policy_allows_only_matching_origins():
    policy = OriginPolicy((OriginPattern.parse("https://*.site.example"),))
    assert policy.allowed("https://www.site.example")
    assert not policy.allowed("https://www.site.example.evil.example")
    assert not policy.allowed(None) and not policy.allowed("")
