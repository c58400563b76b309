"""The event validator's rules one by one, called directly (ingest_function/validate.py):
each field checker's accepted range and its refusal, the envelope checks and the batch
meta (docs/design.md "Wire format"), each with its literal outcome. Written against the
mutants `make mutate` found alive (bench/results/mutation.md)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from ingest_function import validate
from ingest_function.validate import (
    MAX_TS,
    MIN_TS,
    Invalid,
    classes,
    clean_data,
    clean_event,
    clean_id,
    clean_meta,
    clean_str,
    hems,
    i,
    n,
    names,
    one_of,
    s,
    text,
    url,
)
from oie_core.tokens import TOKEN_RE

TOKEN = "0AbCdEfGhIj"  # the right shape (11 of [0-9A-Za-z]); validity is checked later
SHA256 = "b5fc85e5" + "0" * 56


def refusal(check: Any, *args: Any) -> str:
    """str() of the Invalid the call raises: `code: reason`."""
    with pytest.raises(Invalid) as caught:
        check(*args)
    return str(caught.value)


def test_invalid_carries_its_code_and_says_code_then_reason():
    exc = Invalid("invalid_data", "x must be a string")
    assert exc.code == "invalid_data"
    assert str(exc) == "invalid_data: x must be a string"


# -- strings --------------------------------------------------------------------------------
def test_clean_str_drops_control_characters_and_replaces_lone_surrogates():
    assert clean_str("a\x00b\x1fc\x7fd\ud800e f", 100) == "abcd\ufffde f"


def test_clean_str_masks_addresses_unless_told_not_to():
    assert clean_str("write to ada@example.com", 100) == "write to [email]"
    assert clean_str("write to ada@example.com", 100, scrub=False) == "write to ada@example.com"
    assert clean_str("write to ada@example.com", 24) == "write to [email]"  # at the limit


def test_clean_str_cuts_at_the_limit():
    assert clean_str("abcdef", 3) == "abc"
    assert clean_str("abcdef", 3, scrub=False) == "abc"
    assert clean_str("abc", 3) == "abc"


def test_the_mask_never_takes_a_string_past_its_limit():
    # `[email]` is longer than the shortest addresses: a string at its limit stays there.
    assert clean_str("x" * 293 + " a@b.co", 300) == "x" * 293 + " [email"
    assert clean_str("a@b.co", 6) == "[email"


def test_clean_str_masks_an_address_across_the_limit_before_cutting():
    value = "t" * 20 + " ada@example.com " + "z" * 30
    # Masked first, then cut: the mask's own text is what the cut goes through.
    assert clean_str(value, 30) == "t" * 20 + " [email] z"
    # Not masked: the cut drops what is left of the address (`ada@examp`).
    assert clean_str(value, 30, scrub=False) == "t" * 20 + " "


def test_s_accepts_strings_and_null_and_refuses_the_rest():
    check = s(5)
    assert check("abcdefgh", "pageview.title") == "abcde"
    assert check(None, "pageview.title") is None
    assert refusal(check, 3, "pageview.title") == "invalid_data: pageview.title must be a string"
    assert refusal(check, ["a"], "x") == "invalid_data: x must be a string"


def test_text_collapses_whitespace_then_cuts():
    check = text(10)
    assert check("  a \n b\t\t c  ", "click.text") == "a b c"
    assert check("abcdefghijklmno", "click.text") == "abcdefghij"
    assert check(None, "click.text") is None
    assert refusal(check, 7, "click.text") == "invalid_data: click.text must be a string"


def test_text_reads_at_most_four_times_its_limit():
    # 35 spaces then letters: the first 40 characters hold only five letters.
    assert text(10)(" " * 35 + "abcdefghijklmno", "click.text") == "abcde"


def test_classes_joins_a_list_of_class_names():
    assert classes(["btn", "cta"], "click.classes") == "btn cta"
    assert classes("btn cta", "click.classes") == "btn cta"
    assert classes(None, "click.classes") is None
    assert classes(["x" * 200, "y" * 200], "click.classes") == "x" * 200 + " " + "y" * 99
    assert refusal(classes, ["btn", 3], "click.classes") == (
        "invalid_data: click.classes must be a string"
    )


def test_names_are_a_list_of_at_most_100_cleaned_field_names():
    assert names(None, "form_submit.fields") is None
    assert names(["email", "f" * 101, "a\x00b"], "form_submit.fields") == [
        "email",
        "f" * 100,
        "ab",
    ]
    assert names(["x"] * 100, "form_submit.fields") == ["x"] * 100
    expected = "invalid_data: form_submit.fields must be a list of at most 100 field names"
    assert refusal(names, ["x"] * 101, "form_submit.fields") == expected
    assert refusal(names, "email", "form_submit.fields") == expected
    assert refusal(names, ["email", 1], "form_submit.fields") == expected


def test_hems_are_lowercase_hex_of_the_right_length_only():
    good = {"sha256": SHA256, "sha1": "3ca93ad8" + "0" * 32, "md5": "3e3417d7" + "0" * 24}
    assert hems(good, "form_submit.hems") == good
    assert hems({"sha256": SHA256, "md5": None}, "form_submit.hems") == {"sha256": SHA256}
    assert hems(None, "form_submit.hems") is None
    shape = "invalid_data: form_submit.hems must be an object of sha256/sha1/md5 hex"
    assert refusal(hems, {"sha512": SHA256}, "form_submit.hems") == shape
    assert refusal(hems, [], "form_submit.hems") == shape
    assert refusal(hems, {"sha256": SHA256.upper()}, "form_submit.hems") == (
        "invalid_data: form_submit.hems.sha256 must be lowercase hex"
    )
    assert refusal(hems, {"md5": SHA256}, "form_submit.hems") == (
        "invalid_data: form_submit.hems.md5 must be lowercase hex"
    )
    assert refusal(hems, {"sha1": 7}, "form_submit.hems") == (
        "invalid_data: form_submit.hems.sha1 must be lowercase hex"
    )


# -- numbers and enumerations ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 0), (10, 10), (5, 5), (0.0, 0), (10.0, 10), (3.0, 3), (None, None)],
)
def test_i_accepts_integers_in_its_closed_range(value, expected):
    out = i(0, 10)(value, "page_exit.active_ms")
    assert out == expected and type(out) is type(expected)


@pytest.mark.parametrize("value", [-1, 11, 3.5, -0.5, 10.5, True, False, "3", float("nan"), [1]])
def test_i_refuses_what_is_not_an_integer_in_range(value):
    assert refusal(i(0, 10), value, "rage_click.count") == (
        "invalid_data: rage_click.count must be an integer in [0, 10]"
    )


@pytest.mark.parametrize(("value", "expected"), [(0, 0), (100, 100), (0.0, 0.0), (99.5, 99.5)])
def test_n_accepts_numbers_in_its_closed_range(value, expected):
    out = n(0, 100)(value, "video.percent")
    assert out == expected and type(out) is type(expected)
    assert n(0, 100)(None, "video.percent") is None


@pytest.mark.parametrize("value", [-0.5, 100.5, 101, True, "50", float("nan"), [50]])
def test_n_refuses_what_is_not_a_number_in_range(value):
    assert refusal(n(0, 100), value, "video.percent") == (
        "invalid_data: video.percent must be a number in [0, 100]"
    )


def test_one_of_accepts_only_its_values():
    depth = one_of(25, 50)
    assert depth(50, "scroll_depth.depth") == 50
    assert depth(None, "scroll_depth.depth") is None
    expected = "invalid_data: scroll_depth.depth must be one of 25|50"
    for bad in (30, "50", True, [50], {"d": 50}):
        assert refusal(depth, bad, "scroll_depth.depth") == expected
    role = one_of("cta", "nav")
    assert role("nav", "click.role") == "nav"
    assert refusal(role, "link", "click.role") == "invalid_data: click.role must be one of cta|nav"
    assert refusal(one_of(1, 2), True, "x") == "invalid_data: x must be one of 1|2"  # True == 1


def test_url_fields_are_strings_or_null():
    assert url("https://site.example/p?q=1", "url") == "https://site.example/p?q=1"
    assert url(None, "url") is None
    assert refusal(url, 7, "click.href") == "invalid_data: click.href must be a string URL"


def test_an_overlong_url_is_cleaned_then_cut_to_2048():
    long_url = "https://site.example/" + "p\x01" * 5000  # 10,021 characters
    assert url(long_url, "url") == ("https://site.example/" + "p" * 5000)[:2048]


def test_only_urls_of_at_most_8192_characters_are_cached():
    """A session repeats its page URLs, so cleaned URLs are cached; longer ones are not, so
    the cache's memory stays bounded (8,192 entries of at most 8 KB)."""
    misses = validate._clean_url.cache_info().misses

    def fresh(length: int) -> str:
        head = f"https://site.example/{uuid.uuid4().hex}/"
        return head + "q" * (length - len(head))

    url(fresh(8192), "url")
    assert validate._clean_url.cache_info().misses == misses + 1
    url(fresh(8193), "url")
    url(fresh(9000), "url")
    assert validate._clean_url.cache_info().misses == misses + 1


