"""Erasure from the dead letter, the same walk on a folder and on gs:// (the real
google-cloud-storage SDK against the local JSON API stand-in): a batch loses the person's
records and keeps the rest, a batch left with nothing goes, one with tombstones stays, a
quarantined file that mentions them goes whole, and a batch a live replay holds is left to
it. `oie replay` then reads what is left as it always did."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest_function.sinks.base import Batch, DeadLetter, DeadLetterItem
from ingest_function.sinks.dead_letter import FolderDeadLetter
from ingest_function.sinks.dead_letter_gcs import GcsDeadLetter
from oie.forget.files import Needles, erase_dead_letter
from tests.python.helpers.gcs_standin import running_gcs

ADA, BOB = "ada-phone-0001", "bob-laptop-0003"
NEEDLES = Needles(folded=[], exact=[ADA.encode()])
STONE = {"kind": "visitor", "key_hash": "ab" * 32, "created_at": "2026-12-03T00:00:00.000Z"}


def _event(visitor: str, n: int) -> dict:
    return {"event_id": f"evt-{visitor}-{n}", "type": "pageview", "visitor_id": visitor}


@pytest.fixture(params=["folder", "gcs"])
def store(request, tmp_path: Path, monkeypatch) -> Iterator[DeadLetter]:
    if request.param == "folder":
        yield FolderDeadLetter(tmp_path / "dead")
        return
    with running_gcs() as standin:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", standin.url)
        yield GcsDeadLetter("gs://acme-oie/dead-letter", timeout_s=5)


def _batches(store: DeadLetter) -> list[dict]:
    return sorted(
        (json.loads(store.raw(item)) for item in store.items()),
        key=lambda d: json.dumps(d["events"]),
    )


def _quarantine(store: DeadLetter, body: bytes) -> None:
    store.write(Batch([_event(BOB, 9)], [], time.time()), "to be quarantined")
    (item,) = [i for i in store.items() if BOB.encode() + b"-9" in store.raw(i)]
    assert store.claim(item)
    store.quarantine(item, "unreadable")
    (kept,) = list(store.quarantined())
    # What a damaged batch looks like: not JSON, but her id in its bytes.
    if isinstance(store, FolderDeadLetter):
        Path(kept.key).write_bytes(body)
    else:
        name = kept.key.rpartition("#")[0]
        store._get_bucket().blob(name).upload_from_string(body)


def test_erasure_rewrites_drops_and_keeps_what_it_should(store: DeadLetter) -> None:
    now = time.time()
    store.write(Batch([_event(ADA, 1), _event(BOB, 1)], [], now), "sink_failed")
    store.write(Batch([_event(ADA, 2)], [{"reason": "x", "event": _event(ADA, 3)}], now), "s")
    store.write(Batch([_event(ADA, 4)], [], now, tombstones=[STONE]), "sink_failed")
    _quarantine(store, b'{"events": [{"visitor_id": "' + ADA.encode() + b'"')

    dry = erase_dead_letter(store, NEEDLES, dry_run=True)
    assert (dry.files, dry.records) == (4, 5)
    assert len(_batches(store)) == 3 and len(list(store.quarantined())) == 1

    done = erase_dead_letter(store, NEEDLES, dry_run=False)
    assert (done.files, done.records) == (4, 5)
    left = _batches(store)
    assert [d["events"] for d in left] == [[], [_event(BOB, 1)]]
    assert left[0]["tombstones"] == [STONE]  # her events went, the tombstone stayed
    assert all(ADA.encode() not in store.raw(item) for item in store.items())
    assert list(store.quarantined()) == []
    assert erase_dead_letter(store, NEEDLES, dry_run=False).records == 0  # idempotent


def test_a_batch_a_live_replay_holds_is_left_to_it(store: DeadLetter) -> None:
    store.write(Batch([_event(ADA, 1), _event(BOB, 1)], [], time.time()), "sink_failed")
    (item,) = list(store.items())
    replayer = type(store).__new__(type(store))  # a second process's view of the store
    replayer.__dict__.update(store.__dict__)
    replayer._claims = {}
    assert replayer.claim(DeadLetterItem(item.key))
    result = erase_dead_letter(store, NEEDLES, dry_run=False)
    assert result.records == 1  # counted, not changed: the replay owns it
    (batch,) = _batches(store)
    assert len(batch["events"]) == 2
    replayer.release(DeadLetterItem(item.key))
    erase_dead_letter(store, NEEDLES, dry_run=False)
    (batch,) = _batches(store)
    assert batch["events"] == [_event(BOB, 1)]
