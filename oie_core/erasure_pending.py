"""Landing files a live writer held when someone was forgotten.

`oie forget` cannot rewrite a file the ingest server still appends to, and the server may
land a few more of the person's events until it next reloads the tombstones (each worker
does every minute). So the forget leaves a note, `$OIE_DATA_DIR/forget-pending.json`: the
files it could not rewrite, and a window from the forget until every file open in it has
been sealed (the reload plus the writer's age limit, with room). The seal step of every
`oie run` (and the next forget) then drops, by their tombstones, the forgotten identifiers'
lines from those files once sealed and from every file written in the window; the note
goes when the window has passed and its files are done.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import orjson

from oie_core import tombstones as tb
from oie_core.landing import OPEN_SUFFIX, SEALED_SUFFIX, replace_whole
from oie_core.settings import Settings

PENDING_FILE = "forget-pending.json"
RELOAD_S = 60.0  # the ingest function's tombstone refresh (ingest_function/app.py)


def register(settings: Settings, live: list[Path], now: float) -> None:
    path = settings.data_dir / PENDING_FILE
    note = _read(path)
    until = now + RELOAD_S + settings.landing_max_age_s + 60.0
    files = sorted({*note.get("files", []), *(str(p) for p in live)})
    since = min(note.get("since", now), now)
    _write(path, {"since": since, "until": max(note.get("until", until), until), "files": files})


def scrub(settings: Settings, now: float | None = None) -> int:
    """Drop tombstoned lines from the files the note names; the count of lines dropped."""
    path = settings.data_dir / PENDING_FILE
    note = _read(path)
    if not note:
        return 0
    now = time.time() if now is None else now
    key = settings.tombstone_key()
    stones = tb.load(settings.landing_dir)
    dropped = 0
    waiting: list[str] = []
    done: set[Path] = set()
    for name in note.get("files", []):
        open_path = Path(name)
        sealed = open_path.with_name(open_path.name.removesuffix(OPEN_SUFFIX) + SEALED_SUFFIX)
        if open_path.exists():
            waiting.append(name)
        elif sealed.exists():
            dropped += _drop_lines(sealed, key, stones)
            done.add(sealed)
    since = float(note.get("since", now))
    for stream in tb.ERASED_STREAMS:
        folder = settings.landing_dir / stream
        if not folder.is_dir():
            continue
        for sealed in folder.glob(f"dt=*/hr=*/*{SEALED_SUFFIX}"):
            if sealed not in done and sealed.stat().st_mtime >= since - 1.0:
                dropped += _drop_lines(sealed, key, stones)
    if now > float(note.get("until", now)) and not waiting:
        path.unlink(missing_ok=True)
    else:
        _write(path, {**note, "files": waiting})
    return dropped


def _drop_lines(path: Path, key: tb.TombstoneKey, stones: tb.Tombstones) -> int:
    stream = path.parent.parent.parent.name
    data = path.read_bytes()
    kept: list[bytes] = []
    dropped = 0
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            kept.append(line)
            continue
        if isinstance(record, dict) and tb.record_forgotten(stream, record, key, stones):
            dropped += 1
        else:
            kept.append(line)
    if dropped:
        replace_whole(path, b"".join(line + b"\n" for line in kept))
    return dropped


def _read(path: Path) -> dict:
    try:
        note = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return note if isinstance(note, dict) else {}


def _write(path: Path, note: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(note))
    os.replace(tmp, path)
