"""Retention of the local landing folder (docs/privacy.md "Retention"): the behavioural
streams (`events`, `rejected`) keep `oie_raw_retention_days` of day partitions; older
`dt=` folders are removed whole. Lead lists and tombstones are never expired: a lead list
is the customer's own record, and a tombstone must outlive everything it suppresses. On
BigQuery the same period is the raw tables' `partition_expiration_days`.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from oie_core.raw_schema import RAW_TABLES

EXPIRING_STREAMS = tuple(t.stream for t in RAW_TABLES if t.expires)


@dataclass
class Expired:
    partitions: int = 0
    files: int = 0


def expire_landing(landing_dir: Path, days: int, now: float | None = None) -> Expired:
    """Remove the day partitions of the expiring streams that ended more than `days` days
    before `now`: `dt=D` goes once all of D is older than the period (D + 1 day <= cutoff)."""
    if days <= 0:
        raise ValueError("oie_raw_retention_days must be at least 1")
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    cutoff = moment - timedelta(days=days)
    expired = Expired()
    for stream in EXPIRING_STREAMS:
        folder = Path(landing_dir) / stream
        if not folder.is_dir():
            continue
        for part in sorted(folder.glob("dt=*")):
            try:
                day = datetime.strptime(part.name[3:], "%Y-%m-%d").replace(tzinfo=UTC)
            except ValueError:
                continue  # not ours: leave it
            if day + timedelta(days=1) <= cutoff:
                expired.files += sum(1 for p in part.rglob("*") if p.is_file())
                shutil.rmtree(part)
                expired.partitions += 1
    return expired
