"""docs/alerts.md and cli.md's `oie alerts` section, checked against the code: every command
in a ```console block runs as written (bash, the real `oie`, the local receiver), the two
verification functions verify a real request and refuse a tampered one, the payload examples
are what is sent, and every alert setting is documented."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.python.alerts.support import (
    HOUR,
    WEBHOOK_SECRET,
    Warehouse,
    alert_env,
    clock_now,
    run_alerts,
)
from tests.python.cli.conftest import cli_env
from tests.python.helpers.webhook_receiver import WebhookReceiver
from tests.python.kv.test_docs import console_blocks, section

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "alerts.md"


def fenced(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, re.S | re.M)


def shell(line: str, wh: Warehouse, rx: WebhookReceiver) -> subprocess.CompletedProcess[str]:
    env = cli_env(
        wh.data_dir,
        OIE_KV="local",
        **{
            k: v
            for k, v in alert_env(wh.data_dir, rx, webhook=True).items()
            if k.startswith("OIE_ALERT_")
        },
    )
    env["PATH"] = f"{REPO / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    work = wh.data_dir.parent / "work"
    work.mkdir(exist_ok=True)
    proc = subprocess.run(
        ["bash", "-c", line], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{line}\n{proc.stdout}{proc.stderr}"
    return proc


def hot_and_burning(wh: Warehouse) -> None:
    now = time.time()
    wh.history(
        {
            "lead_ada": [("cold", 20, now - HOUR), ("hot", 64, now - HOUR + 60)],
            "lead_bob": [("burning", 85, now - HOUR)],
        }
    )


def test_alerts_md_commands_run(wh: Warehouse, rx: WebhookReceiver) -> None:
    hot_and_burning(wh)
    (block,) = console_blocks(DOC.read_text())
    for line in block:  # the page shows `oie` commands, nothing else
        words = [w for w in line.split("#")[0].split() if "=" not in w]
        assert words[0] == "oie", line
    out = []
    for line in block:
        out.append(shell(line, wh, rx).stdout)
        if len(out) == 1:
            assert rx.received == []  # the dry run sent nothing
    assert "slack+webhook: would send 4, 0 pending" in out[0]
    assert out[1].strip().endswith("slack+webhook: 4 sent, 0 pending, 0 failed")
    assert out[2].strip() == "slack+webhook: 0 sent, 0 pending, 0 failed"
    assert out[3].strip() == "slack+webhook: would send 0, 0 pending for a later retry"
    assert "ok alerts" in out[4] and "slack+webhook: 0 sent" in out[4]
    assert len(rx.received) == 4


def test_cli_md_alerts_commands_run(wh: Warehouse, rx: WebhookReceiver) -> None:
    hot_and_burning(wh)
    text = section((REPO / "docs" / "cli.md").read_text(), "oie alerts")
    (block,) = console_blocks(text)
    assert [line.split()[:2] for line in block] == [["oie", "alerts"]] * 2
    dry, real = (shell(line, wh, rx).stdout for line in block)
    assert "would send to slack: Ada Lovelace (Analytical Engines) is now hot: 64/100" in dry
    assert real.strip().endswith("slack+webhook: 4 sent, 0 pending, 0 failed")


def namespace_of_the_python_blocks() -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    for block in fenced(DOC.read_text(), "python"):
        exec(compile(block, str(DOC), "exec"), namespace)
    return namespace


def test_the_verification_functions_on_the_page_verify_a_real_request(
    wh: Warehouse, rx: WebhookReceiver
) -> None:
    clock = clock_now()
    wh.history({"lead_ada": [("hot", 64, clock.now() - HOUR)]})
    assert run_alerts(alert_env(wh.data_dir, rx, slack=False, webhook=True), clock).sent == 1
    (request,) = rx.received
    page = namespace_of_the_python_blocks()
    for verify in (page["verify"], page["verify_with_package"]):
        body = verify(WEBHOOK_SECRET, request.headers, request.body)
        assert body["alert_id"] == request.headers["webhook-id"]
        with pytest.raises(Exception, match=r"(?i)signature"):
            verify(WEBHOOK_SECRET, request.headers, request.body.replace(b"Ada", b"Eve"))
    other = "whsec_" + "b3RoZXIta2V5LW9mLTMyLWJ5dGVzLWxvbmctaGVyZQ=="
    with pytest.raises(ValueError, match="signature"):
        page["verify"](other, request.headers, request.body)


def test_the_payload_examples_are_what_is_sent(wh: Warehouse, rx: WebhookReceiver) -> None:
    clock = clock_now()
    wh.history({"lead_ada": [("hot", 64, clock.now() - HOUR)]})
    run_alerts(alert_env(wh.data_dir, rx, webhook=True), clock)
    slack = rx.on(rx.SLACK_PATH)[0].json()
    webhook = rx.on(rx.WEBHOOK_PATH)[0].json()
    documented_webhook, documented_slack = (json.loads(b) for b in fenced(DOC.read_text(), "json"))
    assert webhook == {**documented_webhook, "timestamp": webhook["timestamp"]}
    assert slack == documented_slack


def test_every_alert_setting_is_documented() -> None:
    names = set(
        re.findall(r'"(OIE_ALERT_[A-Z_]+)"', (REPO / "oie_core" / "settings.py").read_text())
    )
    assert len(names) == 6, names
    table = DOC.read_text().split("## Settings", 1)[1].split("\n## ", 1)[0]
    for name in names:
        assert f"| `{name}` |" in table, name
