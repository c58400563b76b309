"""Delivery to a real HTTP receiver on 127.0.0.1 (tests/python/helpers/webhook_receiver.py),
each failure path injected there: a signed webhook checked with the `standardwebhooks`
package, a receiver that is down (pending, then delivered exactly once), 429 and 5xx (backoff
on a test clock, then `failed` after OIE_ALERT_MAX_ATTEMPTS), timeouts, 410 and Slack's 4xx
reasons (failed at once), the flood guard (stale), the dry run, both destinations."""

from __future__ import annotations

import json
import re

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from kv_sync.alerts.deliver import backoff_s
from tests.python.alerts.support import (
    HOUR,
    WEBHOOK_SECRET,
    Warehouse,
    alert_env,
    clock_now,
    run_alerts,
)
from tests.python.helpers.webhook_receiver import WebhookReceiver

MINUTE = 60.0


def one_hot_lead(wh: Warehouse, at: float, lead: str = "lead_ada", score: int = 64) -> None:
    wh.history({lead: [("cold", 20, at - 60), ("hot", score, at)]})


def test_the_webhook_is_signed_per_standard_webhooks_and_carries_the_payload(
    wh: Warehouse, rx: WebhookReceiver
) -> None:
    clock = clock_now()
    one_hot_lead(wh, clock.now() - HOUR)
    report = run_alerts(alert_env(wh.data_dir, rx, slack=False, webhook=True), clock)
    assert (report.sent, report.channels) == (1, ["webhook"])
    (request,) = rx.on(rx.WEBHOOK_PATH)
    body = Webhook(WEBHOOK_SECRET).verify(request.body, request.headers)
    (logged,) = wh.log()
    assert request.headers["webhook-id"] == body["alert_id"] == logged.alert_id
    assert request.headers["webhook-timestamp"] == str(int(clock.now()))
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]+={0,2}", request.headers["webhook-signature"])
    assert request.headers["content-type"] == "application/json"
    assert body == {
        "type": "lead.level_up",
        "alert_id": logged.alert_id,
        "timestamp": body["timestamp"],
        "lead": {
            "lead_id": "lead_ada",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "company": "Analytical Engines",
            "title": "CTO",
            "campaign_id": "spring-launch",
        },
        "score": 64,
        "from_level": "cold",
        "to_level": "hot",
        "components": body["components"],
        "last_visit_at": "2026-03-10T09:04:00Z",
        "pages_seen": ["/demo", "/pricing"],
    }
    assert set(body["components"]) == {
        "recency",
        "frequency",
        "engagement",
        "high_intent",
        "conversions",
    }
    assert json.loads(logged.payload) == body  # the outbox keeps the exact bytes it sends
    # the signature covers the body: one changed byte and the verifier refuses it
    with pytest.raises(WebhookVerificationError):
        Webhook(WEBHOOK_SECRET).verify(request.body.replace(b"64", b"99"), request.headers)
    # never the email, its hash or an IP
    email, sha256 = wh.sql(
        "select email, email_sha256 from lead_profiles where lead_id = 'lead_ada'"
    )[0]
    assert email.encode() not in request.body and sha256.encode() not in request.body
    assert b'"ip"' not in request.body


def test_slack_gets_text_and_blocks_without_the_email(wh: Warehouse, rx: WebhookReceiver) -> None:
    clock = clock_now()
    one_hot_lead(wh, clock.now() - HOUR)
    assert run_alerts(alert_env(wh.data_dir, rx), clock).sent == 1
    (request,) = rx.on(rx.SLACK_PATH)
    message = request.json()
    assert message["text"] == "Ada Lovelace (Analytical Engines) is now hot: 64/100"
    texts = json.dumps(message["blocks"])
    assert "*Ada Lovelace* (Analytical Engines) is now *hot*: *64*/100 (was cold)" in texts
    for shown in ("Recency", "Frequency", "Engagement", "High intent", "Conversions"):
        assert f"*{shown}*" in texts
    assert "2026-03-10 09:04:00 UTC" in texts and "/demo, /pricing" in texts
    assert "webhook-signature" not in request.headers  # Slack's URL is its own secret
    email = wh.sql("select email from lead_profiles where lead_id = 'lead_ada'")[0][0]
    assert email not in request.body.decode() and "@" not in request.body.decode()


