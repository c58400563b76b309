"""Retention with a moved clock (oie_as_of), through `oie run` and a real dbt build:
exactly the landing partitions and warehouse rows older than oie_raw_retention_days are
gone and nothing newer is touched; a visitor idle 91 days has lost its link to its lead,
one idle 89 days keeps it (oie_identity_ttl_days 90)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from oie_core.landing import LandingWriter, iso_ms
from oie_core.retention import expire_landing
from tests.python.cli.conftest import Cli
from tests.python.privacy.support import import_leads

AS_OF = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
VARS = {"oie_raw_retention_days": 100, "oie_as_of": "2026-06-15T12:00:00Z"}
# cutoff = AS_OF - 100 days = 2026-03-07 12:00 UTC


def _event(visitor: str, at: datetime, token: str | None = None) -> dict:
    ts = at.timestamp()
    return {
        "event_id": str(uuid.uuid4()),
        "type": "pageview",
        "ts": int(ts * 1000),
        "sent_at": int(ts * 1000),
        "received_at": iso_ms(ts),
        "event_at": iso_ms(ts),
        "visitor_id": visitor,
        "client_session_id": f"ses-{visitor}",
        "token": token,
        "token_valid": True if token else None,
        "url": "https://acme.example/pricing" + (f"?i={token}" if token else ""),
        "data": {"title": "Pricing"},
        "device": "desktop",
        "is_bot": False,
    }


def _land(landing: Path, stream: str, record: dict, at: datetime) -> None:
    writer = LandingWriter(landing, background_rotation=False)
    writer.write_records(stream, [record], at.timestamp())
    writer.close()


def _files(landing: Path) -> dict[str, bytes]:
    return {str(p.relative_to(landing)): p.read_bytes() for p in landing.rglob("*.ndjson")}


def test_retention_and_identity_ttl_with_a_moved_clock(cli: Cli) -> None:
    tokens = import_leads(cli, "ada@example.com", "bob@example.com")
    ada_token, bob_token = tokens["ada@example.com"], tokens["bob@example.com"]

    landing = cli.data_dir / "landing"
    old = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)  # its whole day is past the period
    edge_before = datetime(2026, 3, 7, 10, 0, tzinfo=UTC)  # same day as the cutoff, before it
    edge_after = datetime(2026, 3, 7, 14, 0, tzinfo=UTC)  # same day, after it
    idle_91 = AS_OF - timedelta(days=91)
    idle_89 = AS_OF - timedelta(days=89)
    _land(landing, "events", _event("vis-expired-day", old), old)
    _land(landing, "rejected", {"received_at": iso_ms(old.timestamp()), "reason": "x: y"}, old)
    _land(landing, "events", _event("vis-before-cutoff", edge_before), edge_before)
    _land(landing, "events", _event("vis-after-cutoff", edge_after), edge_after)
    _land(landing, "events", _event("vis-ada-idle-91", idle_91, ada_token), idle_91)
    _land(landing, "events", _event("vis-bob-idle-89", idle_89, bob_token), idle_89)
    before = _files(landing)

    run = cli("run", "--vars", json.dumps(VARS), timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 day partition(s) past oie_raw_retention_days (100) removed" in run.stdout

    after = _files(landing)
    gone = sorted(set(before) - set(after))
    assert [p.split("/")[:2] for p in gone] == [
        ["events", "dt=2026-03-05"],
        ["rejected", "dt=2026-03-05"],
    ]
    for path, data in after.items():  # everything else byte for byte, leads included
        if path in before:
            assert data == before[path], path
    assert any(p.startswith("leads/") for p in after)

    db = duckdb.connect(str(cli.data_dir / "warehouse.duckdb"), read_only=True)
    for table, column in (
        ("int_events_deduped", "visitor_id"),
        ("int_events_sessionized", "visitor_id"),
        ("int_sessions", "visitor_id"),
    ):
        rows = sorted(r[0] for r in db.execute(f"select {column} from {table}").fetchall())
        assert rows == ["vis-ada-idle-91", "vis-after-cutoff", "vis-bob-idle-89"], table
    linked = dict(
        db.execute(
            "select identifier, lead_id from identity_map where identifier_type = 'visitor'"
        ).fetchall()
    )
    assert set(linked) == {"vis-bob-idle-89"}


def test_expire_landing_keeps_the_day_of_the_cutoff(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    for day in ("2026-03-05", "2026-03-06", "2026-03-07", "2026-03-08"):
        at = datetime.fromisoformat(day + "T23:00:00+00:00")
        for stream in ("events", "rejected", "leads", "tombstones", "email_events"):
            _land(landing, stream, {"received_at": iso_ms(at.timestamp())}, at)
    cutoff_now = datetime(2026, 3, 7, 0, 0, tzinfo=UTC) + timedelta(days=1)  # 03-08 00:00
    expired = expire_landing(landing, 1, cutoff_now.timestamp())
    assert (expired.partitions, expired.files) == (6, 6)
    for stream in ("events", "rejected", "email_events"):
        assert sorted(p.name for p in (landing / stream).iterdir()) == [
            "dt=2026-03-07",
            "dt=2026-03-08",
        ]
    for stream in ("leads", "tombstones"):  # never expired
        assert len(list((landing / stream).iterdir())) == 4
