"""The folder dead letter: where a batch goes whole when the primary sink refuses it, until
`oie replay` sends it on (the gs:// store is in dead_letter_gcs.py).

Layout: `<dir>/<YYYY-MM-DD>/<ms>-<uuid>.json`, each written whole (temp file + rename).
A replay's claim on a file is an exclusive flock on it: the kernel drops the lock when the
holder dies (even on SIGKILL), so a killed replay never strands a batch, and a live one is
never raced. Files a replay could not read move to `<dir>/quarantine/<day>/` with a
`.reason` beside them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest_function.sinks.base import (
    Batch,
    DeadLetterItem,
    folder_health,
    parse_dead_letter,
)
from oie_core.landing import iso_ms, replace_whole

QUARANTINE = "quarantine"
# Claims made by versions that renamed a file to claim it; a killed replay left them behind.
LEGACY_CLAIM_SUFFIX = ".replaying"


class FolderDeadLetter:
    name = "folder"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._claims: dict[str, int] = {}  # key -> the descriptor holding its flock

    def write(self, batch: Batch, reason: str) -> None:
        day = iso_ms(batch.received_at)[:10]
        target = self.folder / day
        target.mkdir(parents=True, exist_ok=True)
        name = f"{int(batch.received_at * 1000)}-{uuid.uuid4().hex}.json"
        tmp = target / f".{name}.tmp"
        doc = batch.to_json() | {"reason": reason}
        try:
            with open(tmp, "wb") as fh:
                fh.write(json.dumps(doc, separators=(",", ":")).encode())
                fh.flush()
                os.fsync(fh.fileno())
            os.rename(tmp, target / name)
        except OSError:
            tmp.unlink(missing_ok=True)  # a full disk must not leave half a batch behind
            raise

    def items(self) -> Iterator[DeadLetterItem]:
        if not self.folder.is_dir():
            return
        days = [d for d in self.folder.iterdir() if d.is_dir() and d.name[:1].isdigit()]
        paths = [p for d in days for p in d.iterdir() if _is_batch_file(p.name)]
        for path in sorted(paths):
            yield DeadLetterItem(key=str(path))

    def claim(self, item: DeadLetterItem) -> bool:
        try:
            fd = os.open(item.key, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False  # another replay sent it already
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False  # a live replay holds it
        if os.fstat(fd).st_nlink == 0:
            os.close(fd)  # its holder finished and deleted it while we waited for the lock
            return False
        self._claims[item.key] = fd
        return True

    def read(self, item: DeadLetterItem) -> Batch:
        return parse_dead_letter(self.raw(item))

    def raw(self, item: DeadLetterItem) -> bytes:
        fd = self._claims.get(item.key)
        if fd is None:  # --dry-run reads without claiming
            return Path(item.key).read_bytes()
        return os.pread(fd, os.fstat(fd).st_size, 0)

    def rewrite(self, item: DeadLetterItem, data: bytes) -> None:
        replace_whole(Path(item.key), data)

    def quarantined(self) -> Iterator[DeadLetterItem]:
        for path in sorted(self.folder.glob(f"{QUARANTINE}/*/*")):
            if path.suffix != ".reason" and path.is_file():
                yield DeadLetterItem(key=str(path))

    def drop_quarantined(self, item: DeadLetterItem) -> None:
        path = Path(item.key)
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".reason").unlink(missing_ok=True)

    def remove(self, item: DeadLetterItem) -> None:
        Path(item.key).unlink(missing_ok=True)
        self._unlock(item)

    def release(self, item: DeadLetterItem) -> None:
        self._unlock(item)

    def quarantine(self, item: DeadLetterItem, reason: str) -> str:
        source = Path(item.key)
        name = source.name.removesuffix(LEGACY_CLAIM_SUFFIX)
        target = self.folder / QUARANTINE / source.parent.name / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.with_name(name + ".reason").write_text(reason + "\n")
        os.rename(source, target)
        self._unlock(item)
        return str(target)

    def health(self) -> dict[str, Any]:
        ok, detail = folder_health(self.folder)
        return {"name": self.name, "ok": ok, **detail}

    def _unlock(self, item: DeadLetterItem) -> None:
        fd = self._claims.pop(item.key, None)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)  # closing drops the flock


def _is_batch_file(name: str) -> bool:
    return not name.startswith(".") and name.endswith((".json", ".json" + LEGACY_CLAIM_SUFFIX))
