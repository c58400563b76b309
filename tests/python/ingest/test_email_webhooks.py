"""The sequencer webhooks on the real server: every alias of both vendors lands as its
event, a vendor's retry counts once, only authentic deliveries land, and nothing of the
message, the reply or the address is ever written."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest_function.email_events import INSTANTLY_EVENTS, SMARTLEAD_EVENTS
from oie_core.raw_schema import RAW_EMAIL_EVENTS
from tests.python.helpers.sequencer_payloads import (
    INSTANTLY_TOKEN,
    REPLY_TEXT,
    SMARTLEAD_SECRET,
    WEBHOOK_ENV,
    instantly,
    post_instantly,
    post_smartlead,
    smartlead,
    smartlead_v2,
)
from tests.python.helpers.servers import IngestServer, http_call, start_ingest_server


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IngestServer]:
    with start_ingest_server(WEBHOOK_ENV, data_dir=tmp_path_factory.mktemp("hooks")) as s:
        yield s


def _landed_for(srv: IngestServer, email: str) -> list[dict]:
    """The email events landed for one address (each test uses its own: the module's
    tests share one server and run in any order)."""
    sha = hashlib.sha256(email.encode()).hexdigest()
    return [row for row in srv.landed("email_events") if row["email_sha256"] == sha]


@pytest.mark.parametrize(("vendor_event", "event"), sorted(SMARTLEAD_EVENTS.items()))
def test_every_smartlead_alias_lands_as_its_event(
    srv: IngestServer, vendor_event: str, event: str
) -> None:
    extra = {"lead_category": {"new_name": "Meeting Booked"}} if event == "status" else {}
    email = f"sl-{vendor_event.lower()}@alias.example"
    reply = post_smartlead(srv.url, smartlead(vendor_event, f" {email.upper()} ", **extra))
    assert reply.status == 200, reply.body
    assert reply.json() == {"accepted": 1, "rejected": 0}
    (row,) = _landed_for(srv, email)  # the address normalized, then hashed
    assert tuple(row) == RAW_EMAIL_EVENTS.names  # the raw table's fields, in its order
    assert row["event"] == event and row["vendor_event"] == vendor_event
    assert row["source"] == "smartlead"
    assert row["campaign_name"] == "Spring Launch" and row["campaign_id"] == "4242"
    assert row["step"] == 1 and row["occurred_at"] == "2026-11-30T10:00:00.000Z"
    if event == "click":
        assert row["link"] == "seller.example/pricing"
    else:
        assert row["link"] is None
    assert row["status"] == ("meeting_booked" if event == "status" else None)


@pytest.mark.parametrize(("vendor_event", "event"), sorted(INSTANTLY_EVENTS.items()))
def test_every_instantly_alias_lands_as_its_event(
    srv: IngestServer, vendor_event: str, event: str
) -> None:
    email = f"in-{vendor_event}@alias.example"
    reply = post_instantly(srv.url, instantly(vendor_event, email))
    assert reply.status == 200, reply.body
    (row,) = _landed_for(srv, email)
    assert row["event"] == event and row["vendor_event"] == vendor_event
    assert row["source"] == "instantly"
    assert row["campaign_id"] == "5f1e-campaign" and row["step"] == 1
    if event == "status":
        assert row["status"] == vendor_event.removeprefix("lead_")
    if event == "click":
        assert row["link"] == "seller.example/case-studies/acme"


def test_smartlead_api_reference_shape_lands(srv: IngestServer) -> None:
    for event in ("EMAIL_SENT", "EMAIL_OPENED", "EMAIL_CLICKED", "EMAIL_REPLIED", "EMAIL_BOUNCED"):
        body = smartlead_v2(event, email=" Grace@Example.COM ")
        assert post_smartlead(srv.url, body).status == 200
    rows = [
        r
        for r in srv.landed("email_events")
        if r["email_sha256"] == hashlib.sha256(b"grace@example.com").hexdigest()
    ]
    by_event = {r["event"]: r for r in rows}
    assert set(by_event) == {"sent", "open", "click", "reply", "bounce"}
    assert by_event["click"]["link"] == "seller.example/demo"
    assert by_event["reply"]["step"] == 2
    assert by_event["reply"]["occurred_at"] == "2026-11-30T11:00:00.000Z"


def test_an_older_smartlead_payload_with_time_fields_lands(srv: IngestServer) -> None:
    body = smartlead("EMAIL_OPEN", "old@example.com", stats_id="old-1")
    del body["event_timestamp"]
    body["time_opened"] = "2026-11-29T08:30:00+00:00"
    del body["to_email"]
    body["lead_email"] = "old@example.com"
    assert post_smartlead(srv.url, body).status == 200
    (row,) = [
        r
        for r in srv.landed("email_events")
        if r["vendor_event"] == "EMAIL_OPEN"
        and r["email_sha256"] == hashlib.sha256(b"old@example.com").hexdigest()
    ]
    assert row["occurred_at"] == "2026-11-29T08:30:00.000Z"


def test_a_replayed_delivery_lands_the_same_event_id(srv: IngestServer) -> None:
    body = smartlead("EMAIL_REPLY", "again@example.com", stats_id="retry-7")
    for _ in range(3):  # the vendor retries
        assert post_smartlead(srv.url, body).status == 200
    other = smartlead("EMAIL_REPLY", "again@example.com", stats_id="retry-8")
    assert post_smartlead(srv.url, other).status == 200
    sha = hashlib.sha256(b"again@example.com").hexdigest()
    ids = [r["event_id"] for r in srv.landed("email_events") if r["email_sha256"] == sha]
    assert len(ids) == 4 and len(set(ids)) == 2  # the warehouse keeps one per event_id


@pytest.mark.parametrize(
    ("body", "sign", "code"),
    [
        (smartlead("EMAIL_SENT", secret=None), None, "unauthorized"),
        (smartlead("EMAIL_SENT", secret="not-the-secret"), None, "unauthorized"),
        (smartlead("EMAIL_SENT", secret=12345), None, "unauthorized"),  # type: ignore[arg-type]
        (smartlead("EMAIL_SENT"), "a-different-key", "bad_signature"),
    ],
)
def test_smartlead_without_the_secret_or_with_a_bad_signature_is_401(
    srv: IngestServer, body: dict, sign: str | None, code: str
) -> None:
    before = len(srv.landed("email_events")) + len(srv.landed("rejected"))
    reply = post_smartlead(srv.url, body, sign=sign)
    assert reply.status == 401 and reply.json()["error"] == code
    assert len(srv.landed("email_events")) + len(srv.landed("rejected")) == before


def test_a_right_smartlead_signature_is_accepted(srv: IngestServer) -> None:
    body = smartlead("EMAIL_SENT", "signed@example.com", stats_id="signed-1")
    assert post_smartlead(srv.url, body, sign=SMARTLEAD_SECRET).status == 200


@pytest.mark.parametrize("token", [None, "wrong-token", INSTANTLY_TOKEN + "x"])
def test_instantly_without_its_bearer_token_is_401(srv: IngestServer, token: str | None) -> None:
    reply = post_instantly(srv.url, instantly("email_sent"), token=token)
    assert reply.status == 401 and reply.json()["error"] == "unauthorized"


def test_oversized_malformed_and_non_json_bodies(srv: IngestServer) -> None:
    big = json.dumps(smartlead("EMAIL_SENT", padding="x" * 2_000_000)).encode()
    assert post_smartlead(srv.url, big).status == 413
    assert post_instantly(srv.url, b'{"event_type": "email_sent",').status == 400
    assert post_smartlead(srv.url, b"[1, 2]").status == 400
    form = b"event_type=EMAIL_SENT"
    assert (
        post_smartlead(srv.url, form, content_type="application/x-www-form-urlencoded").status
        == 415
    )
    assert post_instantly(srv.url, b"{}", content_type="text/plain").status == 415
    reply = http_call(srv.url + "/webhooks/instantly", "GET")
    assert reply.status == 405


def test_unknown_event_or_missing_address_lands_in_rejected_and_answers_200(
    srv: IngestServer,
) -> None:
    unknown = smartlead("CAMPAIGN_STATUS_CHANGED", stats_id="unk-1")
    reply = post_smartlead(srv.url, unknown)
    assert reply.status == 200 and reply.json() == {"accepted": 0, "rejected": 1}
    no_address = instantly("email_opened", lead_email="", email_id="noaddr-1")
    assert post_instantly(srv.url, no_address).json() == {"accepted": 0, "rejected": 1}
    rejected = [r for r in srv.landed("rejected") if r["stage"] == "webhook"]
    reasons = {r["reason"].split(":")[0] for r in rejected}
    assert {"unknown_email_event", "missing_lead_email"} <= reasons
    unknown_row = next(r for r in rejected if r["type"] == "CAMPAIGN_STATUS_CHANGED")
    assert unknown_row["event"]["source"] == "smartlead"
    assert "to_email" in unknown_row["event"]["fields"]
    assert "ada@example.com" not in json.dumps(rejected)


def test_no_reply_text_subject_body_or_address_in_any_landed_file(srv: IngestServer) -> None:
    post_smartlead(srv.url, smartlead("EMAIL_REPLY", stats_id="leak-1"))
    post_instantly(srv.url, instantly("reply_received", email_id="leak-2"))
    post_smartlead(srv.url, smartlead("EMAIL_LINK_CLICK", stats_id="leak-3"))
    post_smartlead(srv.url, smartlead("NOT_A_THING", stats_id="leak-4"))
    files = list(Path(srv.landing_dir).rglob("*.ndjson*"))
    assert any("email_events" in str(f) for f in files)
    text = b"".join(f.read_bytes() for f in files).lower()
    for secret_text in (
        REPLY_TEXT,
        "555-0100",
        "quick question",
        "our pitch",
        "ada@example.com",
        "ada lovelace",
        SMARTLEAD_SECRET,
    ):
        assert secret_text.lower().encode() not in text, secret_text


def test_an_endpoint_without_its_secret_answers_404(tmp_path: Path) -> None:
    with start_ingest_server({"OIE_SMARTLEAD_WEBHOOK_SECRET": SMARTLEAD_SECRET}, tmp_path) as s:
        assert post_instantly(s.url, instantly("email_sent")).status == 404
        assert post_instantly(s.url, instantly("email_sent"), token="").status == 404
        assert post_smartlead(s.url, smartlead("EMAIL_SENT")).status == 200
        assert s.landed("rejected") == []


def test_the_documented_secrets_set_up_working_endpoints(tmp_path: Path) -> None:
    """docs/ingest.md "Email webhooks": its shell example, run, then used by a server."""
    doc = (Path(__file__).parents[3] / "docs" / "ingest.md").read_text()
    section = doc.split("## POST /webhooks/smartlead", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    done = subprocess.run(
        [
            "bash",
            "-euc",
            block + '\nprintf "%s\\n%s\\n" "$OIE_SMARTLEAD_WEBHOOK_SECRET" '
            '"$OIE_INSTANTLY_WEBHOOK_TOKEN"',
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    secret, token = done.stdout.split()
    assert re.fullmatch(r"[0-9a-f]{48}", secret) and re.fullmatch(r"[0-9a-f]{48}", token)
    env = {"OIE_SMARTLEAD_WEBHOOK_SECRET": secret, "OIE_INSTANTLY_WEBHOOK_TOKEN": token}
    with start_ingest_server(env, tmp_path) as s:
        assert post_smartlead(s.url, smartlead("EMAIL_SENT", secret=secret)).status == 200
        assert post_instantly(s.url, instantly("email_sent"), token=token).status == 200
        assert post_smartlead(s.url, smartlead("EMAIL_SENT")).status == 401
