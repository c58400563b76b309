"""Tombstones: the identifiers of forgotten people, kept only as keyed hashes.

`oie forget` and `POST /optout` write one line per identifier to the `tombstones` landing
stream (source `raw_tombstones`): its kind and HMAC-SHA256(tombstone secret, identifier).
A keyed hash, never a plain sha256: whoever holds the list but not the secret cannot tell
whether a candidate address is on it. Every reader matches by hashing what it holds:
- the ingest function drops events of a tombstoned visitor or token (TombstoneCache);
- sealing and `oie forget` drop such lines from landing files (`record_forgotten`);
- every staging model anti-joins the list (macros/tombstones.sql), with the HMAC written
  in SQL from the key's two pads, which the warehouse reads from `tombstone_key.csv`
  beside the secret (never from the SQL text, which dbt keeps in target/).

Identifiers as they are hashed: an email normalized (trim, lowercase; oie_core.hashing),
a token, a visitor id and a lead id as they are.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import orjson

from oie_core.hashing import normalize_email
from oie_core.landing import iso_ms

KINDS = ("email", "token", "visitor", "lead")
STREAM = "tombstones"
# The landing streams that hold people's data (the tombstones stream holds keyed hashes).
ERASED_STREAMS = ("events", "rejected", "leads", "email_events")
WAREHOUSE_KEY_FILE = "tombstone_key.csv"
_BLOCK = 64  # SHA-256's block size: the HMAC key is padded (or hashed) to it


class TombstoneKey:
    """HMAC-SHA256 under the tombstone secret, and the pads the SQL side computes it with."""

    def __init__(self, secret: str | bytes) -> None:
        raw = secret.encode("utf-8") if isinstance(secret, str) else secret
        if not raw:
            raise ValueError("the tombstone secret is empty")
        self._secret = raw
        block = hashlib.sha256(raw).digest() if len(raw) > _BLOCK else raw
        block = block.ljust(_BLOCK, b"\0")
        self.inner_pad = bytes(b ^ 0x36 for b in block)
        self.outer_pad = bytes(b ^ 0x5C for b in block)

    def hash(self, kind: str, value: str) -> str:
        if kind not in KINDS:
            raise ValueError(f"unknown tombstone kind {kind!r}")
        text = normalize_email(value) if kind == "email" else value
        return hmac.digest(self._secret, text.encode("utf-8"), hashlib.sha256).hex()


@dataclass(frozen=True)
class Tombstones:
    """The forgotten identifiers' hashes, by kind."""

    by_kind: Mapping[str, frozenset[str]] = field(default_factory=dict)
    size: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        # Read on every event the ingest function checks: counted once.
        object.__setattr__(self, "size", sum(len(v) for v in self.by_kind.values()))

    def __len__(self) -> int:
        return self.size

    def holds(self, kind: str, key_hash: str) -> bool:
        return key_hash in self.by_kind.get(kind, ())


def records(key: TombstoneKey, identifiers: Iterable[tuple[str, str]], now: float) -> list[dict]:
    """Landing lines for (kind, identifier) pairs, one per distinct hash."""
    seen: set[tuple[str, str]] = set()
    out = []
    for kind, value in identifiers:
        pair = (kind, key.hash(kind, value))
        if pair not in seen:
            seen.add(pair)
            out.append({"kind": pair[0], "key_hash": pair[1], "created_at": iso_ms(now)})
    return out


def tombstone_files(landing_dir: Path) -> list[Path]:
    """Sealed and still-open tombstone files (a live server's opt-outs count at once)."""
    folder = Path(landing_dir) / STREAM
    if not folder.is_dir():
        return []
    return sorted([*folder.glob("dt=*/hr=*/*.ndjson"), *folder.glob("dt=*/hr=*/*.ndjson.open")])


def load(landing_dir: Path) -> Tombstones:
    """Every tombstone landed so far (a torn last line of an open file is skipped)."""
    by_kind: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for path in tombstone_files(landing_dir):
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # sealed (renamed) between the glob and the read
            sealed = path.with_name(path.name.removesuffix(".open"))
            data = sealed.read_bytes() if sealed.exists() else b""
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            kind, key_hash = row.get("kind"), row.get("key_hash")
            if kind in by_kind and isinstance(key_hash, str):
                by_kind[kind].add(key_hash)
    return Tombstones({kind: frozenset(v) for kind, v in by_kind.items()})


def record_forgotten(
    stream: str, record: Mapping[str, Any], key: TombstoneKey, tombstones: Tombstones
) -> bool:
    """Whether a landed line belongs to a forgotten identifier."""
    for kind, value in identifiers_of(stream, record):
        if tombstones.holds(kind, key.hash(kind, value)):
            return True
    return False


