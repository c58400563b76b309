"""Mask, then cut: a string is never cut through an address before the mask looks at it,
and the mask sees through the encodings a hostile sender may wrap an `@` in (JSON escapes in
a 400 body, percent-encoding any number of times in a URL). docs/ingest.md "Scrubbing"."""

from __future__ import annotations

import json

import pytest

from ingest_function.scrub import EMAIL_RE, scrub_text, scrub_url
from ingest_function.validate import clean_str
from tests.python.ingest.conftest import batch, counts, landed_by_id, make_event, track


def _raw_of(app, marker: str) -> str:
    (raw,) = [r["raw"] for r in app.landed("rejected") if r["raw"] and marker in r["raw"]]
    return raw


def test_a_title_cut_at_its_limit_keeps_no_part_of_an_address(app):
    title = "t" * 285 + " c25@leakcheck.test"  # the 300-char cut falls after "leakcheck."
    event = make_event(data={"title": title})
    assert counts(track(app, batch(event))) == {"accepted": 1, "rejected": 0}
    stored = landed_by_id(app)[event["event_id"]][0]["data"]["title"]
    assert len(stored) <= 300 and stored.startswith("t" * 285)
    assert "leakcheck" not in stored and "c25@" not in stored


def test_click_text_collapsed_after_the_cut_keeps_no_part_of_an_address(app):
    # 390 spaces collapse to nothing: a cut at 4x the limit used to surface the address.
    event = make_event(type="click", data={"text": " " * 390 + "c26@leakcheck.test"})
    assert counts(track(app, batch(event))) == {"accepted": 1, "rejected": 0}
    stored = landed_by_id(app)[event["event_id"]][0]["data"]["text"]
    assert "leakcheck" not in stored and "c26@" not in stored


def test_a_400_body_cut_at_4096_keeps_no_part_of_an_address(app):
    head = b'{"events": [ marker-4096 '
    pad = b"x" * (4096 - len(head) - len(b" c39@lea"))
    body = head + pad + b" c39@leak.test ]"
    assert body.index(b"c39@lea") + len(b"c39@lea") == 4096  # the old cut
    assert track(app, body).status == 400
    raw = _raw_of(app, "marker-4096")
    assert len(raw) <= 4096
    assert "c39@" not in raw and "leak" not in raw


@pytest.mark.parametrize(
    "hidden",
    [
        rb"c21\u0040leak.test",
        rb"c22\u0040\u006C\u0065ak.test",  # upper- and lower-case hex
        rb"c23\u0040leak\u002etest",
        rb"c24\u0063\u0034\u0030\u0040leak.test",
        rb"c25\u002540leak.test",  # an escaped %, then %40
    ],
)
@pytest.mark.parametrize("shape", ["invalid_json", "invalid_batch"])
def test_json_escapes_in_a_400_body_are_decoded_before_masking(app, hidden, shape):
    marker = f"marker-{shape}-{hidden[:3].decode()}"
    if shape == "invalid_json":
        body = b'{"events": [ "' + marker.encode() + b" " + hidden + b'"'
    else:
        body = b'{"events": "' + marker.encode() + b" " + hidden + b'"}'
    reply = track(app, body)
    assert reply.status == 400 and reply.json()["error"] == shape
    raw = _raw_of(app, marker)
    assert "leak" not in raw.lower() and "[email]" in raw


def test_a_400_body_without_hidden_addresses_is_kept_as_sent(app):
    body = b'{"events": [ "marker-as-sent \\u00e9 \\" \\\\ %41 plain'
    assert track(app, body).status == 400
    assert _raw_of(app, "marker-as-sent") == body.decode()


@pytest.mark.parametrize("times", [1, 3, 4, 6, 10])
def test_percent_encoding_is_decoded_until_stable(times):
    at = "@"
    for _ in range(times):
        at = at.replace("%", "%25").replace("@", "%40")
    for url in (
        f"https://site.example/u/c40{at}leak.test/x",
        f"https://site.example/p?e=c40{at}leak.test&keep=1",
        f"https://site.example/p?c40{at}leak.test=1&keep=1",
        f"https://site.example/p#c40{at}leak.test",
        f"https://site.example/p#/r?e=c40{at}leak.test&keep=1",
    ):
        out = scrub_url(url)
        assert "leak" not in out, (times, out)
        assert out.startswith("https://site.example/")
    assert scrub_url(f"https://site.example/u/c40{at}leak.test/x") == (
        "https://site.example/u/[email]/x"
    )
    assert "leak" not in scrub_text(f"see c40{at}leak.test")


def test_percent_encoding_still_unstable_after_ten_rounds_is_hostile():
    at = "@"
    for _ in range(11):
        at = at.replace("%", "%25").replace("@", "%40")
    assert scrub_url(f"https://site.example/u/c40{at}leak.test/x") == (
        "https://site.example/u/[email]/x"
    )
    assert scrub_url(f"https://site.example/p?e=c40{at}leak.test&keep=1") == (
        "https://site.example/p?keep=1"
    )
    assert scrub_url(f"https://site.example/p?x={at}&keep=1") == "https://site.example/p?keep=1"
    assert scrub_url(f"https://site.example/p#c40{at}leak.test") == "https://site.example/p"
    assert "leak" not in scrub_text(f"title c40{at}leak.test end")
    # Ordinary percent-encoding stays as sent.
    assert scrub_url("https://site.example/a%20b?q=caf%C3%A9") == (
        "https://site.example/a%20b?q=caf%C3%A9"
    )


def test_a_4x_encoded_address_in_a_landed_url_path_is_masked(app):
    url = "http://127.0.0.1:5173/u/c41%25252540leak.test/x"
    event = make_event(url=url, referrer=url)
    assert counts(track(app, batch(event))) == {"accepted": 1, "rejected": 0}
    row = landed_by_id(app)[event["event_id"]][0]
    assert row["url"] == row["referrer"] == "http://127.0.0.1:5173/u/[email]/x"


def test_a_cut_never_ends_in_a_partial_address():
    # The domain runs past the part the mask reads, so the mask cannot match it whole.
    value = "t" * 290 + " c27@" + "l" * 5000 + ".test"
    out = clean_str(value, 300)
    assert "c27" not in out and "@" not in out and out.startswith("t" * 290)
    assert clean_str("a" * 296 + " x@y", 300) == "a" * 296 + " x@y"  # not cut: as sent
    url = "https://site.example/" + "p" * 2030 + "/c28@" + "l" * 100 + ".test"
    assert "c28" not in scrub_url(url)


def test_the_mask_is_linear_on_hostile_runs():
    # Linear by construction, checked without a clock: the local part is bounded ({1,64})
    # and the domain labels are possessive (++), so no run can be re-tried from each start.
    assert "{1,64}@" in EMAIL_RE.pattern and "]+(" not in EMAIL_RE.pattern
    assert EMAIL_RE.pattern.count("++") == 2
    assert scrub_text("a" * 60000 + "@") == "a" * 60000 + "@"  # no domain: nothing to mask
    assert scrub_text("a" * 64 + "@" + "b" * 60000) == "a" * 64 + "@" + "b" * 60000
    assert scrub_text("x " + "a" * 70 + "@b.co") == "x " + "a" * 6 + "[email]"
    assert EMAIL_RE.sub("[email]", "mail ada.l@example.co.uk, b'x@e.f") == ("mail [email], [email]")


def test_rejected_originals_get_the_same_rules(app):
    event = make_event(type="bogus", note="c29\u0040leak.test " + "n" * 20000)
    track(app, batch(event))
    row = landed_by_id(app, "rejected")[event["event_id"]][0]
    assert "leak" not in json.dumps(row)
