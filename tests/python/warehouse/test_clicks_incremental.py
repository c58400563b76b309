"""int_email_clicks_classified re-reads an earlier click when the lead lists write its
token's lead again, and leaves every other stored click alone. Real dbt builds on DuckDB
of the click model and what it reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from tests.python.helpers.lead_imports import land_import, lead_token
from tests.python.helpers.scenario_build import build_data
from tests.python.warehouse import scenario

SELECT = "+int_email_clicks_classified"
NOW = datetime.now(UTC).replace(microsecond=0)


def _import(
    data_dir: Path,
    imported_at: datetime,
    leads: dict[str, str],
    tokens: dict[str, str] | None = None,
) -> None:
    """One lead-list import: lead_id -> campaign_id (and the lead's token when `tokens`
    names another)."""
    fields: dict[str, dict[str, str]] = {
        lead_id: {"campaign_id": c} for lead_id, c in leads.items()
    }
    for lead_id, token in (tokens or {}).items():
        fields[lead_id]["token"] = token
    land_import(data_dir, imported_at, fields, created_at=NOW - timedelta(days=3))


def _land_clicks(data_dir: Path, clicked_at: datetime, lead_ids: list[str]) -> None:
    received = clicked_at + timedelta(seconds=1)
    lines = [
        scenario.landing_event(
            f"click-{lead_id}",
            "email_click",
            clicked_at,
            received,
            visitor=None,
            token=lead_token(lead_id),
            url=None,
            data={"to": "https://site.example/", "scanner": False},
        )
        for lead_id in lead_ids
    ]
    path = data_dir / "landing" / "events" / scenario._partition(received) / "clicks.ndjson"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def _clicks(data_dir: Path) -> dict[str, tuple]:
    """event_id -> (lead_id, campaign_id, oie_classified_at)."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select event_id, lead_id, campaign_id, oie_classified_at "
            "from int_email_clicks_classified"
        ).fetchall()
    return {event_id: rest for event_id, *rest in rows for rest in [tuple(rest)]}


def _build(data_dir: Path, *, full_refresh: bool = False) -> dict[str, tuple]:
    assert build_data(data_dir, select=SELECT, full_refresh=full_refresh) == 0
    return _clicks(data_dir)


def test_a_click_follows_its_lead_through_imports_and_the_others_stay(tmp_path: Path) -> None:
    _import(tmp_path, NOW - timedelta(hours=2), {"bob": "c1"})
    _land_clicks(tmp_path, NOW - timedelta(hours=1), ["ada", "bob"])
    first = _build(tmp_path)
    assert {k: v[:2] for k, v in first.items()} == {
        "click-ada": (None, None),  # Ada is in no lead list yet
        "click-bob": ("bob", "c1"),
    }

    _import(tmp_path, NOW - timedelta(minutes=30), {"ada": "c1"})
    second = _build(tmp_path)
    assert second["click-ada"][:2] == ("ada", "c1")
    assert second["click-bob"] == first["click-bob"]  # not written again

    # Ada re-imported into another campaign; Bob's lead untouched again
    _import(tmp_path, NOW - timedelta(minutes=10), {"ada": "c2"})
    third = _build(tmp_path)
    assert third["click-ada"][:2] == ("ada", "c2")
    assert third["click-ada"][2] > second["click-ada"][2]
    assert third["click-bob"] == first["click-bob"]

    # Bob's row now carries another token: his old token's click belongs to no one
    _import(tmp_path, NOW - timedelta(minutes=5), {"bob": "c1"}, tokens={"bob": "TkOther000"})
    fourth = _build(tmp_path)
    assert fourth["click-bob"][:2] == (None, None)
    assert fourth["click-ada"] == third["click-ada"]

    rebuilt = _build(tmp_path, full_refresh=True)
    assert {k: v[:2] for k, v in rebuilt.items()} == {k: v[:2] for k, v in fourth.items()}
