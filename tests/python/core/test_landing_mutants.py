"""The landing writer and sealer (oie_core/landing.py), rule by rule and in process: what
`seal_stale` does with each kind of orphan, the rejected record it writes for a torn line,
the fork hook and the exit hook. Written against the mutants `make mutate` found alive
(bench/results/mutation.md); tests/python/ingest/test_landing.py has the end-to-end ones
(real forks, several processes, SIGTERM)."""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import stat
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from oie_core import landing
from oie_core.landing import LandingWriter, SealReport, encode_lines, seal_stale
from tests.python.helpers.landing_clock import T0, Clock

HOUR = "dt=2026-11-22/hr=00"


def orphan(root: Path, name: str, data: bytes, stream: str = "events", part: str = HOUR) -> Path:
    """A `.ndjson.open` file nobody holds a lock on: what a killed writer leaves."""
    folder = root / stream / part
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ndjson.open"
    path.write_bytes(data)
    return path


def landed(root: Path, stream: str = "events", pattern: str = "*") -> list[Path]:
    return sorted((root / stream).glob(f"dt=*/hr=*/{pattern}"))


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def test_a_clean_orphan_is_sealed_under_its_own_name(tmp_path):
    path = orphan(tmp_path, "deadhost-1-a", encode_lines([{"event_id": "a"}, {"event_id": "b"}]))
    report = seal_stale(tmp_path)
    sealed = path.with_name("deadhost-1-a.ndjson")
    assert report.sealed == [sealed]
    assert report.torn_lines == 0 and report.skipped_live == []
    assert not path.exists()
    assert rows(sealed) == [{"event_id": "a"}, {"event_id": "b"}]
    assert landed(tmp_path, "rejected") == []


def test_an_empty_orphan_is_removed_not_sealed(tmp_path):
    path = orphan(tmp_path, "deadhost-1-empty", b"")
    assert seal_stale(tmp_path).sealed == []
    assert landed(tmp_path) == []
    assert not path.exists()


def test_a_torn_line_becomes_one_rejected_record_received_at_now(tmp_path):
    orphan(tmp_path, "deadhost-2-t", b'{"event_id":"ok"}\n\xff\xfe{"event_id":"to')
    report = seal_stale(tmp_path, now=T0 + 3600 + 0.25)
    assert report.torn_lines == 1
    (rejected_file,) = landed(tmp_path, "rejected")
    assert rejected_file.parent.relative_to(tmp_path / "rejected").as_posix() == (
        "dt=2026-11-22/hr=01"
    )
    assert rejected_file.name.endswith(".ndjson")  # already sealed: dbt reads it this run
    assert rows(rejected_file) == [
        {
            "received_at": "2026-11-22T01:00:00.250Z",
            "reason": "torn_line: unparseable line in events/deadhost-2-t.ndjson.open",
            "stage": "seal",
            "event_id": None,
            "type": None,
            "event": None,
            "raw": '\ufffd\ufffd{"event_id":"to',  # invalid UTF-8 replaced, never refused
            "ip": None,
            "user_agent": None,
        }
    ]
    (sealed,) = landed(tmp_path, "events")
    assert rows(sealed) == [{"event_id": "ok"}]


def test_torn_lines_of_several_orphans_are_all_counted(tmp_path):
    orphan(tmp_path, "deadhost-3-a", b'{"a":1}\n{"torn', stream="events")
    orphan(tmp_path, "deadhost-3-b", b'not json\n{"b":2}\n{"c', stream="leads")
    report = seal_stale(tmp_path, now=T0)
    assert report.torn_lines == 3
    reasons = sorted(r["reason"] for r in rows(landed(tmp_path, "rejected")[0]))
    assert reasons == [
        "torn_line: unparseable line in events/deadhost-3-a.ndjson.open",
        "torn_line: unparseable line in leads/deadhost-3-b.ndjson.open",
        "torn_line: unparseable line in leads/deadhost-3-b.ndjson.open",
    ]


def test_blank_lines_are_skipped_and_the_lines_after_them_still_checked(tmp_path):
    orphan(tmp_path, "deadhost-4-blank", b'{"a":1}\n\n  \n{"torn\n{"b":2}\n')
    report = seal_stale(tmp_path)
    assert report.torn_lines == 1
    assert rows(report.sealed[0]) == [{"a": 1}, {"b": 2}]


