"""Which stores the settings name, and the delivery rule.

`deliver()` tries the primary sink (local landing files or BigQuery); when it refuses, the
dead-letter store (folder or gs://bucket/prefix) takes the whole batch. The caller answers
2xx only when one of them returned; otherwise 503 and the pixel retries.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ingest_function.sinks.base import Batch, DeadLetter, Sink, Unavailable
from ingest_function.sinks.bigquery import BigQuerySink
from ingest_function.sinks.dead_letter import FolderDeadLetter
from ingest_function.sinks.dead_letter_gcs import GcsDeadLetter
from ingest_function.sinks.faults import FaultCounter, FaultyDeadLetter, FaultySink
from ingest_function.sinks.landing import LocalSink
from oie_core.settings import Settings

log = logging.getLogger("oie.ingest")


def make_primary(settings: Settings, *, with_faults: bool = True) -> Sink:
    sink: Sink
    if settings.sink == "bigquery":
        sink = BigQuerySink.from_settings(settings)
    else:
        sink = LocalSink(
            settings.landing_dir, settings.landing_max_bytes, settings.landing_max_age_s
        )
    faults = settings.faults_for("sink")
    if with_faults and faults:
        sink = FaultySink(sink, faults, FaultCounter(settings.data_dir), settings.sink_timeout_s)
    return sink


def make_dead_letter(settings: Settings, *, with_faults: bool = True) -> DeadLetter | None:
    if not settings.dead_letter:
        return None
    store: DeadLetter
    if settings.dead_letter.startswith("gs://"):
        store = GcsDeadLetter(
            settings.dead_letter, settings.sink_timeout_s, settings.replay_claim_ttl_s
        )
    else:
        store = FolderDeadLetter(Path(settings.dead_letter).expanduser().resolve())
    faults = settings.faults_for("deadletter")
    if with_faults and faults:
        store = FaultyDeadLetter(
            store, faults, FaultCounter(settings.data_dir), settings.sink_timeout_s
        )
    return store


def deliver(primary: Sink, dead_letter: DeadLetter | None, batch: Batch) -> str:
    """'sink' or 'dead_letter' (both durable), else raise Unavailable."""
    try:
        primary.write(batch)
        return "sink"
    except Exception as exc:  # any failure of the store: try the dead letter
        log.warning("primary sink %s failed: %s", primary.name, _short(exc))
        reason = f"sink_failed: {_short(exc)}"
    if dead_letter is None:
        raise Unavailable("sink failed and no dead-letter store is configured")
    try:
        dead_letter.write(batch, reason)
    except Exception as exc:
        log.error("dead-letter store %s failed too: %s", dead_letter.name, _short(exc))
        raise Unavailable("sink and dead-letter store both failed") from None
    return "dead_letter"


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]
