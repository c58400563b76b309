"""Dead-letter stores: where a batch goes whole when the primary sink refuses it, until
`oie replay` sends it on. A folder (local) or a gs://bucket/prefix (production)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest_function.sinks.base import Batch, DeadLetterItem, folder_health
from oie_core.landing import iso_ms


class FolderDeadLetter:
    """`<dir>/<YYYY-MM-DD>/<ms>-<uuid>.json`, each written whole (temp file + rename)."""

    name = "folder"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def write(self, batch: Batch, reason: str) -> None:
        day = iso_ms(batch.received_at)[:10]
        target = self.folder / day
        target.mkdir(parents=True, exist_ok=True)
        name = f"{int(batch.received_at * 1000)}-{uuid.uuid4().hex}.json"
        tmp = target / f".{name}.tmp"
        doc = batch.to_json() | {"reason": reason}
        with open(tmp, "wb") as fh:
            fh.write(json.dumps(doc, separators=(",", ":")).encode())
            fh.flush()
            os.fsync(fh.fileno())
        os.rename(tmp, target / name)

    def items(self) -> Iterator[DeadLetterItem]:
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("*/*.json")):
            try:
                doc = json.loads(path.read_bytes())
            except FileNotFoundError:
                continue  # another replay took it
            yield DeadLetterItem(key=str(path), batch=Batch.from_json(doc))

    def claim(self, item: DeadLetterItem) -> bool:
        """Rename to `.replaying` so two concurrent replays never send the same batch."""
        try:
            os.rename(item.key, item.key + ".replaying")
        except FileNotFoundError:
            return False
        item.key += ".replaying"
        return True

    def remove(self, item: DeadLetterItem) -> None:
        Path(item.key).unlink(missing_ok=True)

    def release(self, item: DeadLetterItem) -> None:
        if item.key.endswith(".replaying"):
            with contextlib.suppress(FileNotFoundError):
                os.rename(item.key, item.key[: -len(".replaying")])

    def health(self) -> dict[str, Any]:
        ok, detail = folder_health(self.folder)
        return {"name": self.name, "ok": ok, **detail}


class GcsDeadLetter:
    """`gs://bucket/prefix/<YYYY-MM-DD>/<ms>-<uuid>.json` via google-cloud-storage."""

    name = "gcs"

    def __init__(self, uri: str, timeout_s: float) -> None:
        m = re.match(r"^gs://([^/]+)/?(.*)$", uri)
        if not m:
            raise ValueError(f"OIE_DEAD_LETTER={uri!r}: expected gs://bucket/prefix")
        self.bucket_name, self.prefix = m.group(1), m.group(2).strip("/")
        self.timeout_s = timeout_s
        self._bucket: Any = None
        self._pid = 0

    def _get_bucket(self) -> Any:
        # Clients hold connections, which must not cross a fork: one per process.
        if self._bucket is None or self._pid != os.getpid():
            from google.cloud import storage  # type: ignore[attr-defined]  # optional extra

            self._bucket = storage.Client().bucket(self.bucket_name)
            self._pid = os.getpid()
        return self._bucket

    def _name(self, batch: Batch) -> str:
        day = iso_ms(batch.received_at)[:10]
        name = f"{day}/{int(batch.received_at * 1000)}-{uuid.uuid4().hex}.json"
        return f"{self.prefix}/{name}" if self.prefix else name

    def write(self, batch: Batch, reason: str) -> None:
        blob = self._get_bucket().blob(self._name(batch))
        body = json.dumps(batch.to_json() | {"reason": reason}, separators=(",", ":"))
        # if_generation_match=0: create only, so a retried upload never overwrites.
        blob.upload_from_string(
            body, content_type="application/json", if_generation_match=0, timeout=self.timeout_s
        )

    def items(self) -> Iterator[DeadLetterItem]:
        bucket = self._get_bucket()
        prefix = f"{self.prefix}/" if self.prefix else ""
        for blob in bucket.client.list_blobs(bucket, prefix=prefix):
            if not blob.name.endswith(".json"):
                continue
            doc = json.loads(blob.download_as_bytes())
            yield DeadLetterItem(key=f"{blob.name}#{blob.generation}", batch=Batch.from_json(doc))

    def claim(self, item: DeadLetterItem) -> bool:
        # The generation in the key makes remove() conditional: no rename needed.
        return True

    def remove(self, item: DeadLetterItem) -> None:
        name, _, generation = item.key.rpartition("#")
        self._get_bucket().blob(name).delete(if_generation_match=int(generation))

    def release(self, item: DeadLetterItem) -> None:
        pass

    def health(self) -> dict[str, Any]:
        return {"name": self.name, "ok": True, "bucket": self.bucket_name}
