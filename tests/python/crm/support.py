"""Shared parts of the CRM sync tests: a warehouse whose `crm_contacts` the test writes
directly (real DuckDB, shaped as the dbt mart builds it: key, value, hash, crm_status),
settings pointing the sync at the HubSpot stand-in, and urllib3's retry sleeps recorded
instead of slept."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from oie_core.settings import Settings
from tests.python.helpers.hubspot_standin import HubSpotStandin

SECRET = "crm-test-secret-0123456789abcdef"
TABLE = "crm_sync_state"


@dataclass(frozen=True)
class Lead:
    """One crm_contacts row: the properties its value holds (None: JSON null, as the mart
    writes a value the lead has none of) and its crm_status."""

    properties: dict[str, str | None]
    status: str = "eligible"

    @property
    def value(self) -> str:
        return json.dumps(self.properties, separators=(",", ":"))


def lead(i: int, level: str = "warm", score: int = 42, status: str = "eligible") -> Lead:
    return Lead(
        {
            "oie_intent_score": str(score),
            "oie_engagement_level": level,
            "oie_score_components": f"recency 30, frequency {i % 10}, engagement 12.5",
            "oie_pages_seen": "/pricing, /features",
            "oie_campaign": "Q4 CFO outreach",
            "oie_last_visit_at": "2026-11-30T10:00:00.000Z",
        },
        status,
    )


def email(i: int) -> str:
    return f"lead{i:05d}@example.com"


def leads(n: int, start: int = 0, **kwargs: Any) -> dict[str, Lead]:
    return {email(i): lead(i, **kwargs) for i in range(start, start + n)}


def write_crm_contacts(data_dir: Path, rows: Mapping[str, Lead]) -> None:
    """Replace the warehouse's crm_contacts with these rows, hashed as the mart hashes them
    (md5 of the value)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    try:
        con.execute(
            "create or replace table crm_contacts "
            '(key varchar, value varchar, "hash" varchar, crm_status varchar)'
        )
        con.execute(
            "insert into crm_contacts select k, v, md5(v), s from "
            "(select unnest($k) as k, unnest($v) as v, unnest($s) as s)",
            {
                "k": list(rows),
                "v": [r.value for r in rows.values()],
                "s": [r.status for r in rows.values()],
            },
        )
    finally:
        con.close()


def state_rows(data_dir: Path) -> dict[str, tuple[Any, ...]]:
    """crm_sync_state as {key: (destination, hash, pushed_at epoch)}; {} when it is absent."""
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        if not has_state(con):
            return {}
        rows = con.execute(
            f'select key, destination, "hash", epoch(pushed_at) from {TABLE}'
        ).fetchall()
    finally:
        con.close()
    return {r[0]: tuple(r[1:]) for r in rows}


def has_state(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "select count(*) from information_schema.tables where table_name = ?", [TABLE]
    ).fetchone()
    return bool(found and found[0])


def state_exists(data_dir: Path) -> bool:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return has_state(con)
    finally:
        con.close()


def hubspot_env(data_dir: Path, hs: HubSpotStandin, **extra: str) -> dict[str, str]:
    return {
        "OIE_DATA_DIR": str(data_dir),
        "OIE_TOKEN_SECRET": SECRET,
        "OIE_HUBSPOT_TOKEN": hs.token,
        "OIE_HUBSPOT_BASE_URL": hs.base_url,
        **extra,
    }


def settings_for(env: Mapping[str, str]) -> Settings:
    return Settings.from_env(dict(env))


@dataclass
class RetrySleeps:
    """urllib3's Retry sleeps (Retry-After or backoff), recorded and not slept: the retry
    tests stay fast and say what the client waited without reading a clock."""

    slept: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def time(self) -> float:
        return time.time()
