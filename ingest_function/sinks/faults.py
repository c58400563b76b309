"""Fault injection for tests (OIE_FAULT): wrappers that make a store fail on purpose.

`-next-N` faults count in a file under OIE_DATA_DIR so every gunicorn worker shares one
budget; the real store is untouched when a fault fires.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest_function.sinks.base import (
    Batch,
    DeadLetter,
    DeadLetterItem,
    Sink,
    SinkError,
    SinkTimeout,
)
from oie_core.settings import Fault


class FaultCounter:
    """One budget per fault clause, shared by processes (flock serialises the
    read-increment-write)."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / "faults"

    def take(self, fault: Fault) -> bool:
        if fault.count is None:
            return True
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / (re.sub(r"[^a-z0-9-]", "_", fault.spec) + ".used")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.read(fd, 32).strip()
            used = int(raw) if raw else 0
            if used >= fault.count:
                return False
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, str(used + 1).encode())
            return True
        finally:
            os.close(fd)


def fire(faults: tuple[Fault, ...], counter: FaultCounter, timeout_s: float) -> None:
    for fault in faults:
        if not counter.take(fault):
            continue
        if fault.kind == "503":
            raise SinkError(f"injected fault {fault.spec}: store refused (503)")
        if fault.kind == "timeout":
            time.sleep(timeout_s)
            raise SinkTimeout(f"injected fault {fault.spec}: store timed out")
        if fault.kind == "enospc":  # a full disk, where the machine cannot mount a small one
            raise OSError(errno.ENOSPC, f"injected fault {fault.spec}: No space left on device")
        raise RuntimeError(f"injected fault {fault.spec}")


class FaultySink:
    """Wraps the primary sink; fails the way OIE_FAULT says before touching the store."""

    def __init__(
        self, inner: Sink, faults: tuple[Fault, ...], counter: FaultCounter, timeout_s: float
    ) -> None:
        self.inner, self.faults, self.counter, self.timeout_s = inner, faults, counter, timeout_s
        self.name = inner.name

    def write(self, batch: Batch) -> None:
        fire(self.faults, self.counter, self.timeout_s)
        self.inner.write(batch)

    def health(self) -> dict[str, Any]:
        return self.inner.health() | {"faults": [f.spec for f in self.faults]}

    def close(self) -> None:
        self.inner.close()


class FaultyDeadLetter:
    """Wraps a dead-letter store: writes fail the way OIE_FAULT says; the rest passes on."""

    def __init__(
        self,
        inner: DeadLetter,
        faults: tuple[Fault, ...],
        counter: FaultCounter,
        timeout_s: float,
    ) -> None:
        self.inner, self.faults, self.counter, self.timeout_s = inner, faults, counter, timeout_s
        self.name = inner.name

    def write(self, batch: Batch, reason: str) -> None:
        fire(self.faults, self.counter, self.timeout_s)
        self.inner.write(batch, reason)

    def items(self) -> Iterator[DeadLetterItem]:
        return self.inner.items()

    def claim(self, item: DeadLetterItem) -> bool:
        return self.inner.claim(item)

    def read(self, item: DeadLetterItem) -> Batch:
        return self.inner.read(item)

    def remove(self, item: DeadLetterItem) -> None:
        self.inner.remove(item)

    def quarantine(self, item: DeadLetterItem, reason: str) -> str:
        return self.inner.quarantine(item, reason)

    def raw(self, item: DeadLetterItem) -> bytes:
        return self.inner.raw(item)

    def rewrite(self, item: DeadLetterItem, data: bytes) -> None:
        self.inner.rewrite(item, data)

    def quarantined(self) -> Iterator[DeadLetterItem]:
        return self.inner.quarantined()

    def drop_quarantined(self, item: DeadLetterItem) -> None:
        self.inner.drop_quarantined(item)

    def release(self, item: DeadLetterItem) -> None:
        self.inner.release(item)

    def health(self) -> dict[str, Any]:
        return self.inner.health()
