"""Once per episode, across runs: the real `lead_level_episodes` view (real DuckDB) over a
score history the test writes version by version, alerts sent to the local receiver. The
view's own SQL is also checked by its dbt unit tests (tests/python/warehouse/test_unit_tests.py
runs every unit test of the project)."""

from __future__ import annotations

from tests.python.alerts.support import HOUR, Warehouse, alert_env, clock_now, run_alerts
from tests.python.helpers.webhook_receiver import WebhookReceiver


def slack_texts(rx: WebhookReceiver) -> list[str]:
    return [r.json()["text"] for r in rx.on(rx.SLACK_PATH)]


def test_once_per_level_up_across_runs_and_again_only_after_re_arm(
    wh: Warehouse, rx: WebhookReceiver
) -> None:
    clock = clock_now()
    t0 = clock.now() - HOUR
    wh.history({"lead_ada": [("cold", 20, t0), ("hot", 64, t0 + 60)]})
    env = alert_env(wh.data_dir, rx)

    first = run_alerts(env, clock)
    assert (first.sent, first.pending, first.failed, first.stale) == (1, 0, 0, 0)
    assert slack_texts(rx) == ["Ada Lovelace (Analytical Engines) is now hot: 64/100"]
    assert run_alerts(env, clock).sent == 0  # the next run: nothing new
    assert len(rx.received) == 1

    # jitter at the threshold: 59 (warm), 60 (hot), 59, 60 -- one episode, no new alert
    for n, (level, score) in enumerate([("warm", 59), ("hot", 60), ("warm", 59), ("hot", 60)]):
        wh.add_version("lead_ada", level, score, t0 + 120 + n)
        assert run_alerts(env, clock).sent == 0
    # burning after hot in the same episode: no new alert
    wh.add_version("lead_ada", "burning", 85, t0 + 200)
    assert run_alerts(env, clock).sent == 0
    assert len(rx.received) == 1

    # falls to cold (the re-arm level): the next hot is a new episode and alerts again
    wh.add_version("lead_ada", "cold", 30, t0 + 300)
    assert run_alerts(env, clock).sent == 0
    wh.add_version("lead_ada", "hot", 70, t0 + 400)
    again = run_alerts(env, clock)
    assert again.sent == 1
    assert slack_texts(rx)[-1] == "Ada Lovelace (Analytical Engines) is now hot: 70/100"
    log = wh.log(lead_id="lead_ada")
    assert [(r.episode, r.status, r.attempts, r.level) for r in log] == [
        (1, "delivered", 1, "hot"),
        (2, "delivered", 1, "hot"),
    ]
    assert log[0].alert_id != log[1].alert_id
    assert run_alerts(env, clock).sent == 0 and len(rx.received) == 2


def test_a_lead_first_seen_hot_alerts_and_leads_count_their_own_episodes(
    wh: Warehouse, rx: WebhookReceiver
) -> None:
    clock = clock_now()
    t0 = clock.now() - HOUR
    wh.history(
        {
            "lead_bob": [("hot", 62, t0)],  # first version already hot: episode 0
            "lead_cy": [("warm", 45, t0), ("cold", 10, t0 + 1)],  # never hot
            "lead_dee": [("burning", 90, t0 + 2)],  # burning counts as at or above hot
        }
    )
    report = run_alerts(alert_env(wh.data_dir, rx), clock)
    assert report.sent == 2
    assert sorted(slack_texts(rx)) == [
        "Bob Builder (Can We Fix It) is now hot: 62/100",
        "Dee Forwarder (Fwd Ltd) is now burning: 90/100",
    ]
    assert [(r.lead_id, r.episode, r.level) for r in wh.log()] == [
        ("lead_bob", 0, "hot"),
        ("lead_dee", 0, "burning"),
    ]


def test_the_alert_level_burning_waits_for_burning(wh: Warehouse, rx: WebhookReceiver) -> None:
    clock = clock_now()
    t0 = clock.now() - HOUR
    wh.history({"lead_ada": [("hot", 64, t0)]})
    env = alert_env(wh.data_dir, rx, OIE_ALERT_LEVEL="burning")
    assert run_alerts(env, clock).sent == 0 and rx.received == []
    wh.add_version("lead_ada", "burning", 82, t0 + 60)
    assert run_alerts(env, clock).sent == 1
    wh.add_version("lead_ada", "hot", 70, t0 + 120)
    wh.add_version("lead_ada", "burning", 81, t0 + 180)  # no re-arm in between
    assert run_alerts(env, clock).sent == 0
    assert slack_texts(rx) == ["Ada Lovelace (Analytical Engines) is now burning: 82/100"]


def test_a_warm_alert_level_re_arms_only_at_cold(wh: Warehouse, rx: WebhookReceiver) -> None:
    clock = clock_now()
    t0 = clock.now() - HOUR
    wh.history({"lead_ada": [("warm", 41, t0), ("hot", 64, t0 + 1), ("warm", 45, t0 + 2)]})
    env = alert_env(wh.data_dir, rx, OIE_ALERT_LEVEL="warm")
    assert run_alerts(env, clock).sent == 1
    assert slack_texts(rx) == ["Ada Lovelace (Analytical Engines) is now warm: 41/100"]
