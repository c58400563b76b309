"""Unit-level checks of the pieces, without a server: the settings' defaults and accepted
forms, what each answer means (through an injected httpx transport), the backoff arithmetic
and Retry-After, the Slack text's escaping."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import httpx
import pytest

from kv_sync.alerts import deliver, messages
from kv_sync.alerts.deliver import SLACK, WEBHOOK, Destination, Outcome
from kv_sync.alerts.duckdb_outbox import open_outbox
from kv_sync.alerts.outbox import LogRow
from kv_sync.errors import KVUnavailable
from oie_core.settings import Settings
from tests.python.alerts.support import SECRET, WEBHOOK_SECRET
from tests.python.kv.support import FakeClock

ROW = LogRow(
    alert_id="alert_0123456789abcdef01234567",
    channel=SLACK,
    lead_id="lead_ada",
    level="hot",
    episode=0,
    status="pending",
    payload=messages.encode(
        {
            "type": "lead.level_up",
            "alert_id": "alert_0123456789abcdef01234567",
            "lead": {"lead_id": "lead_ada", "first_name": "Ada <&>", "company": "A&B"},
            "score": 64,
            "from_level": "warm",
            "to_level": "hot",
            "components": {},
            "pages_seen": [],
        }
    ),
)


def test_alert_settings_defaults_and_forms(tmp_path: Path) -> None:
    base = {"OIE_DATA_DIR": str(tmp_path), "OIE_TOKEN_SECRET": SECRET}
    plain = Settings.from_env(base)
    assert (plain.alert_level, plain.alert_max_attempts, plain.alert_max_age_s) == (
        "hot",
        8,
        86400,
    )
    assert plain.alert_slack_webhook_url is plain.alert_webhook_url is None
    set_ = Settings.from_env(
        {
            **base,
            "OIE_ALERT_LEVEL": " Burning ",
            "OIE_ALERT_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x",
            "OIE_ALERT_WEBHOOK_URL": "http://127.0.0.1:5678/webhook/abc",
            "OIE_ALERT_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "OIE_ALERT_MAX_ATTEMPTS": "3",
            "OIE_ALERT_MAX_AGE": "90m",
        }
    )
    assert (set_.alert_level, set_.alert_max_attempts, set_.alert_max_age_s) == (
        "burning",
        3,
        5400,
    )
    assert set_.alert_webhook_url == "http://127.0.0.1:5678/webhook/abc"


def answer(status: int, text: str = "", **headers: str) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, text=text, headers=headers))


@pytest.mark.parametrize(
    ("channel", "transport", "expected"),
    [
        (SLACK, answer(200, "ok"), Outcome(True)),
        (WEBHOOK, answer(204), Outcome(True)),
        (
            SLACK,
            answer(200, ""),
            Outcome(False, False, "HTTP 200 (Slack answers ok when it took a message)"),
        ),
        (
            SLACK,
            answer(429, "rate_limited", **{"retry-after": "30"}),
            Outcome(False, True, "HTTP 429: rate_limited", 30.0),
        ),
        (WEBHOOK, answer(429), Outcome(False, True, "HTTP 429", None)),
        (WEBHOOK, answer(408), Outcome(False, True, "HTTP 408")),
        (
            SLACK,
            answer(503, "service_unavailable"),
            Outcome(False, True, "HTTP 503: service_unavailable"),
        ),
        (SLACK, answer(400, "invalid_payload"), Outcome(False, False, "HTTP 400: invalid_payload")),
        (SLACK, answer(404, "no_service"), Outcome(False, False, "HTTP 404: no_service")),
        (WEBHOOK, answer(410, "gone"), Outcome(False, False, "HTTP 410: gone")),
        (
            WEBHOOK,
            answer(301, **{"location": "https://elsewhere.example/"}),
            Outcome(False, False, "HTTP 301: redirects are not followed (set the final URL)"),
        ),
    ],
)
def test_what_an_answer_means(
    channel: str, transport: httpx.MockTransport, expected: Outcome
) -> None:
    destination = Destination(channel, "https://hooks.example/secret-path", WEBHOOK_SECRET)
    with httpx.Client(transport=transport) as client:
        assert deliver.attempt(client, destination, ROW, 1_800_000_000.0) == expected


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (httpx.ReadTimeout("timed out"), "no answer within 10 s (timed out)"),
        (
            httpx.ConnectError("cannot reach https://hooks.example/secret-path"),
            "connection failed: cannot reach <url>",
        ),
    ],
)
def test_no_answer_is_temporary_and_never_names_the_url(error: Exception, said: str) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error

    destination = Destination(SLACK, "https://hooks.example/secret-path")
    with httpx.Client(transport=httpx.MockTransport(fail), timeout=10) as client:
        assert deliver.attempt(client, destination, ROW, 0.0) == Outcome(False, True, said)


def test_after_each_outcome() -> None:
    now = 1_000_000.0
    done = deliver.after(ROW, Outcome(True), now, 8)
    assert (done.status, done.attempts, done.delivered_at, done.next_attempt_at) == (
        "delivered",
        1,
        now,
        None,
    )
    retry = deliver.after(ROW.but(attempts=2), Outcome(False, True, "HTTP 502"), now, 8)
    assert (retry.status, retry.attempts, retry.next_attempt_at) == ("pending", 3, now + 1200)
    later = deliver.after(ROW, Outcome(False, True, "HTTP 429", 99_999.0), now, 8)
    assert later.next_attempt_at == now + 6 * 3600  # Retry-After, at most the cap
    gave_up = deliver.after(ROW.but(attempts=7), Outcome(False, True, "HTTP 502"), now, 8)
    assert (gave_up.status, gave_up.attempts) == ("failed", 8)
    assert gave_up.last_error == "HTTP 502 (gave up after 8 attempt(s))"
    refused = deliver.after(ROW, Outcome(False, False, "HTTP 410: gone"), now, 8)
    assert (refused.status, refused.next_attempt_at) == ("failed", None)


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert deliver.retry_after("120") == 120
    assert deliver.retry_after(None) is None and deliver.retry_after("soon") is None
    assert deliver.retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


def test_the_slack_text_escapes_names_and_the_webhook_sends_the_stored_bytes() -> None:
    body, headers = deliver.request(Destination(SLACK, "https://x.example/"), ROW, 0.0)
    message = messages.decode(body.decode())
    assert message["text"] == "Ada &lt;&amp;&gt; (A&amp;B) is now hot: 64/100"
    assert "*Ada &lt;&amp;&gt;* (A&amp;B) is now *hot*" in message["blocks"][0]["text"]["text"]
    assert "webhook-signature" not in headers
    raw, signed = deliver.request(
        Destination(WEBHOOK, "https://x.example/", WEBHOOK_SECRET), ROW, 1_700_000_000.0
    )
    assert raw == ROW.payload.encode()
    assert signed["webhook-id"] == ROW.alert_id and signed["webhook-timestamp"] == "1700000000"
    assert signed["webhook-signature"] == messages.signature(
        WEBHOOK_SECRET, ROW.alert_id, 1_700_000_000, raw
    )


def test_the_alert_id_is_stable_per_lead_and_episode() -> None:
    assert messages.alert_id("lead_ada", 0) == messages.alert_id("lead_ada", 0)
    assert messages.alert_id("lead_ada", 0) != messages.alert_id("lead_ada", 1)
    assert messages.alert_id("lead_ada", 0) == "alert_f1ea0560bad652f39b863d1f"


def test_a_warehouse_another_process_holds_is_waited_for_then_reported(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(path)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys, time; c = duckdb.connect({str(path)!r}); "
            "print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        clock = FakeClock()
        with (
            pytest.raises(KVUnavailable, match="stayed locked for 2 s"),
            open_outbox(path, read_only=False, clock=clock, wait_s=2.0),
        ):
            pass
        assert sum(clock.sleeps) >= 2.0  # waited on the clock, not for real
    finally:
        holder.kill()
        holder.wait()
