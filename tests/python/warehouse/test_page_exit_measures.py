"""page_exit's cursor and reading measures from the real ingest server to the marts: a page
view reports them twice (tab hidden, then left) and the fuller page_exit wins, a touch-like
page view sends no cursor fields and an unscrolled one no reading_wpm (their columns stay
null), an out-of-range value refuses its event, and a later run that brings the last
page_exit rebuilds the session incrementally. The lead's score ignores the measures under
the default weights and adds exactly the weighted amount when they are set."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from oie_core.hashing import email_sha256
from tests.python.helpers.scenario_build import build_data
from tests.python.helpers.servers import http_call, start_ingest_server
from tests.python.warehouse import scenario

ORIGIN = "http://127.0.0.1:5173"
UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
VISITOR = "vis-cursor-reader-01"
EMAIL = "grace@cursor.example"
MEASURES = ("active_ms", "cursor_jitter", "cursor_reversals", "cursor_moves", "reading_wpm")
WEIGHTS = {
    "oie_score_engagement_per_jitter_degree": 0.5,
    "oie_score_engagement_jitter_threshold_degrees": 20,
    "oie_score_engagement_per_100_reading_wpm": 1,
}
T0 = int(time.time() * 1000) - 300_000  # the visit began five minutes ago


def _event(kind: str, at_s: int, path: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": kind,
        "ts": T0 + at_s * 1000,
        "visitor_id": VISITOR,
        "session_id": "ses-cursor-reader",
        "url": ORIGIN + path,
        "data": data,
    }


# Page view 1 (/pricing): hidden after 15 active seconds, then left after 45; a demo form.
FIRST_EXIT = _event(
    "page_exit",
    20,
    "/pricing",
    {
        "active_ms": 15_000,
        "max_depth": 50,
        "cursor_jitter": 22.4,
        "cursor_reversals": 3,
        "cursor_moves": 40,
        "reading_wpm": 180,
    },
)
FIRST_RUN = [
    _event("pageview", 0, "/pricing", {"title": "Pricing"}),
    _event(
        "form_submit",
        10,
        "/pricing",
        {"form_id": "demo", "fields": ["email"], "hems": {"sha256": email_sha256(EMAIL)}},
    ),
    FIRST_EXIT,
]
LAST_EXIT = _event(
    "page_exit",
    60,
    "/pricing",
    {
        "active_ms": 45_000,
        "max_depth": 90,
        "cursor_jitter": 31.6,
        "cursor_reversals": 9,
        "cursor_moves": 130,
        "reading_wpm": 220,
    },
)
# Page view 2 (/blog) on a touch screen: no cursor fields. Page view 3 (/about) not scrolled.
TOUCH_EXIT = _event(
    "page_exit", 120, "/blog", {"active_ms": 40_000, "max_depth": 100, "reading_wpm": 300}
)
UNSCROLLED_EXIT = _event(
    "page_exit",
    150,
    "/about",
    {"active_ms": 10_000, "cursor_jitter": 18.0, "cursor_reversals": 1, "cursor_moves": 12},
)
OUT_OF_RANGE = _event("page_exit", 151, "/about", {"active_ms": 11_000, "cursor_jitter": 200})
SECOND_RUN = [
    LAST_EXIT,
    _event("pageview", 70, "/blog", {"title": "Blog"}),
    TOUCH_EXIT,
    _event("pageview", 130, "/about", {"title": "About"}),
    UNSCROLLED_EXIT,
    OUT_OF_RANGE,
]


def _send(data_dir: Path, events: list[dict[str, Any]]) -> dict[str, int]:
    """One batch through the real server; leaving the block seals its landing file."""
    body = json.dumps({"events": events, "meta": {"sent_at": int(time.time() * 1000)}})
    headers = {"Origin": ORIGIN, "Content-Type": "application/json", "User-Agent": UA}
    with start_ingest_server(data_dir=data_dir) as srv:
        reply = http_call(srv.url + "/track", "POST", body.encode(), headers)
    assert reply.status == 200, reply.body
    return {k: reply.json()[k] for k in ("accepted", "rejected")}


def _land_lead(data_dir: Path) -> None:
    now = time.time()
    lead = {
        "lead_id": "lead_grace",
        "email": EMAIL,
        "email_sha256": email_sha256(EMAIL),
        "first_name": "Grace",
        "last_name": "Hopper",
        "company": "Cursor Co",
        "title": "CTO",
        "industry": "Computing",
        "campaign_id": "cursor-check",
        "campaign_name": "Cursor check",
        "token": "TkGrace0001",
        "created_at": "2026-01-01T00:00:00.000Z",
        "attributes": {},
        "imported_at": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }
    partition = time.strftime("dt=%Y-%m-%d/hr=%H", time.gmtime(now))
    path = data_dir / "landing" / "leads" / partition / "cursor-check.ndjson"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(lead) + "\n")


def _vars(**extra: Any) -> dict[str, Any]:
    as_of = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    return {**scenario.pinned_vars(as_of), **extra}


def _rows(data_dir: Path, sql: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _session(data_dir: Path) -> dict[str, Any]:
    (row,) = _rows(
        data_dir,
        "select pageviews, mean_cursor_jitter, median_reading_wpm, lead_id from sessions "
        f"where visitor_id = '{VISITOR}'",
    )
    return row


def _lead(data_dir: Path) -> dict[str, Any]:
    (row,) = _rows(
        data_dir,
        "select p.total_pageviews, p.total_active_s, p.deep_pageviews, p.score_engagement, "
        "a.mean_cursor_jitter, a.median_reading_wpm "
        "from lead_profiles as p inner join int_lead_activity as a using (lead_id) "
        "where p.lead_id = 'lead_grace'",
    )
    return row


def _base_engagement(lead: dict[str, Any]) -> float:
    # docs/warehouse.md "The intent score", at the pinned weights (scenario/vars.yml)
    return lead["total_pageviews"] * 1.5 + lead["total_active_s"] / 60 + lead["deep_pageviews"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data_dir = tmp_path_factory.mktemp("page-exit-measures")
    _land_lead(data_dir)
    seen: dict[str, Any] = {"data_dir": data_dir}
    seen["first_reply"] = _send(data_dir, FIRST_RUN)
    assert build_data(data_dir, full_refresh=True, vars=_vars(), not_null_tests=True) == 0
    seen["first_session"] = _session(data_dir)
    seen["first_lead"] = _lead(data_dir)
    seen["second_reply"] = _send(data_dir, SECOND_RUN)
    assert build_data(data_dir, vars=_vars(**WEIGHTS), not_null_tests=True) == 0
    return seen


def test_the_server_lands_the_measures_and_refuses_an_out_of_range_one(runs) -> None:
    assert runs["first_reply"] == {"accepted": 3, "rejected": 0}
    assert runs["second_reply"] == {"accepted": 5, "rejected": 1}
    (refused,) = _rows(runs["data_dir"], "select event_id, reason from rejected_events")
    assert refused["event_id"] == OUT_OF_RANGE["event_id"]
    assert refused["reason"] == (
        "invalid_data: page_exit.cursor_jitter must be a number in [0, 180]"
    )


def test_each_page_exit_reaches_events_with_its_measures_and_nulls_for_missing_ones(
    runs,
) -> None:
    got = {
        row.pop("event_id"): row
        for row in _rows(
            runs["data_dir"],
            f"select event_id, {', '.join(MEASURES)} from events where event_type = 'page_exit'",
        )
    }
    want = {
        e["event_id"]: {m: e["data"].get(m) for m in MEASURES}
        for e in (FIRST_EXIT, LAST_EXIT, TOUCH_EXIT, UNSCROLLED_EXIT)
    }
    assert got == want
    assert got[TOUCH_EXIT["event_id"]]["cursor_jitter"] is None
    assert got[UNSCROLLED_EXIT["event_id"]]["reading_wpm"] is None
    # other event types carry none of them
    others = _rows(
        runs["data_dir"],
        "select count(*) as n from events where event_type != 'page_exit' and "
        "coalesce(cursor_jitter, cursor_reversals, cursor_moves, reading_wpm) is not null",
    )
    assert others == [{"n": 0}]


def test_the_session_takes_each_page_views_fullest_exit_and_is_rebuilt_incrementally(
    runs,
) -> None:
    # first run: only the tab-hidden exit of page view 1
    assert runs["first_session"] == {
        "pageviews": 1,
        "mean_cursor_jitter": 22.4,
        "median_reading_wpm": 180.0,
        "lead_id": "lead_grace",
    }
    # second run: page view 1's fuller exit (31.6, 220) replaces it; the touch page view adds
    # a speed only, the unscrolled one a jitter only: mean(31.6, 18.0), median(220, 300)
    assert _session(runs["data_dir"]) == {
        "pageviews": 3,
        "mean_cursor_jitter": 24.8,
        "median_reading_wpm": 260.0,
        "lead_id": "lead_grace",
    }


def test_the_weights_add_to_engagement_only_when_set(runs) -> None:
    first = runs["first_lead"]
    assert (first["mean_cursor_jitter"], first["median_reading_wpm"]) == (22.4, 180.0)
    # default weights (0): the measures change nothing
    assert first["score_engagement"] == pytest.approx(_base_engagement(first), abs=0.006)
    lead = _lead(runs["data_dir"])
    assert (lead["mean_cursor_jitter"], lead["median_reading_wpm"]) == (24.8, 260.0)
    # (24.8 - 20) * 0.5 + 260 / 100 * 1 = 2.4 + 2.6
    weighted = _base_engagement(lead) + 5.0
    assert weighted < 25  # below the cap: the whole contribution shows
    assert lead["score_engagement"] == pytest.approx(weighted, abs=0.006)


def test_the_docs_query_lists_the_measured_session(runs) -> None:
    # docs/warehouse.md "Cursor and reading measures": its query, on this warehouse
    doc = (Path(__file__).parents[3] / "docs" / "warehouse.md").read_text()
    section = doc.split("### Cursor and reading measures", 1)[1].split("\n## ", 1)[0]
    (query,) = re.findall(r"```sql\n(.*?)```", section, re.DOTALL)
    rows = _rows(runs["data_dir"], query)
    assert [(r["lead_id"], r["mean_cursor_jitter"], r["median_reading_wpm"]) for r in rows] == [
        ("lead_grace", 24.8, 260.0)
    ]
