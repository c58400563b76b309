"""Re-send dead-lettered batches to the primary sink, each exactly once.

Per batch: claim it (a flock on a local file, a create-only claim object on GCS; a claim
dies with its holder, see ingest_function/sinks/dead_letter*.py), read it, write it to the
primary sink, then delete it. A crash between the write and the delete re-sends that one
batch on the next replay: harmless, because the `events` mart dedupes on event_id. A batch
the sink refuses is released untouched for a later replay; one that cannot be read is
quarantined with its reason and the rest go on.

Replayed rows get `received_at` = the replay time: it is the load-time watermark the
incremental models read, and an old value would fall behind it. `event_at` (the event's own
corrected time) is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ingest_function.sinks.base import BadDeadLetter, Batch, Sink
from ingest_function.sinks.delivery import make_dead_letter, make_primary
from oie.errors import EXIT_FAILED, UserError
from oie_core.landing import iso_ms
from oie_core.settings import Settings


@dataclass
class ReplayReport:
    batches: int = 0
    events: int = 0
    rejected: int = 0
    failed: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)  # "where: why"


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
            try:
                stored = dead_letter.read(item)
            except BadDeadLetter as exc:
                report.quarantined.append(f"{item.key}: {exc} (would be quarantined)")
                continue
            except FileNotFoundError:
                continue  # a concurrent replay sent it
            report.batches += 1
            report.events += len(stored.events)
            report.rejected += len(stored.rejected)
            continue
        if not dead_letter.claim(item):
            continue
        try:
            stored = dead_letter.read(item)
        except BadDeadLetter as exc:
            where = dead_letter.quarantine(item, str(exc))
            report.quarantined.append(f"{item.key}: {exc} (moved to {where})")
            continue
        except Exception:
            dead_letter.release(item)
            raise
        now = time.time()
        stamp = iso_ms(now)
        batch = Batch(
            events=[e | {"received_at": stamp} for e in stored.events],
            rejected=[r | {"received_at": stamp} for r in stored.rejected],
            received_at=now,
            tombstones=stored.tombstones,
            email_events=[e | {"received_at": stamp} for e in stored.email_events],
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
    except ImportError as exc:
        raise UserError(
            f"OIE_DEAD_LETTER={settings.dead_letter}: {exc.name or exc} is not installed "
            "(pip install 'outbound-intent-engine[bigquery]')",
            EXIT_FAILED,
        ) from None
    except Exception as exc:
        if not _is_google_error(exc):
            raise
        first_line = (str(exc).strip().splitlines() or [""])[0][:200]
        raise UserError(
            f"the dead-letter store {settings.dead_letter} failed: {type(exc).__name__}: "
            f"{first_line}",
            EXIT_FAILED,
        ) from None
    finally:
        primary.close()  # seals the landing files this replay wrote


def _is_google_error(exc: BaseException) -> bool:
    """Missing credentials or a refused GCS call: one line for the operator, no traceback."""
    module = type(exc).__module__
    return module.startswith(("google.auth", "google.api_core", "google.cloud"))
