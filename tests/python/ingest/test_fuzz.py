"""Property-based fuzzing of the parser, validator, scrubber and redirect rule (hypothesis).

The service is called in-process (the same code the server runs, minus HTTP) with a
healthy local sink: no input may raise or produce a 5xx, and the counts must add up.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

from ingest_function.app import Service
from ingest_function.redirect import safe_destination
from ingest_function.scrub import EMAIL_RE, scrub_url
from ingest_function.validate import BROWSER_TYPES, Invalid, clean_event
from ingest_function.web import HttpRequest
from tests.python.ingest.inprocess import ModuleService

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
service = ModuleService("oie-fuzz-", "fuzz-secret-0123456789abcdef")


@pytest.fixture(scope="module", autouse=True)
def _remove_service_data() -> Iterator[None]:
    yield
    service.close()


def post(body: bytes, content_type: str = "application/json", origin: str = "http://127.0.0.1:1"):
    return post_to(service(), body, content_type, origin)


def post_to(
    svc: Service,
    body: bytes,
    content_type: str = "application/json",
    origin: str = "http://127.0.0.1:1",
):
    headers = Headers({"Origin": origin, "Content-Type": content_type, "User-Agent": "fuzz"})
    req = HttpRequest(
        method="POST",
        path="/track",
        headers=headers,
        remote_addr="127.0.0.1",
        host="127.0.0.1:9",
        content_length=len(body),
        read_body=lambda limit: body[:limit],
    )
    return svc.handle(req)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)
field_values = (
    json_values
    | st.integers(min_value=1_700_000_000_000, max_value=1_900_000_000_000)
    | st.sampled_from([*sorted(BROWSER_TYPES), "email_click", "bogus"])
    | st.uuids().map(str)
    | st.text(alphabet="abc@.%40/?=&#:", max_size=60)
)
events = st.dictionaries(
    st.sampled_from(
        ["event_id", "type", "ts", "visitor_id", "session_id", "token", "url", "referrer", "data"]
    )
    | st.text(max_size=5),
    field_values,
    max_size=10,
)


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_5xx(body):
    reply = post(body)
    assert reply.status in (200, 400, 413), reply.body
    json.loads(reply.body)


@FUZZ
@given(st.lists(events | json_values, max_size=8), json_values)
def test_structured_batches_never_5xx_and_counts_add_up(batch, meta):
    body = json.dumps({"events": batch, "meta": meta}).encode()
    reply = post(body, "text/plain")
    if len(body) > 65536:
        assert reply.status == 413
        return
    if not _finite(batch, meta):  # json.dumps wrote NaN/Infinity: not JSON, refused whole
        assert reply.status == 400 and json.loads(reply.body)["error"] == "invalid_json"
        return
    assert reply.status == 200, reply.body
    doc = json.loads(reply.body)
    assert doc["accepted"] + doc["rejected"] == len(batch)


def _finite(*values: object) -> bool:
    try:
        json.dumps(values, allow_nan=False)
    except ValueError:
        return False
    return True


@FUZZ
@given(events)
def test_validator_raises_only_invalid(event):
    try:
        clean = clean_event(event)
    except Invalid as exc:
        assert exc.code and ":" in str(exc)
        return
    json.dumps(clean, ensure_ascii=False).encode("utf-8")  # always UTF-8 encodable


@FUZZ
@given(st.text(max_size=40), st.text(max_size=40))
def test_headers_never_5xx(content_type, origin):
    # HTTP cannot carry CR/LF in a header value; everything else is fair game.
    content_type, origin = (x.replace("\r", "").replace("\n", "") for x in (content_type, origin))
    reply = post(b'{"events": []}', content_type, origin)
    assert reply.status < 500


@FUZZ
@given(
    st.text(max_size=200) | st.text(alphabet="/\\%:@.abcdefghijklmnopqrstuvwxyz2F5C", max_size=60)
)
def test_redirect_target_is_always_a_configured_host(to):
    dest = safe_destination(to, "https://site.example", ("site.example", "docs.site.example"))
    if dest is not None:
        parts = urlsplit(dest)
        assert parts.scheme in ("http", "https")
        assert parts.netloc in ("site.example", "docs.site.example")
        assert "\\" not in dest


@FUZZ
@given(
    st.text(max_size=100),
    st.emails(),
)
def test_scrubbed_urls_never_contain_an_email(prefix, email):
    url = f"https://site.example/{prefix}?e={email}&x=1#{email}"
    out = scrub_url(url)
    assert email not in out
    assert not EMAIL_RE.search(out)


def test_fuzzed_landing_files_all_parse():
    # Everything the in-process fuzz runs above landed must be strict NDJSON (orjson refuses
    # NaN and lone surrogates) with no number a double cannot hold exactly.
    from tests.python.ingest.test_strict_json import assert_numbers_safe

    assert post(b"{broken").status == 400  # at least one rejected line, even when run alone
    svc = service()
    svc.close()
    rows = [
        orjson.loads(line)
        for path in svc.settings.landing_dir.glob("*/*/*/*.ndjson*")
        for line in path.read_bytes().splitlines()
    ]
    assert rows and all(isinstance(r, dict) for r in rows)
    assert_numbers_safe(rows)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.binary(max_size=1024)
    | st.lists(events, max_size=5).map(lambda evs: json.dumps({"events": evs}).encode()),
    content_type=st.sampled_from(["application/json", "text/plain;charset=UTF-8", "text/plain"]),
)
def test_real_server_never_5xx(server, body, content_type):
    from tests.python.helpers.servers import http_call

    reply = http_call(
        server.url + "/track",
        "POST",
        body,
        {"Origin": "http://127.0.0.1:5173", "Content-Type": content_type},
    )
    assert reply.status in (200, 400, 413), reply.body
    json.loads(reply.body)


HOSTILE_BODIES = [
    b"{broken",
    b'{"events":[{"type":"bogus","a":NaN,"b":1180591620717411303424}]}',
    b'{"events":[{"type":"pageview","event_id":"\\ud800abcdefgh","ts":1e400}]}',
    b'{"events":[{"type":"click","data":{"text":"x\\u0000y","n":9007199254740993}}]}',
    b'{"events":"not a list"}',
]


def test_real_server_landing_after_fuzzing_parses(server):
    # Whatever else ran on this server before (the fuzz above, in any order), every line it
    # landed is a strict JSON object; these bodies make sure there is something to check.
    from tests.python.helpers.servers import http_call
    from tests.python.ingest.test_strict_json import strict_rows

    for body in HOSTILE_BODIES:
        reply = http_call(
            server.url + "/track",
            "POST",
            body,
            {"Origin": "http://127.0.0.1:5173", "Content-Type": "application/json"},
        )
        assert reply.status in (200, 400), reply.body
    rows = strict_rows(server.landing_dir, "events") + strict_rows(server.landing_dir, "rejected")
    assert len(rows) >= len(HOSTILE_BODIES) - 1 and all(isinstance(r, dict) for r in rows)
