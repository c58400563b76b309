"""Source freshness: real `dbt source freshness` on DuckDB over landing files (no network)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from oie import freshness
from oie_core.raw_schema import RAW_EVENTS, RAW_LEADS, RAW_TABLES
from oie_core.settings import Settings
from tests.python.helpers.scenario_build import build_data


def _land_events(landing: Path, *received: datetime) -> None:
    """Sealed landing lines with the given receive times (only what freshness reads)."""
    for i, moment in enumerate(received):
        path = (
            landing
            / "events"
            / moment.strftime("dt=%Y-%m-%d/hr=%H")
            / f"t-{uuid.uuid4().hex}.ndjson"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        line = {
            "event_id": f"e-{i}",
            "type": "pageview",
            "received_at": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "event_at": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "visitor_id": "v-1",
            "data": {},
        }
        path.write_text(json.dumps(line) + "\n")


def test_only_raw_events_declares_freshness() -> None:
    assert freshness.checked_tables() == (RAW_EVENTS,)
    assert RAW_EVENTS.freshness is not None
    assert RAW_EVENTS.freshness.loaded_at == "received_at"
    assert RAW_EVENTS.freshness.warn_after_hours < RAW_EVENTS.freshness.error_after_hours
    assert all(t.freshness is None for t in RAW_TABLES if t is not RAW_EVENTS)


def test_old_received_at_is_stale_by_name_then_fresh_data_clears_it(tmp_path: Path) -> None:
    # One data dir for both checks: the second dbt run reuses the first one's parse.
    landing = tmp_path / "landing"
    now = datetime.now(UTC)
    _land_events(landing, now - timedelta(hours=30), now - timedelta(hours=27))
    report = freshness.source_freshness(tmp_path, landing_dir=landing)
    (events,) = report.stale
    assert (events.table, events.status) == ("raw_events", "error")  # past error_after (24 h)
    assert events.age_s is not None and 26 * 3600 < events.age_s < 28 * 3600
    assert report.summary() == "sources: events stale (last received 27 h ago)"

    # A new event arrives: nothing is stale, and oie run's status line says so.
    _land_events(landing, datetime.now(UTC) - timedelta(minutes=5))
    report = freshness.source_freshness(tmp_path, landing_dir=landing)
    assert report.stale == ()
    (events,) = report.sources
    assert (events.table, events.status) == ("raw_events", "pass")
    assert events.age_s is not None and 0 <= events.age_s < 3600
    assert re.fullmatch(r"sources: events fresh \(last received [5-9] min ago\)", report.summary())


def test_an_empty_landing_stream_is_no_data_without_asking_dbt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_dbt(*args: object, **kwargs: object) -> None:
        raise AssertionError("dbt must not run for an empty stream")

    monkeypatch.setattr(freshness, "_run_dbt", no_dbt)
    (tmp_path / "landing" / "events" / "dt=2026-01-01" / "hr=00").mkdir(parents=True)
    open_file = tmp_path / "landing/events/dt=2026-01-01/hr=00/w.ndjson.open"
    open_file.write_text("{}\n")  # still being written: dbt never reads it
    report = freshness.source_freshness(tmp_path)
    assert [(s.table, s.status) for s in report.stale] == [("raw_events", "no data")]
    assert report.summary() == "sources: events: no data landed yet"
    settings = Settings(data_dir=tmp_path, landing_dir=tmp_path / "landing")
    assert freshness.check(settings) == "sources: events: no data landed yet"


def test_oie_run_reads_freshness_from_the_built_warehouse_and_agrees_with_dbt(
    tmp_path: Path,
) -> None:
    """The local check reads the newest loaded received_at (no second dbt run); on the same
    data it says what `dbt source freshness` says."""
    now = datetime.now(UTC)
    _land_events(tmp_path / "landing", now - timedelta(hours=30), now - timedelta(hours=27))
    settings = Settings(data_dir=tmp_path, landing_dir=tmp_path / "landing")
    assert freshness.check(settings) == "sources: events: no data landed yet"  # not built yet
    assert build_data(tmp_path) == 0
    local = freshness.warehouse_freshness(tmp_path)
    (events,) = local.stale
    assert (events.table, events.status) == ("raw_events", "error")
    assert freshness.check(settings) == "sources: events stale (last received 27 h ago)"
    by_dbt = freshness.source_freshness(tmp_path, landing_dir=tmp_path / "landing")
    assert by_dbt.summary() == local.summary()
    # six hours on, by the same thresholds: still stale; 20 h earlier it would have warned
    assert (
        freshness.warehouse_freshness(tmp_path, now=now - timedelta(hours=20)).stale[0].status
        == "warn"
    )
    assert freshness.warehouse_freshness(tmp_path, now=now - timedelta(hours=26)).stale == ()


def test_a_dbt_that_cannot_run_is_a_freshness_error(tmp_path: Path) -> None:
    _land_events(tmp_path / "landing", datetime.now(UTC))
    with pytest.raises(freshness.FreshnessError, match=r"wrote no sources\.json"):
        freshness.source_freshness(tmp_path, target="no_such_target")


def test_sources_json_statuses_are_mapped() -> None:
    document = {
        "results": [
            {
                "unique_id": "source.oie.oie.raw_events",
                "status": "warn",
                "max_loaded_at": "2026-03-10T11:20:02+00:00",
                "max_loaded_at_time_ago_in_s": 7 * 3600.0,
            },
            {
                "unique_id": "source.oie.oie.raw_leads",
                "status": "runtime error",
                "error": "IO Error: boom\nmore",
            },
        ]
    }
    parsed = freshness.parse_sources_json(document, [RAW_EVENTS, RAW_LEADS])
    assert parsed["raw_events"].status == "warn"
    assert parsed["raw_events"].describe() == "events stale (last received 7 h ago)"
    assert parsed["raw_events"].max_loaded_at == datetime(2026, 3, 10, 11, 20, 2, tzinfo=UTC)
    assert parsed["raw_leads"].status == "runtime error"
    assert parsed["raw_leads"].describe() == "leads: freshness not checked (IO Error: boom)"
    missing = freshness.parse_sources_json({"results": []}, [RAW_EVENTS])
    assert missing["raw_events"].is_stale


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(30, "0 min"), (12 * 60, "12 min"), (27 * 3600, "27 h"), (5 * 86400, "5 d")],
)
def test_format_age(seconds: float, text: str) -> None:
    assert freshness.format_age(seconds) == text
