"""The local KV store behind `/personalize` (docs/contracts.md "Local KV"): SQLite opened
read-only per request, so the KV sync can rewrite it at any time.

The table is declared here once: the sync's writer (kv_sync/local.py) creates it from
`SCHEMA`, and this reader relies on nothing but `key`, `value` and `expires_at`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FILE_NAME = "kv.sqlite"
TABLE = "kv"
# `metadata` is the JSON the sync stores beside each value (`{"h": <hash>}`), as Workers KV
# does, so `oie sync --reconcile` can rebuild its state from the store itself.
SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    "key TEXT PRIMARY KEY, value TEXT, expires_at INTEGER NULL, metadata TEXT NULL)"
)
COLUMNS = ("key", "value", "expires_at", "metadata")

# What a page may show; anything else in the stored value (never an email or a score, but
# belt and braces) is dropped here too.
PUBLIC_FIELDS = ("first_name", "company", "engagement_level", "campaign_id", "updated_at")


def visitor_key(visitor_id: str) -> str:
    return f"v:{visitor_id}"


def token_key(token: str) -> str:
    return f"t:{token}"


def lookup(db_path: Path, keys: Sequence[str]) -> dict[str, Any] | None:
    """The public fields under the first of `keys` that holds a live profile (the visitor's
    own key first, then the email token's: the token covers a first visit)."""
    if not keys or not db_path.is_file():
        return None
    try:
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1.0)
        try:
            rows = [
                con.execute(
                    f"SELECT value, expires_at FROM {TABLE} WHERE key = ?", (key,)
                ).fetchone()
                for key in keys
            ]
        finally:
            con.close()
    except sqlite3.Error:
        return None
    now = time.time()
    for row in rows:
        profile = _public(row, now)
        if profile is not None:
            return profile
    return None


def _public(row: tuple[Any, Any] | None, now: float) -> dict[str, Any] | None:
    if row is None:
        return None
    value, expires_at = row
    if expires_at is not None and expires_at <= now:
        return None
    try:
        doc = json.loads(value)
    except (TypeError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("forwarded"):
        return None
    return {k: doc[k] for k in PUBLIC_FIELDS if k in doc}