def test_receiver_down_leaves_the_alert_pending_then_it_is_delivered_once(
    wh: Warehouse, rx: WebhookReceiver
) -> None:
    clock = clock_now()
    one_hot_lead(wh, clock.now() - HOUR)
    env = alert_env(wh.data_dir, rx)
    rx.down()
    outage = run_alerts(env, clock)
    assert (outage.sent, outage.pending, outage.failed) == (0, 1, 0)
    assert outage.summary() == "slack: 0 sent, 1 pending, 0 failed"
    (row,) = wh.log()
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error and row.last_error.startswith("connection failed")
    assert rx.slack_url not in row.last_error  # the URL is a secret
    assert row.next_attempt_at == pytest.approx(clock.now() + 5 * MINUTE)

    rx.up()  # back, on the same port
    clock.advance(4 * MINUTE)
    assert run_alerts(env, clock).sent == 0 and rx.received == []  # not due yet
    clock.advance(MINUTE)
    back = run_alerts(env, clock)
    assert (back.sent, back.pending) == (1, 0)
    clock.advance(HOUR)
    assert run_alerts(env, clock).sent == 0
    assert len(rx.on(rx.SLACK_PATH)) == 1  # delivered exactly once
    (row,) = wh.log()
    assert (row.status, row.attempts, row.last_error) == ("delivered", 2, None)


def test_an_outage_costs_one_request_per_destination_and_run(
    wh: Warehouse, rx: WebhookReceiver
) -> None:
    clock = clock_now()
    t = clock.now() - HOUR
    wh.history(
        {lead: [("hot", 70, t + n)] for n, lead in enumerate(("lead_ada", "lead_bob", "lead_cy"))}
    )
    env = alert_env(wh.data_dir, rx, webhook=True)
    rx.answer_next(503, "unavailable", times=10)
    report = run_alerts(env, clock)
    assert (report.sent, report.pending, report.failed) == (0, 6, 0)
    assert len(rx.on(rx.SLACK_PATH)) == 1 and len(rx.on(rx.WEBHOOK_PATH)) == 1
    assert sorted(r.attempts for r in wh.log()) == [0, 0, 0, 0, 1, 1]
    assert [p.line().split(":")[0] for p in report.problems] == ["pending", "pending"]


def test_5xx_backs_off_then_fails_after_the_maximum_attempts(
    wh: Warehouse, rx: WebhookReceiver
) -> None:
    clock = clock_now()
    one_hot_lead(wh, clock.now() - HOUR)
    env = alert_env(wh.data_dir, rx, OIE_ALERT_MAX_ATTEMPTS="3")
    rx.answer_next(500, "rollup_error", times=3)
    waits = []
    for attempt in (1, 2):
        report = run_alerts(env, clock)
        (row,) = wh.log()
        assert (report.pending, row.status, row.attempts) == (1, "pending", attempt)
        assert row.last_error == "HTTP 500: rollup_error"
        assert row.next_attempt_at is not None
        waits.append(row.next_attempt_at - clock.now())
        clock.advance(waits[-1])
    assert waits == [pytest.approx(5 * MINUTE), pytest.approx(10 * MINUTE)]
    last = run_alerts(env, clock)
    (row,) = wh.log()
    assert (last.failed, last.pending, row.status, row.attempts) == (1, 0, "failed", 3)
    assert row.last_error == "HTTP 500: rollup_error (gave up after 3 attempt(s))"
    assert row.next_attempt_at is None
    clock.advance(24 * HOUR)
    assert run_alerts(env, clock).sent == 0 and len(rx.received) == 3  # never again


def test_the_backoff_doubles_up_to_six_hours() -> None:
    assert [backoff_s(n) / 60 for n in range(1, 9)] == [5, 10, 20, 40, 80, 160, 320, 360]


def test_429_waits_for_retry_after_when_it_is_longer(wh: Warehouse, rx: WebhookReceiver) -> None:
    clock = clock_now()
    one_hot_lead(wh, clock.now() - HOUR)
    env = alert_env(wh.data_dir, rx)
    rx.answer_next(429, "rate_limited", retry_after="1800")
    report = run_alerts(env, clock)
    (row,) = wh.log()
    assert (report.pending, row.status, row.attempts) == (1, "pending", 1)
    assert row.last_error == "HTTP 429: rate_limited"
    assert row.next_attempt_at == pytest.approx(clock.now() + 1800)
    clock.advance(1800)
    assert run_alerts(env, clock).sent == 1


def test_a_timeout_is_retried_later(wh: Warehouse, rx: WebhookReceiver) -> None:
    clock = clock_now()
    one_hot_lead(wh, clock.now() - HOUR)
    env = alert_env(wh.data_dir, rx)
    rx.hang_next(3.0)
    report = run_alerts(env, clock, timeout_s=0.5)
    (row,) = wh.log()
    assert (report.pending, row.status, row.attempts) == (1, "pending", 1)
    assert row.last_error == "no answer within 0.5 s (timed out)"
    clock.advance(5 * MINUTE)
    assert run_alerts(env, clock).sent == 1


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (410, "channel_is_archived"),
        (400, "invalid_payload"),
        (404, "no_service"),
        (403, "action_prohibited"),
    ],
)
def test_other_4xx_fail_at_once_with_slacks_reason(
    wh: Warehouse, rx: WebhookReceiver, status: int, reason: str
) -> None:
    clock = clock_now()
    one_hot_lead(wh, clock.now() - HOUR)
    env = alert_env(wh.data_dir, rx)
    rx.answer_next(status, reason)
    report = run_alerts(env, clock)
    (row,) = wh.log()
    assert (report.sent, report.pending, report.failed) == (0, 0, 1)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, f"HTTP {status}: {reason}")
    assert report.problems[0].line() == (
        f"failed: {row.alert_id} to slack (lead lead_ada): HTTP {status}: {reason}"
    )
    clock.advance(24 * HOUR)
    assert run_alerts(env, clock).sent == 0 and len(rx.received) == 1  # not retried


