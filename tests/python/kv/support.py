"""Shared parts of the KV sync tests: a clock that never sleeps for real, a warehouse whose
`edge_profiles` the test writes directly (real DuckDB; the dbt model itself is built in
test_e2e.py), and settings pointing the sync at the Cloudflare stand-in."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from oie_core.settings import Settings
from tests.python.helpers.cf_standin import CloudflareStandin

SECRET = "kv-test-secret-0123456789abcdef"
START = 1_800_000_000.0  # 2027-01-15: a fixed "now" for every clocked test
DAY = 86400.0


@dataclass
class FakeClock:
    """Wall and monotonic time that move only when someone sleeps (or the test says so);
    every sleep is recorded. Shared with the stand-in, whose blocks and expiries follow it."""

    t: float = START
    sleeps: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return self.t

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.t += seconds

    def advance(self, seconds: float) -> None:
        self.t += seconds


def profile(i: int, level: str = "warm", name: str | None = None) -> str:
    """A value as edge_profiles builds it (JSON text of what a page may show)."""
    return json.dumps(
        {
            "first_name": name or f"Lead{i}",
            "company": f"Company {i}",
            "engagement_level": level,
            "campaign_id": "spring-launch",
        },
        separators=(",", ":"),
    )


def lead_rows(n: int, start: int = 0) -> dict[str, str]:
    """n leads, each with a visitor key and a token key: 2n keys."""
    rows = {}
    for i in range(start, start + n):
        rows[f"v:visitor-{i:06d}"] = profile(i)
        rows[f"t:Tk{i:09d}"] = profile(i)
    return rows


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def write_edge_profiles(data_dir: Path, rows: Mapping[str, str]) -> None:
    """Replace the warehouse's edge_profiles with these (key -> value) rows, hashed as the
    model hashes (md5 of the value)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    try:
        con.execute(
            'create or replace table edge_profiles (key varchar, value varchar, "hash" varchar)'
        )
        keys, values = list(rows), list(rows.values())
        con.execute(
            "insert into edge_profiles select k, v, md5(v) "
            "from (select unnest($k) as k, unnest($v) as v)",
            {"k": keys, "v": values},
        )
    finally:
        con.close()


def state_rows(data_dir: Path, store: str | None = None) -> dict[str, tuple[Any, ...]]:
    """kv_sync_state as {key: (store, hash, expires_at epoch, pushed_at epoch)}."""
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute(
            'select key, store, "hash", epoch(expires_at), epoch(pushed_at) from kv_sync_state'
            + (" where store = ?" if store else ""),
            [store] if store else [],
        ).fetchall()
    finally:
        con.close()
    return {r[0]: tuple(r[1:]) for r in rows}


def drop_state(data_dir: Path) -> None:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    try:
        con.execute("drop table kv_sync_state")
    finally:
        con.close()


def cloudflare_env(data_dir: Path, cf: CloudflareStandin, **extra: str) -> dict[str, str]:
    return {
        "OIE_DATA_DIR": str(data_dir),
        "OIE_TOKEN_SECRET": SECRET,
        "OIE_KV": "cloudflare",
        "CLOUDFLARE_API_TOKEN": cf.token,
        "CLOUDFLARE_ACCOUNT_ID": cf.account,
        "OIE_KV_NAMESPACE_ID": cf.namespace,
        "CLOUDFLARE_BASE_URL": cf.base_url,
        **extra,
    }


def settings_for(env: Mapping[str, str]) -> Settings:
    return Settings.from_env(dict(env))


def keys_of(calls: Iterable[Any], what: str = "bulk") -> list[list[str]]:
    return [c.keys for c in calls if c.what == what]