def test_an_overlong_url_gets_the_url_rules_not_the_free_text_mask():
    # The parameter holding an address is dropped whole, not kept as `e=[email]`.
    long_url = "https://site.example/p?e=ada@example.com&pad=" + "x" * 9000
    assert url(long_url, "url") == ("https://site.example/p?pad=" + "x" * 9000)[:2048]


# -- data, ids, envelope, meta --------------------------------------------------------------
def test_clean_data_keeps_known_fields_drops_unknown_and_null_ones():
    assert clean_data("pageview", None) == {}
    assert clean_data("pageview", {"title": "Pricing", "nope": 1, "tz": None}) == {
        "title": "Pricing"
    }
    assert clean_data("focus_lost", {"anything": 1}) == {}
    assert refusal(clean_data, "pageview", ["title"]) == "invalid_data: data must be an object"
    assert refusal(clean_data, "pageview", {"viewport_w": "wide"}) == (
        "invalid_data: pageview.viewport_w must be an integer in [0, 100000]"
    )


def test_clean_data_requires_the_required_fields():
    assert clean_data("scroll_depth", {"depth": 75}) == {"depth": 75}
    assert refusal(clean_data, "scroll_depth", {}) == "invalid_data: scroll_depth.depth is required"
    assert refusal(clean_data, "scroll_depth", {"depth": None}) == (
        "invalid_data: scroll_depth.depth is required"
    )
    assert refusal(clean_data, "video", {"percent": 5}) == "invalid_data: video.action is required"


