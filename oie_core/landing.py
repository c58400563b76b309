"""NDJSON landing files: the local target's raw tables (docs/contracts.md "Landing files").

Writer rules, each for a reason:
- One file per (process, stream) at a time, opened O_APPEND, and every batch goes out in ONE
  os.write: with several worker processes there is no shared file, and a batch is either in
  the file whole or (if the process dies inside the syscall) a torn tail that sealing catches.
- Each open file holds an exclusive flock for its whole life. The lock dies with the process
  (even on SIGKILL), so `seal_stale()` can tell a live writer's file from an orphan.
- Nothing is opened at import or construction: the ingest server imports main.py in the
  gunicorn master and forks workers afterwards. After a fork the child forgets the parent's
  files (they belong to the parent) and opens its own.
- Files are sealed (renamed `.ndjson.open` -> `.ndjson`) when they reach the size or age
  limit, when the hour partition changes, and at shutdown (atexit, which gunicorn workers
  reach on a graceful SIGTERM; plain processes also get a SIGTERM handler). A background
  thread seals idle files once they pass the age limit so dbt sees quiet traffic too.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import re
import signal
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger("oie_core.landing")
STREAMS = ("events", "rejected", "leads", "tombstones", "email_events")
OPEN_SUFFIX = ".ndjson.open"
SEALED_SUFFIX = ".ndjson"
_HOST = re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname() or "host")[:40]


@lru_cache(maxsize=256)
def _iso_second(second: int) -> str:
    t = time.gmtime(second)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}."
    )


def iso_ms(epoch_s: float) -> str:
    """`2026-11-22T10:00:00.123Z` (contracts.md timestamp format)."""
    ms = int(epoch_s * 1000)
    return f"{_iso_second(ms // 1000)}{ms % 1000:03d}Z"


def partition_of(epoch_s: float) -> str:
    t = time.gmtime(epoch_s)
    return f"dt={t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}/hr={t.tm_hour:02d}"


def encode_lines(records: Iterable[dict[str, Any]]) -> bytes:
    """One JSON object per line, UTF-8, strict (what orjson and BigQuery read: no NaN, no
    lone surrogate, no integer beyond 64 bits). orjson is the fast path (the ingest hot
    loop; it writes NaN and infinities as null). A record it refuses for a lone surrogate
    lands with U+FFFD in its place; one it still refuses (an integer beyond 64 bits, an
    unknown type) raises ValueError: the batch fails loudly instead of landing a line that
    strict readers refuse."""
    out = []
    for record in records:
        try:
            out.append(orjson.dumps(record))
        except TypeError:  # orjson.JSONEncodeError subclasses TypeError
            try:
                text = json.dumps(record, ensure_ascii=False)
                # Pairs split across two code points join; a lone half becomes U+FFFD.
                text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
                out.append(orjson.dumps(json.loads(text)))
            except (TypeError, ValueError, RecursionError) as exc:
                raise ValueError(f"record cannot be landed as strict JSON: {exc}") from exc
    out.append(b"")
    return b"\n".join(out)


@dataclass
class _OpenFile:
    fd: int
    path: Path
    partition: str
    opened: float
    size: int = 0


class LandingWriter:
    """Thread-safe, fork-aware appender for one landing directory."""

    def __init__(
        self,
        landing_dir: Path,
        *,
        max_bytes: int = 64 * 1024**2,
        max_age_s: float = 300.0,
        background_rotation: bool = True,
    ) -> None:
        self.landing_dir = Path(landing_dir)
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.background_rotation = background_rotation
        self._files: dict[str, _OpenFile] = {}
        # Re-entrant: the SIGTERM handler may seal from the main thread while it holds the lock.
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._timer: threading.Thread | None = None
        self._stop = threading.Event()
        _register(self)

    # -- writing ---------------------------------------------------------------------------
    def write(self, stream: str, payload: bytes, received_at: float | None = None) -> None:
        """Append `payload` (complete lines) to the stream's file in a single os.write."""
        if not payload:
            return
        if stream not in STREAMS:
            raise ValueError(f"unknown landing stream {stream!r}")
        now = time.time() if received_at is None else received_at
        part = partition_of(now)
        with self._lock:
            if os.getpid() != self._pid:
                self._after_fork()
            f = self._files.get(stream)
            if f is not None and os.fstat(f.fd).st_nlink == 0:
                # Someone deleted our file (e.g. a data reset): writing on would append to
                # an invisible inode and lose the batch. Start a new file instead.
                self._abandon(stream)
                f = None
            if f is not None and (
                f.partition != part
                or (f.size and f.size + len(payload) > self.max_bytes)
                or time.monotonic() - f.opened >= self.max_age_s
            ):
                self._seal(stream)
                f = None
            if f is None:
                f = self._open(stream, part)
            try:
                written = os.write(f.fd, payload)
            except OSError:
                self._abandon(stream)
                raise
            if written != len(payload):
                # Only on a full disk or similar: leave the (now torn) file for seal_stale.
                self._abandon(stream)
                raise OSError(f"short write to {f.path} ({written} of {len(payload)} bytes)")
            f.size += written

    def write_records(
        self, stream: str, records: list[dict[str, Any]], received_at: float | None = None
    ) -> None:
        self.write(stream, encode_lines(records), received_at)

    # -- rotation and shutdown ---------------------------------------------------------------
    def rotate_due(self) -> None:
        """Seal files past the age limit (called by the background thread)."""
        with self._lock:
            if os.getpid() != self._pid:
                return
            now = time.monotonic()
            for stream in [s for s, f in self._files.items() if now - f.opened >= self.max_age_s]:
                self._seal(stream)

    def close(self) -> None:
        """Seal every open file of this process."""
        self._stop.set()
        with self._lock:
            if os.getpid() != self._pid:
                self._after_fork()
                return
            for stream in list(self._files):
                self._seal(stream)

    # -- internals ---------------------------------------------------------------------------
    def _open(self, stream: str, part: str) -> _OpenFile:
        folder = self.landing_dir / stream / part
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{_HOST}-{os.getpid()}-{uuid.uuid4().hex}{OPEN_SUFFIX}"
        path = folder / name
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        f = _OpenFile(fd=fd, path=path, partition=part, opened=time.monotonic())
        self._files[stream] = f
        self._start_timer()
        _install_sigterm_handler()
        return f

    def _seal(self, stream: str) -> None:
        f = self._files.pop(stream)
        try:
            if f.size:
                os.rename(f.path, f.path.with_name(f.path.name[: -len(".open")]))
            else:
                f.path.unlink(missing_ok=True)
        except FileNotFoundError:
            log.warning("landing file %s vanished before it was sealed", f.path)
        finally:
            os.close(f.fd)

    def _abandon(self, stream: str) -> None:
        f = self._files.pop(stream)
        with contextlib.suppress(OSError):
            os.close(f.fd)

    def _after_fork(self) -> None:
        for f in self._files.values():
            with contextlib.suppress(OSError):
                os.close(f.fd)
        self._files = {}
        self._pid = os.getpid()
        self._timer = None
        self._stop = threading.Event()

    def _start_timer(self) -> None:
        if not self.background_rotation:
            return
        if self._stop.is_set():  # reused after close(): rotation resumes
            # A new thread even if the old one has not seen its stop yet: it is on its way out.
            self._stop = threading.Event()
        elif self._timer and self._timer.is_alive():
            return
        interval = max(0.05, min(self.max_age_s / 2, 30.0))
        stop = self._stop
        ref = weakref.ref(self)

        def run() -> None:
            while not stop.wait(interval):
                writer = ref()
                if writer is None:
                    return
                with contextlib.suppress(OSError):
                    writer.rotate_due()
                del writer

        self._timer = threading.Thread(target=run, name="oie-landing-rotate", daemon=True)
        self._timer.start()