def test_an_orphan_bigger_than_one_read_keeps_every_good_line_when_rewritten(tmp_path):
    lines = [{"event_id": f"e{i:05d}", "pad": "p" * 100} for i in range(10_000)]  # ≈ 1.3 MB
    orphan(tmp_path, "deadhost-5-big", encode_lines(lines) + b'{"torn')
    report = seal_stale(tmp_path)
    assert report.torn_lines == 1
    assert rows(report.sealed[0]) == lines


def test_a_live_file_is_skipped_and_the_orphans_after_it_are_sealed(tmp_path):
    live = LandingWriter(tmp_path, background_rotation=False)
    live.write_records("events", [{"event_id": "live"}], received_at=T0)
    (live_path,) = landed(tmp_path, pattern="*.open")
    later = orphan(tmp_path, "deadhost-6-later", b'{"event_id":"x"}\n', part="dt=2026-11-23/hr=00")
    report = seal_stale(tmp_path)
    assert report.skipped_live == [live_path]
    assert report.sealed == [later.with_name("deadhost-6-later.ndjson")]
    live.close()


def test_an_entry_that_vanished_before_it_was_opened_does_not_stop_the_sealing(tmp_path):
    folder = tmp_path / "events" / HOUR
    folder.mkdir(parents=True)
    # Listed by the glob, gone when opened (a dangling link stands in for the race).
    (folder / "a-gone.ndjson.open").symlink_to(folder / "nowhere")
    later = orphan(tmp_path, "b-later", b'{"event_id":"x"}\n')
    assert seal_stale(tmp_path).sealed == [later.with_name("b-later.ndjson")]


@pytest.mark.parametrize("race", ["sealed", "deleted"])
def test_a_file_its_writer_sealed_between_glob_and_lock_is_left_alone(tmp_path, monkeypatch, race):
    first = orphan(tmp_path, "a-racing", b'{"event_id":"r"}\n')
    later = orphan(tmp_path, "b-later", b'{"event_id":"x"}\n')
    real_flock = landing.fcntl.flock
    done: list[bool] = []

    def flock_after_the_writer_moved(fd: int, op: int) -> None:
        if not done:  # the writer seals (or a reset deletes) the first file just now
            done.append(True)
            if race == "sealed":
                first.rename(first.with_name("a-racing.ndjson"))
                first.write_bytes(b'{"event_id":"new file, same name"}\n')
            else:
                first.unlink()
        real_flock(fd, op)

    monkeypatch.setattr(landing.fcntl, "flock", flock_after_the_writer_moved)
    report = seal_stale(tmp_path)
    assert report.sealed == [later.with_name("b-later.ndjson")]
    if race == "sealed":
        assert rows(first.with_name("a-racing.ndjson")) == [{"event_id": "r"}]
        assert rows(first) == [{"event_id": "new file, same name"}]  # not sealed by us


def test_the_seal_report_says_what_happened():
    assert str(SealReport()) == "0 stale file(s) sealed"
    report = SealReport(sealed=[Path("a"), Path("b")], skipped_live=[Path("c")], torn_lines=3)
    assert str(report) == (
        "2 stale file(s) sealed, 3 torn line(s) moved to rejected, 1 file(s) still being written"
    )
    assert str(SealReport(torn_lines=1)) == (
        "0 stale file(s) sealed, 1 torn line(s) moved to rejected"
    )
    assert str(SealReport(skipped_live=[Path("c")])) == (
        "0 stale file(s) sealed, 1 file(s) still being written"
    )


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(landing, "time", fake)
    return fake


def test_rotation_seals_a_file_once_it_is_max_age_old_and_not_before(tmp_path, clock):
    writer = LandingWriter(tmp_path, max_age_s=60, background_rotation=False)
    writer.write_records("events", [{"event_id": "a"}])
    clock.now += 59
    writer.rotate_due()
    assert len(landed(tmp_path, pattern="*.open")) == 1
    clock.now += 1  # exactly 60 s old
    writer.rotate_due()
    assert landed(tmp_path, pattern="*.open") == []
    assert rows(landed(tmp_path)[0]) == [{"event_id": "a"}]
    writer.close()


def test_by_default_a_file_is_sealed_after_five_minutes(tmp_path, clock):
    writer = LandingWriter(tmp_path, background_rotation=False)
    writer.write_records("events", [{"event_id": "a"}])
    clock.now += 299
    writer.rotate_due()
    assert len(landed(tmp_path, pattern="*.open")) == 1
    clock.now += 1
    writer.rotate_due()
    assert landed(tmp_path, pattern="*.open") == []
    writer.close()


