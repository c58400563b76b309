"""Scrubbing rules (ingest_function/scrub.py) at their edges, called directly: the cut at
exactly its limit and through each spelling of a partial address, decoding that stops at
ten rounds, JSON escapes holding surrogates or control characters, and the query
parameters a URL keeps. Written against the mutants `make mutate` found alive
(bench/results/mutation.md); test_scrub_order.py has the end-to-end rules."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from ingest_function.scrub import cut, scrub_json_text, scrub_text, scrub_url


def percent(text: str, times: int) -> str:
    for _ in range(times):
        text = quote(text, safe="")
    return text


def json_escaped(text: str, times: int) -> str:
    """`@` as a JSON escape, the escape's backslash itself escaped `times - 1` more times:
    `times` rounds of unescaping give the `@` back."""
    text = text.replace("@", "\\u0040")
    for _ in range(times - 1):
        text = text.replace("\\", "\\u005c")
    return text


# -- cut ------------------------------------------------------------------------------------
def test_a_value_at_its_limit_is_not_cut():
    assert cut("mail ada@x.test", 15) == "mail ada@x.test"
    assert cut("mail ada@x.test", 14) == "mail "


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [
        ("see ada@example.com", 12, "see "),  # plain @
        ("see ada%40example.com", 12, "see "),  # percent-encoded @
        ("see ada%2540example.com", 14, "see "),  # encoded twice
        ("see ada\\u0040example.com", 15, "see "),  # JSON-escaped @
        ("see 50% off today", 8, "see 50% "),  # a % that is no address: cut as asked
        ("C:\\temp\\file.txt", 9, "C:\\temp\\f"),  # a backslash that is no address either
    ],
)
def test_a_cut_drops_what_is_left_of_an_address_in_every_spelling(value, limit, expected):
    assert cut(value, limit) == expected


# -- percent-decoding -----------------------------------------------------------------------
def test_a_control_character_decoded_inside_an_address_does_not_hide_it():
    assert scrub_text("ada%40exa%0Ample.com") == "[email]"
    assert scrub_text("hi%0A ada%40example.com") == "hi [email]"


def test_text_without_a_hidden_address_is_kept_as_sent():
    assert scrub_text("50%25 off%0Anow") == "50%25 off%0Anow"
    assert scrub_text("a+b c") == "a+b c"


def test_ten_rounds_of_percent_encoding_are_decoded_and_only_the_address_is_masked():
    assert scrub_text(f"see {percent('ada@example.com', 10)} or 50%25") == "see [email] or 50%"


def test_eleven_rounds_are_hostile_and_every_encoded_run_is_masked():
    assert scrub_text(f"see {percent('ada@example.com', 11)} or 50%25") == (
        "see [email] or [email]"
    )


# -- JSON text (a 400 body) -----------------------------------------------------------------
def test_json_escaped_surrogate_pairs_join_and_a_lone_half_is_replaced():
    assert scrub_json_text("\\ud83d\\ude00 c\\u0040leak.test") == "\U0001f600 [email]"
    assert scrub_json_text("\\ud800 c\\u0040leak.test") == "\ufffd [email]"


def test_json_escaped_control_characters_are_dropped_from_the_masked_text():
    assert scrub_json_text("hi\\n c\\u0040leak.test\\t!") == "hi [email]!"


def test_json_text_without_a_hidden_address_is_kept_as_sent():
    assert scrub_json_text('{"title": "caf\\u00e9\\n"}') == '{"title": "caf\\u00e9\\n"}'


@pytest.mark.parametrize("times", [1, 2, 10])
def test_json_escapes_are_read_for_up_to_ten_rounds(times):
    assert scrub_json_text(f"note {json_escaped('c@leak.test', times)} end") == ("note [email] end")


def test_json_escapes_nested_deeper_than_ten_rounds_are_hostile():
    deep = json_escaped("c@leak.test", 12)
    assert scrub_json_text(f"note {deep} and a\\\\b end") == "note [email] and [email] end"


# -- URL query parameters -------------------------------------------------------------------
def test_kept_parameters_stay_joined_by_ampersands():
    assert scrub_url("https://s.example/p?a=1&b=2&email=x&c=3") == "https://s.example/p?a=1&b=2&c=3"


def test_the_parameter_name_is_what_comes_before_the_first_equals_sign():
    assert scrub_url("https://s.example/p?name=a=b&x=1") == "https://s.example/p?x=1"
    assert scrub_url("https://s.example/p?x=name=b&y=1") == "https://s.example/p?x=name=b&y=1"


@pytest.mark.parametrize(
    "param", ["e=ada@example.com", "e=ada%40example.com", "ada%40example.com=1", "to=a%2540b"]
)
def test_a_parameter_holding_an_address_is_dropped(param):
    assert scrub_url(f"https://s.example/p?{param}&keep=1") == "https://s.example/p?keep=1"
