"""Sealed landing files written in bulk: lines buffered per (stream, hour partition)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson

from oie_core.landing import partition_of


class SealedFiles:
    """Buffers lines per (stream, partition) and writes sealed files in bounded chunks."""

    def __init__(self, landing_dir: Path, prefix: str, chunk_lines: int = 200_000) -> None:
        self.landing_dir = landing_dir
        self.prefix = prefix
        self.chunk_lines = chunk_lines
        self.buffers: dict[tuple[str, str], list[bytes]] = defaultdict(list)
        self.buffered = 0
        self.files = 0
        self.lines: dict[str, int] = defaultdict(int)

    def add(self, stream: str, received_epoch_s: float, record: dict[str, Any]) -> None:
        self.buffers[(stream, partition_of(received_epoch_s))].append(
            orjson.dumps(record)  # generated records hold nothing orjson refuses
        )
        self.buffered += 1
        self.lines[stream] += 1
        if self.buffered >= self.chunk_lines:
            self.flush()

    def flush(self) -> None:
        for (stream, partition), lines in self.buffers.items():
            folder = self.landing_dir / stream / partition
            folder.mkdir(parents=True, exist_ok=True)
            name = f"{self.prefix}-{uuid.uuid4().hex[:12]}.ndjson"
            tmp = folder / (name + ".tmp")
            tmp.write_bytes(b"\n".join(lines) + b"\n")
            tmp.rename(folder / name)  # sealed in one step: readers never see half a file
            self.files += 1
        self.buffers.clear()
        self.buffered = 0