def identifiers_of(stream: str, record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (kind, identifier) pairs a landing line carries, per stream."""
    pairs: list[tuple[str, str]] = []

    def add(kind: str, value: Any) -> None:
        if isinstance(value, str) and value:
            pairs.append((kind, value))

    if stream == "events":
        add("visitor", record.get("visitor_id"))
        add("visitor", record.get("client_visitor_id"))
        add("token", record.get("token"))
    elif stream == "rejected":
        event = record.get("event")
        if isinstance(event, Mapping):
            add("visitor", event.get("visitor_id"))
            add("token", event.get("token"))
    elif stream == "leads":
        add("email", record.get("email"))
        add("token", record.get("token"))
        add("lead", record.get("lead_id"))
    return pairs


class TombstoneSource(Protocol):
    """Where a process reads the tombstones from: `signature()` is cheap and changes when
    the list may have changed; `load()` reads the whole list."""

    def signature(self) -> object: ...

    def load(self) -> Tombstones: ...


@dataclass(frozen=True)
class LandingTombstones:
    """The tombstones landing stream of a local installation."""

    landing_dir: Path

    def signature(self) -> object:
        files = tombstone_files(self.landing_dir)
        newest = 0.0
        for path in files:
            try:
                newest = max(newest, path.stat().st_mtime)
            except FileNotFoundError:
                newest = time.time()  # sealed meanwhile: something changed
        return len(files), newest

    def load(self) -> Tombstones:
        return load(self.landing_dir)


class TombstoneCache:
    """The tombstones as one process sees them: loaded on first use, reloaded at most every
    `refresh_s` when the source changed, and told at once of what this process adds. A
    source that fails to answer keeps the list last read (and is asked again next time)."""

    def __init__(
        self,
        source: TombstoneSource,
        key: Callable[[], TombstoneKey],
        *,
        refresh_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self.source = source
        self._key = key  # made on first need: most installations never forget anyone
        self.refresh_s = refresh_s
        self._clock = clock
        self._on_error = on_error
        self._lock = threading.Lock()
        self._loaded_at: float | None = None
        self._signature: object = None
        self._tombstones = Tombstones()
        self._added: dict[str, set[str]] = {}
        self._hash: Callable[[str, str], str] | None = None

    def current(self) -> Tombstones:
        now = self._clock()
        if self._loaded_at is not None and now - self._loaded_at < self.refresh_s:
            return self._tombstones
        with self._lock:
            if self._loaded_at is None or now - self._loaded_at >= self.refresh_s:
                self._loaded_at = now
                try:
                    self._reload()
                except Exception as exc:  # an unreachable BigQuery must not fail /track
                    if self._on_error is None:
                        raise
                    self._on_error(exc)
        return self._tombstones

    def _reload(self) -> None:
        signature = self.source.signature()
        if signature is not None and signature == self._signature:
            return
        loaded = self.source.load()
        merged = {k: v | self._added.get(k, set()) for k, v in loaded.by_kind.items()}
        self._tombstones = Tombstones({k: frozenset(v) for k, v in merged.items()})
        self._signature = signature

    def key(self) -> TombstoneKey:
        return self._key()

    def add(self, kind: str, key_hash: str) -> None:
        with self._lock:
            self._added.setdefault(kind, set()).add(key_hash)
            by_kind = dict(self._tombstones.by_kind)
            by_kind[kind] = frozenset(by_kind.get(kind, frozenset()) | {key_hash})
            self._tombstones = Tombstones(by_kind)

    def forgotten(self, visitor_ids: Iterable[str | None], token: str | None) -> bool:
        """Whether any of these visitor ids, or the token, is tombstoned."""
        tombstones = self.current()
        if not tombstones.size:
            return False
        if self._hash is None:
            # A pixel sends its visitor id with every event: hash each one once.
            self._hash = lru_cache(maxsize=1 << 16)(self._key().hash)
        for vid in visitor_ids:
            if vid and tombstones.holds("visitor", self._hash("visitor", vid)):
                return True
        return bool(token) and tombstones.holds("token", self._hash("token", token or ""))


def write_warehouse_key(data_dir: Path, key: TombstoneKey) -> Path:
    """`$OIE_DATA_DIR/tombstone_key.csv`, the pads the staging models' HMAC reads; rewritten
    (privately, whole) only when the secret changed."""
    path = Path(data_dir) / WAREHOUSE_KEY_FILE
    text = f"inner_pad,outer_pad\n{key.inner_pad.hex()},{key.outer_pad.hex()}\n"
    try:
        if path.read_text() == text:
            return path
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path


def email_check(landing_dir: Path, key: Callable[[], TombstoneKey]) -> Callable[[str], bool] | None:
    """A test for `oie campaign create`: is this normalized address forgotten? None when
    nobody was forgotten by address."""
    emails = load(landing_dir).by_kind.get("email")
    if not emails:
        return None
    made = key()
    return lambda email: made.hash("email", email) in emails
