"""`oie alerts` and `oie run`'s alerts step through the real entry point (.venv/bin/oie) in a
subprocess: what they print, their exit codes, bad settings refused at start in one line,
no destination, the lock, and `oie demo`'s environment, which never pages anyone."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from oie.run_lock import run_lock
from tests.python.alerts.support import (
    HOUR,
    WEBHOOK_SECRET,
    Warehouse,
    alert_env,
)
from tests.python.cli.conftest import Cli, cli_env
from tests.python.helpers.webhook_receiver import WebhookReceiver


def alerts_cli(wh: Warehouse, **settings: str) -> Cli:
    """The CLI on the test's warehouse, with no alert or Cloudflare setting of the caller's."""
    env = cli_env(wh.data_dir, OIE_KV="local", **settings)
    for name in list(env):
        if name.startswith(("CLOUDFLARE_", "OIE_ALERT_")) and name not in settings:
            del env[name]
    work = wh.data_dir.parent / "work"
    work.mkdir(exist_ok=True)
    return Cli(env, work)


def destination(rx: WebhookReceiver, *, webhook: bool = False) -> dict[str, str]:
    env = alert_env(Path("unused"), rx, webhook=webhook)
    return {k: v for k, v in env.items() if k.startswith("OIE_ALERT_")}


def step_line(stdout: str) -> str:
    return next(line.strip() for line in stdout.splitlines() if " alerts (" in line)


def three_hot_leads(wh: Warehouse) -> None:
    now = time.time()
    wh.history({lead: [("hot", 70, now - HOUR)] for lead in ("lead_ada", "lead_bob", "lead_cy")})


def test_oie_alerts_sends_prints_and_is_quiet_the_second_time(
    wh: Warehouse, rx: WebhookReceiver
) -> None:
    three_hot_leads(wh)
    cli = alerts_cli(wh, **destination(rx, webhook=True))
    dry = cli("alerts", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert dry.stdout.count("would send to slack: ") == 3
    assert dry.stdout.strip().endswith("slack+webhook: would send 6, 0 pending for a later retry")
    assert rx.received == [] and wh.log() == []

    sent = cli("alerts")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "sent to webhook: Ada Lovelace (Analytical Engines) is now hot: 70/100" in sent.stdout
    assert sent.stdout.strip().endswith("slack+webhook: 6 sent, 0 pending, 0 failed")
    assert sent.stderr == "" and len(rx.received) == 6
    again = cli("alerts")
    assert again.stdout.strip() == "slack+webhook: 0 sent, 0 pending, 0 failed"
    assert len(rx.received) == 6


def test_oie_run_sends_as_its_alerts_step(wh: Warehouse, rx: WebhookReceiver) -> None:
    three_hot_leads(wh)
    cli = alerts_cli(wh, **destination(rx))
    proc = cli("run", "--skip-dbt")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = step_line(proc.stdout)
    assert line.startswith("ok alerts (") and line.endswith(": slack: 3 sent, 0 pending, 0 failed")
    assert "[5/6] alerts" in proc.stdout
    kv = proc.stdout.index("kv sync (")
    assert kv < proc.stdout.index(line)  # after the KV sync
    assert len(rx.received) == 3


def test_an_outage_leaves_the_step_ok_with_pending_and_oie_alerts_exits_1(
    wh: Warehouse, rx: WebhookReceiver
) -> None:
    three_hot_leads(wh)
    cli = alerts_cli(wh, **destination(rx))
    rx.down()
    run = cli("run", "--skip-dbt")
    assert run.returncode == 0, run.stdout + run.stderr
    line = step_line(run.stdout)
    assert line.startswith("ok alerts (")
    assert ": slack: 0 sent, 3 pending, 0 failed (first problem: pending: alert_" in line
    assert "connection failed" in line and "`oie alerts` lists them all" in line
    assert rx.slack_url not in run.stdout

    # the retry is due (as if five minutes passed); the receiver is still down
    wh.sql("update oie_alert_log set next_attempt_at = now() - interval 1 second")
    alone = cli("alerts")
    assert alone.returncode == 1
    assert alone.stdout.strip() == "slack: 0 sent, 3 pending, 0 failed"
    (problem,) = alone.stderr.strip().splitlines()  # one request: the rest were not tried
    assert problem.startswith("pending: alert_") and "connection failed" in problem
    assert "next try after 20" in problem

    rx.up()
    wh.sql("update oie_alert_log set next_attempt_at = now() - interval 1 second")
    back = cli("alerts")
    assert back.returncode == 0, back.stdout + back.stderr
    assert back.stdout.strip().endswith("slack: 3 sent, 0 pending, 0 failed")
    assert len(rx.received) == 3  # each delivered once
    assert {r.status for r in wh.log()} == {"delivered"}


def test_a_failed_alert_leaves_the_step_ok_naming_it_and_oie_alerts_exits_1(
    wh: Warehouse, rx: WebhookReceiver
) -> None:
    wh.history({"lead_ada": [("hot", 64, time.time() - HOUR)]})
    cli = alerts_cli(wh, **destination(rx))
    rx.answer_next(410, "channel_is_archived")
    alone = cli("alerts")
    assert alone.returncode == 1
    assert alone.stdout.strip() == "slack: 0 sent, 0 pending, 1 failed"
    assert alone.stderr.strip().startswith("failed: alert_")
    assert alone.stderr.strip().endswith("to slack (lead lead_ada): HTTP 410: channel_is_archived")
    wh.sql("delete from oie_alert_log")
    rx.answer_next(400, "invalid_payload")
    run = cli("run", "--skip-dbt")
    assert run.returncode == 0
    assert "1 failed (first problem: failed: alert_" in step_line(run.stdout)
    assert "HTTP 400: invalid_payload" in step_line(run.stdout)


SLACK_URL = "https://hooks.slack.com/services/T0/B0/topsecretvalue"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"OIE_ALERT_SLACK_WEBHOOK_URL": "hooks.slack.com/services/T0/B0/topsecretvalue"},
            "OIE_ALERT_SLACK_WEBHOOK_URL is not an http(s) URL with a host",
        ),
        (
            {"OIE_ALERT_SLACK_WEBHOOK_URL": "ftp://hooks.slack.com/topsecretvalue"},
            "OIE_ALERT_SLACK_WEBHOOK_URL is not an http(s) URL with a host",
        ),
        (
            {"OIE_ALERT_WEBHOOK_URL": "https://", "OIE_ALERT_WEBHOOK_SECRET": WEBHOOK_SECRET},
            "OIE_ALERT_WEBHOOK_URL is not an http(s) URL with a host",
        ),
        (
            {
                "OIE_ALERT_WEBHOOK_URL": "https://n8n.example:http/topsecretvalue",
                "OIE_ALERT_WEBHOOK_SECRET": WEBHOOK_SECRET,
            },
            "OIE_ALERT_WEBHOOK_URL has an invalid port",
        ),
        (
            {
                "OIE_ALERT_WEBHOOK_URL": "https://n8n.example/hook",
                "OIE_ALERT_WEBHOOK_SECRET": "topsecretvalue",
            },
            "OIE_ALERT_WEBHOOK_SECRET must be whsec_ followed by the base64",
        ),
        (
            {
                "OIE_ALERT_WEBHOOK_URL": "https://n8n.example/hook",
                "OIE_ALERT_WEBHOOK_SECRET": "whsec_topsecret!!",
            },
            "OIE_ALERT_WEBHOOK_SECRET must be whsec_ followed by the base64",
        ),
        (
            {"OIE_ALERT_WEBHOOK_URL": "https://n8n.example/hook"},
            "OIE_ALERT_WEBHOOK_URL needs OIE_ALERT_WEBHOOK_SECRET",
        ),
        (
            {"OIE_ALERT_SLACK_WEBHOOK_URL": SLACK_URL, "OIE_ALERT_LEVEL": "scorching"},
            "OIE_ALERT_LEVEL='scorching': expected one of warm, hot, burning",
        ),
        (
            {"OIE_ALERT_SLACK_WEBHOOK_URL": SLACK_URL, "OIE_ALERT_LEVEL": "cold"},
            "OIE_ALERT_LEVEL='cold': expected one of warm, hot, burning",
        ),
        (
            {"OIE_ALERT_SLACK_WEBHOOK_URL": SLACK_URL, "OIE_ALERT_MAX_ATTEMPTS": "0"},
            "OIE_ALERT_MAX_ATTEMPTS='0': must be at least 1",
        ),
        (
            {"OIE_ALERT_SLACK_WEBHOOK_URL": SLACK_URL, "OIE_ALERT_MAX_AGE": "a day"},
            "OIE_ALERT_MAX_AGE='a day': expected a duration",
        ),
    ],
)
def test_bad_settings_are_one_line_and_exit_2_before_anything_is_sent(
    wh: Warehouse, settings: dict[str, str], message: str
) -> None:
    cli = alerts_cli(wh, **settings)
    for args in (("alerts",), ("alerts", "--dry-run"), ("run", "--skip-dbt")):
        proc = cli(*args)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), proc.stderr
        assert "topsecretvalue" not in proc.stdout + proc.stderr  # secrets are never echoed
    assert wh.log() == []


def test_an_alert_level_not_above_the_re_arm_level_is_refused(
    wh: Warehouse, rx: WebhookReceiver
) -> None:
    # the view as built with oie_alert_rearm_level: warm
    wh.sql("alter view lead_level_episodes rename to episodes_as_built")
    wh.sql(
        "create view lead_level_episodes as select * replace ('warm' as rearm_level, "
        "1 as rearm_rank) from episodes_as_built"
    )
    cli = alerts_cli(wh, **destination(rx), OIE_ALERT_LEVEL="warm")
    for args in (("alerts",), ("run", "--skip-dbt")):
        proc = cli(*args)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        (line,) = proc.stderr.strip().splitlines()
        assert "OIE_ALERT_LEVEL=warm is not above the re-arm level warm" in line
    assert rx.received == []
    hot = alerts_cli(wh, **destination(rx), OIE_ALERT_LEVEL="hot")
    assert hot("alerts").returncode == 0


def test_no_destination_skips_the_step_and_records_nothing(wh: Warehouse) -> None:
    cli = alerts_cli(wh)
    run = cli("run", "--skip-dbt")
    assert run.returncode == 0, run.stdout + run.stderr
    line = step_line(run.stdout)
    assert line.startswith("skipped alerts (")
    assert "OIE_ALERT_SLACK_WEBHOOK_URL" in line and "OIE_ALERT_WEBHOOK_URL" in line
    alone = cli("alerts")
    assert alone.returncode == 2
    assert alone.stderr.startswith("error: no alert destination: set OIE_ALERT_SLACK_WEBHOOK_URL")
    assert wh.log() == [] and not wh.sql(
        "select * from information_schema.tables where table_name = 'oie_alert_log'"
    )


def test_before_anything_is_built_alerts_say_so(tmp_path: Path, rx: WebhookReceiver) -> None:
    cli = alerts_cli(Warehouse(tmp_path / "data"), **destination(rx))
    alone = cli("alerts")
    assert alone.returncode == 1
    assert alone.stderr.startswith("error: no warehouse at ")
    run = cli("run", "--skip-dbt")
    assert run.returncode == 0
    assert "skipped alerts" in step_line(run.stdout)
    assert "nothing to alert on: no warehouse at" in step_line(run.stdout)


def test_alerts_take_the_run_lock(wh: Warehouse, rx: WebhookReceiver) -> None:
    three_hot_leads(wh)
    cli = alerts_cli(wh, **destination(rx))
    with run_lock(wh.data_dir, wait=False):
        proc = cli("alerts")
    assert proc.returncode == 75
    assert "another `oie run`, `oie sync` or `oie alerts` holds the lock (pid" in proc.stderr
    assert rx.received == [] and wh.log() == []


def test_help_has_examples(wh: Warehouse) -> None:
    proc = alerts_cli(wh)("alerts", "--help")
    assert proc.returncode == 0
    assert "Examples" in proc.stdout and "oie alerts --dry-run" in proc.stdout


def test_the_demo_never_pages_anyone(tmp_path: Path) -> None:
    from oie.demo import demo_env
    from oie_core.settings import Settings

    env = demo_env(
        tmp_path,
        {
            "OIE_TOKEN_SECRET": "a-test-secret-of-enough-length",
            "OIE_ALERT_SLACK_WEBHOOK_URL": SLACK_URL,
            "OIE_ALERT_WEBHOOK_URL": "https://n8n.example/hook",
            "OIE_ALERT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        },
    )
    assert not [name for name in env if name.startswith("OIE_ALERT_") and "URL" in name]
    settings = Settings.from_env(env)
    assert settings.alert_slack_webhook_url is None and settings.alert_webhook_url is None
