"""Re-send dead-lettered batches to the primary sink, each exactly once.

Per batch: claim it (a local file is renamed `.replaying`, so two replays never send the
same batch), write it to the primary sink, then delete it. A crash between the write and
the delete re-sends that one batch on the next replay: harmless, because the `events` mart
dedupes on event_id. A batch the sink refuses is released untouched for a later replay.

Replayed rows get `received_at` = the replay time: it is the load-time watermark the
incremental models read, and an old value would fall behind it. `event_at` (the event's own
corrected time) is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ingest_function.sinks.base import Batch, Sink
from ingest_function.sinks.delivery import make_dead_letter, make_primary
from oie.errors import UserError
from oie_core.landing import iso_ms
from oie_core.settings import Settings


@dataclass
class ReplayReport:
    batches: int = 0
    events: int = 0
    rejected: int = 0
    failed: list[str] = field(default_factory=list)


def replay(
    primary: Sink,
    dead_letter: Any,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    dry_run: bool = False,
) -> ReplayReport:
    report = ReplayReport()
    for item in dead_letter.items():
        if limit is not None and report.batches >= limit:
            break
        if dry_run:
            report.batches += 1
            report.events += len(item.batch.events)
            report.rejected += len(item.batch.rejected)
            continue
        if not dead_letter.claim(item):
            continue
        now = time.time()
        stamp = iso_ms(now)
        batch = Batch(
            events=[e | {"received_at": stamp} for e in item.batch.events],
            rejected=[r | {"received_at": stamp} for r in item.batch.rejected],
            received_at=now,
        )
        try:
            primary.write(batch)
        except Exception as exc:
            dead_letter.release(item)
            report.failed.append(f"{item.key}: {type(exc).__name__}: {exc}"[:300])
            continue
        dead_letter.remove(item)
        report.batches += 1
        report.events += len(batch.events)
        report.rejected += len(batch.rejected)
        if progress:
            progress(report.batches, report.events)
    return report


def replay_dead_letters(
    settings: Settings, *, limit: int | None = None, dry_run: bool = False
) -> tuple[ReplayReport, str]:
    """`oie replay`: the configured dead-letter store into the configured primary sink.
    Returns the report and the sink's name. OIE_FAULT is for the test server only: a replay
    always uses the real stores."""
    dead_letter = make_dead_letter(settings, with_faults=False)
    if dead_letter is None:
        raise UserError("OIE_DEAD_LETTER is not set: nothing to replay from")
    primary = make_primary(settings, with_faults=False)
    try:
        return replay(primary, dead_letter, limit=limit, dry_run=dry_run), primary.name
    finally:
        primary.close()  # seals the landing files this replay wrote
