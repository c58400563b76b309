"""The local sink: the NDJSON landing files (docs/design.md, landing protocol), one
os.write per stream per batch through oie_core's LandingWriter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingest_function.sinks.base import Batch, folder_health
from oie_core.landing import LandingWriter, encode_lines


class LocalSink:
    name = "local"

    def __init__(self, landing_dir: Path, max_bytes: int, max_age_s: float) -> None:
        self.landing_dir = landing_dir
        self.writer = LandingWriter(landing_dir, max_bytes=max_bytes, max_age_s=max_age_s)

    def write(self, batch: Batch) -> None:
        if batch.rejected:
            self.writer.write("rejected", encode_lines(batch.rejected), batch.received_at)
        if batch.events:
            self.writer.write("events", encode_lines(batch.events), batch.received_at)
        if batch.tombstones:
            self.writer.write("tombstones", encode_lines(batch.tombstones), batch.received_at)
        if batch.email_events:
            self.writer.write("email_events", encode_lines(batch.email_events), batch.received_at)

    def health(self) -> dict[str, Any]:
        ok, detail = folder_health(self.landing_dir)
        return {"name": self.name, "ok": ok, "landing_dir_writable": ok, **detail}

    def close(self) -> None:
        self.writer.close()
