"""Sequencer events from the real webhook server through real dbt builds to the alerts and
the CRM contacts. The session's scenario (as of 2026-03-10 12:00): Ada 64, Bob 62 and Cy 60
hot, Dee 44 warm, Jo 36 cold. Then: Jo replies (36 + 10 = 46: warm, as the vars say), Bob
bounces, Cy unsubscribes, Ada's out-of-office and opens score nothing, and Dee, who is in
a second campaign too, replies to that campaign's email. `oie run` then alerts Ada only,
a full refresh gives the same scores as the incremental run, and `oie crm sync` sends the
warm and hot contacts but never Bob or Cy."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from oie_core.landing import iso_ms
from tests.python.alerts.support import Warehouse
from tests.python.alerts.test_cli import alerts_cli, destination, step_line
from tests.python.helpers.hubspot_standin import start_hubspot_standin
from tests.python.helpers.scenario_build import build_data
from tests.python.helpers.sequencer_payloads import (
    WEBHOOK_ENV,
    instantly,
    post_instantly,
    post_smartlead,
    smartlead,
)
from tests.python.helpers.servers import start_ingest_server
from tests.python.helpers.webhook_receiver import WebhookReceiver
from tests.python.warehouse import scenario

WHEN = "2026-03-09T15:00:00Z"  # inside the score window, before the pinned as_of
SCORES = (
    "select lead_id, intent_score, engagement_level, email_replies, email_bounced, "
    "email_unsubscribed, is_suppressed from lead_profiles order by lead_id"
)


def _second_campaign_for_dee(wh: Warehouse) -> None:
    (row,) = wh.sql(
        "select email, email_sha256, first_name, last_name, company, token from lead_profiles "
        "where lead_id = 'lead_dee'"
    )
    email, sha, first, last, company, _token = row
    now = time.time()
    lead = {
        "lead_id": "lead_dee_autumn",
        "email": email,
        "email_sha256": sha,
        "first_name": first,
        "last_name": last,
        "company": company,
        "title": "CFO",
        "industry": "Finance",
        "campaign_id": "autumn-push",
        "campaign_name": "Autumn push",
        "token": "TkDeeAutumn",
        "created_at": "2026-03-01T00:00:00.000Z",
        "imported_at": iso_ms(now),  # imported now: the incremental lead list picks it up
    }
    partition = time.strftime("dt=%Y-%m-%d/hr=%H", time.gmtime(now))
    path = wh.data_dir / "landing" / "leads" / partition / "autumn.ndjson"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(lead) + "\n")


def _deliver_webhooks(data_dir: Path) -> None:
    with start_ingest_server(WEBHOOK_ENV, data_dir=data_dir) as srv:
        sent = [
            post_smartlead(
                srv.url,
                smartlead(
                    "EMAIL_REPLY",
                    "jo@careers.example",
                    stats_id="jo-r",
                    when=WHEN,
                    campaign="CFO outreach",
                ),
            ),
            post_smartlead(
                srv.url,
                smartlead("EMAIL_BOUNCE", "bob@builder.example", stats_id="bob-b", when=WHEN),
            ),
            post_instantly(
                srv.url,
                instantly("lead_unsubscribed", "cy@corp.example", email_id="cy-u", when=WHEN),
            ),
            post_instantly(
                srv.url,
                instantly("auto_reply_received", "ada@example.com", email_id="ada-ooo", when=WHEN),
            ),
            *(
                post_smartlead(
                    srv.url,
                    smartlead("EMAIL_OPEN", "ada@example.com", stats_id=f"ada-o{i}", when=WHEN),
                )
                for i in range(3)
            ),
            post_smartlead(
                srv.url,
                smartlead(
                    "EMAIL_REPLY",
                    "dee@fwd.example",
                    stats_id="dee-r",
                    when=WHEN,
                    campaign="autumn PUSH",
                ),
            ),
        ]
        assert [r.status for r in sent] == [200] * len(sent)
    sealed = list((data_dir / "landing" / "email_events").rglob("*.ndjson"))
    assert sealed and not list((data_dir / "landing" / "email_events").rglob("*.open"))


def test_replies_score_and_bounces_unsubscribes_suppress(
    wh: Warehouse, rx: WebhookReceiver, tmp_path: Path
) -> None:
    _second_campaign_for_dee(wh)
    _deliver_webhooks(wh.data_dir)
    cli = alerts_cli(wh, **destination(rx))
    run = cli("run", "--vars", json.dumps(scenario.pinned_vars()), timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert step_line(run.stdout).endswith("slack: 1 sent, 0 pending, 0 failed")
    assert [r.json()["text"] for r in rx.on(rx.SLACK_PATH)] == [
        "Ada Lovelace (Analytical Engines) is now hot: 64/100"
    ]

    scores = {row[0]: row[1:] for row in wh.sql(SCORES)}
    assert scores["lead_jo"] == (46, "warm", 1, False, False, False)
    assert scores["lead_bob"] == (62, "hot", 0, True, False, True)
    assert scores["lead_cy"] == (60, "hot", 0, False, True, True)
    assert scores["lead_ada"] == (64, "hot", 0, False, False, False)
    assert scores["lead_dee"][:3] == (44, "warm", 0)  # the reply was to the other campaign
    assert scores["lead_dee_autumn"][2] == 1

    engagement = {
        row[0]: row[1:]
        for row in wh.sql(
            "select lead_id, opens, replies, auto_replies, bounced_at is not null, "
            "unsubscribed_at is not null from email_engagement"
        )
    }
    assert engagement == {
        "lead_jo": (0, 1, 0, False, False),
        "lead_bob": (0, 0, 0, True, False),
        "lead_cy": (0, 0, 0, False, True),
        "lead_ada": (3, 0, 1, False, False),
        "lead_dee_autumn": (0, 1, 0, False, False),
    }
    crm = dict(wh.sql("select key, crm_status from crm_contacts"))
    assert crm["bob@builder.example"] == "suppressed"
    assert crm["cy@corp.example"] == "suppressed"
    assert crm["ada@example.com"] == "eligible"
    assert crm["jo@careers.example"] == "eligible"  # lifted to warm by the reply
    assert crm["hal@never.example"] == "below_level"

    # the incremental run's scores are what a full refresh computes
    env = {"OIE_DATA_DIR": str(wh.data_dir), "OIE_LANDING_DIR": str(wh.data_dir / "landing")}
    assert build_data(wh.data_dir, full_refresh=True, vars=scenario.pinned_vars(), env=env) == 0
    assert {row[0]: row[1:] for row in wh.sql(SCORES)} == scores

    # docs/warehouse.md "Email engagement": its query, on this warehouse
    doc = (Path(__file__).parents[3] / "docs" / "warehouse.md").read_text()
    section = doc.split("## Email engagement", 1)[1].split("\n## ", 1)[0]
    (query,) = re.findall(r"```sql\n(.*?)```", section, re.DOTALL)
    shown = wh.sql(query)
    # the replies first (Jo's and Dee's at the same instant), the suppressed without one last
    assert sorted((r[0], r[2], r[5]) for r in shown[:2]) == [
        ("lead_dee_autumn", 1, False),
        ("lead_jo", 1, False),
    ]
    assert sorted((r[0], r[2], r[5]) for r in shown[2:]) == [
        ("lead_bob", 0, True),
        ("lead_cy", 0, True),
    ]

    # the CRM sync, through the real client to the HubSpot stand-in: the suppressed never go
    with start_hubspot_standin() as hs:
        crm = alerts_cli(wh, OIE_HUBSPOT_TOKEN=hs.token, OIE_HUBSPOT_BASE_URL=hs.base_url)
        for args in (("crm", "setup"), ("crm", "sync")):
            done = crm(*args)
            assert done.returncode == 0, done.stdout + done.stderr
        assert set(hs.contacts) == {"ada@example.com", "jo@careers.example", "dee@fwd.example"}
        assert hs.contacts["jo@careers.example"]["oie_engagement_level"] == "warm"
        assert hs.contacts["dee@fwd.example"]["oie_intent_score"] == "44"