@pytest.mark.parametrize("value", ["abcdefgh", "a" * 64, "A-b_9" * 2])
def test_clean_id_accepts_8_to_64_id_characters(value):
    assert clean_id(value, "event_id") == value


@pytest.mark.parametrize("value", ["abcdefg", "a" * 65, "abc defgh", "abcdefgh!", 12345678, None])
def test_clean_id_refuses_anything_else_with_the_fields_own_code(value):
    with pytest.raises(Invalid) as caught:
        clean_id(value, "visitor_id")
    assert caught.value.code == "invalid_visitor_id"
    assert str(caught.value) == (
        "invalid_visitor_id: visitor_id must be 8-64 characters of [0-9A-Za-z_-]"
    )


def test_an_optional_id_may_be_null_but_not_malformed():
    assert clean_id(None, "session_id", required=False) is None
    assert refusal(clean_id, "short", "session_id", False) == (
        "invalid_session_id: session_id must be 8-64 characters of [0-9A-Za-z_-]"
    )


def event(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "event_id": "evt-00000001",
        "type": "pageview",
        "ts": 1_795_305_600_000,
        "visitor_id": "vis-00000001",
        "session_id": "ses-00000001",
        "url": "https://site.example/pricing",
        "referrer": None,
        "data": {"title": "Pricing"},
    }
    raw.update(overrides)
    return raw


def test_clean_event_returns_the_cleaned_envelope():
    assert clean_event(event(token=TOKEN)) == {
        "event_id": "evt-00000001",
        "type": "pageview",
        "ts": 1_795_305_600_000,
        "visitor_id": "vis-00000001",
        "session_id": "ses-00000001",
        "token": TOKEN,
        "token_shape_bad": False,
        "url": "https://site.example/pricing",
        "referrer": None,
        "data": {"title": "Pricing"},
    }


def test_a_malformed_token_is_dropped_and_flagged_not_the_event():
    cleaned = clean_event(event(token="not-a-token"))
    assert cleaned["token"] is None and cleaned["token_shape_bad"] is True
    cleaned = clean_event(event(token=12345678901))
    assert cleaned["token"] is None and cleaned["token_shape_bad"] is True
    cleaned = clean_event(event())  # no token at all
    assert cleaned["token"] is None and cleaned["token_shape_bad"] is False


