"""The local KV store behind `/personalize` (docs/contracts.md "Local KV"): SQLite opened
read-only per request, so the KV sync can rewrite it at any time."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

# What a page may show; anything else in the stored value (never an email or a score, but
# belt and braces) is dropped here too.
PUBLIC_FIELDS = ("first_name", "company", "engagement_level", "campaign_id", "updated_at")


def lookup(db_path: Path, visitor_id: str) -> dict[str, Any] | None:
    if not db_path.is_file():
        return None
    try:
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1.0)
        try:
            row = con.execute(
                "SELECT value, expires_at FROM kv WHERE key = ?", (f"v:{visitor_id}",)
            ).fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return None
    if row is None:
        return None
    value, expires_at = row
    if expires_at is not None and expires_at <= time.time():
        return None
    try:
        doc = json.loads(value)
    except (TypeError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("forwarded"):
        return None
    return {k: doc[k] for k in PUBLIC_FIELDS if k in doc}