# -- process-wide bookkeeping ----------------------------------------------------------------
_WRITERS: weakref.WeakSet[LandingWriter] = weakref.WeakSet()
_hooks_lock = threading.Lock()
_hooks_installed = False


def _register(writer: LandingWriter) -> None:
    global _hooks_installed
    _WRITERS.add(writer)
    with _hooks_lock:
        if not _hooks_installed:
            atexit.register(close_all)
            os.register_at_fork(after_in_child=_reset_after_fork)
            _hooks_installed = True


def _reset_after_fork() -> None:
    # A lock held by another thread at fork time would stay held forever in the child.
    for writer in list(_WRITERS):
        writer._lock = threading.RLock()
        writer._after_fork()


def close_all() -> None:
    for writer in list(_WRITERS):
        with contextlib.suppress(Exception):
            writer.close()


_sigterm_installed = False


def _install_sigterm_handler() -> None:
    """Seal on SIGTERM in plain processes. Servers that handle SIGTERM themselves (gunicorn
    workers exit gracefully and run atexit) keep their handler; only the main thread may
    install one, so request threads never do."""
    global _sigterm_installed
    if _sigterm_installed or threading.current_thread() is not threading.main_thread():
        return
    _sigterm_installed = True
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def on_term(signum: int, frame: object) -> None:
        close_all()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_term)


