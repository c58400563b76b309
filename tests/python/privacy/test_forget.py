"""`oie forget` end to end, every part real: `oie campaign create`, the ingest server on
127.0.0.1 (with a dead-lettered batch), `oie run` (dbt build on DuckDB, the local KV sync,
a hot-lead alert to a local receiver), then the erasure and a scan of every store for
every identifier of the person: before it (the scan finds her everywhere, so it can fail)
and after it, after a full-refresh build and after the next scheduled run (it finds
nothing). Then her visitor's new events land nothing, re-importing her row skips her, and
a second forget holds nothing. One test: the steps share one slow setup, in order."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import requests

from oie import warehouse
from oie_core.hashing import email_hashes
from tests.python.cli.conftest import Cli, cli_env
from tests.python.helpers.scenario_build import build_data
from tests.python.helpers.servers import start_ingest_server
from tests.python.helpers.webhook_receiver import start_webhook_receiver
from tests.python.privacy.support import (
    needles_for,
    project_text_hits,
    scan_files,
    scan_tables,
    tokens_from_links,
)

ADA = " Ada@Example.COM "  # the design document's test vector
ORIGIN = "http://127.0.0.1:5173"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126 Safari"
# Every level within reach of a few events: Ada and Bob turn "hot", so an alert is sent.
LOW_LEVELS = {"oie_level_warm": 1, "oie_level_hot": 2, "oie_level_burning": 99}
ADA_PHONE, ADA_LAPTOP, BOB_LAPTOP = "ada-phone-0001", "ada-laptop-0002", "bob-laptop-0003"
# The stores PRIVACY.md names, as this test finds them in the data folder (Workers KV:
# test_forget_cli.py). test_docs.py holds PRIVACY.md to this list.
SCANNED = {
    "landing files": "landing",
    "dead letter": "dead-letter",
    "token registry": "tokens.sqlite",
    "warehouse": "warehouse.duckdb",
    "local KV": "kv.sqlite",
}


def event(visitor: str, type_: str = "pageview", token: str | None = None, **data) -> dict:
    url = "http://127.0.0.1:5173/pricing" + (f"?i={token}" if token else "")
    return {
        "event_id": str(uuid.uuid4()),
        "type": type_,
        "ts": int(time.time() * 1000),
        "visitor_id": visitor,
        "session_id": f"ses-{visitor}",
        "token": token,
        "url": url,
        "referrer": None,
        "data": data or {"title": "Pricing"},
    }


def track(url: str, *events: dict) -> requests.Response:
    body = {"events": list(events), "meta": {"sent_at": int(time.time() * 1000)}}
    return requests.post(
        url + "/track",
        data=json.dumps(body),
        headers={"Origin": ORIGIN, "Content-Type": "application/json", "User-Agent": UA},
        timeout=10,
    )


def form(visitor: str) -> dict:
    return event(visitor, "form_submit", form_id="demo", fields=["email"], hems=email_hashes(ADA))


def lead_ids(data_dir: Path) -> dict[str, str]:
    import sqlite3

    db = sqlite3.connect(data_dir / "tokens.sqlite")
    try:
        return dict(db.execute("select email, lead_id from tokens").fetchall())
    finally:
        db.close()


def stores(hits: list[str], data_dir: Path) -> set[str]:
    """The store each hit is in: the first folder or file under the data folder."""
    return {Path(h.split(":")[0]).relative_to(data_dir).parts[0] for h in hits}


def test_forget_erases_ada_from_every_store_and_keeps_her_gone(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    dead_letter = data_dir / "dead-letter"
    work = tmp_path / "work"
    work.mkdir()
    (work / "leads.csv").write_text(
        f"email,first_name,company\n{ADA},Ada,Analytical Engines\nbob@example.com,Bob,Builders\n"
    )
    with start_webhook_receiver() as rx:
        cli = Cli(
            cli_env(
                data_dir,
                OIE_KV="local",
                OIE_DEAD_LETTER=str(dead_letter),
                OIE_ALERT_SLACK_WEBHOOK_URL=rx.slack_url,
            ),
            work,
        )
        create = ("campaign", "create", "leads.csv", "--campaign", "Q4", "--landing-url")
        imported = cli(*create, "https://acme.example/pricing")
        assert imported.returncode == 0, imported.stderr
        tokens = tokens_from_links(work / "q4-urls.csv")
        ada_token, bob_token = tokens["ada@example.com"], tokens["bob@example.com"]
        leads = lead_ids(data_dir)

        server_env = {
            "OIE_TOKEN_SECRET": cli.env["OIE_TOKEN_SECRET"],
            "OIE_DEAD_LETTER": str(dead_letter),
            "OIE_FAULT": "sink-raise-next-1",  # the first batch goes to the dead letter
        }
        with start_ingest_server(server_env, data_dir=data_dir) as srv:
            assert track(srv.url, event(ADA_PHONE, token=ada_token)).status_code == 200
            click = requests.get(
                f"{srv.url}/go?i={ada_token}&to=/pricing",
                headers={"User-Agent": UA},
                allow_redirects=False,
                timeout=10,
            )
            assert click.status_code == 302
            assert track(srv.url, event(ADA_PHONE, token=ada_token), form(ADA_PHONE)).ok
            assert track(srv.url, event(ADA_LAPTOP), form(ADA_LAPTOP)).ok
            assert track(srv.url, event(BOB_LAPTOP, token=bob_token)).ok
            (go_row,) = [r for r in srv.landed("events") if r["type"] == "email_click"]
        assert list(dead_letter.glob("*/*.json")), "the first batch was dead-lettered"

        run = cli("run", "--vars", json.dumps(LOW_LEVELS), timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        assert any("Ada" in r.json()["text"] for r in rx.on(rx.SLACK_PATH)), "Ada was alerted"

    ada = needles_for(
        ADA,
        [ada_token],
        [v for v in (ADA_PHONE, ADA_LAPTOP, go_row["visitor_id"]) if v],
        [leads["ada@example.com"]],
    )
    bob = needles_for("bob@example.com", [bob_token], [BOB_LAPTOP], [leads["bob@example.com"]])

    # Before: the scan finds her in every store, so its silence afterwards means something.
    before_files = scan_files([data_dir], ada)
    assert set(SCANNED.values()) - {"warehouse.duckdb"} <= stores(before_files, data_dir)
    before_tables = " ".join(scan_tables(data_dir, ada))
    for table in (
        "stg_oie__leads",
        "int_events_deduped",
        "int_sessions",
        "lead_profiles",
        "lead_profiles_snapshot",
        "kv_sync_state",
        "oie_alert_log",
    ):
        assert f".{table}:" in before_tables, table
    assert "kv.sqlite" in before_tables and "tokens.sqlite" in before_tables

    forgot = cli("forget", "--email", ADA)
    assert forgot.returncode == 0, forgot.stdout + forgot.stderr
    assert "removed" in forgot.stdout and "nothing held" not in forgot.stdout
    for line in forgot.stdout.splitlines():  # counts, never values
        assert "ada" not in line.lower() and ada_token not in line, line

    def assert_gone(when: str) -> None:
        assert scan_files([data_dir], ada) == [], when
        assert scan_tables(data_dir, ada) == [], when
        assert project_text_hits(data_dir, ada, warehouse.PROJECT_DIR) == [], when

    assert_gone("after the erasure")
    # Nobody else went with her.
    assert {"landing", "tokens.sqlite"} <= stores(scan_files([data_dir], bob), data_dir)
    assert "lead_profiles:" in " ".join(scan_tables(data_dir, bob))

    assert build_data(data_dir, full_refresh=True, vars=LOW_LEVELS) == 0
    assert_gone("after a full refresh")
    rerun = cli("run", "--vars", json.dumps(LOW_LEVELS), timeout=600)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert_gone("after the next scheduled run")

    # Her visitor comes back: accepted, landed nowhere, counted.
    with start_ingest_server(
        {"OIE_TOKEN_SECRET": cli.env["OIE_TOKEN_SECRET"]}, data_dir=data_dir
    ) as srv:
        reply = track(srv.url, event(ADA_PHONE), event(ADA_LAPTOP, token=ada_token))
        assert reply.status_code == 200 and reply.json()["accepted"] == 2
        assert track(srv.url, event(BOB_LAPTOP)).ok
        health = requests.get(srv.url + "/health", timeout=10).json()
        assert health["forgotten_dropped"] == 2
        landed = srv.landed("events")
    assert {r["visitor_id"] for r in landed if r["visitor_id"] != BOB_LAPTOP} == set()
    assert scan_files([data_dir], ada) == []

    # Re-importing the list skips her, with the reason and without her address.
    again = cli(*create, "https://acme.example/pricing")
    assert again.returncode == 0, again.stderr
    problems = (work / "q4-problems.csv").read_text()
    assert "forgotten" in problems and "ada" not in problems.lower()
    assert scan_files([data_dir], ada) == []

    second = cli("forget", "--email", ADA)
    assert second.returncode == 0, second.stderr
    assert "nothing held for this email" in second.stdout