def test_clean_event_refuses_what_is_not_an_event():
    assert refusal(clean_event, ["pageview"]) == "invalid_event: event must be an object"
    assert refusal(clean_event, event(type="bogus")) == "unknown_type: 'bogus' is not an event type"
    assert refusal(clean_event, event(type=None)) == "unknown_type: 'NoneType' is not an event type"
    assert refusal(clean_event, event(type=["pageview"])) == (
        "unknown_type: 'list' is not an event type"
    )
    assert refusal(clean_event, event(type="email_click")) == (
        "server_only_type: email_click is recorded by /go, not the browser"
    )
    # The type is shown cleaned and cut to 40 characters.
    assert refusal(clean_event, event(type="x\x00" * 30)) == (
        f"unknown_type: {'x' * 30!r} is not an event type"
    )
    assert refusal(clean_event, event(type="y" * 50)) == (
        f"unknown_type: {'y' * 40!r} is not an event type"
    )


def test_clean_event_checks_ids():
    with pytest.raises(Invalid) as caught:
        clean_event(event(event_id="short"))
    assert caught.value.code == "invalid_event_id"
    with pytest.raises(Invalid) as caught:
        clean_event(event(visitor_id=None))
    assert caught.value.code == "invalid_visitor_id"
    assert clean_event(event(session_id=None))["session_id"] is None
    assert refusal(clean_event, event(session_id="short")) == (
        "invalid_session_id: session_id must be 8-64 characters of [0-9A-Za-z_-]"
    )


@pytest.mark.parametrize(
    ("ts", "expected"),
    [(MIN_TS, MIN_TS), (MAX_TS, MAX_TS), (1_795_305_600_000.0, 1_795_305_600_000)],
)
def test_ts_is_an_integer_epoch_in_milliseconds_within_2000_to_2100(ts, expected):
    out = clean_event(event(ts=ts))["ts"]
    assert out == expected and type(out) is int


@pytest.mark.parametrize(
    ("ts", "reason"),
    [
        (MIN_TS - 1, "invalid_ts: ts is not a plausible epoch in milliseconds"),
        (MAX_TS + 1, "invalid_ts: ts is not a plausible epoch in milliseconds"),
        (1_795_305_600_000.5, "invalid_ts: ts must be an integer epoch in milliseconds"),
        ("1795305600000", "invalid_ts: ts must be an integer epoch in milliseconds"),
        (None, "invalid_ts: ts must be an integer epoch in milliseconds"),
        (True, "invalid_ts: ts must be an integer epoch in milliseconds"),
    ],
)
def test_ts_outside_the_rule_is_refused(ts, reason):
    assert refusal(clean_event, event(ts=ts)) == reason


def test_clean_event_cleans_urls_and_data():
    cleaned = clean_event(
        event(
            url="https://site.example/p?email=ada%40example.com&x=1",
            referrer="https://mail.example/",
            data={"title": "Hi ada@example.com", "extra": 1},
        )
    )
    assert cleaned["url"] == "https://site.example/p?x=1"
    assert cleaned["referrer"] == "https://mail.example/"
    assert cleaned["data"] == {"title": "Hi [email]"}
    assert refusal(clean_event, event(url=5)) == "invalid_data: url must be a string URL"
    assert refusal(clean_event, event(referrer=5)) == "invalid_data: referrer must be a string URL"
    assert refusal(clean_event, event(data={"title": 5})) == (
        "invalid_data: pageview.title must be a string"
    )


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"sent_at": 1_795_305_600_000, "pixel_version": "1.0.0"}, (1_795_305_600_000, "1.0.0")),
        ({"sent_at": 1_795_305_600_000.0}, (1_795_305_600_000, None)),
        ({"sent_at": MIN_TS, "pixel_version": "v" * 40}, (MIN_TS, "v" * 32)),
        ({"sent_at": MAX_TS, "pixel_version": "1\x00.2"}, (MAX_TS, "1.2")),
        ({"sent_at": MIN_TS - 1, "pixel_version": 2}, (None, None)),
        ({"sent_at": MAX_TS + 1}, (None, None)),
        ({"sent_at": 1.5}, (None, None)),
        ({"sent_at": "1795305600000"}, (None, None)),
        ({}, (None, None)),
        (None, (None, None)),
        ([1], (None, None)),
    ],
)
def test_clean_meta_keeps_what_is_plausible(meta, expected):
    out = clean_meta(meta)
    assert out == expected
    assert out[0] is None or type(out[0]) is int


