"""The one traffic generator (oie.traffic): the journeys `oie simulate` sends are the ones
written straight to landing files, and those lines are what the collector would land."""

from __future__ import annotations

import gzip
import json
import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from oie.network_db import write_network_db
from oie.sample import SAMPLE_FILE
from oie.traffic.cast import SAMPLE_TOKEN_SECRET
from oie.traffic.generate import SITE, generate
from oie.traffic.in_process import InProcessSender
from oie.traffic.journeys import plan_journeys
from oie.traffic.landing_lines import LandingLines
from oie.traffic.model import Click, SimLead, SimStats, TrackBatch
from oie.traffic.networks import demo_networks
from oie_core.iporg import NetworkLookup
from oie_core.landing import partition_of
from oie_core.raw_schema import RAW_EVENTS, RAW_LEADS
from oie_core.settings import Settings

END = datetime(2026, 3, 10, 18, 0, tzinfo=UTC).timestamp()
DAYS = 6


def read_stream(landing: Path, stream: str) -> list[tuple[str, dict[str, Any]]]:
    """(partition folder, record) of every sealed line of a stream."""
    rows = []
    for path in sorted((landing / stream).glob("dt=*/hr=*/*.ndjson")):
        partition = f"{path.parent.parent.name}/{path.parent.name}"
        rows += [(partition, json.loads(line)) for line in path.read_text().splitlines()]
    return rows


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    landing = tmp_path_factory.mktemp("landing")
    stats = generate(landing, visitors=300, days=DAYS, end=END, seed=3, prefix="t")
    assert stats.visitors == 300 and stats.leads == 270
    assert stats.events == len(read_stream(landing, "events"))
    return landing


def test_written_lines_have_exactly_the_raw_schema_fields(written: Path) -> None:
    events = read_stream(written, "events")
    leads = read_stream(written, "leads")
    assert events and leads
    assert {tuple(record) for _, record in events} == {RAW_EVENTS.names}
    assert {tuple(record) for _, record in leads} == {RAW_LEADS.names}


def test_the_bundled_sample_has_exactly_the_raw_schema_fields() -> None:
    with gzip.open(SAMPLE_FILE, "rt", encoding="utf-8") as f:
        lines = [json.loads(line) for line in f]
    fields = {(line["stream"], tuple(line["record"])) for line in lines}
    assert fields == {("events", RAW_EVENTS.names), ("leads", RAW_LEADS.names)}


def test_written_lines_look_like_the_collectors(written: Path) -> None:
    events = read_stream(written, "events")
    for partition, e in events:
        received = datetime.fromisoformat(e["received_at"].replace("Z", "+00:00")).timestamp()
        assert partition == partition_of(received)  # partitioned by receive time
        assert received <= END
        event_at = datetime.fromisoformat(e["event_at"].replace("Z", "+00:00")).timestamp()
        assert END - DAYS * 86400 - 3600 < event_at <= received + 1
    records = [e for _, e in events]
    types = Counter(e["type"] for e in records)
    for t in ("pageview", "scroll_depth", "page_exit", "email_click", "form_submit", "video"):
        assert types[t] > 0, types
    clicks = [e for e in records if e["type"] == "email_click"]
    assert {c["data"]["scanner"] for c in clicks} == {True, False}
    assert all(c["sent_at"] is None and c["visitor_id"] is None for c in clicks)
    assert any(e["is_bot"] for e in records) and not all(e["is_bot"] for e in records)
    assert {e["device"] for e in records} >= {"desktop", "mobile"}
    # truncated, as the collector does: IPv4 /24, IPv6 /48 (company networks)
    assert all(e["ip"].endswith((".0", "::")) for e in records)
    assert any(e["ip"].startswith("2001:db8:") for e in records)
    submits = [e for e in records if e["type"] == "form_submit"]
    assert not any("@" in json.dumps(e["data"]) for e in submits)  # hashes only
    # Browser clocks are off: `ts` is the browser's, `event_at` the corrected time.
    assert any(abs(e["ts"] - _epoch_ms(e["event_at"])) > 1000 for e in records if e["sent_at"])


