"""Where batches go: one small interface, three stores, and the delivery rule.

    Sink.write(batch)   raise on failure; return only when the batch is durable
    Sink.health()       {"name", "ok", ...} for /health
    Sink.close()        flush/seal (process exit, end of `oie replay`)

`deliver()` tries the primary sink (local landing files or BigQuery); when it refuses, the
dead-letter store (folder or gs://bucket/prefix) takes the whole batch. The caller answers
2xx only when one of them returned; otherwise 503 and the pixel retries.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from oie_core.landing import LandingWriter, encode_lines, iso_ms
from oie_core.settings import Fault, Settings

log = logging.getLogger("oie.ingest")


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


class Sink(Protocol):
    name: str

    def write(self, batch: Batch) -> None: ...

    def health(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class LocalSink:
    """Landing files (DESIGN.md landing protocol): one os.write per stream per batch."""

    name = "local"

    def __init__(self, landing_dir: Path, max_bytes: int, max_age_s: float) -> None:
        self.landing_dir = landing_dir
        self.writer = LandingWriter(landing_dir, max_bytes=max_bytes, max_age_s=max_age_s)

    def write(self, batch: Batch) -> None:
        if batch.rejected:
            self.writer.write("rejected", encode_lines(batch.rejected), batch.received_at)
        if batch.events:
            self.writer.write("events", encode_lines(batch.events), batch.received_at)

    def health(self) -> dict[str, Any]:
        ok, detail = _folder_health(self.landing_dir)
        return {"name": self.name, "ok": ok, "landing_dir_writable": ok, **detail}

    def close(self) -> None:
        self.writer.close()


def _folder_health(folder: Path) -> tuple[bool, dict[str, Any]]:
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    ok = os.access(probe, os.W_OK)
    try:
        free_mb = shutil.disk_usage(probe).free // (1024 * 1024)
    except OSError:
        return False, {"free_mb": None}
    return ok and free_mb > 10, {"free_mb": free_mb}


# -- dead letters ---------------------------------------------------------------------------
@dataclass
class DeadLetterItem:
    key: str
    batch: Batch


class DeadLetter(Protocol):
    name: str

    def write(self, batch: Batch, reason: str) -> None: ...

    def items(self) -> Iterator[DeadLetterItem]: ...

    def remove(self, item: DeadLetterItem) -> None: ...

    def health(self) -> dict[str, Any]: ...


def _batch_from_json(doc: dict[str, Any]) -> Batch:
    from datetime import datetime

    received = datetime.fromisoformat(doc["received_at"].replace("Z", "+00:00")).timestamp()
    return Batch(
        events=doc.get("events") or [], rejected=doc.get("rejected") or [], received_at=received
    )


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
            yield DeadLetterItem(key=str(path), batch=_batch_from_json(doc))

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
        ok, detail = _folder_health(self.folder)
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
            yield DeadLetterItem(key=f"{blob.name}#{blob.generation}", batch=_batch_from_json(doc))

    def claim(self, item: DeadLetterItem) -> bool:
        return True

    def remove(self, item: DeadLetterItem) -> None:
        name, _, generation = item.key.rpartition("#")
        self._get_bucket().blob(name).delete(if_generation_match=int(generation))

    def release(self, item: DeadLetterItem) -> None:
        pass

    def health(self) -> dict[str, Any]:
        return {"name": self.name, "ok": True, "bucket": self.bucket_name}


# -- fault injection (tests only: OIE_FAULT) ------------------------------------------------
class FaultCounter:
    """`-next-N` faults count in a file under OIE_DATA_DIR so that every gunicorn worker
    shares one budget (flock serialises the read-increment-write)."""

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
    def __init__(
        self, inner: Any, faults: tuple[Fault, ...], counter: FaultCounter, timeout_s: float
    ) -> None:
        self.inner, self.faults, self.counter, self.timeout_s = inner, faults, counter, timeout_s
        self.name = inner.name

    def write(self, batch: Batch, reason: str) -> None:
        fire(self.faults, self.counter, self.timeout_s)
        self.inner.write(batch, reason)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)


# -- construction and delivery --------------------------------------------------------------
def make_primary(settings: Settings, *, with_faults: bool = True) -> Sink:
    sink: Sink
    if settings.sink == "bigquery":
        from ingest_function.bigquery_sink import BigQuerySink

        sink = BigQuerySink.from_settings(settings)
    else:
        sink = LocalSink(
            settings.landing_dir, settings.landing_max_bytes, settings.landing_max_age_s
        )
    faults = settings.faults_for("sink")
    if with_faults and faults:
        sink = FaultySink(sink, faults, FaultCounter(settings.data_dir), settings.sink_timeout_s)
    return sink


def make_dead_letter(settings: Settings, *, with_faults: bool = True) -> Any:
    if not settings.dead_letter:
        return None
    store: Any
    if settings.dead_letter.startswith("gs://"):
        store = GcsDeadLetter(settings.dead_letter, settings.sink_timeout_s)
    else:
        store = FolderDeadLetter(Path(settings.dead_letter).expanduser().resolve())
    faults = settings.faults_for("deadletter")
    if with_faults and faults:
        store = FaultyDeadLetter(
            store, faults, FaultCounter(settings.data_dir), settings.sink_timeout_s
        )
    return store


def deliver(primary: Sink, dead_letter: Any, batch: Batch) -> str:
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
