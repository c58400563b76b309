"""The labelled warehouse scenario: hand-written raw input (scenario/*.csv) turned into
landing files batch by batch, and marts compared with hand-written expected CSVs."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import yaml

from oie_core.iporg import RAW_FIELDS

SCENARIO = Path(__file__).parent / "scenario"
AS_OF = "2026-03-10T12:00:00"
DEFAULT_UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36"
)
BATCHES = (1, 2, 3, 4)
NETWORK_FIELDS = RAW_FIELDS  # what a network database fills (oie_core/iporg.py)


def pinned_vars(as_of: str = AS_OF) -> dict[str, Any]:
    """Every var the expectations rely on (scenario/vars.yml) plus the scoring clock."""
    pinned = yaml.safe_load((SCENARIO / "vars.yml").read_text())
    return {**pinned, "oie_as_of": as_of}


def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _iso(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def _partition(moment: datetime) -> str:
    return moment.strftime("dt=%Y-%m-%d/hr=%H")


def landing_event(
    event_id: str,
    kind: str,
    event_at: datetime,
    received: datetime,
    *,
    visitor: str | None,
    token: str | None,
    url: str | None,
    data: dict[str, Any],
    ip: str = "198.51.100.0",
    user_agent: str = DEFAULT_UA,
    ts_offset_ms: int = 0,
    network: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    """One landing line (docs/contracts.md) as the collector would have written it;
    `network` holds the fields a network database gave (asn, as_org, ip_org, ...)."""
    ts = int(event_at.timestamp() * 1000) + ts_offset_ms
    return {
        "event_id": event_id,
        "type": kind,
        "ts": ts,
        "sent_at": ts + int((received - event_at).total_seconds() * 1000),
        "received_at": _iso(received),
        "event_at": _iso(event_at),
        "visitor_id": visitor,
        "client_visitor_id": None,
        "client_session_id": f"client-{visitor}" if visitor else None,
        "token": token,
        "token_valid": True if token else None,
        "url": url,
        "referrer": None,
        "data": data,
        "pixel_version": "1.0.0",
        "ip": ip,
        "user_agent": user_agent,
        "device": "desktop",
        "browser": "Chrome",
        "os": "Mac OS X",
        "is_bot": False,
        "country": "US",
        "region": None,
        "city": None,
        **dict.fromkeys(NETWORK_FIELDS),
        **(network or {}),
    }


def event_records() -> dict[int, list[tuple[datetime, dict[str, Any]]]]:
    """Scenario rows as landing lines (docs/contracts.md), grouped by arrival batch."""
    batches: dict[int, list[tuple[datetime, dict[str, Any]]]] = defaultdict(list)
    with (SCENARIO / "events.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            event_at = _parse(row["event_at"])
            received = (
                _parse(row["received_at"])
                if row["received_at"]
                else event_at + timedelta(seconds=2)
            )
            record = landing_event(
                row["event_id"],
                row["type"],
                event_at,
                received,
                visitor=row["visitor_id"] or None,
                token=row["token"] or None,
                url=row["url"] or None,
                data=json.loads(row["data"]),
                ip=row["ip"] or "198.51.100.0",
                user_agent=row["user_agent"] or DEFAULT_UA,
                ts_offset_ms=int(row["ts_offset_ms"] or 0),
            )
            batches[int(row["batch"])].append((received, record))
    return batches


def lead_records() -> dict[int, list[dict[str, Any]]]:
    batches: dict[int, list[dict[str, Any]]] = defaultdict(list)
    from oie_core.hashing import email_sha256

    with (SCENARIO / "leads.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            batch = int(row.pop("batch"))
            row_out: dict[str, Any] = dict(row)
            row_out["email_sha256"] = email_sha256(row["email"])
            row_out["attributes"] = {"scenario": True}
            batches[batch].append(row_out)
    return batches


def _write(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, separators=(",", ":")) + "\n")


def land_batch(landing: Path, batch: int) -> None:
    """Write one arrival batch as sealed landing files (one file per partition per batch)."""
    by_partition: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for received, record in event_records().get(batch, []):
        by_partition[_partition(received)].append(record)
    for partition, records in by_partition.items():
        _write(landing / "events" / partition / f"scenario-batch{batch}.ndjson", records)
    leads = lead_records().get(batch, [])
    if leads:
        _write(
            landing / "leads" / "dt=2026-03-01" / "hr=00" / f"scenario-batch{batch}.ndjson", leads
        )
    if batch == 1:
        rejected = (SCENARIO / "rejected.ndjson").read_text()
        target = landing / "rejected" / "dt=2026-03-10" / "hr=09" / "scenario.ndjson"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(rejected)


def _normalize(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{round(value, 4):g}"
    return str(value)


def _normalize_expected(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return value
    if value.lower() in {"nan", "inf", "infinity"}:
        return value
    return f"{round(number, 4):g}"


def expected(name: str) -> tuple[list[str], list[tuple[str, ...]]]:
    return expected_in(SCENARIO / "expected", name)


def expected_in(folder: Path, name: str) -> tuple[list[str], list[tuple[str, ...]]]:
    """A hand-written expected CSV: its header and its rows, sorted and normalized."""
    with (folder / f"{name}.csv").open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = sorted(tuple(_normalize_expected(v) for v in row) for row in reader)
    return header, rows


def actual(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[str, ...]]:
    return sorted(tuple(_normalize(v) for v in row) for row in con.execute(sql).fetchall())


MART_QUERIES = {
    "sessions": "select {cols} from sessions",
    "lead_profiles": "select {cols} from lead_profiles",
    "identity_map": "select {cols} from identity_map",
    "campaign_performance": "select {cols} from campaign_performance",
    "email_clicks": "select {cols} from email_clicks",
    "rejected_events": "select {cols} from rejected_events",
    "events": (
        "select e.event_id, coalesce(e.visitor_id, ''), s.started_at, e.lead_id "
        "from events e left join sessions s on e.session_id = s.session_id"
    ),
    "intent_distribution": "select {cols} from intent_distribution",
    "recent_sessions": "select {cols} from recent_sessions",
    "edge_profiles": (
        "select key, json_extract_string(value, '$.first_name'), "
        "json_extract_string(value, '$.company'), "
        "json_extract_string(value, '$.engagement_level'), "
        "json_extract_string(value, '$.campaign_id') from edge_profiles"
    ),
}


def compare_marts(
    warehouse: Path,
) -> dict[str, tuple[list[tuple[str, ...]], list[tuple[str, ...]]]]:
    """Every mart vs its expected CSV; returns {mart: (missing, unexpected)} for mismatches."""
    mismatches = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for mart, template in MART_QUERIES.items():
            header, want = expected(mart)
            got = actual(con, template.format(cols=", ".join(header)))
            if got != want:
                missing = [r for r in want if r not in got]
                unexpected = [r for r in got if r not in want]
                mismatches[mart] = (missing, unexpected)
    return mismatches