def test_writing_is_deterministic(written: Path, tmp_path: Path) -> None:
    generate(tmp_path, visitors=300, days=DAYS, end=END, seed=3, prefix="again")

    def content(landing: Path) -> list[str]:
        lines = []
        for stream in ("leads", "events"):
            lines += sorted(json.dumps(r, sort_keys=True) for _, r in read_stream(landing, stream))
        return lines

    assert content(tmp_path) == content(written)


def test_written_journeys_are_the_ones_simulate_sends(written: Path) -> None:
    """Same leads, seed and clock: the browser events written are the planned ones."""
    leads = [
        SimLead(r["email"], r["token"], r["campaign_id"]) for _, r in read_stream(written, "leads")
    ]
    # Leads in the order they were made (files hold them in any order).
    by_row = {r["token"]: r["attributes"]["row"] for _, r in read_stream(written, "leads")}
    leads.sort(key=lambda lead: by_row[lead.token])
    today_start = END - END % 86400
    journeys = plan_journeys(
        leads, visitors=300, days=DAYS, seed=3, today_start=today_start, now=END, site=SITE
    )
    planned = {
        e["event_id"]
        for j in journeys
        for a in j.actions
        if isinstance(a, TrackBatch) and a.at <= END
        for e in a.events
    }
    landed = {
        e["event_id"] for _, e in read_stream(written, "events") if e["type"] != "email_click"
    }
    assert landed == planned
    planned_clicks = sum(isinstance(a, Click) and a.at <= END for j in journeys for a in j.actions)
    landed_clicks = [e for _, e in read_stream(written, "events") if e["type"] == "email_click"]
    assert len(landed_clicks) == planned_clicks


def test_written_lines_agree_with_what_the_collector_lands(tmp_path: Path) -> None:
    """One journey through the real ingest code in-process, and through the writer: the
    fields the server derives (agent, scanner verdict, IP, token check, network) are the
    same, with the same network database on both sides."""
    database = write_network_db(
        tmp_path / "networks.mmdb", demo_networks([("Example Co", "example.com")])
    )
    journeys = plan_journeys(
        [SimLead(f"lead{i}@example.com", _token(i), "c") for i in range(40)],
        visitors=60,
        days=3,
        seed=5,
        today_start=END - END % 86400,
        now=END,
        site=SITE,
    )
    settings = Settings.from_env(
        {
            "OIE_DATA_DIR": str(tmp_path),
            "OIE_TOKEN_SECRET": SAMPLE_TOKEN_SECRET,
            "OIE_REDIRECT_HOSTS": "site.example",
            "OIE_IP_ORG_DB": str(database),
        }
    )
    sender = InProcessSender(SITE, SimStats(), settings)
    try:
        for action in sorted((a for j in journeys for a in j.actions), key=lambda a: a.at):
            if isinstance(action, Click):
                sender.go(action)
            else:
                sender.track(action)
    finally:
        sender.close()
    assert not sender.stats.errors and sender.stats.rejected == 0
    server = [e for _, e in read_stream(tmp_path / "landing", "events")]
    writer = LandingLines(random.Random(1), SITE, END + 86400, NetworkLookup((str(database),)))
    written = [record for j in journeys for _, record in writer.journey(j)]

    same = (
        "type",
        "visitor_id",
        "client_session_id",
        "token",
        "token_valid",
        "url",
        "referrer",
        "data",
        "pixel_version",
        "ip",
        "user_agent",
        "device",
        "browser",
        "os",
        "is_bot",
        "asn",
        "as_org",
        "ip_org",
        "ip_domain",
        "ip_connection_type",
        "ip_user_type",
    )

    def browser_events(rows: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
        return {
            r["event_id"]: tuple(r[k] for k in same) for r in rows if r["type"] != "email_click"
        }

    def clicks(rows: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
        return Counter(
            tuple(json.dumps(r[k], sort_keys=True) for k in same)
            for r in rows
            if r["type"] == "email_click"
        )

    assert len(browser_events(server)) > 200
    assert {r["ip_org"] for r in server} >= {"Example Co", "Example Broadband"}
    assert browser_events(written) == browser_events(server)
    assert clicks(written) == clicks(server) and clicks(server)


def _token(i: int) -> str:
    from oie_core.tokens import Keyring, mint

    return mint(Keyring.parse(SAMPLE_TOKEN_SECRET), "c", f"lead{i}@example.com")


def _epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
