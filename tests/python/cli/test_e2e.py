"""End to end: campaign -> /go click -> journey through the real server -> `oie run` ->
the lead in lead_profiles with the level and components the docs/design.md formula gives."""

from __future__ import annotations

import json
import time
from pathlib import Path

import duckdb

from oie.traffic.http_sender import HttpSender
from oie.traffic.model import SimLead, SimStats
from oie.traffic.scripted import PageSpec, scripted_visit
from tests.python.helpers.servers import http_call, start_ingest_server

from .conftest import SECRET, Cli

DESKTOP_UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SITE = "http://127.0.0.1:5173"

# One session: 4 page views, 240 active seconds, 3 pages scrolled to >= 75 %,
# pricing + case study + product, no form, no video.
JOURNEY = [
    PageSpec("/", dwell_s=40, active_s=30, depth=50),
    PageSpec("/pricing.html", dwell_s=90, active_s=60, depth=100),
    PageSpec("/case-studies/acme.html", dwell_s=100, active_s=90, depth=90),
    PageSpec("/product.html", dwell_s=70, active_s=60, depth=75),
]


def expected_components(pages: list[PageSpec], sessions: int = 1) -> dict[str, float]:
    """docs/design.md's default score, computed independently of the dbt models."""
    pageviews = len(pages)
    active_min = sum(p.active_s for p in pages) / 60
    deep = sum(1 for p in pages if p.depth >= 75)
    pricing = sum(1 for p in pages if "/pricing" in p.path)
    case = sum(1 for p in pages if "/case-stud" in p.path)
    product = sum(1 for p in pages if "/product" in p.path)
    forms = sum(1 for p in pages if p.form)
    videos = sum(1 for p in pages if p.video_complete)
    parts = {
        "score_recency": 30.0,  # last visit within 24 h
        "score_frequency": min(20.0, sessions * 4.0),
        "score_engagement": min(25.0, pageviews * 1.5 + active_min + deep),
        "score_high_intent": min(25.0, pricing * 8.0 + case * 5.0 + product * 4.0),
        "score_conversions": min(20.0, forms * 15.0 + videos * 5.0),
    }
    total = min(100, round(sum(parts.values())))
    level = (
        "burning" if total >= 80 else "hot" if total >= 60 else "warm" if total >= 40 else "cold"
    )
    return {**parts, "intent_score": total, "engagement_level": level}


def wait_sealed(landing: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while list(landing.glob("events/dt=*/hr=*/*.ndjson.open")):
        assert time.monotonic() < deadline, "the server never sealed its landing file"
        time.sleep(0.1)


def test_click_journey_run_lead_profile(cli: Cli) -> None:
    (cli.cwd / "leads.csv").write_text(
        "Email,First Name,Company\nada@example.com,Ada,Analytical\nbob@example.com,Bob,B Co\n"
    )
    cli(
        "campaign",
        "create",
        "leads.csv",
        "--campaign",
        "E2E",
        "--landing-url",
        "http://127.0.0.1/",
        check=True,
    )
    leads = {
        row["email"]: row
        for row in map(
            json.loads,
            next((cli.data_dir / "landing" / "leads").glob("dt=*/hr=*/*.ndjson"))
            .read_text()
            .splitlines(),
        )
    }
    ada = SimLead("ada@example.com", leads["ada@example.com"]["token"], "e2e")

    env = {"OIE_TOKEN_SECRET": SECRET, "OIE_LANDING_MAX_AGE": "1s"}
    with start_ingest_server(env, data_dir=cli.data_dir) as srv:
        click = http_call(
            f"{srv.url}/go?i={ada.token}&to=/pricing.html", headers={"User-Agent": DESKTOP_UA}
        )
        assert click.status == 302
        assert click.headers["location"] == f"http://127.0.0.1/pricing.html?i={ada.token}"
        stats = SimStats()
        sender = HttpSender(srv.url, SITE, stats)
        batches = scripted_visit(
            ada,
            JOURNEY,
            end=time.time(),
            site=SITE,
            visitor_id="vis-e2e-ada-0001",
            user_agent=DESKTOP_UA,
        )
        for batch in batches:
            sender.track(batch)
        assert not stats.errors and stats.rejected == 0
        assert stats.accepted == sum(len(b.events) for b in batches)
        # The server seals idle files itself (OIE_LANDING_MAX_AGE): no restart needed.
        wait_sealed(srv.landing_dir)
        proc = cli("run")
        assert proc.returncode == 0, proc.stdout + proc.stderr

    con = duckdb.connect(str(cli.data_dir / "warehouse.duckdb"), read_only=True)
    cols = [
        "email",
        "campaign_id",
        "first_name",
        "total_sessions",
        "total_pageviews",
        "total_active_s",
        "email_clicks",
        "score_recency",
        "score_frequency",
        "score_engagement",
        "score_high_intent",
        "score_conversions",
        "intent_score",
        "engagement_level",
        "first_click_at",
    ]
    rows = con.execute(f"select {', '.join(cols)} from lead_profiles order by email").fetchall()
    con.close()
    got = {r[0]: dict(zip(cols, r, strict=True)) for r in rows}
    assert set(got) == {"ada@example.com", "bob@example.com"}
    a = got["ada@example.com"]
    assert (a["campaign_id"], a["first_name"]) == ("e2e", "Ada")
    assert (a["total_sessions"], a["total_pageviews"], a["total_active_s"]) == (1, 4, 240)
    assert a["email_clicks"] == 1 and a["first_click_at"] is not None  # a genuine click
    want = expected_components(JOURNEY)
    for key, value in want.items():
        assert a[key] == value, (key, a[key], value)
    assert want["engagement_level"] == "hot" and want["intent_score"] == 64
    b = got["bob@example.com"]
    assert (b["intent_score"], b["engagement_level"], b["total_sessions"]) == (0, "cold", 0)
