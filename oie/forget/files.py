"""Erasure from files: sealed landing files and the dead letter (a folder or gs://).

A file that holds none of the person's identifiers is read and left alone (no rewrite, no
new mtime); one that does is rewritten without their records, into a temp file renamed
over it, so a reader sees the old file or the new one, never half of either. A record is
theirs when it contains one of the person's needles (Person.needles): the byte scan that
decides it is the same one the forget test runs over every store.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest_function.sinks.base import DeadLetter
from oie_core.landing import OPEN_SUFFIX, SEALED_SUFFIX, replace_whole
from oie_core.tombstones import ERASED_STREAMS


@dataclass
class Needles:
    folded: list[bytes]  # matched in the lowercased text
    exact: list[bytes]

    def found_in(self, data: bytes, lowered: bytes | None = None) -> bool:
        if any(n in data for n in self.exact):
            return True
        if not self.folded:
            return False
        lowered = data.lower() if lowered is None else lowered
        return any(n in lowered for n in self.folded)


@dataclass
class FileErasure:
    files: int = 0  # files rewritten or removed
    records: int = 0  # lines or batch records removed
    live: list[Path] = field(default_factory=list)  # open files a live writer holds


def landing_files(landing_dir: Path) -> Iterator[Path]:
    for stream in ERASED_STREAMS:
        folder = landing_dir / stream
        if folder.is_dir():
            yield from sorted(folder.glob(f"dt=*/hr=*/*{SEALED_SUFFIX}"))


def erase_landing(landing_dir: Path, needles: Needles, *, dry_run: bool) -> FileErasure:
    result = FileErasure()
    for path in landing_files(landing_dir):
        data = path.read_bytes()
        lowered = data.lower()
        if not needles.found_in(data, lowered):
            continue
        kept: list[bytes] = []
        removed = 0
        for line in data.split(b"\n"):
            if not line:
                continue
            if needles.found_in(line):
                removed += 1
            else:
                kept.append(line)
        result.files += 1
        result.records += removed
        if not dry_run:
            replace_whole(path, b"".join(line + b"\n" for line in kept))
    # A file a live writer still appends to cannot be rewritten under it: the seal after
    # its writer lets go drops the person's lines by their tombstones
    # (oie_core/erasure_pending.py).
    for stream in ERASED_STREAMS:
        folder = landing_dir / stream
        if folder.is_dir():
            for path in sorted(folder.glob(f"dt=*/hr=*/*{OPEN_SUFFIX}")):
                with contextlib.suppress(FileNotFoundError):
                    if needles.found_in(path.read_bytes()):
                        result.live.append(path)
    return result


def erase_dead_letter(store: DeadLetter, needles: Needles, *, dry_run: bool) -> FileErasure:
    """Batches lose the person's events and rejected records (a batch left with nothing is
    removed; tombstones in it are kept); a quarantined file that mentions them is removed
    whole, with its `.reason`, since it cannot be parsed to take them out. Batches are
    walked and claimed as `oie replay` does (a folder or gs://): one a live replay holds is
    left to it, and staging drops what it lands by the tombstones."""
    result = FileErasure()
    for item in store.items():
        data = store.raw(item)
        if not needles.found_in(data):
            continue
        try:
            doc = json.loads(data)
        except ValueError:
            doc = None
        result.files += 1
        if not isinstance(doc, dict):
            result.records += 1
            if not dry_run and store.claim(item):
                store.remove(item)
            continue
        for name in ("events", "rejected"):
            rows = doc.get(name) or []
            keep = [r for r in rows if not needles.found_in(json.dumps(r).encode())]
            result.records += len(rows) - len(keep)
            doc[name] = keep
        if dry_run or not store.claim(item):
            continue
        if doc["events"] or doc["rejected"] or doc.get("tombstones"):
            store.rewrite(item, json.dumps(doc, separators=(",", ":")).encode())
            store.release(item)
        else:
            store.remove(item)
    for item in store.quarantined():
        if needles.found_in(store.raw(item)):
            result.files += 1
            result.records += 1
            if not dry_run:
                store.drop_quarantined(item)
    return result