# -- sealing orphans (used by `oie run`) -----------------------------------------------------
@dataclass
class SealReport:
    sealed: list[Path] = field(default_factory=list)
    skipped_live: list[Path] = field(default_factory=list)
    torn_lines: int = 0

    def __str__(self) -> str:
        text = f"{len(self.sealed)} stale file(s) sealed"
        if self.torn_lines:
            text += f", {self.torn_lines} torn line(s) moved to rejected"
        if self.skipped_live:
            text += f", {len(self.skipped_live)} file(s) still being written"
        return text


def seal_stale(landing_dir: Path, now: float | None = None) -> SealReport:
    """Seal `.ndjson.open` files whose writer is gone (its flock is free).

    Every line is checked: a line that is not a JSON object (a torn write of a killed
    process) moves to the `rejected` stream with reason `torn_line`; nothing is dropped.
    """
    report = SealReport()
    landing_dir = Path(landing_dir)
    if not landing_dir.is_dir():
        return report
    received = time.time() if now is None else now
    rejected: list[dict[str, Any]] = []
    for path in sorted(landing_dir.glob(f"*/dt=*/hr=*/*{OPEN_SUFFIX}")):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                report.skipped_live.append(path)
                continue
            # The writer may have sealed (renamed) it between our glob and our lock.
            try:
                if os.stat(path).st_ino != os.fstat(fd).st_ino:
                    continue
            except FileNotFoundError:
                continue
            data = _read_all(fd)
            good, bad = _split_lines(data)
            sealed_path = path.with_name(path.name[: -len(".open")])
            if not bad:
                if data:
                    os.rename(path, sealed_path)
                    report.sealed.append(sealed_path)
                else:
                    path.unlink()
                continue
            stream = path.parent.parent.parent.name
            for line in bad:
                rejected.append(
                    {
                        "received_at": iso_ms(received),
                        "reason": f"torn_line: unparseable line in {stream}/{path.name}",
                        "stage": "seal",
                        "event_id": None,
                        "type": None,
                        "event": None,
                        "raw": line.decode("utf-8", errors="replace"),
                        "ip": None,
                        "user_agent": None,
                    }
                )
            report.torn_lines += len(bad)
            if good:
                tmp = path.with_name(path.name + ".sealing")
                tmp.write_bytes(b"".join(line + b"\n" for line in good))
                os.rename(tmp, sealed_path)
                report.sealed.append(sealed_path)
            path.unlink()
        finally:
            os.close(fd)
    if rejected:
        # Written as an already-sealed file of its own, so dbt reads it on this very run.
        writer = LandingWriter(landing_dir, background_rotation=False)
        writer.write_records("rejected", rejected, received)
        writer.close()
    return report


def replace_whole(path: Path, content: bytes) -> None:
    """Put `content` in place of a sealed file (an erasure's rewrite): written beside it and
    renamed over it, so a reader sees the old file or the new one, never half; empty
    content removes the file. The temp name ends in `.forget`: no reader's glob takes it."""
    if not content:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_name(f".{path.name}.forget")
    with open(tmp, "wb") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _split_lines(data: bytes) -> tuple[list[bytes], list[bytes]]:
    good: list[bytes] = []
    bad: list[bytes] = []
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline; else a torn last line
    for line in lines:
        if not line.strip():
            continue
        (good if _is_json_object(line) else bad).append(line)
    if tail.strip():
        bad.append(tail)
    return good, bad


def _is_json_object(line: bytes) -> bool:
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        try:  # orjson refuses lone-surrogate escapes that older writers may have used
            return isinstance(json.loads(line, parse_constant=_refuse_constant), dict)
        except (ValueError, RecursionError):
            return False


def _refuse_constant(name: str) -> Any:
    # NaN / Infinity are not JSON: such a line would break every strict reader downstream.
    raise ValueError(f"{name} is not JSON")
