"""Where /go may send a visitor (ingest_function/redirect.py), called directly: the edges
of each refusal rule and how the token is put on the destination. Written against the
mutants `make mutate` found alive (bench/results/mutation.md); test_go.py and
test_lookalikes.py go through the endpoint."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from ingest_function.redirect import safe_destination, with_token

SITE = "https://www.site.example"
HOSTS = ("www.site.example", "http://127.0.0.1:8080", "https://docs.site.example")


def dest(to: str | None) -> str | None:
    return safe_destination(to, SITE, HOSTS)


def encoded(text: str, times: int) -> str:
    for _ in range(times):
        text = quote(text, safe="")
    return text


def test_no_destination_is_the_default_site():
    assert dest(None) == SITE + "/"
    assert dest("") == SITE + "/"


def test_a_path_is_on_the_default_site():
    assert dest("/pricing?plan=pro#faq") == SITE + "/pricing?plan=pro#faq"
    assert dest("/team/ada@site.example") == SITE + "/team/ada@site.example"
    assert dest("/login?next=ada:x@y") == SITE + "/login?next=ada:x@y"  # the query is free
    # Only the path before the first `?` is read for the user:password@ shape.
    for to in ("/a:b?x=c@d", "/a@b?x=c:d", "/a:b?x=c@d?y=1", "/a@b?x=c:d?y=1"):
        assert dest(to) == SITE + to


def test_a_path_that_looks_like_user_and_password_at_a_host_is_refused():
    assert dest("/ada:secret@evil.example/") is None
    assert dest("/ada%3Asecret%40evil.example/") is None


def test_a_destination_longer_than_2048_characters_is_refused():
    assert dest("/" + "a" * 2047) == SITE + "/" + "a" * 2047
    assert dest("/" + "a" * 2048) is None


@pytest.mark.parametrize("times", [1, 2, 3, 4])
def test_a_protocol_relative_path_is_refused_however_often_encoded(times):
    assert dest("/" + encoded("/evil.example/", times)) is None


def test_decoding_stops_after_four_rounds_and_the_path_stays_on_the_site():
    to = "/" + encoded("/evil.example/", 5)
    assert dest(to) == SITE + to


@pytest.mark.parametrize("to", ["/a b", "/a%20b", "/a%2520b", "/a%09b", "/a%5Cb", "/%7F"])
def test_spaces_controls_and_backslashes_are_refused_also_when_encoded(to):
    assert dest(to) is None


@pytest.mark.parametrize(
    ("to", "expected"),
    [
        ("https://www.site.example/a", "https://www.site.example/a"),
        ("http://www.site.example/a", "http://www.site.example/a"),
        ("HTTPS://WWW.SITE.EXAMPLE/a", "https://WWW.SITE.EXAMPLE/a"),
        ("http://127.0.0.1:8080/b?x=1", "http://127.0.0.1:8080/b?x=1"),
        ("https://docs.site.example/guide", "https://docs.site.example/guide"),
    ],
)
def test_an_absolute_url_on_a_configured_host_is_allowed(to, expected):
    assert dest(to) == expected


@pytest.mark.parametrize(
    "to",
    [
        "ftp://www.site.example/file",
        "wss://www.site.example/",
        "https://ada@www.site.example/",
        "https://ada:pw@www.site.example/",
        "https://docs.site.example.evil.example/",
        "http://127.0.0.1/",
        "https://www.site.example%2F@evil.example/",
    ],
)
def test_other_schemes_userinfo_and_other_hosts_are_refused(to):
    assert dest(to) is None


def test_hosts_may_be_configured_with_or_without_a_scheme():
    assert safe_destination("https://a.example/x", SITE, ("https://a.example",)) == (
        "https://a.example/x"
    )
    assert safe_destination("https://a.example/x", SITE, ("a.example",)) == "https://a.example/x"
    assert safe_destination("https://b.example/x", SITE, ("https://a.example",)) is None


def test_with_token_puts_i_last_and_replaces_any_i_already_there():
    assert with_token("https://s.example/p", "0AbCdEfGhIj") == "https://s.example/p?i=0AbCdEfGhIj"
    assert with_token("https://s.example/p?i=forged&x=1", "0AbCdEfGhIj") == (
        "https://s.example/p?x=1&i=0AbCdEfGhIj"
    )
    assert with_token("https://s.example/p?I=kept", "T0k") == "https://s.example/p?I=kept&i=T0k"


def test_with_token_keeps_blank_parameters_and_the_fragment():
    assert with_token("https://s.example/p?a=&b=2#top", "T0k") == (
        "https://s.example/p?a=&b=2&i=T0k#top"
    )


def test_without_a_valid_token_any_i_is_removed():
    assert with_token("https://s.example/p?i=forged&x=1", None) == "https://s.example/p?x=1"
    assert with_token("https://s.example/p", None) == "https://s.example/p"
