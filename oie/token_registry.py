"""The token registry: every minted token, in a SQLite file at $OIE_DATA_DIR/tokens.sqlite."""

from __future__ import annotations

import sqlite3
from pathlib import Path


class TokenRegistry:
    """Every minted token, unique across campaigns: the collision rule's memory.

    `tokens(token PK, campaign_id, email, lead_id, row_hash, created_at)`, unique on
    (campaign_id, email). Re-imports find their lead here and keep its token.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # isolation_level=None: we issue BEGIN/COMMIT ourselves to span a whole import.
        self.db = sqlite3.connect(path, timeout=60, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        # Temp tables spill to disk: the per-import "seen" set may hold 10M emails.
        self.db.execute("PRAGMA temp_store=FILE")
        self.db.execute("PRAGMA cache_size=-65536")  # 64 MB page cache, the memory bound
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS tokens (
              token TEXT PRIMARY KEY,
              campaign_id TEXT NOT NULL,
              email TEXT NOT NULL,
              lead_id TEXT NOT NULL,
              row_hash TEXT NOT NULL,
              created_at TEXT NOT NULL,
              UNIQUE (campaign_id, email)
            );
            CREATE TABLE IF NOT EXISTS campaigns (
              campaign_id TEXT PRIMARY KEY,
              campaign_name TEXT NOT NULL,
              landing_url TEXT NOT NULL,
              tracking_base TEXT,
              created_at TEXT NOT NULL,
              updated_at TEXT NOT NULL
            );
            """
        )

    def close(self) -> None:
        self.db.close()

    def owner_of(self, token: str) -> str | None:
        row = self.db.execute(
            "SELECT campaign_id || '|' || email FROM tokens WHERE token = ?", (token,)
        ).fetchone()
        return row[0] if row else None

    def token_for(self, campaign_id: str, email: str) -> str | None:
        row = self.db.execute(
            "SELECT token FROM tokens WHERE campaign_id = ? AND email = ?", (campaign_id, email)
        ).fetchone()
        return row[0] if row else None

    def latest(self) -> tuple[str, str, str] | None:
        """(campaign_id, email, token) of the most recently created lead, if any."""
        row = self.db.execute(
            "SELECT campaign_id, email, token FROM tokens ORDER BY created_at DESC LIMIT 1"
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def leads(self, campaign_id: str | None, limit: int) -> list[tuple[str, str, str]]:
        """Up to `limit` (email, token, campaign_id), in a stable order (by lead_id)."""
        where, args = ("WHERE campaign_id = ?", [campaign_id]) if campaign_id else ("", [])
        return list(
            self.db.execute(
                f"SELECT email, token, campaign_id FROM tokens {where} ORDER BY lead_id LIMIT ?",
                [*args, limit],
            )
        )

    def campaign(self, campaign_id: str) -> dict[str, str] | None:
        cur = self.db.execute("SELECT * FROM campaigns WHERE campaign_id = ?", (campaign_id,))
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cur.description], row, strict=True))
