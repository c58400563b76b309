"""The interface every store implements, the batch they take, and their errors.

Sink.write(batch)              raise on failure; return only when the batch is durable
Sink.health()                  {"name", "ok", ...} for /health
Sink.close()                   flush/seal (process exit, end of `oie replay`)
DeadLetter.write(batch, reason), .items(), .claim(), .remove(), .release(), .health()
"""

from __future__ import annotations

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

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "received_at": iso_ms(self.received_at),
            "events": self.events,
            "rejected": self.rejected,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Batch:
        """The inverse of to_json (a dead-letter file read back for replay)."""
        received = datetime.fromisoformat(doc["received_at"].replace("Z", "+00:00")).timestamp()
        return cls(
            events=doc.get("events") or [],
            rejected=doc.get("rejected") or [],
            received_at=received,
        )


class Sink(Protocol):
    name: str

    def write(self, batch: Batch) -> None: ...

    def health(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


@dataclass
class DeadLetterItem:
    key: str
    batch: Batch


class DeadLetter(Protocol):
    name: str

    def write(self, batch: Batch, reason: str) -> None: ...

    def items(self) -> Iterator[DeadLetterItem]: ...

    def claim(self, item: DeadLetterItem) -> bool: ...

    def remove(self, item: DeadLetterItem) -> None: ...

    def release(self, item: DeadLetterItem) -> None: ...

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