def test_every_schema_field_has_its_documented_limit():
    # One representative per checker kind, by its name in the schema.
    view = validate.SCHEMAS["pageview"]["viewport_w"]
    assert view(100_000, "v") == 100_000
    assert refusal(view, 100_001, "v") == "invalid_data: v must be an integer in [0, 100000]"
    assert validate.SCHEMAS["pageview"]["language"]("x" * 40, "l") == "x" * 35


# -- page_exit's pointer and reading measures (docs/design.md "Wire format") -----------------
PAGE_EXIT_MEASURES = {
    "active_ms": 61_000,
    "max_depth": 90,
    "cursor_jitter": 37.5,
    "cursor_reversals": 4,
    "cursor_moves": 120,
    "reading_wpm": 230,
}


def test_page_exit_keeps_its_cursor_and_reading_measures():
    assert clean_data("page_exit", PAGE_EXIT_MEASURES) == PAGE_EXIT_MEASURES
    # each is optional on its own: a touch device sends no cursor fields, an unscrolled
    # page no reading_wpm; a null is dropped like any other null field
    assert clean_data("page_exit", {"active_ms": 5, "reading_wpm": 180}) == {
        "active_ms": 5,
        "reading_wpm": 180,
    }
    assert clean_data("page_exit", {"cursor_jitter": None, "cursor_moves": 0}) == {
        "cursor_moves": 0
    }


@pytest.mark.parametrize(
    ("field", "low", "high"),
    [
        ("cursor_jitter", 0, 180),
        ("cursor_reversals", 0, 10_000_000),
        ("cursor_moves", 0, 10_000_000),
        ("reading_wpm", 0, 100_000),
    ],
)
def test_page_exit_measures_are_accepted_at_their_bounds(field, low, high):
    assert clean_data("page_exit", {field: low}) == {field: low}
    assert clean_data("page_exit", {field: high}) == {field: high}


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("cursor_jitter", -0.1, "a number in [0, 180]"),
        ("cursor_jitter", 180.1, "a number in [0, 180]"),
        ("cursor_jitter", "12.5", "a number in [0, 180]"),
        ("cursor_jitter", True, "a number in [0, 180]"),
        ("cursor_reversals", -1, "an integer in [0, 10000000]"),
        ("cursor_reversals", 10_000_001, "an integer in [0, 10000000]"),
        ("cursor_moves", 2.5, "an integer in [0, 10000000]"),
        ("cursor_moves", 10_000_001, "an integer in [0, 10000000]"),
        ("reading_wpm", -1, "an integer in [0, 100000]"),
        ("reading_wpm", 100_001, "an integer in [0, 100000]"),
        ("reading_wpm", 250.5, "an integer in [0, 100000]"),
    ],
)
def test_page_exit_measures_out_of_range_refuse_the_event(field, value, reason):
    # as an out-of-range active_ms does: the whole event is refused, never clamped
    data = {**PAGE_EXIT_MEASURES, field: value}
    assert (
        refusal(clean_data, "page_exit", data)
        == f"invalid_data: page_exit.{field} must be {reason}"
    )
    assert refusal(clean_data, "page_exit", {"active_ms": -5}) == (
        "invalid_data: page_exit.active_ms must be an integer in [0, 604800000]"
    )


def test_a_whole_number_measure_sent_as_a_float_lands_as_an_integer():
    out = clean_data("page_exit", {"cursor_moves": 120.0, "reading_wpm": 230.0})
    assert out == {"cursor_moves": 120, "reading_wpm": 230}
    assert type(out["cursor_moves"]) is int and type(out["reading_wpm"]) is int


@pytest.mark.parametrize("pattern", [validate.ID_RE, TOKEN_RE])
def test_ids_and_tokens_refuse_a_trailing_newline(pattern):
    good = "visitor-0001" if pattern is validate.ID_RE else "TkAda000001"
    assert pattern.match(good)
    assert not pattern.match(good + "\n")