def test_a_write_to_a_file_at_its_age_limit_goes_to_a_new_file(tmp_path, clock):
    writer = LandingWriter(tmp_path, max_age_s=60, background_rotation=False)
    writer.write_records("events", [{"event_id": "a"}])
    clock.now += 59
    writer.write_records("events", [{"event_id": "b"}])
    clock.now += 1
    writer.write_records("events", [{"event_id": "c"}])
    writer.close()
    assert sorted([r["event_id"] for r in rows(p)] for p in landed(tmp_path)) == [
        ["a", "b"],
        ["c"],
    ]


def test_a_batch_that_fills_a_file_exactly_still_goes_into_it(tmp_path):
    line = encode_lines([{"event_id": "a"}])
    writer = LandingWriter(tmp_path, max_bytes=2 * len(line), background_rotation=False)
    for _ in range(3):
        writer.write("events", line, received_at=T0)
    writer.close()
    assert sorted(len(rows(p)) for p in landed(tmp_path)) == [1, 2]


def test_an_unknown_stream_is_refused():
    with pytest.raises(ValueError, match=r"^unknown landing stream 'bogus'$"):
        LandingWriter(Path("unused"), background_rotation=False).write("bogus", b"{}\n")


def test_a_record_strict_json_cannot_hold_fails_the_batch_loudly():
    with pytest.raises(ValueError, match=r"^record cannot be landed as strict JSON: "):
        encode_lines([{"ok": 1}, {"n": 2**64}])


def test_landing_files_are_created_readable_by_all_writable_by_the_owner(tmp_path):
    previous = os.umask(0o022)
    try:
        writer = LandingWriter(tmp_path, background_rotation=False)
        writer.write_records("events", [{"event_id": "a"}], received_at=T0)
    finally:
        os.umask(previous)
    (path,) = landed(tmp_path, pattern="*.open")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    writer.close()


def test_a_file_deleted_before_its_seal_is_reported_not_raised(tmp_path, caplog):
    writer = LandingWriter(tmp_path, background_rotation=False)
    writer.write_records("events", [{"event_id": "a"}], received_at=T0)
    (path,) = landed(tmp_path, pattern="*.open")
    path.unlink()
    with caplog.at_level(logging.WARNING, logger="oie_core.landing"):
        writer.close()
    messages = [r.getMessage() for r in caplog.records if r.name == "oie_core.landing"]
    assert messages == [f"landing file {path} vanished before it was sealed"]


def failing_writes(monkeypatch: pytest.MonkeyPatch, marker: bytes, short: bool) -> list[int]:
    """os.write fails (ENOSPC) or writes short for the batch starting with `marker`, and
    closing that file then fails too (EIO); the landing file's descriptor is returned."""
    real_write, real_close = os.write, os.close
    hit: list[int] = []

    def write(fd: int, data: bytes) -> int:
        if not data.startswith(marker):
            return real_write(fd, data)
        hit.append(fd)
        if short:
            return real_write(fd, data[:-3])
        raise OSError(errno.ENOSPC, "No space left on device")

    def close(fd: int) -> None:
        real_close(fd)
        if fd in hit:
            raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(landing.os, "write", write)
    monkeypatch.setattr(landing.os, "close", close)
    return hit


def test_a_write_error_is_raised_even_when_closing_the_file_fails_too(tmp_path, monkeypatch):
    writer = LandingWriter(tmp_path, background_rotation=False)
    writer.write_records("events", [{"event_id": "a"}], received_at=T0)
    failing_writes(monkeypatch, b'{"event_id":"b"', short=False)
    with pytest.raises(OSError) as caught:
        writer.write_records("events", [{"event_id": "b"}], received_at=T0)
    assert caught.value.errno == errno.ENOSPC
    monkeypatch.undo()
    writer.write_records("events", [{"event_id": "c"}], received_at=T0)  # a new file
    writer.close()
    assert [rows(p) for p in landed(tmp_path, pattern="*.ndjson")] == [[{"event_id": "c"}]]
    assert [rows(p) for p in landed(tmp_path, pattern="*.open")] == [[{"event_id": "a"}]]


