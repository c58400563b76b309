"""The interface every store implements, the batch they take, and their errors.

Sink.write(batch)              raise on failure; return only when the batch is durable
Sink.health()                  {"name", "ok", ...} for /health
Sink.close()                   flush/seal (process exit, end of `oie replay`)
DeadLetter.write(batch, reason)   store a batch the sink refused, whole
DeadLetter.items()                what is stored (keys only; nothing is read yet)
DeadLetter.claim(item)            True when this process now owns the item; a claim dies
                                  with its holder, so a killed replay never strands a batch
DeadLetter.read(item)             the Batch, or raise BadDeadLetter (then quarantine it)
DeadLetter.remove/.release/.quarantine(item[, reason]), .health()
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from oie_core.landing import iso_ms


class SinkError(RuntimeError):
    """The store did not take the batch (refused, failed or timed out)."""


class SinkTimeout(SinkError):
    pass


class Unavailable(RuntimeError):
    """Neither the sink nor the dead-letter store took the batch: answer 503."""


@dataclass
class Batch:
    events: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    received_at: float = field(default_factory=time.time)
    # Forgotten identifiers' keyed hashes (POST /optout; oie_core/tombstones.py).
    tombstones: list[dict[str, Any]] = field(default_factory=list)
    # Sequencer webhook events (POST /webhooks/*; ingest_function/email_events.py).
    email_events: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        doc = {
            "version": 1,
            "received_at": iso_ms(self.received_at),
            "events": self.events,
            "rejected": self.rejected,
        }
        if self.tombstones:
            doc["tombstones"] = self.tombstones
        if self.email_events:
            doc["email_events"] = self.email_events
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Batch:
        """The inverse of to_json (a dead-letter file read back for replay)."""
        received = datetime.fromisoformat(doc["received_at"].replace("Z", "+00:00")).timestamp()
        return cls(
            events=doc.get("events") or [],
            rejected=doc.get("rejected") or [],
            received_at=received,
            tombstones=doc.get("tombstones") or [],
            email_events=doc.get("email_events") or [],
        )


class BadDeadLetter(ValueError):
    """A stored dead letter that cannot be replayed as it is; str() is the reason."""


def parse_dead_letter(raw: bytes) -> Batch:
    """A dead-letter document back into its Batch, or BadDeadLetter saying what is wrong.
    The server writes them whole (temp file + rename, or a create-only upload), so a bad
    one was damaged or put there by something else: it must not block the others."""
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadDeadLetter(f"not JSON ({str(exc)[:80]})") from None
    if not isinstance(doc, dict):
        raise BadDeadLetter("not a JSON object")
    for name in ("events", "rejected", "tombstones", "email_events"):
        rows = doc.get(name) or []
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise BadDeadLetter(f'"{name}" is not a list of objects')
    try:
        return Batch.from_json(doc)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        detail = "missing" if isinstance(exc, KeyError) else f"{str(exc)[:80]}"
        raise BadDeadLetter(f'bad "received_at" ({detail})') from None


class Sink(Protocol):
    name: str

    def write(self, batch: Batch) -> None: ...

    def health(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


@dataclass
class DeadLetterItem:
    key: str  # a path, or `name#generation` on GCS


class DeadLetter(Protocol):
    name: str

    def write(self, batch: Batch, reason: str) -> None: ...

    def items(self) -> Iterator[DeadLetterItem]: ...

    def claim(self, item: DeadLetterItem) -> bool: ...

    def read(self, item: DeadLetterItem) -> Batch: ...

    def remove(self, item: DeadLetterItem) -> None: ...

    def release(self, item: DeadLetterItem) -> None: ...

    def quarantine(self, item: DeadLetterItem, reason: str) -> str: ...

    # Erasure (`oie forget`): a batch's bytes, rewritten whole under a claim, and the
    # quarantined files, which cannot be parsed and so go whole.
    def raw(self, item: DeadLetterItem) -> bytes: ...

    def rewrite(self, item: DeadLetterItem, data: bytes) -> None: ...

    def quarantined(self) -> Iterator[DeadLetterItem]: ...

    def drop_quarantined(self, item: DeadLetterItem) -> None: ...

    def health(self) -> dict[str, Any]: ...


def folder_health(folder: Path) -> tuple[bool, dict[str, Any]]:
    """Writable, with more than 10 MB free: the health of every store kept in a folder.
    A folder not made yet is judged by its nearest existing parent (made on first write)."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    ok = os.access(probe, os.W_OK)
    try:
        free_mb = shutil.disk_usage(probe).free // (1024 * 1024)
    except OSError:
        return False, {"free_mb": None}
    return ok and free_mb > 10, {"free_mb": free_mb}
