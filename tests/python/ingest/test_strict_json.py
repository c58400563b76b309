"""Only strict JSON comes in, only strict JSON goes out (docs/ingest.md "Numbers").

NaN, Infinity and numbers a double cannot hold are malformed (400 invalid_json); a number
outside ±2^53 never lands as a number (fields have narrower ranges, a rejected original
keeps it as a string); every landed line parses with orjson, which is strict."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest_function.endpoints.track import parse_json
from oie_core.landing import encode_lines
from tests.python.ingest.conftest import batch, counts, landed_by_id, make_event, now_ms, track
from tests.python.ingest.inprocess import ModuleService
from tests.python.ingest.test_fuzz import field_values, json_values, post_to

SAFE = 2**53


def strict_rows(landing_dir: Path, stream: str) -> list[dict[str, Any]]:
    """Every line of a stream, parsed by orjson (strict: no NaN, no lone surrogates), with
    every number checked to be within ±2^53."""
    rows = []
    for path in sorted((landing_dir / stream).glob("dt=*/hr=*/*.ndjson*")):
        if path.name.endswith(".sealing"):
            continue  # seal_stale's temporary copy, renamed a moment later
        for line in path.read_bytes().splitlines():
            if line.strip():
                row = orjson.loads(line)
                assert_numbers_safe(row)
                rows.append(row)
    return rows


def assert_numbers_safe(value: Any) -> None:
    if isinstance(value, dict):
        for v in value.values():
            assert_numbers_safe(v)
    elif isinstance(value, list):
        for v in value:
            assert_numbers_safe(v)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        assert -SAFE <= value <= SAFE, value


@pytest.mark.parametrize(
    "literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"1" + b"0" * 400]
)
def test_non_finite_numbers_are_malformed(app, literal):
    event = make_event(type="bogus")
    body = batch(event).replace(b'"type": "bogus"', b'"type": "bogus", "a": ' + literal)
    reply = track(app, body)
    assert reply.status == 400 and reply.json()["error"] == "invalid_json"
    assert event["event_id"] not in landed_by_id(app, "rejected")
    raws = [r["raw"] for r in strict_rows(app.landing_dir, "rejected") if r["raw"]]
    assert any(event["event_id"] in raw for raw in raws)  # the body, kept as text


def test_the_issue_example_is_refused_and_every_landed_line_is_strict(app):
    body = b'{"events":[{"type":"bogus","a":NaN,"b":1180591620717411303424}]}'
    reply = track(app, body)
    assert reply.status == 400 and reply.json()["error"] == "invalid_json"
    strict_rows(app.landing_dir, "rejected")
    strict_rows(app.landing_dir, "events")


def test_non_finite_numbers_are_refused_on_the_lone_surrogate_path_too():
    # orjson refuses the lone surrogate, so the stdlib parser reads these bodies.
    assert parse_json(b'{"t": "\\ud800", "a": NaN}') is not None
    for literal in (b"NaN", b"Infinity", b"-Infinity", b"1e400", b"1" + b"0" * 400):
        doc = parse_json(b'{"t": "\\ud800", "a": ' + literal + b"}")
        assert not isinstance(doc, dict), literal
    assert parse_json(b'{"t": "\\ud800", "a": 1}') == {"t": "\ud800", "a": 1}


BIG = {
    "over": 2**53 + 1,
    "under": -(2**53) - 1,
    "edge": 2**53,  # still exact in a double: stays a number
    "u64": 2**64 - 1,
    "huge": 1180591620717411303424,  # beyond 64 bits: read as a double, like orjson does
    "float": 1e300,
}


@pytest.mark.parametrize("surrogate", [False, True], ids=["orjson", "stdlib"])
def test_big_numbers_in_a_rejected_original_are_kept_as_strings(app, surrogate):
    event = make_event(type="bogus", extra=dict(BIG))
    if surrogate:
        event["data"]["title"] = "lone \ud800"
    body = json.dumps({"events": [event], "meta": {"sent_at": now_ms()}}).encode()
    assert (b"\\ud800" in body) is surrogate
    assert counts(track(app, body)) == {"accepted": 0, "rejected": 1}
    (row,) = landed_by_id(app, "rejected")[event["event_id"]]
    assert row["event"]["extra"] == {
        "over": "9007199254740993",
        "under": "-9007199254740993",
        "edge": 2**53,
        "u64": "18446744073709551615",
        "huge": "1.1805916207174113e+21",
        "float": "1e+300",
    }
    strict_rows(app.landing_dir, "rejected")


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("ts", 2**60, "invalid_ts"),
        ("ts", 1180591620717411303424, "invalid_ts"),
        ("data", {"viewport_w": 2**60}, "invalid_data"),
        ("data", {"title": 2**60}, "invalid_data"),
    ],
)
def test_big_numbers_in_event_and_data_fields_reject_the_event(app, field, value, reason):
    event = make_event(**{field: value})
    assert counts(track(app, batch(event))) == {"accepted": 0, "rejected": 1}
    (row,) = landed_by_id(app, "rejected")[event["event_id"]]
    assert row["reason"].startswith(reason + ":")
    kept = row["event"][field]
    assert isinstance(kept if field == "ts" else next(iter(kept.values())), str)
    strict_rows(app.landing_dir, "rejected")


def test_big_numbers_in_unknown_fields_of_a_good_event_are_dropped_with_the_field(app):
    event = make_event(extra=2**60, data={"title": "ok", "unknown": 2**60})
    assert counts(track(app, batch(event))) == {"accepted": 1, "rejected": 0}
    (row,) = [
        r for r in strict_rows(app.landing_dir, "events") if r["event_id"] == event["event_id"]
    ]
    assert row["data"] == {"title": "ok"}


def test_encode_lines_writes_strict_json_or_fails_loudly():
    line = encode_lines([{"t": "ok \ud800", "k\udfff": 1}])
    assert orjson.loads(line) == {"t": "ok \ufffd", "k\ufffd": 1}
    assert orjson.loads(encode_lines([{"n": float("nan")}])) == {"n": None}
    with pytest.raises(ValueError):
        encode_lines([{"n": 2**64}])
    with pytest.raises(ValueError):
        encode_lines([{"t": "\ud800", "n": -(2**63) - 1}])


# -- property: whatever the fuzzer sends, every landed line is strict --------------------
hostile = (
    st.integers()
    | st.floats()
    | st.sampled_from([2**53, 2**53 + 1, -(2**53) - 1, 2**63, 2**64, 2**70, 1e300, -1e300])
    | st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=3)
)
hostile_events = st.fixed_dictionaries(
    {
        "event_id": st.uuids().map(str),
        "type": st.sampled_from(["pageview", "click", "page_exit", "bogus"]),
        "ts": st.integers(min_value=1_700_000_000_000, max_value=1_900_000_000_000) | hostile,
        "visitor_id": st.uuids().map(str),
    },
    optional={
        "data": st.dictionaries(
            st.sampled_from(["title", "viewport_w", "text", "active_ms", "x"]),
            hostile | field_values,
            max_size=4,
        ),
        "extra": hostile | json_values,
    },
)
strict_service = ModuleService("oie-strict-", "strict-secret-0123456789abcdef")


@pytest.fixture(scope="module", autouse=True)
def _remove_service_data() -> Iterator[None]:
    yield
    strict_service.close()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(hostile_events | json_values, max_size=6), json_values | hostile)
def test_every_landed_line_is_strict_json_with_safe_numbers(events, meta):
    body = json.dumps({"events": events, "meta": meta}).encode()  # NaN and all
    try:
        json.dumps([events, meta], allow_nan=False)
        finite = True
    except ValueError:
        finite = False
    svc = strict_service()
    reply = post_to(svc, body)
    if len(body) > 65536:
        assert reply.status == 413
    elif finite:
        assert reply.status == 200, reply.body
    else:
        assert reply.status == 400 and json.loads(reply.body)["error"] == "invalid_json"
    for stream in ("events", "rejected"):
        strict_rows(svc.settings.landing_dir, stream)
