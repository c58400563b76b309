"""From the score history dbt records to the receiver, with every part real: the session's
scenario build (Ada 64, Bob 62 and Cy 60: hot), then `oie run --vars` builds that move the
level thresholds, each followed by `oie run`'s own alerts step. A dip below hot and back
(the jitter at the threshold) alerts nobody; a fall to cold and back alerts each lead once
more. Four dbt builds: one test, so no shuffled order can interleave them."""

from __future__ import annotations

import json

from tests.python.alerts.support import Warehouse
from tests.python.alerts.test_cli import alerts_cli, destination, step_line
from tests.python.helpers.webhook_receiver import WebhookReceiver
from tests.python.warehouse import scenario

HOT = [
    "Ada Lovelace (Analytical Engines) is now hot: 64/100",
    "Bob Builder (Can We Fix It) is now hot: 62/100",
    "Cy Twodevice (Corp) is now hot: 60/100",
]


def test_real_builds_alert_once_per_episode(wh: Warehouse, rx: WebhookReceiver) -> None:
    cli = alerts_cli(wh, **destination(rx))

    def run(**levels: int) -> str:
        proc = cli("run", "--vars", json.dumps({**scenario.pinned_vars(), **levels}), timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return step_line(proc.stdout)

    def texts() -> list[str]:
        return sorted(r.json()["text"] for r in rx.on(rx.SLACK_PATH))

    first = cli("run", "--skip-dbt")
    assert step_line(first.stdout).endswith("slack: 3 sent, 0 pending, 0 failed")
    assert texts() == HOT

    # hot moves to 65: all three are warm; back to 60: hot again, in the same episode
    assert run(oie_level_hot=65).endswith("slack: 0 sent, 0 pending, 0 failed")
    assert run().endswith("slack: 0 sent, 0 pending, 0 failed")
    assert len(rx.received) == 3
    levels = wh.sql(
        "select level, episode from lead_level_episodes where lead_id = 'lead_ada' "
        "order by recorded_at"
    )
    assert levels == [("hot", 0), ("warm", 0), ("hot", 0)]

    # everyone cold (thresholds out of reach), then hot again: a new episode, a new alert
    assert run(oie_level_warm=95, oie_level_hot=98, oie_level_burning=99).endswith(
        "slack: 0 sent, 0 pending, 0 failed"
    )
    assert run().endswith("slack: 3 sent, 0 pending, 0 failed")
    assert texts() == sorted(HOT + HOT)
    log = wh.log(lead_id="lead_ada")
    assert [(r.episode, r.status) for r in log] == [(0, "delivered"), (1, "delivered")]
    ids = [r.json()["blocks"][-1]["elements"][0]["text"] for r in rx.on(rx.SLACK_PATH)]
    assert len(set(ids)) == 6  # six alerts, each once
