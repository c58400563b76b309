"""BigQuery erasures not finished yet, and their retry by every `oie run`.

The work waits in BigQuery itself, in `erasure_pending` of the private dataset
(`oie_private_dataset`, read by the pipeline's account only), because `oie forget` and the
scheduled `oie run` seldom share a machine or a data folder (docs/scheduling.md). One row
per piece of work, added and deleted whole by DML, so two runs never lose each other's:
- **refused**: tables whose DELETE BigQuery refused (streaming buffer, no permission). Their
  rows are all still there, so the DELETE is repeated as it was, from the person's needles
  kept in the row: the one place an identifier waits after a forget, and only until
  BigQuery takes the DELETE.
- **grace**: a window after each forget with the BigQuery sink. An ingest instance learns
  of new tombstones within minutes (oie_core/tombstones_bigquery.py); what it landed of
  the person meanwhile is found by the tombstones alone (no identifier kept): the raw
  event rows received since the forget are read, their ids hashed under the tombstone
  key, and the rows of those that match are deleted. The row goes once the window has
  passed and a pass has gone through.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from oie.forget.bigquery import BigQueryErasure, TableErasure
from oie.forget.files import Needles
from oie_core import tombstones as tb
from oie_core.settings import Settings
from oie_core.tombstones_bigquery import FORCED_RELOAD_S, BigQueryTombstones

# The last ingest instance reloads within the forced reload plus its refresh; with room.
GRACE_S = FORCED_RELOAD_S + 60.0 + 120.0
CLOCK_ROOM_S = 300.0  # the ingest function's clock against this one's


@dataclass
class RetryReport:
    rows: int = 0
    pending: list[TableErasure] = field(default_factory=list)  # refused again

    def summary(self) -> str:
        parts = []
        if self.rows:
            parts.append(f"{self.rows} row(s) of forgotten people deleted from BigQuery")
        if self.pending:
            reasons = sorted({p.pending or "" for p in self.pending})
            parts.append(
                f"BigQuery erasure still pending in {len(self.pending)} table(s) "
                f"({', '.join(reasons)})"
            )
        return ", ".join(parts)


def register(
    settings: Settings,
    erasure: BigQueryErasure,
    needles: Needles,
    refused: list[TableErasure],
    now: float,
) -> None:
    """Keep the tables BigQuery refused (with the needles to repeat the DELETE) and, with
    the BigQuery sink, a grace window on the raw event tables."""
    detail: dict[str, Any]
    if refused:
        detail = {
            "kind": "refused",
            "tables": sorted({r.table for r in refused}),
            "folded": [n.decode() for n in needles.folded],
            "exact": [n.decode() for n in needles.exact],
        }
        erasure.add_pending(uuid.uuid4().hex, detail)
    if BigQueryTombstones.for_settings(settings) is not None:
        detail = {
            "kind": "grace",
            "since": now,
            "until": now + GRACE_S,
            "dataset": settings.bq_dataset,
            "events": settings.bq_table,
            "rejected": settings.bq_rejected_table,
        }
        erasure.add_pending(uuid.uuid4().hex, detail)


def retry(settings: Settings, erasure: BigQueryErasure, now: float | None = None) -> RetryReport:
    """Repeat the refused erasures and the grace passes; drop the rows whose work is done."""
    report = RetryReport()
    entries = erasure.pending()
    if not entries:
        return report
    now = time.time() if now is None else now
    done: list[str] = []
    for entry_id, detail in entries:
        if detail.get("kind") == "refused":
            needles = Needles(
                [s.encode() for s in detail["folded"]], [s.encode() for s in detail["exact"]]
            )
            again = _erase(erasure, needles, set(detail["tables"]), report)
            if again and again != detail["tables"]:
                erasure.add_pending(uuid.uuid4().hex, {**detail, "tables": again})
            if again != detail["tables"]:
                done.append(entry_id)
        elif detail.get("kind") == "grace":
            again = _grace_pass(settings, erasure, detail, report)
            if not again and now > float(detail["until"]):
                done.append(entry_id)
    erasure.drop_pending(done)
    return report


def _erase(
    erasure: BigQueryErasure, needles: Needles, tables: set[str], report: RetryReport
) -> list[str]:
    """The tables still refused."""
    results = erasure.erase(needles, dry_run=False, only=tables)
    refused = [r for r in results if r.pending]
    report.rows += sum(r.rows for r in results if not r.pending)
    report.pending += refused
    return sorted({r.table for r in refused})


def _grace_pass(
    settings: Settings, erasure: BigQueryErasure, detail: dict, report: RetryReport
) -> list[str]:
    """Rows received since the forget whose visitor or token is tombstoned go."""
    dataset = str(detail["dataset"])
    stones = BigQueryTombstones(erasure.dataset.project, dataset, settings.bq_endpoint).load()
    if not len(stones):
        return []
    key = settings.tombstone_key()
    since = _iso(float(detail["since"]) - CLOCK_ROOM_S)
    streams = {str(detail["events"]): "events", str(detail["rejected"]): "rejected"}
    matched: set[str] = set()
    for table, stream in streams.items():
        for record in erasure.received_since(dataset, table, since):
            for kind, value in tb.identifiers_of(stream, record):
                if stones.holds(kind, key.hash(kind, value)):
                    matched.add(value)
    if not matched:
        return []
    tables = {f"{dataset}.{table}" for table in streams}
    return _erase(erasure, Needles([], sorted(v.encode() for v in matched)), tables, report)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()