def test_slack_must_answer_ok(wh: Warehouse, rx: WebhookReceiver) -> None:
    clock = clock_now()
    one_hot_lead(wh, clock.now() - HOUR)
    rx.answer_next(200, "<html>a login page</html>")
    report = run_alerts(alert_env(wh.data_dir, rx), clock)
    (row,) = wh.log()
    assert report.failed == 1 and row.status == "failed"
    assert row.last_error and "Slack answers ok" in row.last_error


def test_each_alert_goes_to_both_destinations_and_each_fails_on_its_own(
    wh: Warehouse, rx: WebhookReceiver
) -> None:
    clock = clock_now()
    one_hot_lead(wh, clock.now() - HOUR)
    rx.answer_next(410, "channel_is_archived", path=rx.SLACK_PATH)
    report = run_alerts(alert_env(wh.data_dir, rx, webhook=True), clock)
    assert (report.sent, report.failed) == (1, 1)
    slack, webhook = wh.log()
    assert (slack.channel, slack.status, webhook.channel, webhook.status) == (
        "slack",
        "failed",
        "webhook",
        "delivered",
    )
    assert slack.alert_id == webhook.alert_id and slack.payload == webhook.payload


def test_old_level_ups_are_recorded_stale_and_never_sent(
    wh: Warehouse, rx: WebhookReceiver
) -> None:
    """Switching alerts on over an existing history pages nobody about last week."""
    clock = clock_now()
    now = clock.now()
    wh.history(
        {
            "lead_ada": [("hot", 64, now - 3 * 24 * HOUR)],  # three days ago
            "lead_bob": [("hot", 62, now - 23 * HOUR)],  # within OIE_ALERT_MAX_AGE (24h)
        }
    )
    env = alert_env(wh.data_dir, rx)
    report = run_alerts(env, clock)
    assert (report.sent, report.stale) == (1, 1)
    assert report.summary() == (
        "slack: 1 sent, 0 pending, 0 failed, "
        "1 stale (older than OIE_ALERT_MAX_AGE: recorded, not sent)"
    )
    assert [r.json()["text"] for r in rx.received] == [
        "Bob Builder (Can We Fix It) is now hot: 62/100"
    ]
    ada = wh.log(lead_id="lead_ada")[0]
    assert (ada.status, ada.attempts, ada.next_attempt_at) == ("stale", 0, None)
    clock.advance(HOUR)
    assert run_alerts(env, clock).stale == 0 and len(rx.received) == 1  # decided once

    # A longer OIE_ALERT_MAX_AGE sends what a shorter one would hold back.
    wh.sql("delete from oie_alert_log")
    week = alert_env(wh.data_dir, rx, OIE_ALERT_MAX_AGE="7d")
    assert run_alerts(week, clock).sent == 2


def test_the_dry_run_sends_and_writes_nothing(wh: Warehouse, rx: WebhookReceiver) -> None:
    clock = clock_now()
    now = clock.now()
    wh.history({"lead_ada": [("hot", 64, now - HOUR)], "lead_bob": [("hot", 62, now - 48 * HOUR)]})
    before = wh.path.read_bytes()
    lines: list[str] = []
    env = alert_env(wh.data_dir, rx, webhook=True)
    from kv_sync.alerts import runner
    from oie_core.settings import Settings

    report = runner.run(Settings.from_env(env), dry_run=True, clock=clock, notify=lines.append)
    assert rx.received == [] and wh.path.read_bytes() == before  # not even the table
    assert wh.log() == []  # no table
    assert report.summary() == (
        "slack+webhook: would send 2, 0 pending for a later retry, "
        "2 stale (older than OIE_ALERT_MAX_AGE: would be recorded, not sent)"
    )
    assert [line.split(":")[0] for line in lines] == [
        "would record as stale slack",
        "would send to slack",
        "would record as stale webhook",
        "would send to webhook",
    ]
    # after a real run that met an outage, the dry run lists what is due again
    rx.down()
    assert run_alerts(env, clock).pending == 2
    clock.advance(4 * MINUTE)
    waiting = runner.run(Settings.from_env(env), dry_run=True, clock=clock)
    assert (len(waiting.would_send), waiting.pending) == (0, 2)
    clock.advance(MINUTE)
    due = runner.run(Settings.from_env(env), dry_run=True, clock=clock)
    assert (len(due.would_send), due.pending) == (2, 0)
    assert rx.received == []
