"""Replay claims die with their holder, and a bad dead-letter file never blocks the rest.

Folder claims are flocks held by a real process that the test SIGKILLs; GCS claims go
through the real google-cloud-storage SDK to the local JSON API stand-in, where a lease
expires by ageing the claim object."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest_function.sinks.base import Batch
from ingest_function.sinks.dead_letter import FolderDeadLetter
from ingest_function.sinks.dead_letter_gcs import GcsDeadLetter
from ingest_function.sinks.landing import LocalSink
from oie.replay import replay
from tests.python.helpers.gcs_standin import running_gcs
from tests.python.helpers.servers import REPO
from tests.python.ingest.test_faults import run_replay
from tests.python.ingest.test_sinks import _event

BUCKET = "acme-oie"


def _landed_ids(landing: Path) -> list[str]:
    return sorted(
        json.loads(line)["event_id"]
        for path in landing.glob("events/*/*/*.ndjson")
        for line in path.read_bytes().splitlines()
    )


def _cli_env(tmp_path: Path, dead_letter: str, **extra: str) -> dict[str, str]:
    return {
        "OIE_DATA_DIR": str(tmp_path / "data"),
        "OIE_DEAD_LETTER": dead_letter,
        "OIE_TOKEN_SECRET": "replay-test-secret-0123456789",
        **extra,
    }


def _replay_into(landing: Path, store) -> tuple:
    sink = LocalSink(landing, 1 << 20, 300)
    try:
        return replay(sink, store)
    finally:
        sink.close()


HOLD_CLAIM = """
import sys, time
from pathlib import Path
from ingest_function.sinks.dead_letter import FolderDeadLetter
store = FolderDeadLetter(Path(sys.argv[1]))
item = next(iter(store.items()))
assert store.claim(item)
print(item.key, flush=True)
time.sleep(600)
"""


def test_a_killed_replays_claim_is_reclaimed_and_a_live_one_is_respected(tmp_path):
    folder = tmp_path / "dl"
    store = FolderDeadLetter(folder)
    store.write(Batch([_event(1)], [], time.time()), "sink_failed")
    store.write(Batch([_event(2)], [], time.time() + 0.01), "sink_failed")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_CLAIM, str(folder)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        held = holder.stdout.readline().strip()
        assert held.endswith(".json")
        # While the holder lives, its batch is not sent a second time; the other one is.
        first = _replay_into(tmp_path / "landing", FolderDeadLetter(folder))
        assert first.batches == 1
        assert _landed_ids(tmp_path / "landing") == ["evt-000002"]
        assert Path(held).exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # The holder died without releasing: its claim died with it.
    second = _replay_into(tmp_path / "landing", FolderDeadLetter(folder))
    assert second.batches == 1
    assert _landed_ids(tmp_path / "landing") == ["evt-000001", "evt-000002"]
    assert list(folder.glob("*/*.json*")) == []


def test_a_claim_left_by_an_older_rename_based_replay_is_replayed(tmp_path):
    """The adversarial finding: a replay killed after renaming a file to `.replaying`."""
    folder = tmp_path / "dl"
    FolderDeadLetter(folder).write(Batch([_event(7)], [], time.time()), "sink_failed")
    (path,) = folder.glob("*/*.json")
    os.rename(path, str(path) + ".replaying")
    env = _cli_env(tmp_path, str(folder))
    dry = run_replay(env, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would replay 1 batch(es): 1 event(s)" in dry.stdout
    done = run_replay(env)
    assert done.returncode == 0, done.stderr
    assert _landed_ids(tmp_path / "data" / "landing") == ["evt-000007"]
    assert list(folder.glob("*/*")) == []


def test_bad_files_are_quarantined_with_their_reason_and_the_rest_replayed(tmp_path):
    folder = tmp_path / "dl"
    FolderDeadLetter(folder).write(Batch([_event(1)], [], time.time()), "sink_failed")
    day = next(folder.iterdir())
    (day / "0000000000001-bad.json").write_bytes(b'{"version":1,"events":[{"event_id"')
    (day / "0000000000002-when.json").write_text(
        json.dumps({"version": 1, "received_at": "yesterday", "events": [_event(2)]})
    )
    env = _cli_env(tmp_path, str(folder))
    dry = run_replay(env, "--dry-run")
    assert dry.returncode == 0 and "Traceback" not in dry.stderr, dry.stderr
    assert dry.stderr.count("would be quarantined") == 2
    assert len(list(day.glob("*.json"))) == 3  # a dry run moves nothing

    done = run_replay(env)
    assert "Traceback" not in done.stderr
    assert done.returncode == 1  # something needs a look
    assert "replayed 1 batch(es): 1 event(s)" in done.stdout
    lines = [x for x in done.stderr.splitlines() if x.startswith("quarantined:")]
    assert len(lines) == 2
    assert any("0000000000001-bad.json: not JSON" in x for x in lines)
    assert any('0000000000002-when.json: bad "received_at"' in x for x in lines)
    assert _landed_ids(tmp_path / "data" / "landing") == ["evt-000001"]
    moved = folder / "quarantine" / day.name
    assert sorted(p.name for p in moved.iterdir()) == [
        "0000000000001-bad.json",
        "0000000000001-bad.json.reason",
        "0000000000002-when.json",
        "0000000000002-when.json.reason",
    ]
    assert "not JSON" in (moved / "0000000000001-bad.json.reason").read_text()
    again = run_replay(env)  # quarantined files stay out of later replays
    assert again.returncode == 0 and "replayed 0 batch(es)" in again.stdout


def test_replay_from_gs_without_credentials_is_one_line(tmp_path):
    # No credentials anywhere, and the metadata-server probe stays on a closed local port.
    env = _cli_env(
        tmp_path,
        "gs://acme-oie/dead-letter",
        GOOGLE_APPLICATION_CREDENTIALS="",
        CLOUDSDK_CONFIG=str(tmp_path / "gcloud"),
        GCE_METADATA_HOST="127.0.0.1:9",
        GCE_METADATA_IP="127.0.0.1:9",
        NO_GCE_CHECK="True",
    )
    done = run_replay(env)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.strip()]
    assert "gs://acme-oie/dead-letter" in line and "credentials" in line.lower()


# -- GCS: claims are create-only objects with a lease ------------------------------------------
@pytest.fixture
def gcs(monkeypatch):
    with running_gcs() as standin:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", standin.url)
        yield standin


def _gcs(ttl: float = 60.0) -> GcsDeadLetter:
    return GcsDeadLetter(f"gs://{BUCKET}/dl", timeout_s=5, claim_ttl_s=ttl)


def test_gcs_live_claims_block_expired_ones_are_taken_over_by_exactly_one(tmp_path, gcs):
    _gcs().write(Batch([_event(1)], [], time.time()), "sink_failed")
    dead = _gcs()  # a replay that claims, then dies without a word
    (item,) = list(dead.items())
    assert dead.claim(item)
    claim_name = item.key.split("#")[0] + ".claim"
    assert claim_name in gcs.names(BUCKET)

    # Within the lease: the batch is left alone.
    assert _replay_into(tmp_path / "landing", _gcs()).batches == 0

    gcs.age(BUCKET, claim_name, 120)  # the lease ran out
    racer_a, racer_b = _gcs(), _gcs()
    (item_a,) = list(racer_a.items())
    (item_b,) = list(racer_b.items())
    assert racer_a.claim(item_a)
    assert not racer_b.claim(item_b)  # the claim A just rewrote is fresh: B backs off
    racer_a.release(item_a)

    report = _replay_into(tmp_path / "landing", _gcs())
    assert (report.batches, report.events) == (1, 1)
    assert _landed_ids(tmp_path / "landing") == ["evt-000001"]
    assert gcs.names(BUCKET) == []  # batch and claim both gone
    assert not dead.claim(item)  # the dead replay's item is gone: it cannot claim again


def test_gcs_deletes_are_conditional_on_the_generation_read(tmp_path, gcs):
    store = _gcs()
    store.write(Batch([_event(1)], [], time.time()), "sink_failed")
    (item,) = list(store.items())
    assert store.claim(item)
    deletes = [path for method, path in gcs.requests if method == "DELETE"]
    store.remove(item)
    deletes = [path for method, path in gcs.requests if method == "DELETE"][len(deletes) :]
    assert len(deletes) == 2 and all("ifGenerationMatch=" in d for d in deletes)
    assert gcs.names(BUCKET) == []


def test_gcs_bad_batches_are_quarantined_and_the_rest_replayed(tmp_path, gcs):
    _gcs().write(Batch([_event(1)], [], time.time()), "sink_failed")
    gcs.put(BUCKET, "dl/2026-11-22/1-bad.json", b"not json at all")
    report = _replay_into(tmp_path / "landing", _gcs())
    assert report.batches == 1
    (bad,) = report.quarantined
    assert "dl/2026-11-22/1-bad.json" in bad and "not JSON" in bad
    assert _landed_ids(tmp_path / "landing") == ["evt-000001"]
    assert gcs.names(BUCKET) == [
        "dl/quarantine/2026-11-22/1-bad.json",
        "dl/quarantine/2026-11-22/1-bad.json.reason",
    ]
    assert gcs.data(BUCKET, "dl/quarantine/2026-11-22/1-bad.json") == b"not json at all"
