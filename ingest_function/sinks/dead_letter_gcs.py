"""The gs:// dead letter: `gs://bucket/prefix/<YYYY-MM-DD>/<ms>-<uuid>.json` through
google-cloud-storage (an optional extra; STORAGE_EMULATOR_HOST points it at a stand-in).

Every change is conditional on a generation, so two replays can never both act on one
batch and nothing is ever overwritten:
- a batch is created with if_generation_match=0;
- a claim is a `<name>.claim` object created with if_generation_match=0. A claim older than
  the lease (OIE_REPLAY_CLAIM_TTL) belonged to a replay that died: the next replay takes
  it over by rewriting it conditional on the generation it saw, so exactly one wins;
- the batch is deleted conditional on the generation that was read, the claim likewise;
- a batch that cannot be read is copied to `prefix/quarantine/...` (create-only) with a
  `.reason` object, then deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from ingest_function.sinks.base import Batch, DeadLetterItem, parse_dead_letter
from oie_core.landing import iso_ms

CLAIM_SUFFIX = ".claim"
QUARANTINE = "quarantine"


class GcsDeadLetter:
    name = "gcs"

    def __init__(self, uri: str, timeout_s: float, claim_ttl_s: float = 900.0) -> None:
        m = re.match(r"^gs://([^/]+)/?(.*)$", uri)
        if not m:
            raise ValueError(f"OIE_DEAD_LETTER={uri!r}: expected gs://bucket/prefix")
        self.bucket_name, self.prefix = m.group(1), m.group(2).strip("/")
        self.timeout_s = timeout_s
        self.claim_ttl_s = claim_ttl_s
        self._bucket: Any = None
        self._pid = 0
        self._claims: dict[str, int] = {}  # item key -> generation of our claim object

    def _get_bucket(self) -> Any:
        # Clients hold connections, which must not cross a fork: one per process.
        if self._bucket is None or self._pid != os.getpid():
            from google.cloud import storage  # type: ignore[attr-defined]  # optional extra

            self._bucket = storage.Client().bucket(self.bucket_name)
            self._pid = os.getpid()
        return self._bucket

    def _path(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def write(self, batch: Batch, reason: str) -> None:
        day = iso_ms(batch.received_at)[:10]
        name = self._path(f"{day}/{int(batch.received_at * 1000)}-{uuid.uuid4().hex}.json")
        body = json.dumps(batch.to_json() | {"reason": reason}, separators=(",", ":"))
        # if_generation_match=0: create only, so a retried upload never overwrites.
        self._get_bucket().blob(name).upload_from_string(
            body, content_type="application/json", if_generation_match=0, timeout=self.timeout_s
        )

    def items(self) -> Iterator[DeadLetterItem]:
        bucket = self._get_bucket()
        prefix = self._path("")
        quarantine = self._path(QUARANTINE + "/")
        blobs = bucket.client.list_blobs(bucket, prefix=prefix, timeout=self.timeout_s)
        for blob in blobs:
            if blob.name.endswith(".json") and not blob.name.startswith(quarantine):
                yield DeadLetterItem(key=f"{blob.name}#{blob.generation}")

    def claim(self, item: DeadLetterItem) -> bool:
        from google.api_core.exceptions import PreconditionFailed

        name, generation = _split(item.key)
        bucket = self._get_bucket()
        claim_name = name + CLAIM_SUFFIX
        body = json.dumps({"holder": _holder(), "batch_generation": generation})
        try:
            blob = bucket.blob(claim_name)
            blob.upload_from_string(body, if_generation_match=0, timeout=self.timeout_s)
        except PreconditionFailed:
            existing = bucket.get_blob(claim_name, timeout=self.timeout_s)
            if existing is None or not self._expired(existing):
                return False  # a live replay holds it (or just let go: try next time)
            try:  # take over a dead replay's claim; of two that try, one wins
                blob = bucket.blob(claim_name)
                blob.upload_from_string(
                    body, if_generation_match=existing.generation, timeout=self.timeout_s
                )
            except PreconditionFailed:
                return False
        if bucket.get_blob(name, generation=generation, timeout=self.timeout_s) is None:
            self._delete(claim_name, blob.generation)
            return False  # sent and deleted by the replay whose claim we replaced
        self._claims[item.key] = blob.generation
        return True

    def read(self, item: DeadLetterItem) -> Batch:
        return parse_dead_letter(self.raw(item))

    def raw(self, item: DeadLetterItem) -> bytes:
        name, generation = _split(item.key)
        blob = self._get_bucket().blob(name, generation=generation)
        return bytes(blob.download_as_bytes(timeout=self.timeout_s))

    def rewrite(self, item: DeadLetterItem, data: bytes) -> None:
        """Replace the batch, conditional on the generation that was read (nothing written
        meanwhile is overwritten); then the old generation is deleted by number, which
        removes it for good from a bucket that keeps noncurrent versions (without
        versioning it is gone already)."""
        from google.api_core.exceptions import NotFound

        name, generation = _split(item.key)
        bucket = self._get_bucket()
        bucket.blob(name).upload_from_string(
            data,
            content_type="application/json",
            if_generation_match=generation,
            timeout=self.timeout_s,
        )
        with contextlib.suppress(NotFound):
            bucket.blob(name, generation=generation).delete(timeout=self.timeout_s)

    def quarantined(self) -> Iterator[DeadLetterItem]:
        bucket = self._get_bucket()
        prefix = self._path(QUARANTINE + "/")
        for blob in bucket.client.list_blobs(bucket, prefix=prefix, timeout=self.timeout_s):
            if not blob.name.endswith(".reason"):
                yield DeadLetterItem(key=f"{blob.name}#{blob.generation}")

    def drop_quarantined(self, item: DeadLetterItem) -> None:
        from google.api_core.exceptions import NotFound

        name, generation = _split(item.key)
        self._delete(name, generation)
        with contextlib.suppress(NotFound):
            self._get_bucket().blob(name + ".reason").delete(timeout=self.timeout_s)

    def remove(self, item: DeadLetterItem) -> None:
        name, generation = _split(item.key)
        self._delete(name, generation)
        self.release(item)

    def release(self, item: DeadLetterItem) -> None:
        claim = self._claims.pop(item.key, None)
        if claim is not None:
            self._delete(_split(item.key)[0] + CLAIM_SUFFIX, claim)

    def quarantine(self, item: DeadLetterItem, reason: str) -> str:
        from google.api_core.exceptions import PreconditionFailed

        name, generation = _split(item.key)
        bucket = self._get_bucket()
        relative = name[len(self._path("")) :]
        target = self._path(f"{QUARANTINE}/{relative}")
        source = bucket.blob(name, generation=generation)
        # PreconditionFailed: copied already by an earlier, interrupted quarantine.
        with contextlib.suppress(PreconditionFailed):
            bucket.copy_blob(
                source,
                bucket,
                target,
                if_generation_match=0,
                if_source_generation_match=generation,
                timeout=self.timeout_s,
            )
        bucket.blob(target + ".reason").upload_from_string(reason + "\n", timeout=self.timeout_s)
        self.remove(item)
        return f"gs://{self.bucket_name}/{target}"

    def health(self) -> dict[str, Any]:
        return {"name": self.name, "ok": True, "bucket": self.bucket_name}

    def _expired(self, claim: Any) -> bool:
        updated = claim.updated or datetime.now(UTC)
        return time.time() - updated.timestamp() >= self.claim_ttl_s

    def _delete(self, name: str, generation: int) -> None:
        from google.api_core.exceptions import NotFound, PreconditionFailed

        # Gone already, or no longer the version we acted on: not ours to delete.
        with contextlib.suppress(NotFound, PreconditionFailed):
            self._get_bucket().blob(name).delete(
                if_generation_match=generation, timeout=self.timeout_s
            )


def _split(key: str) -> tuple[str, int]:
    name, _, generation = key.rpartition("#")
    return name, int(generation)


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
