"""The bundled demo sample: realistic raw events and leads, shipped with the package and
shifted on load so that its newest day is today.

Each line of `oie/sample_data/sample.ndjson.gz` is
`{"stream": "events"|"leads"|"rejected", "record": {...}}` in the landing format. The file
was made once by `python -m oie.sample` (seed 7, 400 visitors over 21 days) with the
generator that preceded `oie.traffic`, and is kept as it was so the demo's numbers stay
put (raw fields declared since, such as the network fields of company inference, are
added to its lines as null); `python -m oie.sample` now writes a file of the same shape
from the journeys of `oie.traffic` (the ones `oie simulate` sends), which replaces it.
"""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from oie_core.landing import iso_ms, partition_of

SAMPLE_FILE = Path(__file__).with_name("sample_data") / "sample.ndjson.gz"
_ISO_FIELDS = {"events": ("received_at", "event_at"), "leads": ("created_at", "imported_at")}
_MS_FIELDS = {"events": ("ts", "sent_at")}


def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def sample_lines() -> list[dict[str, Any]]:
    with gzip.open(SAMPLE_FILE, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def newest_day(lines: list[dict[str, Any]]) -> date:
    return max(
        _parse(line["record"]["event_at"]).date() for line in lines if line["stream"] == "events"
    )


def shift_record(stream: str, record: dict[str, Any], delta: timedelta) -> dict[str, Any]:
    shifted = dict(record)
    for field in _ISO_FIELDS.get(stream, ()):
        if shifted.get(field):
            shifted[field] = iso_ms((_parse(shifted[field]) + delta).timestamp())
    for field in _MS_FIELDS.get(stream, ()):
        if shifted.get(field) is not None:
            shifted[field] = int(shifted[field] + delta.total_seconds() * 1000)
    return shifted


def load_sample(landing_dir: Path, today: date | None = None) -> dict[str, int]:
    """Write the sample as sealed landing files, shifted by whole days so its newest day
    is `today` (UTC). Times of day are kept, so a few of today's events may lie a few hours
    ahead of the clock; they are dropped rather than landed in the future."""
    lines = sample_lines()
    today = today or datetime.now(UTC).date()
    delta = timedelta(days=(today - newest_day(lines)).days)
    now_s = time.time()
    by_partition: dict[tuple[str, str], list[str]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for line in lines:
        stream, record = line["stream"], shift_record(line["stream"], line["record"], delta)
        stamp: str = record.get("received_at") or record["created_at"]
        received_s = _parse(stamp).timestamp()
        if received_s > now_s:
            counts["skipped_future"] += 1
            continue
        by_partition[(stream, partition_of(received_s))].append(
            json.dumps(record, separators=(",", ":"))
        )
        counts[stream] += 1
    for (stream, partition), records in by_partition.items():
        folder = landing_dir / stream / partition
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / "sample.ndjson.tmp"
        tmp.write_text("\n".join(records) + "\n", encoding="utf-8")
        tmp.replace(folder / "sample.ndjson")  # sealed in one rename
    return dict(counts)


def make_sample_file() -> None:
    """Regenerate the bundled file (deterministic): `python -m oie.sample`."""
    from oie.traffic.generate import generate

    end = datetime(2026, 3, 10, 18, 0, tzinfo=UTC).timestamp()
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp), visitors=400, days=21, end=end, seed=7, prefix="sample")
        lines = []
        for stream in ("leads", "events"):
            for file in sorted((Path(tmp) / stream).rglob("*.ndjson")):
                for raw in file.read_text().splitlines():
                    lines.append(
                        json.dumps(
                            {"stream": stream, "record": json.loads(raw)}, separators=(",", ":")
                        )
                    )
        SAMPLE_FILE.parent.mkdir(parents=True, exist_ok=True)
        with gzip.GzipFile(SAMPLE_FILE, "wb", mtime=0) as f:
            f.write(("\n".join(lines) + "\n").encode())


def reset_dir(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


if __name__ == "__main__":
    make_sample_file()
    print(f"wrote {SAMPLE_FILE} ({SAMPLE_FILE.stat().st_size} bytes)")