def test_a_short_write_is_an_error_and_its_torn_file_is_left_for_the_sealer(tmp_path, monkeypatch):
    writer = LandingWriter(tmp_path, background_rotation=False)
    writer.write_records("events", [{"event_id": "a"}], received_at=T0)
    (torn,) = landed(tmp_path, pattern="*.open")
    failing_writes(monkeypatch, b'{"event_id":"b"', short=True)
    with pytest.raises(OSError) as caught:
        writer.write_records("events", [{"event_id": "b"}], received_at=T0)
    assert str(caught.value) == f"short write to {torn} (14 of 17 bytes)"
    monkeypatch.undo()
    writer.write_records("events", [{"event_id": "c"}], received_at=T0)
    writer.close()
    assert torn.read_bytes() == b'{"event_id":"a"}\n{"event_id":"b'
    assert [rows(p) for p in landed(tmp_path, pattern="*.ndjson")] == [[{"event_id": "c"}]]


# -- the rotation thread --------------------------------------------------------------------
def wait_sealed(root: Path, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while landed(root, pattern="*.open") and time.monotonic() < deadline:
        time.sleep(0.02)
    return not landed(root, pattern="*.open")


def test_without_background_rotation_nothing_seals_an_idle_file(tmp_path):
    writer = LandingWriter(tmp_path, max_age_s=0.05, background_rotation=False)
    writer.write_records("events", [{"event_id": "a"}], received_at=T0)
    time.sleep(0.5)
    assert len(landed(tmp_path, pattern="*.open")) == 1
    writer.close()


def test_background_rotation_resumes_when_a_closed_writer_writes_again(tmp_path):
    writer = LandingWriter(tmp_path, max_age_s=0.2)
    writer.write_records("events", [{"event_id": "a"}], received_at=T0)
    writer.close()
    writer.write_records("events", [{"event_id": "b"}], received_at=T0)
    assert wait_sealed(tmp_path)
    writer.close()


def test_the_rotation_thread_survives_a_failed_rotation(tmp_path, monkeypatch):
    writer = LandingWriter(tmp_path, max_age_s=0.2)
    real = writer.rotate_due
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OSError(errno.EIO, "Input/output error")
        real()

    monkeypatch.setattr(writer, "rotate_due", flaky)
    writer.write_records("events", [{"event_id": "a"}], received_at=T0)
    assert wait_sealed(tmp_path)
    assert len(calls) >= 2
    writer.close()


@pytest.mark.parametrize(
    ("max_age_s", "every"), [(0.2, 0.1), (0.04, 0.05), (59.0, 29.5), (600.0, 30.0)]
)
def test_an_idle_file_is_looked_at_every_half_age_limit_within_50_ms_to_30_s(
    tmp_path, monkeypatch, max_age_s, every
):
    """How late an idle file can be sealed: the thread looks every half age limit."""
    waits: list[float] = []

    class RecordingEvent(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            if timeout is not None:
                waits.append(timeout)
            return super().wait(timeout)

    monkeypatch.setattr(landing.threading, "Event", RecordingEvent)
    writer = LandingWriter(tmp_path, max_age_s=max_age_s)
    writer.write_records("events", [{"event_id": "a"}], received_at=T0)
    deadline = time.monotonic() + 5
    while not waits and time.monotonic() < deadline:
        time.sleep(0.01)
    writer.close()
    assert waits[0] == every


def test_the_rotation_thread_never_keeps_a_process_alive(tmp_path):
    before = set(threading.enumerate())
    writer = LandingWriter(tmp_path, max_age_s=60)
    writer.write_records("events", [{"event_id": "a"}], received_at=T0)
    (thread,) = [t for t in threading.enumerate() if t not in before]
    assert thread.daemon
    writer.close()


# -- SIGTERM in a plain process -------------------------------------------------------------
@pytest.fixture
def sigterm(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A process that has not installed the handler yet, with SIGTERM at its default."""
    previous = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(landing, "_sigterm_installed", False)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_plain_process_gets_the_sigterm_handler_once(sigterm):
    landing._install_sigterm_handler()
    assert callable(signal.getsignal(signal.SIGTERM))
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # as after the handler ran
    landing._install_sigterm_handler()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_server_that_handles_sigterm_keeps_its_own_handler(sigterm):
    def servers_own(signum: int, frame: object) -> None:
        pass

    signal.signal(signal.SIGTERM, servers_own)
    landing._install_sigterm_handler()
    assert signal.getsignal(signal.SIGTERM) is servers_own


def test_only_the_main_thread_installs_the_handler(sigterm):
    errors: list[BaseException] = []

    def from_a_request_thread() -> None:
        try:
            landing._install_sigterm_handler()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=from_a_request_thread)
    thread.start()
    thread.join()
    assert errors == [] and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    landing._install_sigterm_handler()  # later, from the main thread
    assert callable(signal.getsignal(signal.SIGTERM))


def test_on_sigterm_files_are_sealed_then_the_signal_is_delivered_again(
    sigterm, monkeypatch, tmp_path
):
    writer = LandingWriter(tmp_path, background_rotation=False)
    monkeypatch.setattr(landing, "_WRITERS", weakref.WeakSet([writer]))
    writer.write_records("events", [{"event_id": "a"}], received_at=T0)  # installs it
    handler = signal.getsignal(signal.SIGTERM)
    assert callable(handler)
    kills: list[tuple[int, int]] = []
    monkeypatch.setattr(landing.os, "kill", lambda pid, sig: kills.append((pid, sig)))
    handler(signal.SIGTERM, None)
    assert landed(tmp_path, pattern="*.open") == []
    assert rows(landed(tmp_path)[0]) == [{"event_id": "a"}]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert kills == [(os.getpid(), signal.SIGTERM)]


def test_the_exit_and_fork_hooks_are_installed_once_per_process(tmp_path, monkeypatch):
    at_exit: list[object] = []
    at_fork: list[object] = []
    monkeypatch.setattr(landing, "_hooks_installed", False)
    monkeypatch.setattr(landing.atexit, "register", at_exit.append)
    monkeypatch.setattr(landing.os, "register_at_fork", lambda **kw: at_fork.append(kw))
    for _ in range(3):
        LandingWriter(tmp_path, background_rotation=False)
    assert at_exit == [landing.close_all]
    assert at_fork == [{"after_in_child": landing._reset_after_fork}]


# -- the process hooks, run here on writers of this test only -------------------------------
def test_after_a_fork_a_writer_leaves_its_parents_file_and_opens_its_own(tmp_path, monkeypatch):
    writer = LandingWriter(tmp_path, max_age_s=60)
    writer.write_records("events", [{"event_id": "parent"}], received_at=T0)
    (parents,) = landed(tmp_path, pattern="*.open")
    monkeypatch.setattr(landing, "_WRITERS", weakref.WeakSet([writer]))
    landing._reset_after_fork()  # what os.register_at_fork runs in a child
    writer.write_records("events", [{"event_id": "child-1"}], received_at=T0)
    writer.write_records("events", [{"event_id": "child-2"}], received_at=T0)
    opened = landed(tmp_path, pattern="*.open")
    assert len(opened) == 2 and parents in opened  # the parent's file, untouched
    writer.close()
    assert landed(tmp_path, pattern="*.open") == [parents]
    (childs,) = landed(tmp_path, pattern="*.ndjson")
    assert rows(childs) == [{"event_id": "child-1"}, {"event_id": "child-2"}]
    assert rows(parents) == [{"event_id": "parent"}]
    os.unlink(parents)


def test_the_fork_hook_goes_on_when_closing_the_parents_file_fails(tmp_path, monkeypatch):
    writer = LandingWriter(tmp_path, background_rotation=False)
    writer.write_records("events", [{"event_id": "parent"}], received_at=T0)
    monkeypatch.setattr(landing, "_WRITERS", weakref.WeakSet([writer]))
    real_close = os.close

    def close_fails(fd: int) -> None:
        real_close(fd)
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(landing.os, "close", close_fails)
    landing._reset_after_fork()
    monkeypatch.setattr(landing.os, "close", real_close)
    writer.write_records("events", [{"event_id": "child"}], received_at=T0)
    writer.close()
    assert [rows(p) for p in landed(tmp_path, pattern="*.ndjson")] == [[{"event_id": "child"}]]
    for path in landed(tmp_path, pattern="*.open"):
        path.unlink()


def test_close_all_seals_every_writer_even_when_one_fails(tmp_path, monkeypatch):
    class Broken:
        def close(self) -> None:
            raise OSError("disk gone")

    broken = Broken()
    a = LandingWriter(tmp_path / "a", background_rotation=False)
    b = LandingWriter(tmp_path / "b", background_rotation=False)
    monkeypatch.setattr(landing, "_WRITERS", weakref.WeakSet([a, broken, b]))
    a.write_records("events", [{"event_id": "a"}], received_at=T0)
    b.write_records("events", [{"event_id": "b"}], received_at=T0)
    landing.close_all()  # what atexit and the SIGTERM handler run
    for root, event_id in ((tmp_path / "a", "a"), (tmp_path / "b", "b")):
        assert landed(root, pattern="*.open") == []
        assert rows(landed(root)[0]) == [{"event_id": event_id}]
